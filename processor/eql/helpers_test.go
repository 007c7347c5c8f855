package eql

import (
	"strings"
	"testing"
	"time"

	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// rp abbreviates the request-parameters prefix in test conditions: $x is
// aws.cloudtrail.request_parameters.x, which reads arbitrary JSON (lists,
// numbers, booleans, objects) from the event.
const rp = "aws.cloudtrail.request_parameters."

func expand(cond string) string { return strings.ReplaceAll(cond, "$", rp) }

// bedrockEvent is a successful CloudTrail InvokeModel call by a long-term key.
func bedrockEvent() *schemas.Event {
	return &schemas.Event{
		Timestamp:       time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Dataset:         schemas.DatasetCloudTrail,
		Provider:        schemas.BedrockProvider,
		Action:          "InvokeModel",
		Outcome:         "success",
		ID:              "0b1c2d3e",
		IdentityType:    "IAMUser",
		IdentityARN:     "arn:aws:iam::123456789012:user/dev",
		AccessKeyID:     "AKIAIOSFODNN7EXAMPLE",
		UserID:          "arn:aws:iam::123456789012:user/dev",
		AccountID:       "123456789012",
		Region:          "us-east-1",
		SourceIP:        "10.1.2.3",
		UserAgent:       "aws-cli/2.15.0 Python/3.11.6",
		ModelID:         "anthropic.claude-3-sonnet-20240229-v1:0",
		PromptTokens:    120,
		HasPromptTokens: true,
		RequestParameters: map[string]any{
			"modelId": "anthropic.claude-3-sonnet-20240229-v1:0",
			"tags":    []any{"prod", "Team-A"},
			"count":   5.0,
			"nums":    []any{1.0, 2.0, 3.0},
			"flag":    true,
			"nested":  map[string]any{"k": "v"},
			"empty":   []any{},
			"nulls":   []any{nil},
			"str5":    "5",
			"ips":     []any{"192.168.1.1", "10.0.0.9"},
			"ipsStr":  "203.0.113.9, 010.000.000.001",
			"host":    "bedrock.amazonaws.com",
			"unicode": "Straße KELVIN",
			"path":    `C:\Windows\System32\cmd.exe`,
			"domain":  "subdomain.example.com",
		},
	}
}

// cloudTrail builds a Bedrock CloudTrail event for the seed rule.
func cloudTrail(action, outcome, key string) *schemas.Event {
	e := bedrockEvent()
	e.Action, e.Outcome, e.AccessKeyID = action, outcome, key
	e.RequestParameters = nil
	return e
}

func mustParse(t testing.TB, src string) Query {
	t.Helper()
	q, err := Parse(src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return q
}

func mustEvent(t testing.TB, src string) *EventQuery {
	t.Helper()
	q, ok := mustParse(t, src).(*EventQuery)
	if !ok {
		t.Fatalf("Parse(%q): not an event query", src)
	}
	return q
}

func mustCompile(t testing.TB, src string) *Predicate {
	t.Helper()
	p, err := CompileCondition(mustEvent(t, src))
	if err != nil {
		t.Fatalf("CompileCondition(%q): %v", src, err)
	}
	return p
}
