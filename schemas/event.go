package schemas

import (
	"time"
	"unicode/utf8"
	"unsafe"
)

// Datasets: the value of data_stream.dataset for each input strand.
const (
	DatasetCloudTrail = "aws.cloudtrail"
	DatasetInvocation = "aws_bedrock.invocation"
	DatasetEndpoint   = "endpoint.process"
)

// BedrockProvider is event.provider for every Bedrock CloudTrail record and for
// invocation logs.
const BedrockProvider = "bedrock.amazonaws.com"

// Origin says where a record came from: a Kafka position in the service, a
// file and line in replay. It is evidence in alerts and the tie-breaker for
// events with equal timestamps (topic, partition, offset; then file, line,
// index within the message).
type Origin struct {
	Topic     string `json:"topic,omitempty"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	File      string `json:"file,omitempty"`
	Line      int    `json:"line,omitempty"`
	// Index is the record's position inside one message or document that
	// holds several (a CloudTrail log file, a CloudWatch Logs batch).
	Index int `json:"index,omitempty"`
}

// Event is one normalised record. Its typed fields are the ECS fields of
// SPEC §3; an empty string or a false Has* flag means the input did not carry
// the field, and rules see it as null.
//
// An Event owns all its memory: it holds no reference into the buffer it was
// decoded from, so it may be kept in windows and sequence state.
type Event struct {
	Timestamp time.Time // @timestamp (event time, UTC)
	Dataset   string    // data_stream.dataset

	Provider string // event.provider
	Action   string // event.action
	Outcome  string // event.outcome: success | failure
	Category string // event.category (endpoint: process)
	ID       string // event.id; a content hash when the input has none

	// CloudTrail.
	ErrorCode        string // aws.cloudtrail.error_code
	ErrorMessage     string // aws.cloudtrail.error_message
	IdentityType     string // aws.cloudtrail.user_identity.type
	IdentityARN      string // aws.cloudtrail.user_identity.arn
	AccessKeyID      string // aws.cloudtrail.user_identity.access_key_id
	SessionIssuerARN string // aws.cloudtrail.user_identity.session_context.session_issuer.arn
	EventCategory    string // aws.cloudtrail.event_category: Management | Data
	// RequestParameters is aws.cloudtrail.request_parameters (nil if absent).
	RequestParameters map[string]any

	// Common identity and place.
	UserID    string // user.id (principal ARN)
	UserName  string // user.name
	AccountID string // cloud.account.id
	Region    string // cloud.region
	SourceIP  string // source.ip, as given (may hold leading zeros or a list)
	UserAgent string // user_agent.original

	// Generative AI (invocation logs; model id also from CloudTrail).
	ModelID             string // gen_ai.request.model.id
	Prompt              string // gen_ai.prompt: text of the user turns
	SystemPrompt        string // gen_ai.system_prompt: text of the system prompt
	Completion          string // gen_ai.completion
	PromptTokens        int64  // gen_ai.usage.prompt_tokens
	CompletionTokens    int64  // gen_ai.usage.completion_tokens
	HasPromptTokens     bool
	HasCompletionTokens bool
	GuardrailID         string // gen_ai.guardrail_id
	// GuardrailIntervened (gen_ai.guardrail.intervened) is true when the
	// invocation log shows a guardrail intervention in either trace shape
	// (stopReason "guardrail_intervened" or
	// "amazon-bedrock-guardrailAction":"INTERVENED").
	GuardrailIntervened bool

	// Endpoint.
	CommandLine string // process.command_line
	ProcessName string // process.name
	HostName    string // host.name

	// Raw is the record's own JSON (one record, not its envelope), kept so
	// that fields without a typed slot stay reachable by path (see
	// FieldGetter, PathReadsRaw). It is nil when the Decoder was configured
	// with DropRaw.
	Raw []byte

	Origin Origin

	// runesOf and runes remember the last RuneCount.
	runesOf string
	runes   int
}

// RuneCount returns the number of runes in s, a text of the event. The
// count of the last text asked for is remembered: the prompt-length rule
// counts the prompt, and so does the excerpt of its alert, and prompts run
// to 64 KB.
func (e *Event) RuneCount(s string) int {
	if e == nil || len(s) < 64 {
		return utf8.RuneCountInString(s)
	}
	if len(s) == len(e.runesOf) && unsafe.StringData(s) == unsafe.StringData(e.runesOf) {
		return e.runes
	}
	e.runesOf, e.runes = s, utf8.RuneCountInString(s)
	return e.runes
}

// Subject is the actor a single-event alert is about: the access key id, else
// the principal ARN, else the host name (SPEC §6).
func (e *Event) Subject() string {
	switch {
	case e.AccessKeyID != "":
		return e.AccessKeyID
	case e.UserID != "":
		return e.UserID
	}
	return e.HostName
}

// Before reports whether e comes before o in event time, ties broken by
// origin (topic, partition, offset, file, line, index) and then event id, so
// that every replica orders the same events the same way.
func (e *Event) Before(o *Event) bool {
	return OrderBefore(e.Timestamp, e.Origin, e.ID, o.Timestamp, o.Origin, o.ID)
}

// OrderBefore is the total order of events: event time, then origin, then id.
func OrderBefore(t1 time.Time, a Origin, id1 string, t2 time.Time, b Origin, id2 string) bool {
	if !t1.Equal(t2) {
		return t1.Before(t2)
	}
	switch {
	case a.Topic != b.Topic:
		return a.Topic < b.Topic
	case a.Partition != b.Partition:
		return a.Partition < b.Partition
	case a.Offset != b.Offset:
		return a.Offset < b.Offset
	case a.File != b.File:
		return a.File < b.File
	case a.Line != b.Line:
		return a.Line < b.Line
	case a.Index != b.Index:
		return a.Index < b.Index
	}
	return id1 < id2
}
