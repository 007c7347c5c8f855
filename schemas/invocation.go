package schemas

import (
	"bytes"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// Bedrock model invocation logs ("schemaType":"ModelInvocationLog"), as AWS
// writes them to CloudWatch Logs and S3: identity, model, token counts, and
// the request and response bodies of every model family, from which the
// prompt, system prompt and completion text are extracted.

// isInvocationLog reports whether v is a model invocation log record.
func isInvocationLog(v *fastjson.Value) bool {
	return string(v.GetStringBytes("schemaType")) == "ModelInvocationLog"
}

// invocationFields are the top-level values of an invocation log record
// that decodeInvocation reads, found in one pass over its keys (first
// occurrence of each, as Get would find).
type invocationFields struct {
	timestamp, requestID, operation, errorCode, identity, accountID, region,
	modelID, input, output, messages, system *fastjson.Value
}

// read fills f from the object v.
func (f *invocationFields) read(v *fastjson.Value) {
	v.GetObject().Visit(func(k []byte, x *fastjson.Value) {
		var slot **fastjson.Value
		switch string(k) {
		case "timestamp":
			slot = &f.timestamp
		case "requestId":
			slot = &f.requestID
		case "operation":
			slot = &f.operation
		case "errorCode":
			slot = &f.errorCode
		case "identity":
			slot = &f.identity
		case "accountId":
			slot = &f.accountID
		case "region":
			slot = &f.region
		case "modelId":
			slot = &f.modelID
		case "input":
			slot = &f.input
		case "output":
			slot = &f.output
		case "messages":
			slot = &f.messages
		case "system":
			slot = &f.system
		default:
			return
		}
		if *slot == nil {
			*slot = x
		}
	})
}

// decodeInvocation normalises one invocation log record (SPEC §3). An
// operation, modelId or requestId that is present but not a string makes
// the record malformed (ReasonBadField); bodies of unexpected shapes only
// leave the text fields empty.
func (d *Decoder) decodeInvocation(v *fastjson.Value, raw []byte, rc *recordCtx, yield func(Record)) {
	var f invocationFields
	f.read(v)
	for _, c := range [...]struct {
		name string
		x    *fastjson.Value
	}{{"operation", f.operation}, {"modelId", f.modelID}, {"requestId", f.requestID}} {
		if c.x != nil && !isString(c.x) && c.x.Type() != fastjson.TypeNull {
			yield(rc.malformed(SourceInvocation, ReasonBadField, c.name+" is "+describe(c.x)))
			return
		}
	}
	t, _ := timeOf(f.timestamp)
	e := d.newEvent(DatasetInvocation, raw, rc, t)
	a := &d.arena
	d.setID(e, f.requestID.GetStringBytes(), raw)
	e.Provider = BedrockProvider
	a.set(&e.Action, f.operation.GetStringBytes())
	e.Outcome = "success"
	if len(d.textBytes(f.errorCode)) > 0 {
		e.Outcome = "failure"
	}
	arn := f.identity.GetStringBytes("arn")
	a.set(&e.UserID, arn)
	a.set(&e.UserName, lastARNSegment(arn))
	a.set(&e.AccountID, d.textBytes(f.accountID))
	a.set(&e.Region, f.region.GetStringBytes())
	a.set(&e.ModelID, f.modelID.GetStringBytes())
	if n, ok := integerOf(f.input.Get("inputTokenCount")); ok {
		e.PromptTokens, e.HasPromptTokens = n, true
	}
	if n, ok := integerOf(f.output.Get("outputTokenCount")); ok {
		e.CompletionTokens, e.HasCompletionTokens = n, true
	}
	d.extractRequest(&f, e)
	d.extractResponse(&f, e)
	a.commit()
	yield(Record{Status: StatusEvent, Source: SourceInvocation, Event: e})
}

// extractRequest fills the prompt, system prompt and request guardrail of e
// from the request body (input.inputBodyJson, an object or a JSON string).
// Some shippers put messages and system beside the body, at the top of the
// record; they are read when the body yields none.
func (d *Decoder) extractRequest(f *invocationFields, e *Event) {
	d.prompt.reset()
	d.system.reset()
	if body := d.bodyValue(f.input.Get("inputBodyJson"), &d.prompt); body != nil {
		collectRequestText(body, &d.prompt, &d.system)
		e.GuardrailID = stringAt(body, "guardrailConfig", "guardrailIdentifier")
		if e.GuardrailID == "" {
			e.GuardrailID = stringAt(body, "amazon-bedrock-guardrailConfig", "guardrailIdentifier")
		}
	}
	if d.prompt.empty() {
		collectMessages(f.messages, &d.prompt, &d.system)
	}
	if d.system.empty() {
		collectContent(f.system, &d.system, 0)
	}
	e.Prompt = d.prompt.String()
	e.SystemPrompt = d.system.String()
}

// extractResponse fills the completion, guardrail intervention, response
// guardrail id and (when the record has no counts) token counts of e from the
// response body (output.outputBodyJson): an object, an array of stream
// chunks whose text deltas are concatenated, or a JSON string of either.
func (d *Decoder) extractResponse(f *invocationFields, e *Event) {
	d.completion.reset()
	body := d.bodyValue(f.output.Get("outputBodyJson"), &d.completion)
	switch {
	case body == nil:
	case body.Type() == fastjson.TypeString: // a JSON string holding a string
		d.completion.add("\n", body.GetStringBytes())
	case body.Type() == fastjson.TypeObject:
		d.scanResponse(body, "\n", e)
	case body.Type() == fastjson.TypeArray:
		for _, chunk := range body.GetArray() {
			if chunk.Type() == fastjson.TypeObject { // skip "[DONE]" and the like
				d.scanResponse(chunk, "", e)
			}
		}
	}
	e.Completion = d.completion.String()
}

// bodyValue returns a request or response body: the value itself when it is
// an object or array, or the JSON a string holds, parsed with d.body. A
// string that is not JSON is plain text and is added to text instead.
func (d *Decoder) bodyValue(x *fastjson.Value, text *boundedText) *fastjson.Value {
	if x == nil {
		return nil
	}
	switch x.Type() {
	case fastjson.TypeObject, fastjson.TypeArray:
		return x
	case fastjson.TypeString:
		s := x.GetStringBytes()
		if _, ok := d.index.indexDocument(s, nil); ok {
			if body, err := d.body.ParseBytes(s); err == nil {
				return body
			}
		}
		text.add("\n", s)
	}
	return nil
}

// collectRequestText adds the user text and system text of a request body of
// any model family to prompt and system, user turns in order, joined by
// newlines:
//
//	Anthropic Messages, Converse, Nova, Mistral chat: messages[].content
//	Cohere chat: chat_history[] (USER turns), then message
//	Anthropic Text Completions, Llama, Mistral, Cohere generate: prompt
//	Titan: inputText; Cohere embed: texts[]
//	system prompt: system (string or blocks), Cohere preamble,
//	messages of role system
func collectRequestText(body *fastjson.Value, prompt, system *boundedText) {
	if body.Type() == fastjson.TypeString {
		prompt.add("\n", body.GetStringBytes())
		return
	}
	collectMessages(body.Get("messages"), prompt, system)
	for _, turn := range body.GetArray("chat_history") {
		if roleIs(turn, "user") {
			prompt.add("\n", turn.GetStringBytes("message"))
		}
	}
	for _, k := range [...]string{"message", "prompt", "inputText"} {
		prompt.add("\n", body.GetStringBytes(k))
	}
	for _, t := range body.GetArray("texts") {
		prompt.add("\n", t.GetStringBytes())
	}
	collectContent(body.Get("system"), system, 0)
	system.add("\n", body.GetStringBytes("preamble"))
}

// collectMessages adds the content of user turns to prompt and of system
// turns to system. msgs is an array of {role, content}, or one such object.
// A turn without a role counts as the user's.
func collectMessages(msgs *fastjson.Value, prompt, system *boundedText) {
	if msgs == nil {
		return
	}
	one := [1]*fastjson.Value{msgs}
	turns := one[:]
	if msgs.Type() == fastjson.TypeArray {
		turns = msgs.GetArray()
	}
	for _, m := range turns {
		switch {
		case m.Type() != fastjson.TypeObject:
		case m.Get("role") == nil || roleIs(m, "user"):
			collectContent(m.Get("content"), prompt, 0)
		case roleIs(m, "system"):
			collectContent(m.Get("content"), system, 0)
		}
	}
}

// roleIs reports whether a turn's role is role, ignoring case (Cohere writes
// USER).
func roleIs(turn *fastjson.Value, role string) bool {
	return bytes.EqualFold(turn.GetStringBytes("role"), []byte(role))
}

// maxContentNesting bounds how deep collectContent follows content inside
// content (tool results).
const maxContentNesting = 3

// collectContent adds the text of message content to t: a string; an array
// of strings or blocks; a block's text ({type:"text",text}, Converse
// {text}), guard content (guardContent.text.text), or the content of a tool
// result (Anthropic tool_result, Converse toolResult). Images, documents and
// tool calls carry no text and are skipped.
func collectContent(c *fastjson.Value, t *boundedText, depth int) {
	if c == nil {
		return
	}
	switch c.Type() {
	case fastjson.TypeString:
		t.add("\n", c.GetStringBytes())
	case fastjson.TypeArray:
		for _, block := range c.GetArray() {
			collectContent(block, t, depth)
		}
	case fastjson.TypeObject:
		if text := c.Get("text"); isString(text) {
			t.add("\n", text.GetStringBytes())
			return
		}
		if guard := c.Get("guardContent", "text", "text"); isString(guard) {
			t.add("\n", guard.GetStringBytes())
			return
		}
		if depth >= maxContentNesting {
			return
		}
		if result := c.Get("toolResult"); result != nil {
			collectContent(result.Get("content"), t, depth+1)
			return
		}
		collectContent(c.Get("content"), t, depth+1)
	}
}

// scanResponse reads one response body, or one stream chunk, o. Text of
// several blocks of a whole response is joined with sep ("\n"); stream
// deltas are concatenated (sep ""). Shapes:
//
//	Anthropic Messages: content[].text; stream: delta.text
//	Anthropic Text Completions: completion
//	Converse: output.message.content[].text; stream: contentBlockDelta.delta.text
//	Titan: results[].outputText; stream: outputText
//	Llama: generation
//	Mistral: outputs[].text, choices[].message.content
//	Cohere: generations[].text, text
//
// It also notes a guardrail intervention (stopReason "guardrail_intervened",
// "amazon-bedrock-guardrailAction":"INTERVENED"), the guardrail id of a
// trace (trace.guardrail, amazon-bedrock-trace.guardrail) and the token
// counts of amazon-bedrock-invocationMetrics.
func (d *Decoder) scanResponse(o *fastjson.Value, sep string, e *Event) {
	t := &d.completion
	o.GetObject().Visit(func(key []byte, x *fastjson.Value) {
		switch string(key) {
		case "content":
			for _, block := range x.GetArray() {
				if block.Get("type") == nil || string(block.GetStringBytes("type")) == "text" {
					t.add(sep, block.GetStringBytes("text"))
				}
			}
		case "output":
			for _, block := range x.GetArray("message", "content") {
				t.add(sep, block.GetStringBytes("text"))
			}
		case "results":
			for _, r := range x.GetArray() {
				t.add(sep, r.GetStringBytes("outputText"))
			}
		case "outputs", "generations":
			for _, r := range x.GetArray() {
				t.add(sep, r.GetStringBytes("text"))
			}
		case "choices":
			for _, c := range x.GetArray() {
				t.add(sep, c.GetStringBytes("message", "content"))
				t.add(sep, c.GetStringBytes("delta", "content"))
			}
		case "generation", "text", "completion", "outputText":
			t.add(sep, x.GetStringBytes())
		case "delta":
			t.add(sep, x.GetStringBytes("text"))
		case "contentBlockDelta":
			t.add(sep, x.GetStringBytes("delta", "text"))
		case "stopReason":
			e.GuardrailIntervened = e.GuardrailIntervened || string(x.GetStringBytes()) == "guardrail_intervened"
		case "messageStop":
			e.GuardrailIntervened = e.GuardrailIntervened || string(x.GetStringBytes("stopReason")) == "guardrail_intervened"
		case "amazon-bedrock-guardrailAction":
			e.GuardrailIntervened = e.GuardrailIntervened || string(x.GetStringBytes()) == "INTERVENED"
		case "trace", "amazon-bedrock-trace":
			if e.GuardrailID == "" {
				e.GuardrailID = guardrailIDOfTrace(x.Get("guardrail"))
			}
		case "metadata":
			if e.GuardrailID == "" {
				e.GuardrailID = guardrailIDOfTrace(x.Get("trace", "guardrail"))
			}
		case "amazon-bedrock-invocationMetrics":
			if n, ok := integerAt(x, "inputTokenCount"); ok && !e.HasPromptTokens {
				e.PromptTokens, e.HasPromptTokens = n, true
			}
			if n, ok := integerAt(x, "outputTokenCount"); ok && !e.HasCompletionTokens {
				e.CompletionTokens, e.HasCompletionTokens = n, true
			}
		}
	})
}

// guardrailIDOfTrace returns the guardrail id of a guardrail trace: the key
// of its input assessment (Converse trace.guardrail.inputAssessment,
// InvokeModel amazon-bedrock-trace.guardrail.input) or of its first output
// assessment (outputAssessments, outputs; a map or a list of maps).
func guardrailIDOfTrace(g *fastjson.Value) string {
	if g == nil {
		return ""
	}
	for _, k := range [...]string{"inputAssessment", "input", "outputAssessments", "outputs"} {
		a := g.Get(k)
		if a != nil && a.Type() == fastjson.TypeArray && len(a.GetArray()) > 0 {
			a = a.GetArray()[0]
		}
		if id := firstKey(a); id != "" {
			return id
		}
	}
	return ""
}

// firstKey returns a copy of the first key of object v, or "".
func firstKey(v *fastjson.Value) string {
	o := v.GetObject()
	key := ""
	o.Visit(func(k []byte, _ *fastjson.Value) {
		if key == "" {
			key = string(k)
		}
	})
	return key
}

// maxTextBytes bounds each text extracted from an invocation log.
const maxTextBytes = 64 << 10

// boundedText accumulates extracted text up to maxTextBytes, keeping the
// start: once full, further pieces are dropped, and the piece that crosses
// the limit is cut at a UTF-8 character boundary. Its buffer is reused from
// one record to the next.
type boundedText struct {
	buf  []byte
	full bool
}

// reset empties t, keeping its buffer.
func (t *boundedText) reset() { t.buf, t.full = t.buf[:0], false }

// empty reports whether t holds no text.
func (t *boundedText) empty() bool { return len(t.buf) == 0 }

// add appends s, preceded by sep unless t is empty. An empty s adds nothing.
func (t *boundedText) add(sep string, s []byte) {
	if len(s) == 0 || t.full {
		return
	}
	if len(t.buf) > 0 {
		t.append([]byte(sep))
	}
	t.append(s)
}

// append appends as much of s as fits.
func (t *boundedText) append(s []byte) {
	if room := maxTextBytes - len(t.buf); len(s) > room {
		cut := room
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s, t.full = s[:cut], true
	}
	t.buf = append(t.buf, s...)
}

// String returns a copy of the text.
func (t *boundedText) String() string { return string(t.buf) }
