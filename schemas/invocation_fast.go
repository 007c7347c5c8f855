package schemas

import (
	"bytes"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// The fast path of invocation logs. decodeInvocationBytes reads a record
// straight from its bytes, which the first pass has already validated,
// instead of parsing it into a fastjson tree first: one left-to-right scan
// with jsonIndexer's scanners, which descends into the values the event is
// made of (input, output, identity, the bodies, their messages and content
// blocks) and skips every other value at the first pass's speed. Most of an
// invocation log is metadata it never looks at. decodeInvocationDocument
// reads a whole document the same way without the first pass: the scan
// holds to the grammar itself.
//
// It produces exactly the Event of decodeInvocation (the fastjson path): the
// same values, found by fastjson's rules (the first member of a name in an
// object, as Get finds it; every member in order, as Visit walks them, where
// scanResponse visits), the text pieces added to the same boundedTexts in
// the same order, strings unescaped as fastjson unescapes them
// (unescapeJSON). Whatever it is not sure to reproduce it declines, and the
// record takes the fastjson path as if the fast path did not exist: a body
// given as a JSON string; a key holding an escape sequence (fastjson's Get
// matches escaped keys in an order of its own); a number other than a plain
// integer of up to 15 digits where a number is read (token counts, epoch
// timestamps); a schemaType other than ModelInvocationLog; an operation,
// modelId or requestId that would make the record malformed.

// mayBeInvocation reports whether decodeRecord takes a record with these
// top-level keys (none escaped) for an invocation log when its schemaType is
// "ModelInvocationLog": it has a schemaType and none of the keys that
// decodeRecord tests first.
func mayBeInvocation(keys recordKeys) bool {
	return keys.has(keySchemaType) &&
		!keys.hasAny(keyCloudTrailEvent|keyDetailType|keyRecords|keyLogEvents) &&
		!isCloudTrailRecord(keys) && !isCloudTrailDigest(keys)
}

// decodeInvocationBytes decodes the invocation log record raw, as validated
// by the first pass, and yields its event; or it yields nothing and returns
// false when the record is not one it is sure to decode exactly as
// decodeInvocation would (see above), leaving it to the fastjson path. It
// may leave d.prompt, d.system and d.completion dirty when it declines;
// decodeInvocation resets them.
func (d *Decoder) decodeInvocationBytes(raw []byte, rc *recordCtx, yield func(Record)) bool {
	return d.invocationFromBytes(raw, rc, yield, false)
}

// decodeInvocationDocument decodes doc, a whole document, as
// decodeDocument would, if it is an invocation log record the fast path
// takes, without the first pass; or it yields nothing and returns false.
//
// The first pass validates the document and notes its top-level keys;
// decodeDocument then sends a top-level object whose keys mayBeInvocation
// accepts to decodeInvocationBytes. The scan here does the first pass's
// part itself: members and each hold to the JSON grammar (commas, closing
// brackets) and to its nesting limit, and every value they do not descend
// into is read by the first pass's own scanners, which validate it. It
// declines the document when the keys would route it elsewhere: a
// subscription message, a record the provider filter may judge
// (filteredByIndex: an eventSource and an eventName), or keys
// mayBeInvocation refuses. A declined document takes decodeDocument's way,
// first pass and all.
func (d *Decoder) decodeInvocationDocument(doc []byte, rc *recordCtx, yield func(Record)) bool {
	i, j := ws(doc, 0), len(doc)
	for j > i && (doc[j-1] == ' ' || doc[j-1] == '\t' || doc[j-1] == '\n' || doc[j-1] == '\r') {
		j--
	}
	return d.invocationFromBytes(doc[i:j], rc, yield, true)
}

// keysElsewhere are the top-level keys with which decodeDocument does not
// send a document to decodeInvocationBytes, or may not: every recordKey
// but schemaType, detail and eventName (mayBeInvocation refuses two of
// eventVersion, eventSource and eventName; decodeInvocationDocument, an
// eventSource with an eventName).
const keysElsewhere = keysEnvelope | keyEventVersion | keyEventSource | keyDigestStartTime | keyDigestEndTime |
	keyDigestS3Object | keyLogFiles

// looksLikeInvocation reports whether doc may be an invocation log record:
// its schemaType value lies near one of its ends (AWS writes schemaType
// first; some exports write it last). It gates decodeInvocationDocument for
// a document that does not follow one it took, so that other streams do
// not pay for scans it would decline.
func looksLikeInvocation(doc []byte) bool {
	const window = 64
	mark := []byte("ModelInvocationLog")
	return bytes.Contains(doc[:min(len(doc), window)], mark) || bytes.Contains(doc[max(0, len(doc)-window):], mark)
}

// firstKeyElsewhere reports whether the first key of doc, an object, is one
// of keysElsewhere: a CloudTrail record begins with eventVersion, a log
// file with Records, so they are not even looked at for an invocation log.
func firstKeyElsewhere(doc []byte) bool {
	i := ws(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return true
	}
	if i = ws(doc, i+1); i >= len(doc) || doc[i] != '"' {
		return false
	}
	n := bytes.IndexByte(doc[i+1:min(len(doc), i+1+24)], '"') // the longest recordKey is 15 bytes
	return n >= 0 && recordKey(doc[i+1:i+1+n])&keysElsewhere != 0
}

func (d *Decoder) invocationFromBytes(raw []byte, rc *recordCtx, yield func(Record), whole bool) bool {
	sc := &d.inv
	defer sc.release()
	if !sc.scan(raw, &d.completion, whole) {
		return false
	}
	if whole && (!mayBeInvocation(sc.keys) || sc.keys.hasAny(keysSubscription) ||
		sc.keys.has(keyEventSource|keyEventName)) {
		return false
	}
	t := sc.time(sc.timestamp)
	if sc.declined {
		return false
	}
	d.prompt.reset()
	d.system.reset()
	sc.emit(&d.prompt, &d.system)

	e := d.newEvent(DatasetInvocation, raw, rc, t)
	a := &d.arena
	d.setID(e, sc.str(sc.requestID), raw)
	e.Provider = BedrockProvider
	a.set(&e.Action, sc.str(sc.operation))
	e.Outcome = "success"
	if len(sc.textBytes(sc.errorCode)) > 0 {
		e.Outcome = "failure"
	}
	arn := sc.str(sc.arn)
	a.set(&e.UserID, arn)
	a.set(&e.UserName, lastARNSegment(arn))
	a.set(&e.AccountID, sc.textBytes(sc.accountID))
	a.set(&e.Region, sc.str(sc.region))
	a.set(&e.ModelID, sc.str(sc.modelID))
	e.PromptTokens, e.HasPromptTokens = sc.promptTokens, sc.hasPromptTokens
	e.CompletionTokens, e.HasCompletionTokens = sc.completionTokens, sc.hasCompletionTokens
	e.Prompt = d.prompt.String()
	e.SystemPrompt = d.system.String()
	e.Completion = d.completion.String()
	e.GuardrailID = sc.guardrailID()
	e.GuardrailIntervened = sc.intervened
	a.commit()
	yield(Record{Status: StatusEvent, Source: SourceInvocation, Event: e})
	return true
}

// Slots of request text: the values text is collected from, in the order
// extractRequest adds their text. Each is read at the first member of its
// name, and its pieces are listed together.
const (
	slotMessages = iota // body messages (user and system turns)
	slotChatHistory
	slotMessage
	slotPrompt
	slotInputText
	slotTexts
	slotSystem
	slotPreamble
	slotTopMessages // messages beside the body, read when the body has no prompt
	slotTopSystem   // system beside the body, read when the body has none
	numSlots
)

// textPiece is one string of request text, added to the system prompt or to
// the prompt.
type textPiece struct {
	s      valueSpan
	system bool
}

// pieceRange is the pieces of one slot.
type pieceRange struct {
	lo, hi int32
	seen   bool // its name has been met: later members of the name are ignored
}

// invocationScan is the state of the fast path over one record. The Decoder
// keeps one and reuses its buffers.
type invocationScan struct {
	s         jsonIndexer // over the record's bytes; depth is the nesting of the container being read
	declined  bool
	unescaped []byte     // the last string unescaped (str, text)
	keys      recordKeys // of the top-level keys, as the first pass notes them
	// whole: the record is a whole document read without the first pass
	// (decodeInvocationDocument); a top-level key that routes documents
	// elsewhere declines it at once.
	whole bool

	// The top-level values decodeInvocation reads (first member of each
	// name; kind 0 when absent), identity.arn and the record's token counts.
	schemaType, timestamp, requestID, operation, errorCode, accountID, region, modelID valueSpan
	arn, inputTokens, outputTokens                                                     valueSpan
	seenIdentity, seenInput, seenOutput                                                bool

	// Request text and guardrail (extractRequest).
	pieces          []textPiece
	slots           [numSlots]pieceRange
	guardrailConfig [2]valueSpan // guardrailConfig and amazon-bedrock-guardrailConfig .guardrailIdentifier
	seenGuardrail   [2]bool

	// Response (extractResponse): the completion is added as it is met.
	completion     *boundedText
	intervened     bool
	traceGuardrail []byte // the first guardrail id found in a trace, a key in the record's bytes

	// Token counts: the record's, or else the first of the stream metrics.
	promptTokens, completionTokens       int64
	hasPromptTokens, hasCompletionTokens bool
	metricPrompt, metricCompletion       int64
	hasMetricPrompt, hasMetricCompletion bool
}

// maxRetainedPieces bounds the piece list an invocationScan keeps between
// records.
const maxRetainedPieces = 1 << 12

// scan reads the record b, adding its completion to completion (reset
// first). It reports false when the record is declined.
func (sc *invocationScan) scan(b []byte, completion *boundedText, whole bool) bool {
	*sc = invocationScan{s: jsonIndexer{b: b}, unescaped: sc.unescaped[:0], pieces: sc.pieces[:0], completion: completion, whole: whole}
	completion.reset()
	i := ws(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	if end := sc.record(i); ws(b, end) != len(b) {
		sc.decline()
	}
	if sc.declined || sc.s.failure != problemNone || !sc.equal(sc.schemaType, "ModelInvocationLog") {
		return false
	}
	for _, v := range [...]valueSpan{sc.operation, sc.modelID, sc.requestID} {
		if v.kind != 0 && v.kind != '"' && v.kind != 'n' { // malformed: the fastjson path says how
			return false
		}
	}
	sc.promptTokens, sc.hasPromptTokens = sc.count(sc.inputTokens)
	if !sc.hasPromptTokens {
		sc.promptTokens, sc.hasPromptTokens = sc.metricPrompt, sc.hasMetricPrompt
	}
	sc.completionTokens, sc.hasCompletionTokens = sc.count(sc.outputTokens)
	if !sc.hasCompletionTokens {
		sc.completionTokens, sc.hasCompletionTokens = sc.metricCompletion, sc.hasMetricCompletion
	}
	return !sc.declined
}

// release drops what sc holds of the record and oversized buffers.
func (sc *invocationScan) release() {
	sc.s.b, sc.traceGuardrail, sc.completion = nil, nil, nil
	if cap(sc.unescaped) > maxArenaRetained {
		sc.unescaped = nil
	}
	if cap(sc.pieces) > maxRetainedPieces {
		sc.pieces = nil
	}
}

// decline marks the record as one to leave to the fastjson path and returns
// the end of the input, which ends every scan.
func (sc *invocationScan) decline() int {
	sc.declined = true
	return len(sc.s.b)
}

// ---- scanning ----

// kindAt returns the kind of the value at i (see kindOf), or 0 past the end.
func (sc *invocationScan) kindAt(i int) byte {
	if i >= len(sc.s.b) {
		return 0
	}
	return kindOf(sc.s.b[i])
}

// skip returns the offset after the value at i.
func (sc *invocationScan) skip(i int) int { return sc.s.skip(i) }

// value returns the span of the value at i and the offset after it.
func (sc *invocationScan) value(i int) (valueSpan, int) {
	var v valueSpan
	if i >= len(sc.s.b) {
		return v, sc.decline()
	}
	end := sc.s.indexedValue(i, &v, false)
	return v, end
}

// first notes the value at i in slot unless the slot is set already (the
// first member of a name wins) and returns the offset after it.
func (sc *invocationScan) first(slot *valueSpan, i int) int {
	if slot.kind != 0 {
		return sc.skip(i)
	}
	v, end := sc.value(i)
	*slot = v
	return end
}

// key reads the key of the object member at i (after whitespace) and returns
// it with the offset of its value; at the end of the object it returns the
// offset of the closing brace and false. A key holding an escape sequence
// declines the record.
func (sc *invocationScan) key(i int) (key []byte, at int, ok bool) {
	s := &sc.s
	b := s.b
	if i = ws(b, i); i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	end, escaped := nextSpecial(b, i+1), false // str, inlined as in object
	if end < len(b) && b[end] == '"' {
		end++
	} else {
		end, escaped = s.strRest(end)
	}
	if s.failure != problemNone || escaped {
		return nil, sc.decline(), false
	}
	key = b[i+1 : end-1]
	if end < len(b) && b[end] == ':' { // compact JSON
		i = end
	} else if i = ws(b, end); i >= len(b) || b[i] != ':' {
		return nil, sc.decline(), false
	}
	if i = ws(b, i+1); i >= len(b) {
		return nil, sc.decline(), false
	}
	return key, i, true
}

// elem returns the offset of the array element at i (after whitespace), or
// of the closing bracket and false.
func (sc *invocationScan) elem(i int) (int, bool) {
	b := sc.s.b
	if i = ws(b, i); i >= len(b) || b[i] == ']' {
		return i, false
	}
	return i, true
}

// close returns the offset after the bracket at i that closes a container.
func (sc *invocationScan) close(i int, bracket byte) int {
	if i < len(sc.s.b) && sc.s.b[i] == bracket {
		return i + 1
	}
	return sc.decline()
}

// each calls read with the offset of each element of the array at i (read
// returns the offset after the element); any other value is skipped. It
// returns the offset after the value.
func (sc *invocationScan) each(i int, read func(int) int) int {
	if sc.kindAt(i) != '[' {
		return sc.skip(i)
	}
	if !sc.enter() {
		return sc.decline()
	}
	defer sc.leave()
	b := sc.s.b
	if i = ws(b, i+1); i < len(b) && b[i] == ']' {
		return i + 1
	}
	for {
		at, ok := sc.elem(i)
		if !ok { // after '[' or ',' an element must follow
			return sc.decline()
		}
		if i = ws(b, read(at)); i < len(b) && b[i] == ',' {
			i++
			continue
		}
		return sc.close(i, ']')
	}
}

// enter notes that a container is entered, and reports false when it lies
// deeper than the first pass allows (maxNesting): skip counts from depth.
func (sc *invocationScan) enter() bool {
	sc.s.depth++
	return sc.s.depth <= maxNesting
}

func (sc *invocationScan) leave() { sc.s.depth-- }

// members calls read with the key and the value's offset of each member of
// the object at i (read returns the offset after the value), and returns
// the offset after the object.
func (sc *invocationScan) members(i int, read func(k []byte, at int) int) int {
	if !sc.enter() {
		return sc.decline()
	}
	defer sc.leave()
	b := sc.s.b
	if i = ws(b, i+1); i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		k, at, ok := sc.key(i)
		if !ok { // after '{' or ',' a member must follow
			return sc.decline()
		}
		if i = ws(b, read(k, at)); i < len(b) && b[i] == ',' {
			i++
			continue
		}
		return sc.close(i, '}')
	}
}

// get follows path from the value at i as fastjson's Get does (the first
// member of each name; values that are not objects have none) and calls read
// with the offset of the value found, if any. It returns the offset after
// the value at i.
func (sc *invocationScan) get(i int, read func(int) int, path ...string) int {
	if len(path) == 0 {
		return read(i)
	}
	if sc.kindAt(i) != '{' {
		return sc.skip(i)
	}
	found := false
	return sc.members(i, func(k []byte, at int) int {
		var end int
		if !found && string(k) == path[0] {
			found = true
			end = sc.get(at, read, path[1:]...)
		} else {
			end = sc.skip(at)
		}
		return end
	})
}

// at returns the value at path under the value at i (see get), and the
// offset after the value at i.
func (sc *invocationScan) at(i int, path ...string) (valueSpan, int) {
	var v valueSpan
	end := sc.get(i, func(j int) int {
		var end int
		v, end = sc.value(j)
		return end
	}, path...)
	return v, end
}

// fields returns the values of the first members named n1 and n2 of the
// object at i (none when it is not an object), and the offset after it.
func (sc *invocationScan) fields(i int, n1, n2 string) (v1, v2 valueSpan, end int) {
	if sc.kindAt(i) != '{' {
		return v1, v2, sc.skip(i)
	}
	closed := sc.members(i, func(k []byte, at int) int {
		switch string(k) {
		case n1:
			end = sc.first(&v1, at)
		case n2:
			end = sc.first(&v2, at)
		default:
			end = sc.skip(at)
		}
		return end
	})
	return v1, v2, closed
}

// offset returns where the value of v starts (a string's opening quote).
func (v valueSpan) offset() int {
	if v.kind == '"' {
		return int(v.start) - 1
	}
	return int(v.start)
}

// raw returns the bytes of v (a string's content, escaped), or nil.
func (sc *invocationScan) raw(v valueSpan) []byte {
	if v.kind == 0 || v.end < v.start || int(v.end) > len(sc.s.b) {
		return nil
	}
	return v.bytes(sc.s.b)
}

// str returns the unescaped content of the string v, or nil when v is not a
// string (fastjson's GetStringBytes). The result may be sc's buffer, valid
// until the next call.
func (sc *invocationScan) str(v valueSpan) []byte {
	if v.kind != '"' {
		return nil
	}
	raw := sc.raw(v)
	if !v.escaped {
		return raw
	}
	sc.unescaped = unescapeJSON(sc.unescaped[:0], raw)
	return sc.unescaped
}

// equal reports whether v is the string s.
func (sc *invocationScan) equal(v valueSpan, s string) bool {
	return v.kind == '"' && string(sc.str(v)) == s
}

// roleIs is the fast path's roleIs: v is a string equal to role, ignoring
// case.
func (sc *invocationScan) roleIs(v valueSpan, role string) bool {
	return v.kind == '"' && bytes.EqualFold(sc.str(v), []byte(role))
}

// textBytes is Decoder.textBytes of v: a string's content, a number as
// written, true or false; else nil.
func (sc *invocationScan) textBytes(v valueSpan) []byte {
	switch v.kind {
	case '"':
		return sc.str(v)
	case '0':
		return sc.raw(v)
	case 't':
		return trueBytes
	case 'f':
		return falseBytes
	}
	return nil
}

// number reads the number v as fastjson's Float64 does, when it is a plain
// integer (optionally negative) of at most 15 digits: exact in a float64.
// Other forms decline the record.
func (sc *invocationScan) number(v valueSpan) float64 {
	b := sc.raw(v)
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 15 {
		sc.decline()
		return 0
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			sc.decline()
			return 0
		}
		n = n*10 + uint64(c-'0')
	}
	f := float64(n)
	if neg {
		f = -f
	}
	return f
}

// count is integerOf of v.
func (sc *invocationScan) count(v valueSpan) (int64, bool) {
	switch v.kind {
	case '0':
		return countOf(sc.number(v))
	case '"':
		return countOfText(sc.str(v))
	}
	return 0, false
}

// time is timeOf of v (the zero time when it holds none).
func (sc *invocationScan) time(v valueSpan) time.Time {
	var t time.Time
	switch v.kind {
	case '"':
		t, _ = parseTimeText(sc.str(v))
	case '0':
		t, _ = epochTime(sc.number(v))
	}
	return t
}

// ---- the record ----

// record reads the record, an object whose '{' is at i, and returns the
// offset after it (decodeInvocation's invocationFields.read).
func (sc *invocationScan) record(i int) int {
	return sc.members(i, func(k []byte, at int) int {
		key := recordKey(k)
		sc.keys |= key
		if sc.whole && key&keysElsewhere != 0 {
			return sc.decline() // a CloudTrail record, a digest, an envelope: at its first key, as a rule
		}
		var end int
		switch string(k) {
		case "schemaType":
			end = sc.first(&sc.schemaType, at)
		case "timestamp":
			end = sc.first(&sc.timestamp, at)
		case "requestId":
			end = sc.first(&sc.requestID, at)
		case "operation":
			end = sc.first(&sc.operation, at)
		case "errorCode":
			end = sc.first(&sc.errorCode, at)
		case "accountId":
			end = sc.first(&sc.accountID, at)
		case "region":
			end = sc.first(&sc.region, at)
		case "modelId":
			end = sc.first(&sc.modelID, at)
		case "identity":
			if sc.seenIdentity {
				end = sc.skip(at)
				break
			}
			sc.seenIdentity = true
			sc.arn, end = sc.at(at, "arn")
		case "input":
			if sc.seenInput {
				end = sc.skip(at)
				break
			}
			sc.seenInput = true
			end = sc.input(at)
		case "output":
			if sc.seenOutput {
				end = sc.skip(at)
				break
			}
			sc.seenOutput = true
			end = sc.output(at)
		case "messages":
			end = sc.slot(slotTopMessages, at, sc.messages)
		case "system":
			end = sc.slot(slotTopSystem, at, sc.content0)
		default:
			end = sc.skip(at)
		}
		return end
	})
}

// input reads the record's input: its token count and request body.
func (sc *invocationScan) input(i int) int {
	return sc.side(i, "inputTokenCount", &sc.inputTokens, "inputBodyJson", func(at int) int {
		switch sc.kindAt(at) {
		case '{':
			return sc.request(at)
		case '"': // JSON in a string: bodyValue parses it
			return sc.decline()
		}
		return sc.skip(at) // an array body holds no request text
	})
}

// output reads the record's output: its token count and response body, an
// object or an array of stream chunks (extractResponse).
func (sc *invocationScan) output(i int) int {
	return sc.side(i, "outputTokenCount", &sc.outputTokens, "outputBodyJson", func(at int) int {
		switch sc.kindAt(at) {
		case '{':
			return sc.response(at, "\n")
		case '[':
			return sc.each(at, func(j int) int {
				if sc.kindAt(j) == '{' { // skip "[DONE]" and the like
					return sc.response(j, "")
				}
				return sc.skip(j)
			})
		case '"':
			return sc.decline()
		}
		return sc.skip(at)
	})
}

// side reads the input or output object at i: the first value of tokensKey
// into tokens, and the first value of bodyKey with body.
func (sc *invocationScan) side(i int, tokensKey string, tokens *valueSpan, bodyKey string, body func(at int) int) int {
	if sc.kindAt(i) != '{' {
		return sc.skip(i)
	}
	seenBody := false
	return sc.members(i, func(k []byte, at int) int {
		switch {
		case string(k) == tokensKey:
			return sc.first(tokens, at)
		case string(k) == bodyKey && !seenBody:
			seenBody = true
			return body(at)
		}
		return sc.skip(at)
	})
}

// ---- request text (extractRequest, collectRequestText) ----

// request reads a request body, the object at i.
func (sc *invocationScan) request(i int) int {
	return sc.members(i, func(k []byte, at int) int {
		var end int
		switch string(k) {
		case "messages":
			end = sc.slot(slotMessages, at, sc.messages)
		case "chat_history":
			end = sc.slot(slotChatHistory, at, func(j int) int {
				return sc.each(j, func(j int) int {
					role, message, end := sc.fields(j, "role", "message")
					if sc.roleIs(role, "user") {
						sc.piece(message)
					}
					return end
				})
			})
		case "message":
			end = sc.slot(slotMessage, at, sc.stringPiece)
		case "prompt":
			end = sc.slot(slotPrompt, at, sc.stringPiece)
		case "inputText":
			end = sc.slot(slotInputText, at, sc.stringPiece)
		case "texts":
			end = sc.slot(slotTexts, at, func(j int) int { return sc.each(j, sc.stringPiece) })
		case "system":
			end = sc.slot(slotSystem, at, sc.content0)
		case "preamble":
			end = sc.slot(slotPreamble, at, sc.stringPiece)
		case "guardrailConfig":
			end = sc.guardrailConfigAt(0, at)
		case "amazon-bedrock-guardrailConfig":
			end = sc.guardrailConfigAt(1, at)
		default:
			end = sc.skip(at)
		}
		return end
	})
}

// guardrailConfigAt notes the guardrailIdentifier of the first guardrail
// config n of the body.
func (sc *invocationScan) guardrailConfigAt(n, i int) int {
	if sc.seenGuardrail[n] {
		return sc.skip(i)
	}
	sc.seenGuardrail[n] = true
	v, end := sc.at(i, "guardrailIdentifier")
	sc.guardrailConfig[n] = v
	return end
}

// slot reads the value at i with read into slot n, unless the slot has been
// read; the pieces of the system slots go to the system prompt.
func (sc *invocationScan) slot(n, i int, read func(int) int) int {
	s := &sc.slots[n]
	if s.seen {
		return sc.skip(i)
	}
	s.seen = true
	s.lo = int32(len(sc.pieces))
	end := read(i)
	s.hi = int32(len(sc.pieces))
	if n == slotSystem || n == slotPreamble || n == slotTopSystem {
		for p := s.lo; p < s.hi; p++ {
			sc.pieces[p].system = true
		}
	}
	return end
}

// piece lists v, if a string, as a piece of request text.
func (sc *invocationScan) piece(v valueSpan) {
	if v.kind == '"' && v.end > v.start {
		sc.pieces = append(sc.pieces, textPiece{s: v})
	}
}

// stringPiece lists the value at i, if a string.
func (sc *invocationScan) stringPiece(i int) int {
	v, end := sc.value(i)
	sc.piece(v)
	return end
}

// messages reads turns (collectMessages): an array of {role, content}, or
// one such object. A turn without a role counts as the user's.
func (sc *invocationScan) messages(i int) int {
	if sc.kindAt(i) == '{' {
		return sc.turn(i)
	}
	return sc.each(i, sc.turn)
}

// turn reads one turn: its content's pieces stay when the role is user (or
// absent), are marked for the system prompt when it is system, and are
// dropped otherwise.
func (sc *invocationScan) turn(i int) int {
	if sc.kindAt(i) != '{' {
		return sc.skip(i)
	}
	lo := len(sc.pieces)
	var role valueSpan
	seenContent := false
	closed := sc.members(i, func(k []byte, at int) int {
		var end int
		switch {
		case string(k) == "role":
			end = sc.first(&role, at)
		case string(k) == "content" && !seenContent:
			seenContent = true
			end = sc.content(at, 0)
		default:
			end = sc.skip(at)
		}
		return end
	})
	switch {
	case role.kind == 0 || sc.roleIs(role, "user"):
	case sc.roleIs(role, "system"):
		for p := range sc.pieces[lo:] {
			sc.pieces[lo+p].system = true
		}
	default:
		sc.pieces = sc.pieces[:lo]
	}
	return closed
}

// content0 is content at depth 0.
func (sc *invocationScan) content0(i int) int { return sc.content(i, 0) }

// content reads message content (collectContent): a string, an array of
// strings or blocks, or a block.
func (sc *invocationScan) content(i, depth int) int {
	switch sc.kindAt(i) {
	case '"':
		return sc.stringPiece(i)
	case '[':
		return sc.each(i, func(j int) int { return sc.content(j, depth) })
	case '{':
		return sc.block(i, depth)
	}
	return sc.skip(i)
}

// block reads a content block, the object at i: its text, guard content,
// or the content of a tool result or of the block, in that order of
// preference.
func (sc *invocationScan) block(i, depth int) int {
	var text, guard, result, inner valueSpan
	seenGuard := false
	closed := sc.members(i, func(k []byte, at int) int {
		var end int
		switch {
		case string(k) == "text":
			end = sc.first(&text, at)
		case string(k) == "guardContent" && !seenGuard:
			seenGuard = true
			guard, end = sc.at(at, "text", "text")
		case string(k) == "toolResult":
			end = sc.first(&result, at)
		case string(k) == "content":
			end = sc.first(&inner, at)
		default:
			end = sc.skip(at)
		}
		return end
	})
	switch {
	case text.kind == '"':
		sc.piece(text)
	case guard.kind == '"':
		sc.piece(guard)
	case depth >= maxContentNesting:
	case result.kind != 0:
		sc.get(result.offset(), func(j int) int { return sc.content(j, depth+1) }, "content")
	case inner.kind != 0:
		sc.content(inner.offset(), depth+1)
	}
	return closed
}

// emit adds the request text to prompt and system, slot by slot, as
// extractRequest does.
func (sc *invocationScan) emit(prompt, system *boundedText) {
	add := func(n int) {
		for _, p := range sc.pieces[sc.slots[n].lo:sc.slots[n].hi] {
			t := prompt
			if p.system {
				t = system
			}
			if !t.full {
				t.add("\n", sc.str(p.s))
			}
		}
	}
	for n := slotMessages; n <= slotPreamble; n++ {
		add(n)
	}
	if prompt.empty() {
		add(slotTopMessages)
	}
	if system.empty() {
		add(slotTopSystem)
	}
}

// guardrailID is the event's guardrail id: the request's guardrail config,
// else the first a trace names.
func (sc *invocationScan) guardrailID() string {
	for _, v := range sc.guardrailConfig {
		if id := sc.str(v); len(id) > 0 {
			return string(id)
		}
	}
	return string(sc.traceGuardrail)
}

// ---- response (scanResponse) ----

// addText adds the string v, if one, to the completion.
func (sc *invocationScan) addText(sep string, v valueSpan) {
	if v.kind == '"' && v.end > v.start && !sc.completion.full {
		sc.completion.add(sep, sc.str(v))
	}
}

// textAt adds the string at path under the value at i to the completion.
func (sc *invocationScan) textAt(sep string, i int, path ...string) int {
	v, end := sc.at(i, path...)
	sc.addText(sep, v)
	return end
}

// response reads a response body or a stream chunk, the object at i, every
// member in order (scanResponse).
func (sc *invocationScan) response(i int, sep string) int {
	return sc.members(i, func(k []byte, at int) int {
		var end int
		switch string(k) {
		case "content":
			end = sc.each(at, func(j int) int {
				typ, text, end := sc.fields(j, "type", "text")
				if typ.kind == 0 || sc.equal(typ, "text") {
					sc.addText(sep, text)
				}
				return end
			})
		case "output":
			end = sc.get(at, func(j int) int {
				return sc.each(j, func(j int) int { return sc.textAt(sep, j, "text") })
			}, "message", "content")
		case "results":
			end = sc.each(at, func(j int) int { return sc.textAt(sep, j, "outputText") })
		case "outputs", "generations":
			end = sc.each(at, func(j int) int { return sc.textAt(sep, j, "text") })
		case "choices":
			end = sc.each(at, func(j int) int { return sc.choice(sep, j) })
		case "generation", "text", "completion", "outputText":
			end = sc.textAt(sep, at)
		case "delta":
			end = sc.textAt(sep, at, "text")
		case "contentBlockDelta":
			end = sc.textAt(sep, at, "delta", "text")
		case "stopReason":
			var v valueSpan
			v, end = sc.value(at)
			sc.intervened = sc.intervened || sc.equal(v, "guardrail_intervened")
		case "messageStop":
			var v valueSpan
			v, end = sc.at(at, "stopReason")
			sc.intervened = sc.intervened || sc.equal(v, "guardrail_intervened")
		case "amazon-bedrock-guardrailAction":
			var v valueSpan
			v, end = sc.value(at)
			sc.intervened = sc.intervened || sc.equal(v, "INTERVENED")
		case "trace", "amazon-bedrock-trace":
			end = sc.trace(at, "guardrail")
		case "metadata":
			end = sc.trace(at, "trace", "guardrail")
		case "amazon-bedrock-invocationMetrics":
			var in, out valueSpan
			in, out, end = sc.fields(at, "inputTokenCount", "outputTokenCount")
			if n, ok := sc.count(in); ok && !sc.hasMetricPrompt {
				sc.metricPrompt, sc.hasMetricPrompt = n, true
			}
			if n, ok := sc.count(out); ok && !sc.hasMetricCompletion {
				sc.metricCompletion, sc.hasMetricCompletion = n, true
			}
		default:
			end = sc.skip(at)
		}
		return end
	})
}

// choice reads a Mistral choice, the value at i: message.content, then
// delta.content.
func (sc *invocationScan) choice(sep string, i int) int {
	if sc.kindAt(i) != '{' {
		return sc.skip(i)
	}
	var message, delta valueSpan
	seenMessage, seenDelta := false, false
	closed := sc.members(i, func(k []byte, at int) int {
		var end int
		switch {
		case string(k) == "message" && !seenMessage:
			seenMessage = true
			message, end = sc.at(at, "content")
		case string(k) == "delta" && !seenDelta:
			seenDelta = true
			delta, end = sc.at(at, "content")
		default:
			end = sc.skip(at)
		}
		return end
	})
	sc.addText(sep, message)
	sc.addText(sep, delta)
	return closed
}

// trace notes the guardrail id of the guardrail trace at path under the
// value at i, unless a trace has named one already.
func (sc *invocationScan) trace(i int, path ...string) int {
	if len(sc.traceGuardrail) > 0 {
		return sc.skip(i)
	}
	return sc.get(i, sc.guardrail, path...)
}

// guardrail reads a guardrail trace, the value at i (guardrailIDOfTrace):
// the id is the key of its input assessment or of its first output
// assessment.
func (sc *invocationScan) guardrail(i int) int {
	if sc.kindAt(i) != '{' {
		return sc.skip(i)
	}
	var ids [4][]byte // by preference: inputAssessment, input, outputAssessments, outputs
	var seen [4]bool
	closed := sc.members(i, func(k []byte, at int) int {
		n := -1
		switch string(k) {
		case "inputAssessment":
			n = 0
		case "input":
			n = 1
		case "outputAssessments":
			n = 2
		case "outputs":
			n = 3
		}
		var end int
		if n < 0 || seen[n] {
			end = sc.skip(at)
		} else {
			seen[n] = true
			ids[n], end = sc.assessment(at)
		}
		return end
	})
	for _, id := range ids {
		if len(id) > 0 {
			sc.traceGuardrail = id
			break
		}
	}
	return closed
}

// assessment returns the first non-empty key of the object at i, or of the
// first element of the array at i (firstKey), and the offset after the
// value.
func (sc *invocationScan) assessment(i int) ([]byte, int) {
	switch sc.kindAt(i) {
	case '{':
		return sc.firstKey(i)
	case '[':
		var id []byte
		firstElem := true
		end := sc.each(i, func(j int) int {
			if !firstElem || sc.kindAt(j) != '{' {
				firstElem = false
				return sc.skip(j)
			}
			firstElem = false
			var end int
			id, end = sc.firstKey(j)
			return end
		})
		return id, end
	}
	return nil, sc.skip(i)
}

// firstKey returns the first non-empty key of the object at i and the
// offset after it.
func (sc *invocationScan) firstKey(i int) ([]byte, int) {
	var id []byte
	closed := sc.members(i, func(k []byte, at int) int {
		if id == nil && len(k) > 0 {
			id = k
		}
		return sc.skip(at)
	})
	return id, closed
}

// ---- strings ----

// unescapeJSON appends to dst the content s of a JSON string (without its
// quotes) with its escape sequences decoded exactly as fastjson decodes them
// (unescapeStringBestEffort), so that both paths give the same bytes: a
// \uXXXX surrogate followed by another \uXXXX escape becomes the rune
// utf16.DecodeRune makes of the two (U+FFFD unless they pair), a surrogate
// followed by anything else is kept as written, and malformed escapes, which
// the first pass rejects, are kept as written too.
func unescapeJSON(dst, s []byte) []byte {
	for {
		n := bytes.IndexByte(s, '\\')
		if n < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:n]...)
		if s = s[n+1:]; len(s) == 0 {
			return dst
		}
		c := s[0]
		s = s[1:]
		switch c {
		case '"', '\\', '/':
			dst = append(dst, c)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			x, ok := hex4(s)
			if !ok {
				dst = append(dst, `\u`...)
				break
			}
			xs := s[:4]
			s = s[4:]
			if !utf16.IsSurrogate(rune(x)) {
				dst = utf8.AppendRune(dst, rune(x))
				break
			}
			var x1 rune
			if len(s) >= 6 && s[0] == '\\' && s[1] == 'u' {
				x1, ok = hex4(s[2:])
			} else {
				ok = false
			}
			if !ok {
				dst = append(append(dst, `\u`...), xs...)
				break
			}
			dst = utf8.AppendRune(dst, utf16.DecodeRune(rune(x), x1))
			s = s[6:]
		default:
			dst = append(dst, '\\', c)
		}
	}
}

// hex4 reads four hexadecimal digits at the start of s.
func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var x rune
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		x = x<<4 | rune(c)
	}
	return x, true
}
