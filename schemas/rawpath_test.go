package schemas

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// rawPathEvents decodes, with raw records kept, events of every dataset
// whose records hold the raw paths of TestPathReadsRawMatchesFieldGetter.
func rawPathEvents(t *testing.T) []*Event {
	t.Helper()
	var msgs [][]byte
	msgs = append(msgs, readSample(t, "stratus-red-team/docs/detonation-logs/aws.impact.bedrock-invoke-model.json"))
	msgs = append(msgs, sampleLines(t, "panther-analysis/derived/bedrockmodelinvocation_rule_test_logs.ndjson")...)
	msgs = append(msgs, sampleLines(t, "splunk-attack_data/datasets/aws_bedrock_claude/aws_bedrock_claude_cross_region_possible_inference_abuse.ndjson")...)
	msgs = append(msgs, readSample(t, "elastic-endpoint-package/package/endpoint/data_stream/process/sample_event.json"))
	for _, f := range []string{"ecs_flat_auditbeat.json", "ocsf_process_activity.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "endpoint", f))
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, b)
	}
	d, err := NewDecoder(allProviders())
	if err != nil {
		t.Fatal(err)
	}
	var out []*Event
	for _, m := range msgs {
		for _, r := range decodeWith(d, m) {
			if r.Status == StatusEvent {
				out = append(out, r.Event)
			}
		}
	}
	return out
}

// TestPathReadsRawMatchesFieldGetter checks PathReadsRaw against what
// FieldGetter's getters do: a path reads the raw record exactly when its
// value changes once Event.Raw is taken away. Every raw path listed is
// present in some decoded record, so each one must be seen to change.
func TestPathReadsRawMatchesFieldGetter(t *testing.T) {
	events := rawPathEvents(t)
	datasets := map[string]bool{}
	for _, e := range events {
		datasets[e.Dataset] = true
	}
	for _, ds := range []string{DatasetCloudTrail, DatasetInvocation, DatasetEndpoint} {
		if !datasets[ds] {
			t.Fatalf("no %s event among the samples", ds)
		}
	}
	paths := []struct {
		path string
		raw  bool
	}{
		// Typed slots.
		{"@timestamp", false},
		{"event.id", false},
		{"event.action", false},
		{"user.name", false},
		{"host.name", false},
		{"process.command_line", false},
		{"process.name", false},
		{"gen_ai.prompt", false},
		{"gen_ai.usage.prompt_tokens", false},
		{"aws.cloudtrail.user_identity.arn", false},
		{"aws.cloudtrail.user_identity.type", false},
		{"aws.cloudtrail.user_identity.session_context.session_issuer.arn", false},
		{"aws.cloudtrail.request_parameters", false},
		// Request parameters, walked from their own copy.
		{"aws.cloudtrail.request_parameters.modelId", false},
		{"aws.cloudtrail.request_parameters.model_id", false},
		// The raw CloudTrail record.
		{"aws.cloudtrail.user_identity.session_context.session_issuer.type", true},
		{"aws.cloudtrail.tls_details.tls_version", true},
		{"aws.cloudtrail.read_only", true},
		{"aws.cloudtrail.recipient_account_id", true},
		// The raw invocation log.
		{"aws_bedrock.invocation.input.input_token_count", true},
		{"aws_bedrock.invocation.region", true},
		{"aws_bedrock.invocation.identity.arn", true},
		// The raw endpoint document: nested, flat with dotted keys, OCSF.
		{"process.parent.name", true},
		{"process.pid", true},
		{"process.executable", true},
		{"actor.user.name", true},
	}
	for _, p := range paths {
		if got := PathReadsRaw(p.path); got != p.raw {
			t.Errorf("PathReadsRaw(%q) = %v, want %v", p.path, got, p.raw)
		}
		get := FieldGetter(p.path)
		changed, present := 0, 0
		for _, e := range events {
			with := get(e)
			bare := *e
			bare.Raw = nil
			without := get(&bare)
			if !with.IsNull() {
				present++
			}
			if !reflect.DeepEqual(with, without) {
				changed++
			}
		}
		if present == 0 {
			t.Errorf("%s: no sample event has it; the case tests nothing", p.path)
		}
		if PathReadsRaw(p.path) && changed == 0 {
			t.Errorf("%s: PathReadsRaw is true, yet no value changes without Event.Raw", p.path)
		}
		if !PathReadsRaw(p.path) && changed > 0 {
			t.Errorf("%s: PathReadsRaw is false, yet %d value(s) change without Event.Raw", p.path, changed)
		}
	}
}

// TestDropRawKeepsEverythingButRaw: with DropRaw, every record decodes to
// the same Event less its Raw — ids hashed from the record's bytes
// included — across CloudTrail, invocation logs and endpoint events.
func TestDropRawKeepsEverythingButRaw(t *testing.T) {
	var msgs [][]byte
	msgs = append(msgs, readSample(t, "stratus-red-team/docs/detonation-logs/aws.impact.bedrock-invoke-model.json"))
	for _, rel := range []string{
		"panther-analysis/derived/bedrockmodelinvocation_rule_test_logs.ndjson",
		"panther-analysis/derived/endpoint_rule_test_logs.ndjson",
		"panther-analysis/derived/cloudtrail_rule_test_logs.ndjson",
	} {
		msgs = append(msgs, sampleLines(t, rel)...)
	}
	msgs = append(msgs, readSample(t, "elastic-integrations/packages/aws_bedrock/data_stream/invocation/_dev/test/pipeline/test-aws-bedrock.log"))
	keep, drop := allProviders(), allProviders()
	drop.DropRaw = true
	dk, _ := NewDecoder(keep)
	dd, _ := NewDecoder(drop)
	events, hashed := 0, 0
	for i, m := range msgs {
		kept, dropped := decodeWith(dk, m), decodeWith(dd, m)
		if len(kept) != len(dropped) {
			t.Fatalf("message %d: %d records kept, %d dropped", i, len(kept), len(dropped))
		}
		for j := range kept {
			k, d := kept[j], dropped[j]
			if k.Status != d.Status || (k.Event == nil) != (d.Event == nil) {
				t.Fatalf("message %d record %d: %v against %v", i, j, k.Status, d.Status)
			}
			if k.Event == nil {
				continue
			}
			events++
			if len(k.Event.Raw) == 0 || d.Event.Raw != nil {
				t.Fatalf("message %d record %d: Raw %d bytes kept, %d dropped", i, j, len(k.Event.Raw), len(d.Event.Raw))
			}
			if k.Event.ID == contentID(k.Event.Raw) {
				hashed++
			}
			want := *k.Event
			want.Raw = nil
			if f := firstDifferentField(want, *d.Event); f != "" {
				t.Fatalf("message %d record %d (event %s): %s differs without Raw", i, j, k.Event.ID, f)
			}
		}
	}
	if events == 0 || hashed == 0 {
		t.Fatalf("%d events, %d with a hashed id: the samples test too little", events, hashed)
	}
}

// firstDifferentField names the first field of Event in which a and b
// differ, or returns "" (values are not printed: they may hold prompts).
// Unexported fields remember computations (RuneCount), and are no part of
// the event.
func firstDifferentField(a, b Event) string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := 0; i < va.NumField(); i++ {
		if !va.Type().Field(i).IsExported() {
			continue
		}
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			return va.Type().Field(i).Name
		}
	}
	return ""
}
