package processor

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
	"github.com/bedrockwatch/bedrockwatch/schemas/alertcheck"
	"github.com/bedrockwatch/bedrockwatch/state"
)

func mustRule(t *testing.T, yaml string) *rules.Rule {
	t.Helper()
	r, err := rules.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("rule: %v", err)
	}
	return r
}

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func ev(id string, at time.Duration, fields map[string]any) *schemas.Event {
	f := map[string]any{"data_stream.dataset": "aws.cloudtrail", "event.provider": "bedrock.amazonaws.com", "event.outcome": "success"}
	for k, v := range fields {
		f[k] = v
	}
	e, err := schemas.EventFromFields(f)
	if err != nil {
		panic(err)
	}
	e.ID = id
	e.Timestamp = t0.Add(at)
	e.Origin = schemas.Origin{Topic: "cloudtrail", Offset: int64(len(id))}
	return e
}

// run processes events in the given order and returns the alerts, each
// checked against the alert schema.
func run(t *testing.T, rs []*rules.Rule, events []*schemas.Event) []*schemas.Alert {
	t.Helper()
	var out []*schemas.Alert
	en, err := New(rs, state.NewMemory(), DefaultConfig(), func(a *schemas.Alert) { out = append(out, a) })
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if err := en.Process(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := en.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, a := range out {
		ce, err := a.CloudEvent()
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(ce)
		if err := alertcheck.Validate(raw); err != nil {
			t.Fatalf("alert %s does not validate: %v\n%s", a.ID, err, raw)
		}
	}
	return out
}

func ids(as []*schemas.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID)
	}
	sort.Strings(out)
	return out
}

// permutations returns every order of the events (small inputs only).
func permutations(events []*schemas.Event) [][]*schemas.Event {
	if len(events) <= 1 {
		return [][]*schemas.Event{events}
	}
	var out [][]*schemas.Event
	for i := range events {
		rest := append(append([]*schemas.Event{}, events[:i]...), events[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]*schemas.Event{events[i]}, p...))
		}
	}
	return out
}

const threeStep = `
id: three-step
name: Three steps
severity: high
risk_score: 70
query: |
  sequence by user.id with maxspan=10m
    [any where event.action == "A"] by source.ip
    [any where event.action == "B"] by source.ip
    [any where event.action == "C"] by source.ip
  until [any where event.action == "STOP"] by source.ip
`

func TestSequenceEveryArrivalOrderGivesTheSameAlert(t *testing.T) {
	r := mustRule(t, threeStep)
	who := map[string]any{"user.id": "u1", "source.ip": "10.0.0.1"}
	with := func(action string) map[string]any {
		m := map[string]any{"event.action": action}
		for k, v := range who {
			m[k] = v
		}
		return m
	}
	events := []*schemas.Event{ev("a", 0, with("A")), ev("b", time.Minute, with("B")), ev("c", 2*time.Minute, with("C"))}
	var want []string
	for i, p := range permutations(events) {
		got := run(t, []*rules.Rule{r}, p)
		if len(got) != 1 {
			t.Fatalf("order %d: %d alerts, want 1", i, len(got))
		}
		a := got[0]
		if a.Subject != "u1|10.0.0.1" || a.EvidenceCount != 3 || !a.Time.Equal(t0.Add(2*time.Minute)) {
			t.Fatalf("order %d: alert %+v", i, a)
		}
		if want == nil {
			want = ids(got)
		} else if fmt.Sprint(ids(got)) != fmt.Sprint(want) {
			t.Fatalf("order %d: ids %v, want %v", i, ids(got), want)
		}
		if acts := []string{a.Evidence[0].Action, a.Evidence[1].Action, a.Evidence[2].Action}; fmt.Sprint(acts) != "[A B C]" {
			t.Fatalf("order %d: evidence order %v", i, acts)
		}
	}
}

func TestSequenceUntilCancelsInEveryOrder(t *testing.T) {
	r := mustRule(t, threeStep)
	f := func(action, ip string) map[string]any {
		return map[string]any{"event.action": action, "user.id": "u1", "source.ip": ip}
	}
	stopBetween := []*schemas.Event{ev("a", 0, f("A", "ip1")), ev("s", 30*time.Second, f("STOP", "ip1")),
		ev("b", time.Minute, f("B", "ip1")), ev("c", 2*time.Minute, f("C", "ip1"))}
	stopOtherKey := []*schemas.Event{ev("a", 0, f("A", "ip1")), ev("s", 30*time.Second, f("STOP", "ip2")),
		ev("b", time.Minute, f("B", "ip1")), ev("c", 2*time.Minute, f("C", "ip1"))}
	for _, p := range permutations(stopBetween) {
		// An until event that arrives after the chain completed cannot
		// retract the alert already sent; every order where it arrives
		// before the last missing step must cancel.
		lastStep := 0
		for i, e := range p {
			if e.ID != "s" {
				lastStep = i
			}
		}
		stopAt := 0
		for i, e := range p {
			if e.ID == "s" {
				stopAt = i
			}
		}
		got := run(t, []*rules.Rule{r}, p)
		if stopAt < lastStep && len(got) != 0 {
			t.Fatalf("order %v: until arrived in time but %d alert(s)", order(p), len(got))
		}
	}
	for _, p := range permutations(stopOtherKey) {
		if got := run(t, []*rules.Rule{r}, p); len(got) != 1 {
			t.Fatalf("order %v: until of another key must not cancel; %d alerts", order(p), len(got))
		}
	}
}

func order(p []*schemas.Event) string {
	var s []string
	for _, e := range p {
		s = append(s, e.ID)
	}
	return strings.Join(s, ",")
}

func TestSequenceStateExpiresWithTheWatermark(t *testing.T) {
	r := mustRule(t, threeStep)
	store := state.NewMemory()
	var alerts []*schemas.Alert
	en, err := New([]*rules.Rule{r}, store, DefaultConfig(), func(a *schemas.Alert) { alerts = append(alerts, a) })
	if err != nil {
		t.Fatal(err)
	}
	f := map[string]any{"event.action": "A", "user.id": "u1", "source.ip": "ip"}
	if err := en.Process(ev("a", 0, f)); err != nil {
		t.Fatal(err)
	}
	if store.Len() == 0 {
		t.Fatal("no state kept for a pending sequence")
	}
	// An unrelated event an hour later moves the watermark past a + maxspan.
	if err := en.Process(ev("z", time.Hour, map[string]any{"event.action": "other"})); err != nil {
		t.Fatal(err)
	}
	if store.Len() != 0 {
		var keys []string
		store.Scan("", func(k string, _ []byte) bool { keys = append(keys, k); return true })
		t.Fatalf("state not expired: %v", keys)
	}
	// B and C arrive late: their A is gone, so nothing fires; both count as late.
	en.Process(ev("b", time.Minute, map[string]any{"event.action": "B", "user.id": "u1", "source.ip": "ip"}))
	en.Process(ev("c", 2*time.Minute, map[string]any{"event.action": "C", "user.id": "u1", "source.ip": "ip"}))
	if len(alerts) != 0 || en.Stats().Late != 2 {
		t.Fatalf("alerts %d late %d", len(alerts), en.Stats().Late)
	}
}

func TestSequenceCandidatesAreBounded(t *testing.T) {
	r := mustRule(t, threeStep)
	store := state.NewMemory()
	cfg := DefaultConfig()
	cfg.MaxCandidates = 4
	en, _ := New([]*rules.Rule{r}, store, cfg, nil)
	for i := 0; i < 100; i++ {
		en.Process(ev(fmt.Sprintf("a%03d", i), time.Duration(i)*time.Second, map[string]any{"event.action": "A", "user.id": "u1", "source.ip": "ip"}))
	}
	if err := en.Sync(); err != nil {
		t.Fatal(err)
	}
	raw, ok, _ := store.Get("q/three-step/" + keyOf(t, r, "u1", "ip"))
	if !ok {
		t.Fatal("no state")
	}
	var st seqState
	json.Unmarshal(raw, &st)
	if len(st.Steps[0]) != 4 || st.Steps[0][3].ID != "a099" {
		t.Fatalf("step 0 holds %d candidates, last %s", len(st.Steps[0]), st.Steps[0][len(st.Steps[0])-1].ID)
	}
}

func keyOf(t *testing.T, r *rules.Rule, values ...string) string {
	t.Helper()
	e := ev("k", 0, map[string]any{"event.action": "A", "user.id": values[0], "source.ip": values[1]})
	k, ok := r.Sequence.Steps[0].Key(e)
	if !ok {
		t.Fatal("no key")
	}
	return k
}

func TestSuppressionFollowUp(t *testing.T) {
	r := mustRule(t, `
id: denied
name: Denied
severity: medium
risk_score: 40
query: any where event.action == "InvokeModel" and event.outcome == "failure"
suppress: {by: [user.id], for: 1h}
`)
	f := func(user string) map[string]any {
		return map[string]any{"event.action": "InvokeModel", "event.outcome": "failure", "aws.cloudtrail.error_code": "AccessDenied", "user.id": user}
	}
	events := []*schemas.Event{
		ev("e1", 0, f("alice")), ev("e2", 10*time.Minute, f("alice")), ev("e3", 20*time.Minute, f("alice")),
		ev("e4", 15*time.Minute, f("bob")),
		ev("e5", 2*time.Hour, f("alice")), // a new period
	}
	got := run(t, []*rules.Rule{r}, events)
	var firsts, followups []*schemas.Alert
	for _, a := range got {
		if a.SuppressionOf != "" {
			followups = append(followups, a)
		} else {
			firsts = append(firsts, a)
		}
	}
	if len(firsts) != 3 || len(followups) != 1 {
		t.Fatalf("got %d first alerts and %d follow-ups, want 3 and 1", len(firsts), len(followups))
	}
	fu := followups[0]
	if fu.SuppressionOf != firsts[0].ID || fu.SuppressedCount != 2 || fu.EvidenceCount != 2 || fu.Evidence[0].EventID != "e2" {
		t.Fatalf("follow-up %+v (first %s)", fu, firsts[0].ID)
	}
	// The follow-up is emitted when the period closes: after bob's alert,
	// before alice's next period starts.
	if got[len(got)-1].ID == fu.ID {
		t.Fatal("follow-up should have been emitted when alice's new period began, not at the end")
	}
}

// eagerSingle runs a suppressed single-event rule as singleRunner did before
// it decided suppression first: every match builds the whole alert, whose
// time and evidence then go to a period that covers it; only an alert that
// is sent gets its prompt excerpt.
type eagerSingle struct{ singleRunner }

func (s *eagerSingle) process(e *schemas.Event) error {
	if !s.r.Condition.Match(e) {
		return nil
	}
	chain := []snap{s.en.snapWithoutPrompt(s.r, e)}
	a := s.en.buildAlert(s.r, alertSpec{chain: chain, idParts: []string{e.ID}, last: e})
	p, err := s.en.supp.find(s.r, e)
	if err != nil {
		return err
	}
	if p.covers(a.Time) {
		return s.en.supp.count(s.r, &p, a.Time, a.EvidenceCount, func() []schemas.Evidence { return a.Evidence })
	}
	if pr := s.en.promptOf(s.r, e); pr != nil {
		chain[0].Prompt, a.Prompt = pr, pr
		a.Summary = summarize(a, chain)
	}
	if err := s.en.supp.open(s.r, &p, a); err != nil {
		return err
	}
	s.en.send(a)
	return nil
}

// TestSuppressedSingleAlertIsNotBuiltYetCountsTheSame: a single-event rule
// that decides suppression before building the alert emits the same alerts
// (ids, times, subjects and bytes, follow-ups included), keeps the same
// state after every event and counts the same as building every alert and
// offering it, on a stream with in-order, out-of-order and late events,
// periods that close by watermark and by a newer alert, more suppressed
// alerts than MaxEvidence, evidence fields and masked prompts.
func TestSuppressedSingleAlertIsNotBuiltYetCountsTheSame(t *testing.T) {
	r := mustRule(t, `
id: prompted
name: Prompted
severity: high
risk_score: 70
include_prompt: true
evidence_fields: [gen_ai.prompt]
query: |
  any where gen_ai.prompt : "*password*"
overrides:
  - {when: 'user.id == "bob"', severity: critical, risk_score: 90}
suppress: {by: [user.id], for: 30m}
`)
	var events []*schemas.Event
	offsets := []int{0, 3, 1, 7, 2, 40, 41, 5, 90, 95, 60, 200, 201, 202, 203, 204, 205, 206, 207, 208}
	for i, m := range offsets {
		user := []string{"alice", "bob", "carol"}[i%3]
		if m >= 200 {
			user = "dave" // a burst: more suppressed than MaxEvidence
		}
		prompt := fmt.Sprintf("my password is hunter%d, key AKIAIOSFODNN7EXAMPL%d ", i, i%10) + strings.Repeat("y", i*20)
		if i%5 == 4 {
			prompt = "nothing to see"
		}
		events = append(events, ev(fmt.Sprintf("e%02d", i), time.Duration(m)*time.Minute,
			map[string]any{"user.id": user, "gen_ai.prompt": prompt}))
	}
	cfg := DefaultConfig()
	cfg.MaxEvidence = 3
	replay := func(eager bool) *engineRun {
		res := &engineRun{}
		en := newRecordedEngine(t, []*rules.Rule{r}, cfg, res)
		if eager {
			en.runners = []runner{&eagerSingle{singleRunner{en: en, r: r}}}
		}
		for _, e := range events {
			if err := en.Process(e); err != nil {
				t.Fatal(err)
			}
			res.dump()
		}
		if err := en.Flush(); err != nil {
			t.Fatal(err)
		}
		res.dump()
		res.stats = en.Stats()
		return res
	}
	lazy, eager := replay(false), replay(true)
	if eager.stats.Suppressed[r.ID] < 8 || len(eager.alerts) < 4 {
		t.Fatalf("the stream should suppress several alerts: %+v, %d alerts", eager.stats, len(eager.alerts))
	}
	sameRun(t, lazy, eager)
}

func TestAlertCarriesActorModelTokensAndMaskedPrompt(t *testing.T) {
	r := mustRule(t, `
id: prompted
name: Prompted
severity: high
risk_score: 70
include_prompt: true
query: |
  any where gen_ai.prompt : "*password*"
`)
	e, _ := schemas.EventFromFields(map[string]any{
		"@timestamp": "2026-03-01T10:00:00Z", "event.id": "inv-1", "data_stream.dataset": "aws_bedrock.invocation",
		"event.action": "Converse", "user.id": "arn:aws:sts::1:assumed-role/r/s", "cloud.account.id": "1",
		"gen_ai.request.model.id": "anthropic.claude-3-haiku", "gen_ai.usage.prompt_tokens": 1200, "gen_ai.usage.completion_tokens": 80,
		"gen_ai.prompt": "my password is hunter2 and my key is AKIAIOSFODNN7EXAMPLE " + strings.Repeat("x", 1000),
	})
	got := run(t, []*rules.Rule{r}, []*schemas.Event{e})
	if len(got) != 1 {
		t.Fatalf("%d alerts", len(got))
	}
	a := got[0]
	if a.Prompt == nil || a.Prompt.Masked != 1 || !a.Prompt.Truncated || strings.Contains(a.Prompt.Text, "IOSFODNN7") || len([]rune(a.Prompt.Text)) != 256 {
		t.Fatalf("prompt excerpt %+v", a.Prompt)
	}
	if a.Metrics["prompt_tokens"] != int64(1200) || a.Metrics["completion_tokens"] != int64(80) {
		t.Fatalf("metrics %v", a.Metrics)
	}
	if len(a.ModelIDs) != 1 || a.Actor.AccountID != "1" || a.Subject != "arn:aws:sts::1:assumed-role/r/s" {
		t.Fatalf("alert %+v", a)
	}
	raw, _ := json.Marshal(a)
	if strings.Contains(string(raw), "IOSFODNN7") {
		t.Fatal("the secret leaked into the alert")
	}
}

func TestBuiltinRuleTests(t *testing.T) {
	rs, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) < 10 {
		t.Fatalf("%d built-in rules", len(rs))
	}
	for _, r := range rs {
		if len(r.Tests) < 2 {
			t.Errorf("%s: %d test cases; every built-in rule carries positive and negative cases", r.ID, len(r.Tests))
		}
		pos, neg := false, false
		for _, tc := range r.Tests {
			if len(tc.Expect) > 0 {
				pos = true
			} else {
				neg = true
			}
		}
		if !pos || !neg {
			t.Errorf("%s: needs both a positive and a negative case", r.ID)
		}
		for _, res := range RunRuleTests(r, DefaultConfig()) {
			if !res.Passed() {
				t.Errorf("%s: %s:\n  %s", r.ID, res.Case, strings.Join(res.Failures, "\n  "))
			}
		}
	}
}

// TestEngineContinuesOnItsStore: a stream split in two, with the engine
// reopened on the same store in between, gives the alerts of the whole.
func TestEngineContinuesOnItsStore(t *testing.T) {
	seq := mustRule(t, threeStep)
	supp := mustRule(t, `
id: denied
name: Denied
severity: medium
risk_score: 40
query: |
  any where event.action == "X"
suppress: {by: [user.id], for: 1h}
`)
	rs := []*rules.Rule{seq, supp}
	f := func(a string) map[string]any {
		return map[string]any{"event.action": a, "user.id": "u1", "source.ip": "ip"}
	}
	events := []*schemas.Event{
		ev("x1", 0, f("X")), ev("a", time.Minute, f("A")), ev("x2", 2*time.Minute, f("X")),
		ev("b", 3*time.Minute, f("B")), ev("x3", 4*time.Minute, f("X")), ev("c", 5*time.Minute, f("C")),
		ev("x4", 3*time.Hour, f("X")),
	}
	whole := run(t, rs, events)
	for cut := 1; cut < len(events); cut++ {
		store := state.NewMemory()
		var got []*schemas.Alert
		emit := func(a *schemas.Alert) { got = append(got, a) }
		en, _ := New(rs, store, DefaultConfig(), emit)
		for _, e := range events[:cut] {
			en.Process(e)
		}
		if err := en.Checkpoint(); err != nil {
			t.Fatal(err)
		}
		en2, err := New(rs, store, DefaultConfig(), emit)
		if err != nil {
			t.Fatal(err)
		}
		if !en2.Watermark().Equal(en.Watermark()) {
			t.Fatalf("cut %d: watermark %v, want %v", cut, en2.Watermark(), en.Watermark())
		}
		for _, e := range events[cut:] {
			en2.Process(e)
		}
		en2.Flush()
		if fmt.Sprint(ids(got)) != fmt.Sprint(ids(whole)) {
			t.Fatalf("cut %d: %d alerts %v, whole stream %d %v", cut, len(got), ids(got), len(whole), ids(whole))
		}
	}
	// the sequence, x1, the follow-up folding x2 and x3, and x4 opening a new period
	if len(whole) != 4 {
		t.Fatalf("whole stream gave %d alerts, want 4", len(whole))
	}
}

// engineRun is what an engine did over a stream, for tests that run it two
// ways and compare: its alerts (id, time, subject and JSON), the content of
// its store at the points the test chose, and its stats.
type engineRun struct {
	alerts, states []string
	stats          Stats
	st             *state.Memory
}

// newRecordedEngine returns an engine running rs with cfg on a new memory
// store, recording its alerts in res.
func newRecordedEngine(t *testing.T, rs []*rules.Rule, cfg Config, res *engineRun) *Engine {
	t.Helper()
	res.st = state.NewMemory()
	en, err := New(rs, res.st, cfg, func(a *schemas.Alert) {
		raw, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		res.alerts = append(res.alerts, fmt.Sprintf("%s %s %s %s", a.ID, a.Time.Format(time.RFC3339Nano), a.Subject, raw))
	})
	if err != nil {
		t.Fatal(err)
	}
	return en
}

// dump records the whole content of the run's store.
func (res *engineRun) dump() {
	var b strings.Builder
	res.st.Scan("", func(k string, v []byte) bool {
		fmt.Fprintf(&b, "%q=%s\n", k, v)
		return true
	})
	res.states = append(res.states, b.String())
}

// sameRun fails t unless got has want's stats and alerts, and its store
// held what want's did at every dump.
func sameRun(t *testing.T, got, want *engineRun) {
	t.Helper()
	if !reflect.DeepEqual(got.stats, want.stats) {
		t.Errorf("stats %+v, want %+v", got.stats, want.stats)
	}
	if !reflect.DeepEqual(got.alerts, want.alerts) {
		t.Errorf("alerts:\n%s\nwant:\n%s", strings.Join(got.alerts, "\n"), strings.Join(want.alerts, "\n"))
	}
	if len(got.states) != len(want.states) {
		t.Fatalf("%d dumps, want %d", len(got.states), len(want.states))
	}
	for i := range want.states {
		if got.states[i] != want.states[i] {
			t.Fatalf("store at dump %d:\n%s\nwant:\n%s", i, got.states[i], want.states[i])
		}
	}
}

// TestSweepSkipsOnlyWhenNothingIsDue: a sweep that finds nothing due
// remembers the first deadline it left, and later sweeps before it do not
// scan the index; an entry set earlier than that deadline, after the sweep,
// is still expired when the watermark reaches it, at its deadline exactly.
// (Expiring a key of a rule no longer loaded deletes it.)
func TestSweepSkipsOnlyWhenNothingIsDue(t *testing.T) {
	store := state.NewMemory()
	en, err := New(nil, store, DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	exists := func(k string) bool {
		t.Helper()
		_, ok, err := store.Get(k)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	set := func(k string, d time.Duration) {
		t.Helper()
		if err := store.Put(k, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := en.setExpiry(k, time.Time{}, t0.Add(d)); err != nil {
			t.Fatal(err)
		}
	}
	advance := func(d time.Duration) {
		t.Helper()
		if err := en.Advance(t0.Add(d)); err != nil {
			t.Fatal(err)
		}
	}
	set("t/gone/late", time.Hour)
	advance(0)
	if !en.dueKnown || en.nextDue != uint64(t0.Add(time.Hour).UnixMilli()) {
		t.Fatalf("after a sweep with nothing due: next due %d (known %v), want the entry at +1h", en.nextDue, en.dueKnown)
	}
	set("t/gone/early", 10*time.Minute)
	advance(10*time.Minute - time.Second)
	if !exists("t/gone/early") {
		t.Fatal("expired before its deadline")
	}
	advance(10 * time.Minute)
	if exists("t/gone/early") {
		t.Fatal("an entry set after the sweep, before its next due, was not expired at its deadline")
	}
	if !exists("t/gone/late") {
		t.Fatal("expired before its deadline")
	}
	advance(2 * time.Hour)
	if exists("t/gone/late") {
		t.Fatal("not expired")
	}
	if !en.dueKnown || en.nextDue != math.MaxUint64 {
		t.Fatalf("index empty: next due %d (known %v), want none", en.nextDue, en.dueKnown)
	}
	for _, v := range []uint64{0, 1, 0xdeadbeef, uint64(t0.UnixMilli()), math.MaxUint64} {
		var b [16]byte
		putHex16(b[:], v)
		if got, ok := parseHex16(string(b[:])); !ok || got != v {
			t.Errorf("parseHex16(putHex16(%d)) = %d, %v", v, got, ok)
		}
	}
	if _, ok := parseHex16("00000000000000g0"); ok {
		t.Error("parseHex16 accepts a non-hex digit")
	}
}
