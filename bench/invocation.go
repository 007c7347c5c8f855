package bench

import (
	"math"
	"strconv"
	"time"
)

// Invocation-log records follow the CloudWatch Logs / S3 model invocation
// log schema (schemaType ModelInvocationLog, schemaVersion 1.0), as in
// Elastic's aws_bedrock pipeline tests and Splunk's attack data: Anthropic
// messages bodies for InvokeModel, Converse bodies for Converse, and the
// chunk events of a response stream.

type invocationOpts struct {
	requestID []byte // nil: random
	model     string // "": drawn
	operation string // "": drawn
}

var systemPrompts = []string{
	"You are a helpful assistant for the support team. Answer briefly and cite the knowledge base article when you use one.",
	"You are a code reviewer. Point out bugs, race conditions and missing tests; suggest concise fixes.",
	"You summarise documents for busy executives: five bullet points at most, numbers first.",
	"You translate customer messages into English and classify them as billing, technical or account questions.",
}

// tokens draws a log-normal token count of the given median and spread,
// between 1 and max.
func (g *Generator) tokens(median float64, sigma float64, max int) int {
	n := int(median * math.Exp(sigma*g.r.NormFloat64()))
	return min(max, n+1)
}

// appendInvocation appends one model-invocation log record by k at t.
func (g *Generator) appendInvocation(b []byte, k *keyInfo, t time.Time, o invocationOpts) []byte {
	op := o.operation
	if op == "" {
		switch u := g.r.IntN(100); {
		case u < 50:
			op = "InvokeModel"
		case u < 65:
			op = "InvokeModelWithResponseStream"
		case u < 95:
			op = "Converse"
		default:
			op = "ConverseStream"
		}
	}
	converse := op == "Converse" || op == "ConverseStream"
	model := o.model
	if model == "" {
		if converse {
			model = invokeModels[g.r.IntN(len(invokeModels))]
		} else {
			model = invokeModels[g.r.IntN(6)] // Anthropic models: messages bodies
		}
	}
	inTok := g.tokens(float64(g.mix.MedianPromptTokens), 1.3, g.mix.MaxPromptBytes/4)
	outTok := g.tokens(150, 1.0, 4096)
	promptBytes := min(inTok*4, g.mix.MaxPromptBytes)

	b = append(b, `{"schemaType":"ModelInvocationLog","schemaVersion":"1.0","timestamp":"`...)
	b = g.tc.appendSeconds(b, t)
	b = append(b, `","accountId":"`...)
	b = append(b, k.account...)
	b = append(b, `","identity":{"arn":"`...)
	b = append(b, k.arn...)
	b = append(b, `"},"region":"`...)
	b = append(b, k.region...)
	b = append(b, `","requestId":"`...)
	if o.requestID != nil {
		b = append(b, o.requestID...)
	} else {
		b = appendUUID(b, g.r)
	}
	b = append(b, `","operation":"`...)
	b = append(b, op...)
	b = append(b, `","modelId":"`...)
	b = append(b, model...)
	b = append(b, `","input":{"inputContentType":"application/json","inputBodyJson":`...)

	// The prompt: one user turn, or a short conversation.
	turns := 1
	if g.r.IntN(10) < 3 {
		turns = 3
	}
	system := ""
	if g.r.IntN(10) < 6 {
		system = systemPrompts[g.r.IntN(len(systemPrompts))]
	}
	if converse {
		b = append(b, `{"messages":[`...)
		for i := range turns {
			if i > 0 {
				b = append(b, ',')
			}
			if i%2 == 0 {
				b = append(b, `{"role":"user","content":[{"text":"`...)
			} else {
				b = append(b, `{"role":"assistant","content":[{"text":"`...)
			}
			b = appendCorpus(b, g.corpus, g.r, max(1, promptBytes/turns))
			b = append(b, `"}]}`...)
		}
		b = append(b, ']')
		if system != "" {
			b = append(b, `,"system":[{"text":"`...)
			b = append(b, system...)
			b = append(b, `"}]`...)
		}
		b = append(b, `,"inferenceConfig":{"maxTokens":`...)
		b = strconv.AppendInt(b, int64(max(1024, outTok)), 10)
		b = append(b, `,"temperature":0.5}}`...)
	} else {
		b = append(b, `{"anthropic_version":"bedrock-2023-05-31","max_tokens":`...)
		b = strconv.AppendInt(b, int64(max(1024, outTok)), 10)
		if system != "" {
			b = append(b, `,"system":"`...)
			b = append(b, system...)
			b = append(b, '"')
		}
		b = append(b, `,"messages":[`...)
		for i := range turns {
			if i > 0 {
				b = append(b, ',')
			}
			if i%2 == 0 {
				b = append(b, `{"role":"user","content":[{"type":"text","text":"`...)
			} else {
				b = append(b, `{"role":"assistant","content":[{"type":"text","text":"`...)
			}
			b = appendCorpus(b, g.corpus, g.r, max(1, promptBytes/turns))
			b = append(b, `"}]}`...)
		}
		b = append(b, `],"temperature":1,"top_p":0.999}`...)
	}
	b = append(b, `,"inputTokenCount":`...)
	b = strconv.AppendInt(b, int64(inTok), 10)
	b = append(b, `},"output":{"outputContentType":"application/json","outputBodyJson":`...)

	completion := min(outTok*4, 16<<10)
	latency := 300 + g.r.Int64N(2000) + int64(outTok)*15
	switch op {
	case "InvokeModel":
		b = append(b, `{"id":"msg_bdrk_01`...)
		b = appendBase32(b, g.r.Uint64(), 22)
		b = append(b, `","type":"message","role":"assistant","model":"claude","content":[{"type":"text","text":"`...)
		b = appendCorpus(b, g.corpus, g.r, completion)
		b = append(b, `"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":`...)
		b = strconv.AppendInt(b, int64(inTok), 10)
		b = append(b, `,"output_tokens":`...)
		b = strconv.AppendInt(b, int64(outTok), 10)
		b = append(b, `}}`...)
	case "InvokeModelWithResponseStream":
		b = append(b, `[{"type":"message_start","message":{"id":"msg_bdrk_01`...)
		b = appendBase32(b, g.r.Uint64(), 22)
		b = append(b, `","type":"message","role":"assistant","model":"claude","content":[],"stop_reason":null,"usage":{"input_tokens":`...)
		b = strconv.AppendInt(b, int64(inTok), 10)
		b = append(b, `,"output_tokens":1}}},{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`...)
		chunks := min(8, 1+completion/64)
		for range chunks {
			b = append(b, `,{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"`...)
			b = appendCorpus(b, g.corpus, g.r, max(1, completion/chunks))
			b = append(b, `"}}`...)
		}
		b = append(b, `,{"type":"content_block_stop","index":0},{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":`...)
		b = strconv.AppendInt(b, int64(outTok), 10)
		b = append(b, `}},{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":`...)
		b = strconv.AppendInt(b, int64(inTok), 10)
		b = append(b, `,"outputTokenCount":`...)
		b = strconv.AppendInt(b, int64(outTok), 10)
		b = append(b, `,"invocationLatency":`...)
		b = strconv.AppendInt(b, latency, 10)
		b = append(b, `,"firstByteLatency":`...)
		b = strconv.AppendInt(b, 200+g.r.Int64N(600), 10)
		b = append(b, `}}]`...)
	default: // Converse, ConverseStream
		b = append(b, `{"output":{"message":{"role":"assistant","content":[{"text":"`...)
		b = appendCorpus(b, g.corpus, g.r, completion)
		b = append(b, `"}]}},"stopReason":"end_turn","usage":{"inputTokens":`...)
		b = strconv.AppendInt(b, int64(inTok), 10)
		b = append(b, `,"outputTokens":`...)
		b = strconv.AppendInt(b, int64(outTok), 10)
		b = append(b, `,"totalTokens":`...)
		b = strconv.AppendInt(b, int64(inTok+outTok), 10)
		b = append(b, `},"metrics":{"latencyMs":`...)
		b = strconv.AppendInt(b, latency, 10)
		b = append(b, `}}`...)
	}
	b = append(b, `,"outputTokenCount":`...)
	b = strconv.AppendInt(b, int64(outTok), 10)
	return append(b, `}}`...)
}
