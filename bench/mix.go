package bench

import (
	"errors"
	"fmt"
	"time"
)

// Stream is one of the three input strands the generator writes.
type Stream uint8

const (
	// CloudTrail records: bare records, keyed by access key id.
	CloudTrail Stream = iota
	// Invocations: Bedrock model-invocation log records, keyed by identity ARN.
	Invocations
	// Endpoint process events (ECS), keyed by host name.
	Endpoint
	numStreams
)

func (s Stream) String() string {
	switch s {
	case CloudTrail:
		return "cloudtrail"
	case Invocations:
		return "invocations"
	case Endpoint:
		return "endpoint"
	}
	return fmt.Sprintf("stream(%d)", uint8(s))
}

// Topics names the topic of each stream.
type Topics struct {
	CloudTrail  string
	Invocations string
	Endpoint    string
}

// DefaultTopics returns the service's default input topic names.
func DefaultTopics() Topics {
	return Topics{CloudTrail: "cloudtrail", Invocations: "bedrock-invocations", Endpoint: "endpoint"}
}

// Of returns the topic of s.
func (t Topics) Of(s Stream) string {
	switch s {
	case Invocations:
		return t.Invocations
	case Endpoint:
		return t.Endpoint
	}
	return t.CloudTrail
}

// All returns the three topic names, CloudTrail first.
func (t Topics) All() []string { return []string{t.CloudTrail, t.Invocations, t.Endpoint} }

// WithPrefix returns t with prefix before each name.
func (t Topics) WithPrefix(prefix string) Topics {
	return Topics{CloudTrail: prefix + t.CloudTrail, Invocations: prefix + t.Invocations, Endpoint: prefix + t.Endpoint}
}

// Mix says what the generated traffic is made of. The zero value is not
// usable: start from DefaultMix.
type Mix struct {
	// Keys is the number of distinct access keys of the background traffic.
	// Which key acts is drawn with a Zipf law of exponent ZipfS (> 1): the
	// first keys are busy, the long tail is quiet.
	Keys  int
	ZipfS float64
	// LongTermShare is the share of keys that are long-term IAM user keys
	// (AKIA…); the others are temporary role session keys (ASIA…).
	LongTermShare float64
	// Accounts is the number of AWS accounts the keys belong to.
	Accounts int

	// BedrockShare is the share of CloudTrail records whose eventSource is
	// bedrock.amazonaws.com. About one in a hundred of the others are made
	// by Bedrock on behalf of a caller (invokedBy bedrock.amazonaws.com),
	// as in a real trail, so the bytes "bedrock.amazonaws.com" occur in a
	// slightly larger share.
	BedrockShare float64
	// InvocationShare is the number of invocation-log records per
	// CloudTrail record; EndpointShare the number of endpoint events.
	InvocationShare float64
	EndpointShare   float64
	// CLIShare is the share of endpoint events that run the AWS CLI's
	// bedrock commands (list, get, invoke; never delete).
	CLIShare float64

	// Prompt sizes follow a log-normal law of tokens (about 4 bytes each)
	// with median MedianPromptTokens, cut at MaxPromptBytes. Anthropic
	// models accept 200k tokens, about 800 KB; the default cap is lower so
	// that the default traffic stays near real averages.
	MedianPromptTokens int
	MaxPromptBytes     int

	// Start is the event time of the first record; EventRate the records
	// per second of event time (the traffic's own clock, not the rate it is
	// produced at). Event times increase with the record index, each moved
	// back by up to Disorder at random: bounded disorder, well inside the
	// engine's allowed lateness.
	Start     time.Time
	EventRate float64
	Disorder  time.Duration

	// AttacksPerMillion LLMjacking attacks start per million records: a
	// stolen long-term key (AKIA…) calls ListFoundationModels and, AttackGap
	// later (drawn between AttackGapMin and AttackGapMax of event time), one
	// to three InvokeModel or Converse calls — the sequence of the rule
	// bedrock-enumeration-then-invocation-long-term-key. A TamperShare of
	// attacks also reads and deletes the invocation logging configuration
	// and half of those delete a guardrail (single-event rules).
	AttacksPerMillion float64
	TamperShare       float64
	AttackGapMin      time.Duration
	AttackGapMax      time.Duration
	// DecoysPerMillion decoys start per million records: the same sequence
	// by a temporary key (ASIA…), which the rule must not match.
	DecoysPerMillion float64
}

// DefaultMix returns the standard mix of the performance targets: 5%
// Bedrock CloudTrail, invocation logs at 1% of the CloudTrail volume.
func DefaultMix() Mix {
	return Mix{
		Keys: 10_000, ZipfS: 1.1, LongTermShare: 0.2, Accounts: 25,
		BedrockShare: 0.05, InvocationShare: 0.01, EndpointShare: 0.01, CLIShare: 0.05,
		MedianPromptTokens: 350, MaxPromptBytes: 32 << 10,
		Start:     time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC),
		EventRate: 1000, Disorder: 2 * time.Second,
		AttacksPerMillion: 200, TamperShare: 0.5, AttackGapMin: 20 * time.Second, AttackGapMax: 10 * time.Minute,
		DecoysPerMillion: 100,
	}
}

// MaxPromptLimit is the largest MaxPromptBytes: a prompt of about 200k
// tokens, which with the rest of its record stays under Kafka's default
// 1 MiB message limit.
const MaxPromptLimit = 800 << 10

// Validate reports every problem of m at once.
func (m Mix) Validate() error {
	var errs []error
	if m.Keys < 1 {
		errs = append(errs, fmt.Errorf("keys must be positive, got %d", m.Keys))
	}
	if !(m.ZipfS > 1) {
		errs = append(errs, fmt.Errorf("zipf-s must be greater than 1, got %g", m.ZipfS))
	}
	if m.Accounts < 1 {
		errs = append(errs, fmt.Errorf("accounts must be positive, got %d", m.Accounts))
	}
	for name, v := range map[string]float64{"long-term-share": m.LongTermShare, "bedrock-share": m.BedrockShare,
		"cli-share": m.CLIShare, "tamper-share": m.TamperShare} {
		if v < 0 || v > 1 {
			errs = append(errs, fmt.Errorf("%s must be between 0 and 1, got %g", name, v))
		}
	}
	for name, v := range map[string]float64{"invocation-share": m.InvocationShare, "endpoint-share": m.EndpointShare,
		"attacks-per-million": m.AttacksPerMillion, "decoys-per-million": m.DecoysPerMillion} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %g", name, v))
		}
	}
	if m.InvocationShare > 10 || m.EndpointShare > 10 {
		errs = append(errs, errors.New("invocation-share and endpoint-share are per CloudTrail record: at most 10"))
	}
	if m.AttacksPerMillion+m.DecoysPerMillion > 100_000 {
		errs = append(errs, errors.New("attacks and decoys: at most 100000 per million records together"))
	}
	if m.MedianPromptTokens < 1 {
		errs = append(errs, fmt.Errorf("median-prompt-tokens must be positive, got %d", m.MedianPromptTokens))
	}
	if m.MaxPromptBytes < 64 || m.MaxPromptBytes > MaxPromptLimit {
		errs = append(errs, fmt.Errorf("max-prompt-bytes must be 64 to %d, got %d", MaxPromptLimit, m.MaxPromptBytes))
	}
	if !(m.EventRate > 0) {
		errs = append(errs, fmt.Errorf("event-rate must be positive, got %g", m.EventRate))
	}
	if m.Disorder < 0 {
		errs = append(errs, fmt.Errorf("disorder must not be negative, got %s", m.Disorder))
	}
	if m.AttackGapMin <= 2*m.Disorder || m.AttackGapMax < m.AttackGapMin || m.AttackGapMax >= 15*time.Minute {
		errs = append(errs, fmt.Errorf("attack gap must satisfy 2×disorder < min ≤ max < 15m (the rule's maxspan), got %s to %s", m.AttackGapMin, m.AttackGapMax))
	}
	if m.Start.IsZero() {
		errs = append(errs, errors.New("start time must be set"))
	}
	return errors.Join(errs...)
}
