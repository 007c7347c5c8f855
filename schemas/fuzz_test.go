package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fuzzSeeds returns one message of every input shape: the small messages of
// the table tests, the team-written fixtures and, when the shared samples
// are present, a few real records.
func fuzzSeeds(f *testing.F) [][]byte {
	seeds := []string{
		ctBedrock, ctS3, invocationMin, ecsMin,
		`{"Records":[` + ctS3 + `,` + ctBedrock + `]}`,
		`[` + ctBedrock + `,` + invocationMin + `,` + ecsMin + `]`,
		`{"detail-type":"AWS API Call via CloudTrail","time":"2025-03-04T10:15:31Z","detail":` + ctBedrock + `}`,
		cloudWatch(ctS3, ctBedrock, invocationMin),
		`{"messageType":"CONTROL_MESSAGE","logEvents":[]}`,
		`{"EventId":"e-1","EventTime":"2025-03-04 21:15:31+11:00","CloudTrailEvent":` + jsonString(ctBedrock) + `}`,
		`{"digestStartTime":"2020-09-11T18:36:49Z","digestEndTime":"2020-09-11T19:36:49Z","logFiles":[]}`,
		`{"eventSource":"s3\u002eamazonaws.com","eventName":"x"}`,
		string(invocationLog("InvokeModelWithResponseStream", "m", jsonString(`{"messages":[{"role":"user","content":"hi"}]}`),
			`[{"type":"content_block_delta","delta":{"text":"a"}},{"amazon-bedrock-guardrailAction":"INTERVENED","amazon-bedrock-trace":{"guardrail":{"input":{"g":{}}}}},"[DONE]"]`, "")),
		`{"Event":{"System":{"EventID":1,"Computer":"pc","EventRecordID":5,"TimeCreated":{"#attributes":{"SystemTime":"2026-04-20T10:00:35.646624Z"}}},"EventData":{"CommandLine":"cmd /c whoami","Image":"C:\\Windows\\cmd.exe","User":"u"}}}`,
		`{"name":"pack_incident-response_shell_history","action":"added","columns":{"command":"aws s3 ls","username":"ubuntu"}}`,
		`{"event_simpleName":"ProcessRollup2","cid":"c","event":{"CommandLine":"x","ImageFileName":"\\Device\\x.exe","timestamp":"1682368416719"}}`,
		`{"class_uid":1007,"metadata":{"uid":"u"},"time":1741086930123,"process":{"cmd_line":"aws sts get-caller-identity"}}`,
		`{"process.command_line":"aws s3 ls","event.category":"process"}`,
		"", "[]", "{}", "null", `"x"`, "\x1f\x8b", "[[[[[[[[", `{"a":"\u00e9\ud83d\ude00"}`,
	}
	out := make([][]byte, 0, len(seeds)+8)
	for _, s := range seeds {
		out = append(out, []byte(s))
	}
	out = append(out, gzipped(f, []byte(cloudWatch(ctBedrock))))
	fixtures, _ := filepath.Glob("testdata/*/*.json")
	for _, path := range fixtures {
		if b, err := os.ReadFile(path); err == nil {
			out = append(out, b)
		}
	}
	if _, err := os.Stat(sharedTestdata); err == nil {
		for _, rel := range append(invocationSamples[:2:2], "plaso/test_data/jsonl/aws_cloudtrail.jsonl",
			"panther-analysis/derived/endpoint_rule_test_logs.ndjson", elasticCloudTrail+"test-tls-details-json.log") {
			out = append(out, sampleLines(f, rel)[0])
		}
		out = append(out, readSample(f, "otel-collector-contrib/extension/encoding/awslogsencodingextension/internal/unmarshaler/cloudtraillog/testdata/cloudtrail_log_cw.json"))
	}
	return out
}

// FuzzDecode feeds arbitrary bytes to the Decoder and checks its contract:
// no panic; at least one record per message; each record consistent with its
// status; events that own their memory and hold their record's JSON; and the
// same records, in the same order, whether CloudTrail records of other
// services are filtered (mostly from the first pass) or decoded (after a
// full parse) — only their status differs.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	const max = 64 << 10
	filtering, _ := NewDecoder(Config{MaxRecordBytes: max, CloudTrailProviders: []string{BedrockProvider}})
	everything, _ := NewDecoder(Config{MaxRecordBytes: max})
	f.Fuzz(func(t *testing.T, msg []byte) {
		input := bytes.Clone(msg)
		filtered := decodeWith(filtering, input)
		all := decodeWith(everything, input)
		checkRecords(t, filtered)
		checkRecords(t, all)
		if !bytes.Equal(input, msg) {
			t.Fatal("Decode modified its input")
		}

		if len(filtered) != len(all) {
			t.Fatalf("%d records with the provider filter, %d without", len(filtered), len(all))
		}
		for i := range all {
			a, b := outcomesOf(filtered[i : i+1])[0], outcomesOf(all[i : i+1])[0]
			if a.status == StatusFiltered && a.source == SourceCloudTrail && b.status == StatusEvent && b.source == SourceCloudTrail &&
				all[i].Event.Provider != BedrockProvider {
				continue // filtered out with the filter, decoded without
			}
			if a != b {
				t.Fatalf("record %d: %v with the provider filter, %v without", i, a, b)
			}
		}

		// The events own their memory: scribbling over the input and
		// decoding it again (reusing every buffer of the Decoder) changes
		// nothing in them.
		before := describeRecords(all)
		for i := range input {
			input[i] = '"'
		}
		decodeWith(everything, input)
		decodeWith(everything, msg)
		if after := describeRecords(all); after != before {
			t.Fatalf("events changed after the decoder was reused:\n%s\n%s", before, after)
		}
	})
}

// checkRecords checks the invariants of one message's records.
func checkRecords(t *testing.T, recs []Record) {
	t.Helper()
	if len(recs) == 0 {
		t.Fatal("no record yielded")
	}
	for i, r := range recs {
		switch r.Status {
		case StatusEvent:
			e := r.Event
			if e == nil || r.Err != nil {
				t.Fatalf("record %d: event status with event %v, err %v", i, e, r.Err)
			}
			if r.Source == SourceUnknown || e.Dataset == "" || e.ID == "" || e.Origin.Index < 0 {
				t.Fatalf("record %d: source %v dataset %q id %q index %d", i, r.Source, e.Dataset, e.ID, e.Origin.Index)
			}
			if !json.Valid(e.Raw) {
				t.Fatalf("record %d: raw is not JSON: %q", i, e.Raw)
			}
			if !e.Timestamp.IsZero() && e.Timestamp.Location() != time.UTC {
				t.Fatalf("record %d: timestamp not UTC", i)
			}
			for _, s := range []string{e.Prompt, e.SystemPrompt, e.Completion} {
				if len(s) > maxTextBytes {
					t.Fatalf("record %d: %d bytes of text", i, len(s))
				}
			}
		case StatusMalformed:
			if !IsMalformed(r.Err) || r.Event != nil {
				t.Fatalf("record %d: malformed with err %v, event %v", i, r.Err, r.Event)
			}
		default:
			if r.Err != nil || r.Event != nil {
				t.Fatalf("record %d: %v with err %v, event %v", i, r.Status, r.Err, r.Event)
			}
		}
	}
}

func describeRecords(recs []Record) string {
	var b bytes.Buffer
	for _, r := range recs {
		if r.Event != nil {
			fmt.Fprintf(&b, "%+v\n", *r.Event)
		}
	}
	return b.String()
}
