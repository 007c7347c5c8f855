package schemas

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
)

// CloudEvent attributes of every alert (SPEC §6).
const (
	AlertType         = "io.bedrockwatch.alert.v1"
	AlertSourcePrefix = "bedrockwatch/"
	// AlertDataSchema is the URI of the JSON Schema of Alert, the file
	// schemas/alert.v1.schema.json of this repository.
	AlertDataSchema = "https://raw.githubusercontent.com/bedrockwatch/bedrockwatch/main/schemas/alert.v1.schema.json"
)

// AlertJSONSchema is the JSON Schema (draft 2020-12) of Alert.
//
//go:embed alert.v1.schema.json
var AlertJSONSchema []byte

// Alert is the data of one alert CloudEvent.
type Alert struct {
	Rule     AlertRule  `json:"rule"`
	Group    AlertGroup `json:"group"`
	Actor    Actor      `json:"actor"`
	ModelIDs []string   `json:"model_ids"`
	Window   Window     `json:"window"`
	// Evidence lists the triggering events, capped; EvidenceCount is the
	// total.
	Evidence      []Evidence     `json:"evidence"`
	EvidenceCount int            `json:"evidence_count"`
	Metrics       map[string]any `json:"metrics"`
	// Prompt is an excerpt of the last prompt, truncated and with secrets
	// masked; only rules that ask for it (include_prompt) carry it.
	Prompt *PromptExcerpt `json:"prompt,omitempty"`
	// SuppressionOf is set on a follow-up alert: the id of the first alert
	// of the suppression period; SuppressedCount is how many matches the
	// period folded.
	SuppressionOf   string `json:"suppression_of,omitempty"`
	SuppressedCount int    `json:"suppressed_count"`
	Summary         string `json:"summary"`

	// Envelope attributes, not part of data.
	ID      string    `json:"-"`
	Time    time.Time `json:"-"`
	Subject string    `json:"-"`
}

// AlertRule identifies the rule that raised an alert.
type AlertRule struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Severity  string   `json:"severity"`
	RiskScore int      `json:"risk_score"`
	Threat    []Threat `json:"threat"`
}

// Threat is one framework mapping (MITRE ATT&CK, MITRE ATLAS, OWASP LLM Top 10).
type Threat struct {
	Framework    string     `json:"framework"`
	Tactic       *ThreatRef `json:"tactic,omitempty"`
	Technique    *ThreatRef `json:"technique,omitempty"`
	Subtechnique *ThreatRef `json:"subtechnique,omitempty"`
}

// ThreatRef names an entry of a framework.
type ThreatRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// AlertGroup holds the fields an alert is grouped by and their values; both
// are empty for single-event rules.
type AlertGroup struct {
	Fields []string `json:"fields"`
	Values []string `json:"values"`
}

// Actor is who did it, gathered from the evidence.
type Actor struct {
	AccountID     string   `json:"account_id,omitempty"`
	PrincipalARN  string   `json:"principal_arn,omitempty"`
	PrincipalType string   `json:"principal_type,omitempty"`
	AccessKeyID   string   `json:"access_key_id,omitempty"`
	UserName      string   `json:"user_name,omitempty"`
	HostName      string   `json:"host_name,omitempty"`
	SourceIPs     []string `json:"source_ips"`
	UserAgents    []string `json:"user_agents"`
}

// Window is the event-time span of the evidence (or of the rule's window).
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Evidence is one triggering event, by reference.
type Evidence struct {
	Dataset   string         `json:"dataset"`
	EventID   string         `json:"event_id"`
	Time      time.Time      `json:"time"`
	Action    string         `json:"action,omitempty"`
	Outcome   string         `json:"outcome,omitempty"`
	ErrorCode string         `json:"error_code,omitempty"`
	Topic     string         `json:"topic,omitempty"`
	Partition int32          `json:"partition"`
	Offset    int64          `json:"offset"`
	File      string         `json:"file,omitempty"`
	Line      int            `json:"line,omitempty"`
	Fields    map[string]any `json:"fields,omitempty"`
}

// PromptExcerpt is a bounded, masked piece of a prompt.
type PromptExcerpt struct {
	Text      string `json:"text"`
	Length    int    `json:"length"` // characters in the whole prompt
	Truncated bool   `json:"truncated"`
	Masked    int    `json:"masked"` // secrets masked in the excerpt
}

// AlertID is the deterministic id of an alert: a hash of the rule id and the
// parts that identify the triggering events, so that replaying the same input
// gives the same ids and downstream can de-duplicate.
func AlertID(ruleID string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(ruleID))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// PartitionKey is the Kafka record key of the alert: its group value.
func (a *Alert) PartitionKey() string { return a.Subject }

// CloudEvent returns the alert as a CloudEvent (spec 1.0) with the
// attributes of SPEC §6.
func (a *Alert) CloudEvent() (cloudevents.Event, error) {
	ev := cloudevents.New(cloudevents.CloudEventsVersionV1)
	ev.SetID(a.ID)
	ev.SetType(AlertType)
	ev.SetSource(AlertSourcePrefix + a.Rule.ID)
	ev.SetTime(a.Time.UTC())
	if a.Subject != "" {
		ev.SetSubject(a.Subject)
	}
	ev.SetDataSchema(AlertDataSchema)
	ev.SetExtension("ruleid", a.Rule.ID)
	ev.SetExtension("severity", a.Rule.Severity)
	ev.SetExtension("partitionkey", a.PartitionKey())
	if err := ev.SetData(cloudevents.ApplicationJSON, a); err != nil {
		return ev, fmt.Errorf("alert %s: encoding data: %w", a.ID, err)
	}
	if err := ev.Validate(); err != nil {
		return ev, fmt.Errorf("alert %s: %w", a.ID, err)
	}
	return ev, nil
}

// JoinGroup joins group values into a subject, "|" between them.
func JoinGroup(values []string) string { return strings.Join(values, "|") }
