package eql

import (
	"testing"
	"time"

	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// seedQuery is the "Rule query" of Elastic's rule "AWS Bedrock Foundation
// Model Enumeration Followed by Invocation via Long-Term Key"
// (shared/seeds/004_…), verbatim.
const seedQuery = `sequence by aws.cloudtrail.user_identity.access_key_id with maxspan=15m
  [any where data_stream.dataset == "aws.cloudtrail"
    and event.provider == "bedrock.amazonaws.com"
    and event.action == "ListFoundationModels"
    and event.outcome == "success"
    and aws.cloudtrail.user_identity.access_key_id like "AKIA*"]
  [any where data_stream.dataset == "aws.cloudtrail"
    and event.provider == "bedrock.amazonaws.com"
    and event.action : ("InvokeModel", "InvokeModelWithResponseStream", "Converse", "ConverseStream")
    and event.outcome == "success"]`

func compileSeed(t testing.TB) *Sequence {
	t.Helper()
	q, ok := mustParse(t, seedQuery).(*SequenceQuery)
	if !ok {
		t.Fatal("seed query is not a sequence")
	}
	s, err := CompileSequence(q)
	if err != nil {
		t.Fatalf("CompileSequence: %v", err)
	}
	return s
}

func TestSeedQueryShape(t *testing.T) {
	q := mustParse(t, seedQuery).(*SequenceQuery)
	if got, want := q.By, []string{"aws.cloudtrail.user_identity.access_key_id"}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("By = %v, want %v", got, want)
	}
	if q.MaxSpan != 15*time.Minute {
		t.Errorf("MaxSpan = %v, want 15m", q.MaxSpan)
	}
	if len(q.Steps) != 2 || q.Until != nil {
		t.Fatalf("steps = %d, until = %v; want 2 steps, no until", len(q.Steps), q.Until)
	}
	for i, st := range q.Steps {
		if st.Query.Category != AnyCategory || len(st.By) != 0 {
			t.Errorf("step %d: category %q, by %v", i+1, st.Query.Category, st.By)
		}
	}
	wantFields := []string{
		"aws.cloudtrail.user_identity.access_key_id", "data_stream.dataset",
		"event.provider", "event.action", "event.outcome",
	}
	if got := q.Fields(); !equalStrings(got, wantFields) {
		t.Errorf("Fields() = %v, want %v", got, wantFields)
	}
	s := compileSeed(t)
	if s.MaxSpan != 15*time.Minute || len(s.Steps) != 2 || s.Until != nil {
		t.Fatalf("compiled: maxspan %v, %d steps, until %v", s.MaxSpan, len(s.Steps), s.Until)
	}
	for i, st := range s.Steps {
		if len(st.Keys) != 1 || st.KeyFields[0] != "aws.cloudtrail.user_identity.access_key_id" {
			t.Errorf("step %d keys: %v", i+1, st.KeyFields)
		}
	}
}

func TestSeedSteps(t *testing.T) {
	s := compileSeed(t)
	step1, step2 := s.Steps[0].Match, s.Steps[1].Match
	tests := []struct {
		name         string
		e            *schemas.Event
		want1, want2 bool
	}{
		{"AKIA ListFoundationModels success", cloudTrail("ListFoundationModels", "success", "AKIAIOSFODNN7EXAMPLE"), true, false},
		{"ASIA key", cloudTrail("ListFoundationModels", "success", "ASIAIOSFODNN7EXAMPLE"), false, false},
		{"lower-case akia is not AKIA (like is case-sensitive)", cloudTrail("ListFoundationModels", "success", "akiaIOSFODNN7EXAMPLE"), false, false},
		{"failed ListFoundationModels", cloudTrail("ListFoundationModels", "failure", "AKIAIOSFODNN7EXAMPLE"), false, false},
		{"no access key", cloudTrail("ListFoundationModels", "success", ""), false, false},
		{"Converse", cloudTrail("Converse", "success", "AKIAIOSFODNN7EXAMPLE"), false, true},
		{"InvokeModelWithResponseStream", cloudTrail("InvokeModelWithResponseStream", "success", "ASIAIOSFODNN7EXAMPLE"), false, true},
		{"InvokeModel", cloudTrail("InvokeModel", "success", "AKIAIOSFODNN7EXAMPLE"), false, true},
		{"ConverseStream", cloudTrail("ConverseStream", "success", "AKIAIOSFODNN7EXAMPLE"), false, true},
		{": is case-insensitive", cloudTrail("invokemodel", "success", "AKIAIOSFODNN7EXAMPLE"), false, true},
		{": upper case", cloudTrail("CONVERSESTREAM", "success", "AKIAIOSFODNN7EXAMPLE"), false, true},
		{"failed Converse", cloudTrail("Converse", "failure", "AKIAIOSFODNN7EXAMPLE"), false, false},
		{"other action", cloudTrail("GetFoundationModel", "success", "AKIAIOSFODNN7EXAMPLE"), false, false},
		{"prefix of an action is not the action", cloudTrail("Invoke", "success", "AKIAIOSFODNN7EXAMPLE"), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := step1.Match(tt.e); got != tt.want1 {
				t.Errorf("step 1 = %v, want %v", got, tt.want1)
			}
			if got := step2.Match(tt.e); got != tt.want2 {
				t.Errorf("step 2 = %v, want %v", got, tt.want2)
			}
		})
	}

	other := cloudTrail("Converse", "success", "AKIAIOSFODNN7EXAMPLE")
	other.Provider = "s3.amazonaws.com"
	if step2.Match(other) {
		t.Error("step 2 matched another provider")
	}
	inv := cloudTrail("InvokeModel", "success", "AKIAIOSFODNN7EXAMPLE")
	inv.Dataset = schemas.DatasetInvocation
	if step2.Match(inv) {
		t.Error("step 2 matched an invocation log")
	}
}

func TestSeedKeys(t *testing.T) {
	s := compileSeed(t)
	k1, ok1 := s.Steps[0].Key(cloudTrail("ListFoundationModels", "success", "AKIAIOSFODNN7EXAMPLE"))
	k2, ok2 := s.Steps[1].Key(cloudTrail("Converse", "success", "AKIAIOSFODNN7EXAMPLE"))
	if !ok1 || !ok2 || k1 != k2 || k1 != "AKIAIOSFODNN7EXAMPLE" {
		t.Errorf("keys %q (%v), %q (%v): want equal AKIAIOSFODNN7EXAMPLE", k1, ok1, k2, ok2)
	}
	if _, ok := s.Steps[1].Key(cloudTrail("Converse", "success", "")); ok {
		t.Error("an event without access key has a join key")
	}
}

// BenchmarkMatchSeedRule evaluates both step predicates of the seed rule on
// one event that matches step 2 and one that matches step 1, and computes
// the join key, as the sequence engine does per event.
func BenchmarkMatchSeedRule(b *testing.B) {
	s := compileSeed(b)
	step1, step2 := &s.Steps[0], &s.Steps[1]
	invoke := cloudTrail("InvokeModelWithResponseStream", "success", "AKIAIOSFODNN7EXAMPLE")
	list := cloudTrail("ListFoundationModels", "success", "AKIAIOSFODNN7EXAMPLE")
	if !step2.Match.Match(invoke) || !step1.Match.Match(list) {
		b.Fatal("events do not match")
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, e := range [...]*schemas.Event{invoke, list} {
			m1 := step1.Match.Match(e)
			m2 := step2.Match.Match(e)
			if m1 || m2 {
				if _, ok := step1.Key(e); !ok {
					b.Fatal("no key")
				}
			}
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestConcurrentMatch shares compiled predicates between goroutines; run
// with -race, it backs the claim that compiled values are safe for
// concurrent use.
func TestConcurrentMatch(t *testing.T) {
	s := compileSeed(t)
	p := mustCompile(t, `any where user_agent.original regex~ "aws-cli/.*" and event.action in~ ("a", "b", "c", "d", "e", "f", "g", "h", "i", "INVOKEMODEL") and user_agent.original like~ "*PYTHON*" and cidrMatch(source.ip, "10.0.0.0/8")`)
	events := []*schemas.Event{bedrockEvent(), cloudTrail("ListFoundationModels", "success", "AKIAIOSFODNN7EXAMPLE"), {}}
	done := make(chan bool)
	for g := range 8 {
		go func() {
			ok := true
			for i := range 500 {
				e := events[(g+i)%len(events)]
				want := e == events[0]
				if p.Match(e) != want {
					ok = false
				}
				s.Steps[0].Match.Match(e)
				s.Steps[1].Key(e)
			}
			done <- ok
		}()
	}
	for range 8 {
		if !<-done {
			t.Error("a concurrent Match gave a wrong answer")
		}
	}
}

func BenchmarkParseSeed(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(seedQuery); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompileSeed(b *testing.B) {
	q := mustParse(b, seedQuery).(*SequenceQuery)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CompileSequence(q); err != nil {
			b.Fatal(err)
		}
	}
}
