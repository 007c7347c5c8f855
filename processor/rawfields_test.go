package processor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
	"github.com/bedrockwatch/bedrockwatch/state"
)

// sharedFile is a shared sample read into memory, under the name a user
// would give replay.
type sharedFile struct {
	name string
	data []byte
}

// readShared reads the shared samples matching the patterns (relative to
// shared; "**" for every file), in lexical order.
func readShared(t testing.TB, patterns ...string) []sharedFile {
	t.Helper()
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("shared testdata not available: %v", err)
	}
	var names []string
	for _, p := range patterns {
		if p == "**" {
			filepath.WalkDir(shared, func(path string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					names = append(names, path)
				}
				return nil
			})
			continue
		}
		m, err := filepath.Glob(filepath.Join(shared, p))
		if err != nil || len(m) == 0 {
			t.Fatalf("no shared sample matches %s (%v)", p, err)
		}
		names = append(names, m...)
	}
	out := make([]sharedFile, 0, len(names))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sharedFile{name: n, data: b})
	}
	return out
}

// replayed is what a replay printed: the alerts as `bedrockwatch replay`
// writes them (one CloudEvent a line) and the record counts.
type replayed struct {
	out     []byte
	records map[schemas.Source]map[schemas.Status]int64
	alerts  map[string]int64
}

// replayWith replays files in order with rs, dropping raw records or not.
func replayWith(t testing.TB, rs []*rules.Rule, files []sharedFile, dropRaw bool) replayed {
	t.Helper()
	var out bytes.Buffer
	var emitErr error
	rp, err := newReplayer(rs, state.NewMemory(), DefaultReplayConfig(), func(a *schemas.Alert) {
		ce, err := a.CloudEvent()
		if err == nil {
			var line []byte
			line, err = json.Marshal(ce)
			out.Write(append(line, '\n'))
		}
		if err != nil && emitErr == nil {
			emitErr = err
		}
	}, dropRaw)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := rp.ReadFile(f.name, bytes.NewReader(f.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := rp.Finish(true); err != nil {
		t.Fatal(err)
	}
	if emitErr != nil {
		t.Fatal(emitErr)
	}
	st := rp.Stats()
	return replayed{out: out.Bytes(), records: st.Records, alerts: st.Alerts}
}

// firstDiff describes where two outputs part.
func firstDiff(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(la) && i < len(lb); i++ {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d:\n  kept:    %.400s\n  dropped: %.400s", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("%d lines against %d", len(la), len(lb))
}

// TestBuiltinReplayOfAllSharedTestdataDropsRaw: the built-in rules read no
// raw field, so replay drops raw records, and every shared sample replays to
// the same alerts, byte for byte, and the same counts as with them kept.
func TestBuiltinReplayOfAllSharedTestdataDropsRaw(t *testing.T) {
	rs, err := rules.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if rulesReadRaw(rs) {
		for _, r := range rs {
			for _, f := range r.Fields() {
				if schemas.PathReadsRaw(f) {
					t.Errorf("built-in rule %s reads raw field %s", r.ID, f)
				}
			}
		}
		t.Fatal("the built-in rules read raw fields: replay keeps every raw record")
	}
	files := readShared(t, "**")
	kept := replayWith(t, rs, files, false)
	dropped := replayWith(t, rs, files, !rulesReadRaw(rs))
	if len(kept.out) == 0 {
		t.Fatal("no alerts from the shared samples")
	}
	if !bytes.Equal(kept.out, dropped.out) {
		t.Fatalf("alerts differ without raw records: %s", firstDiff(kept.out, dropped.out))
	}
	if !reflect.DeepEqual(kept.records, dropped.records) || !reflect.DeepEqual(kept.alerts, dropped.alerts) {
		t.Fatalf("counts differ without raw records:\n%v %v\n%v %v", kept.records, kept.alerts, dropped.records, dropped.alerts)
	}
}

// rawCases are custom rules that name a field read from the raw record in
// one place each a rule can name a field. raw is false for a rule that
// names only fields with typed slots or request parameters.
var rawCases = []struct {
	place string
	raw   bool
	yaml  string
}{
	{"query", true, `
query: any where aws.cloudtrail.user_identity.session_context.session_issuer.type == "Role"
`},
	{"query of an endpoint event", true, `
query: process where process.parent.name == "services.exe"
`},
	{"sequence by", true, `
query: |
  sequence by aws.cloudtrail.user_identity.principal_id with maxspan=1h
    [any where event.action == "GetFoundationModelAvailability"]
    [any where event.action == "InvokeModel"]
`},
	{"sequence step by", true, `
query: |
  sequence with maxspan=1h
    [any where event.action == "GetFoundationModelAvailability"] by aws.cloudtrail.user_identity.principal_id
    [any where event.action == "InvokeModel"] by aws.cloudtrail.user_identity.principal_id
`},
	{"sequence until", true, `
query: |
  sequence by user.id with maxspan=1h
    [any where event.action == "PutUseCaseForModelAccess"]
    [any where event.action == "InvokeModel"]
  until [any where aws.cloudtrail.read_only == false and event.action == "PutFoundationModelEntitlement"]
`},
	{"overrides when", true, `
query: any where event.action == "GetFoundationModelAvailability"
overrides:
  - {when: 'aws.cloudtrail.tls_details.tls_version == "TLSv1.3"', severity: critical, risk_score: 99}
`},
	{"evidence_fields", true, `
query: any where data_stream.dataset == "aws.cloudtrail"
evidence_fields: [aws.cloudtrail.recipient_account_id]
`},
	{"suppress by", true, `
query: any where data_stream.dataset == "aws.cloudtrail"
suppress: {by: [aws.cloudtrail.user_identity.principal_id], for: 3650d}
`},
	{"group_by", true, `
kind: threshold
query: any where event.action == "GetFoundationModelAvailability"
group_by: [aws.cloudtrail.user_identity.principal_id]
window: 1h
threshold: {value: 3}
`},
	{"threshold cardinality", true, `
kind: threshold
query: any where data_stream.dataset == "aws_bedrock.invocation"
group_by: [cloud.account.id]
window: 1d
threshold: {value: 2, cardinality: aws_bedrock.invocation.identity.arn}
`},
	{"new_terms fields, coalesced", true, `
kind: new_terms
query: any where data_stream.dataset == "aws.cloudtrail"
new_terms: {fields: [[aws.cloudtrail.user_identity.principal_id, user.id]], history_window: 1m}
`},
	{"outlier value", true, `
kind: outlier
query: any where data_stream.dataset == "aws_bedrock.invocation"
group_by: [cloud.account.id]
outlier: {value: sum(aws_bedrock.invocation.input.input_token_count), bucket: 1h, baseline: 2h, k: 0, floor: 1}
`},
	{"aggregate category when", true, `
kind: aggregate
query: any where data_stream.dataset == "aws_bedrock.invocation"
group_by: [cloud.account.id]
window: 1d
aggregate:
  categories:
    - {name: us-west, when: 'aws_bedrock.invocation.region == "us-west-2"'}
`},
	{"typed and request parameters only", false, `
query: any where aws.cloudtrail.request_parameters.modelId != null and aws.cloudtrail.user_identity.type == "AssumedRole"
overrides:
  - {when: 'aws.cloudtrail.request_parameters.modelId : "anthropic.*"', severity: high, risk_score: 70}
evidence_fields: [aws.cloudtrail.request_parameters.modelId, aws.cloudtrail.user_identity.session_context.session_issuer.arn]
suppress: {by: [aws.cloudtrail.request_parameters.modelId], for: 1h}
`},
}

var rawCaseFiles = []string{
	"stratus-red-team/docs/detonation-logs/*.json",
	"panther-analysis/derived/*.ndjson",
	"splunk-attack_data/datasets/aws_bedrock_claude/*.ndjson",
	"elastic-integrations/packages/aws_bedrock/data_stream/invocation/_dev/test/pipeline/*.log",
	"elastic-integrations/packages/aws/data_stream/cloudtrail/_dev/test/pipeline/test-converse-json.log",
	"elastic-endpoint-package/package/endpoint/data_stream/process/sample_event.json",
}

// TestReplayKeepsRawForRulesThatReadIt: for each place a rule can name a
// field, a custom rule (loaded from a rules directory, with the built-in
// pack, as `replay --rules` loads it) that reads a raw field there makes
// replay keep raw records: its alerts are byte for byte those of a replay
// forced to keep them. Each raw case is also checked to depend on the raw
// record — dropping it changes the alerts (in the until case, a sequence the
// raw field cancels fires without it) — so a wrong decision would fail.
func TestReplayKeepsRawForRulesThatReadIt(t *testing.T) {
	files := sync.OnceValue(func() []sharedFile { return readShared(t, rawCaseFiles...) })
	for i, c := range rawCases {
		t.Run(c.place, func(t *testing.T) {
			dir := t.TempDir()
			id := fmt.Sprintf("custom-raw-%d", i)
			rule := "id: " + id + "\nname: Custom " + c.place + "\nseverity: medium\nrisk_score: 50\n" + strings.TrimLeft(c.yaml, "\n")
			if err := os.WriteFile(filepath.Join(dir, id+".yaml"), []byte(rule), 0o644); err != nil {
				t.Fatal(err)
			}
			rs, err := rules.Load(dir)
			if err != nil {
				t.Fatalf("loading:\n%s\n%v", rule, err)
			}
			if got := rulesReadRaw(rs); got != c.raw {
				t.Fatalf("rulesReadRaw = %v, want %v (fields %v)", got, c.raw, ruleByID(rs, id).Fields())
			}
			kept := replayWith(t, rs, files(), false)
			auto := replayWith(t, rs, files(), !rulesReadRaw(rs))
			if !bytes.Equal(kept.out, auto.out) {
				t.Fatalf("replay's choice changes the alerts: %s", firstDiff(kept.out, auto.out))
			}
			if !c.raw {
				if kept.alerts[id] == 0 {
					t.Fatalf("the custom rule raised no alert (%v): the case tests nothing", kept.alerts)
				}
				return
			}
			dropped := replayWith(t, rs, files(), true)
			if bytes.Equal(kept.out, dropped.out) {
				t.Fatal("the alerts are the same without raw records: the case does not depend on the raw field")
			}
			if kept.alerts[id] == 0 && dropped.alerts[id] == 0 {
				t.Fatalf("the custom rule raised no alert (%v): the case tests nothing", kept.alerts)
			}
		})
	}
}

func ruleByID(rs []*rules.Rule, id string) *rules.Rule {
	for _, r := range rs {
		if r.ID == id {
			return r
		}
	}
	return &rules.Rule{}
}

// TestRulesReadRawSkipsDisabledRules: a disabled rule is not run, so its
// raw fields do not keep raw records.
func TestRulesReadRawSkipsDisabledRules(t *testing.T) {
	r := mustRule(t, `
id: off
name: Off
severity: low
enabled: false
query: any where aws.cloudtrail.tls_details.tls_version == "TLSv1.3"
`)
	if rulesReadRaw([]*rules.Rule{r}) {
		t.Fatal("a disabled rule keeps raw records")
	}
	on := *r
	on.Enabled = nil
	if !rulesReadRaw([]*rules.Rule{&on}) {
		t.Fatal("the same rule enabled does not keep raw records")
	}
}
