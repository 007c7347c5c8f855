package bench_test

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bedrockwatch/bedrockwatch/bench"
	"github.com/bedrockwatch/bedrockwatch/processor"
	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
)

const seqRule = "bedrock-enumeration-then-invocation-long-term-key"

func TestGeneratorDeterministic(t *testing.T) {
	m := bench.DefaultMix()
	m.AttacksPerMillion, m.DecoysPerMillion = 2000, 1000
	a, err := bench.NewGenerator(m, 42)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := bench.NewGenerator(m, 42)
	c, _ := bench.NewGenerator(m, 43)
	differ := 0
	for i := range 20_000 {
		ra, rb, rc := a.Next(), b.Next(), c.Next()
		if ra.Stream != rb.Stream || !bytes.Equal(ra.Key, rb.Key) || !bytes.Equal(ra.Value, rb.Value) || !ra.EventTime.Equal(rb.EventTime) {
			t.Fatalf("record %d differs for the same seed:\n%s\n%s", i, ra.Value, rb.Value)
		}
		if (ra.Step == nil) != (rb.Step == nil) || ra.Step != nil && *ra.Step != *rb.Step {
			t.Fatalf("record %d: attack steps differ: %+v %+v", i, ra.Step, rb.Step)
		}
		if !bytes.Equal(ra.Value, rc.Value) {
			differ++
		}
	}
	if differ < 19_000 {
		t.Errorf("another seed gave %d of 20000 records different, want nearly all", differ)
	}
	if a.Stats() != b.Stats() {
		t.Errorf("stats differ: %+v %+v", a.Stats(), b.Stats())
	}
}

// TestGeneratorShares: every record is valid JSON of its stream's shape,
// and the shares, sizes, key kinds and event-time disorder are as
// configured.
func TestGeneratorShares(t *testing.T) {
	m := bench.DefaultMix()
	m.BedrockShare, m.InvocationShare, m.EndpointShare = 0.08, 0.02, 0.03
	g, err := bench.NewGenerator(m, 7)
	if err != nil {
		t.Fatal(err)
	}
	const n = 100_000
	var maxBack time.Duration
	var last time.Time
	var akia, asia, bedrockBytes, promptMax int
	keys := map[string]int{}
	for range n {
		r := g.Next()
		if !json.Valid(r.Value) {
			t.Fatalf("%s record is not valid JSON: %s", r.Stream, r.Value)
		}
		if d := last.Sub(r.EventTime); d > maxBack {
			maxBack = d
		}
		if r.EventTime.After(last) {
			last = r.EventTime
		}
		switch r.Stream {
		case bench.CloudTrail:
			var ct struct {
				EventSource  string `json:"eventSource"`
				EventTime    string `json:"eventTime"`
				UserIdentity struct {
					AccessKeyID string `json:"accessKeyId"`
				} `json:"userIdentity"`
			}
			if err := json.Unmarshal(r.Value, &ct); err != nil {
				t.Fatal(err)
			}
			if ct.UserIdentity.AccessKeyID != string(r.Key) {
				t.Fatalf("key %s, record's access key %s", r.Key, ct.UserIdentity.AccessKeyID)
			}
			if r.Step == nil {
				keys[ct.UserIdentity.AccessKeyID]++
			}
			if bytes.Contains(r.Value, []byte("bedrock.amazonaws.com")) {
				bedrockBytes++
			}
		case bench.Invocations:
			var il struct {
				SchemaType string `json:"schemaType"`
				Identity   struct {
					ARN string `json:"arn"`
				} `json:"identity"`
				Input struct {
					Tokens int `json:"inputTokenCount"`
				} `json:"input"`
			}
			if err := json.Unmarshal(r.Value, &il); err != nil {
				t.Fatal(err)
			}
			if il.SchemaType != "ModelInvocationLog" || il.Identity.ARN != string(r.Key) || il.Input.Tokens < 1 {
				t.Fatalf("bad invocation log (key %s): %.300s", r.Key, r.Value)
			}
			promptMax = max(promptMax, len(r.Value))
		case bench.Endpoint:
			if !bytes.Contains(r.Value, []byte(`"command_line":"`)) || !bytes.Contains(r.Value, r.Key) {
				t.Fatalf("bad endpoint event (key %s): %s", r.Key, r.Value)
			}
		}
	}
	for k := range keys {
		switch {
		case strings.HasPrefix(k, "AKIA"):
			akia++
		case strings.HasPrefix(k, "ASIA"):
			asia++
		default:
			t.Errorf("access key %q is neither AKIA nor ASIA", k)
		}
	}
	s := g.Stats()
	ct := float64(s.ByStream[bench.CloudTrail])
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > want*0.1 {
			t.Errorf("%s = %.4f, want %.4f ± 10%%", name, got, want)
		}
	}
	near("bedrock share", float64(s.Bedrock)/ct, m.BedrockShare)
	near("invocation share", float64(s.ByStream[bench.Invocations])/ct, m.InvocationShare)
	near("endpoint share", float64(s.ByStream[bench.Endpoint])/ct, m.EndpointShare)
	near("long-term key share", float64(akia)/float64(akia+asia), m.LongTermShare)
	near("mean CloudTrail record bytes", float64(s.BytesBy[bench.CloudTrail])/ct, 1600)
	if got := float64(bedrockBytes) / ct; got < m.BedrockShare || got > m.BedrockShare+0.03 {
		t.Errorf("records holding bedrock.amazonaws.com: %.3f, want a little over the Bedrock share %.3f", got, m.BedrockShare)
	}
	if maxBack > m.Disorder {
		t.Errorf("an event came %s behind the newest, more than the disorder %s", maxBack, m.Disorder)
	}
	if promptMax > m.MaxPromptBytes*2+8<<10 {
		t.Errorf("largest invocation log %d bytes, prompt cap %d", promptMax, m.MaxPromptBytes)
	}
	// Zipf: the busiest key acts far more often than the median one.
	var counts []int
	for _, c := range keys {
		counts = append(counts, c)
	}
	top := 0
	for _, c := range counts {
		top = max(top, c)
	}
	if top < 50*len(keys)/len(counts) && len(keys) > 1000 {
		t.Errorf("busiest key %d records, %d keys: no skew", top, len(keys))
	}
}

// TestInjectedAttacksAlert runs the real engine over generated traffic:
// the sequence rule fires once for every completed attack by a long-term
// key, never for a decoy by a temporary key, and the tampering steps raise
// their single-event rules.
func TestInjectedAttacksAlert(t *testing.T) {
	m := bench.DefaultMix()
	m.EventRate = 150 // 10 min of event time in 90k records
	m.AttacksPerMillion, m.DecoysPerMillion = 600, 400
	g, err := bench.NewGenerator(m, 3)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	x, err := bench.NewExpect(rs, processor.DefaultReplayConfig())
	if err != nil {
		t.Fatal(err)
	}
	emitted := map[int]map[string]bool{} // attack → actions generated
	index := map[string]int64{}          // attack record event id → index
	for i := range 200_000 {
		r := g.Next()
		if r.Step != nil {
			index[r.Step.EventID] = int64(i)
			if emitted[r.Step.Attack] == nil {
				emitted[r.Step.Attack] = map[string]bool{}
			}
			emitted[r.Step.Attack][r.Step.Action] = true
		}
		if err := x.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Finish(false); err != nil {
		t.Fatal(err)
	}
	st := x.Stats()
	if n := st.Total(schemas.StatusMalformed); n != 0 {
		t.Fatalf("%d generated records are malformed: %v", n, st.Malformed)
	}
	if st.Late != 0 {
		t.Errorf("%d late events: the disorder must stay inside the allowed lateness", st.Late)
	}

	seqBy := map[string][]bench.ExpectedAlert{}
	byRule := map[string]int{}
	for _, a := range x.Alerts() {
		byRule[a.RuleID]++
		if a.RuleID == seqRule {
			seqBy[a.Subject] = append(seqBy[a.Subject], a)
		}
	}
	t.Logf("alerts by rule: %v", byRule)
	var attacks, decoys, tamper, guardrail, complete int
	for _, a := range g.Attacks() {
		if a.Complete() {
			complete++
		}
		if emitted[a.ID]["DeleteModelInvocationLoggingConfiguration"] {
			tamper++
		}
		if emitted[a.ID]["DeleteGuardrail"] {
			guardrail++
		}
		if a.TriggerEventID == "" {
			continue // the run ended before its first invocation
		}
		got := seqBy[a.AccessKeyID]
		if a.Decoy {
			decoys++
			if len(got) != 0 {
				t.Errorf("decoy %d (temporary key %s) raised %s", a.ID, a.AccessKeyID, seqRule)
			}
			continue
		}
		attacks++
		if len(got) != 1 {
			t.Errorf("attack %d (key %s): %d %s alerts, want 1", a.ID, a.AccessKeyID, len(got), seqRule)
			continue
		}
		if got[0].Trigger != a.TriggerEventID {
			t.Errorf("attack %d: alert triggered by %s, want the first invocation %s", a.ID, got[0].Trigger, a.TriggerEventID)
		}
		if got[0].Record != index[a.TriggerEventID] {
			t.Errorf("attack %d: alert says record %d, the trigger is record %d", a.ID, got[0].Record, index[a.TriggerEventID])
		}
	}
	if attacks < 30 || decoys < 20 || tamper < 10 || guardrail < 5 || complete < 50 {
		t.Fatalf("only %d attacks (%d tampering, %d deleting a guardrail), %d decoys, %d complete: the test shows too little",
			attacks, tamper, guardrail, decoys, complete)
	}
	if len(seqBy) != attacks {
		t.Errorf("%s fired for %d keys, want the %d attacks' keys only", seqRule, len(seqBy), attacks)
	}
	if got := byRule["bedrock-invocation-logging-modified"]; got != tamper {
		t.Errorf("invocation-logging-modified alerts: %d, want one per tampering attack (%d)", got, tamper)
	}
	if got := byRule["bedrock-guardrail-deleted-or-weakened"]; got != guardrail {
		t.Errorf("guardrail-deleted alerts: %d, want one per attack deleting one (%d)", got, guardrail)
	}
	for _, rule := range []string{"bedrock-credentials-in-prompt", "bedrock-prompt-injection-keywords",
		"bedrock-invocation-access-denied", "bedrock-invocation-validation-errors", "bedrock-cli-destructive-command"} {
		if byRule[rule] != 0 {
			t.Errorf("the background raised %d %s alerts; its traffic must not", byRule[rule], rule)
		}
	}
}

func TestMixValidate(t *testing.T) {
	m := bench.DefaultMix()
	if err := m.Validate(); err != nil {
		t.Fatalf("default mix: %v", err)
	}
	m.ZipfS, m.Keys, m.BedrockShare, m.MaxPromptBytes = 1, 0, 2, bench.MaxPromptLimit+1
	err := m.Validate()
	if err == nil {
		t.Fatal("a bad mix validated")
	}
	for _, want := range []string{"zipf-s", "keys", "bedrock-share", "max-prompt-bytes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
	if _, err := bench.NewGenerator(m, 1); err == nil {
		t.Error("NewGenerator accepted a bad mix")
	}
}
