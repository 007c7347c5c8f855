package schemas

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// A small CloudTrail record of each kind, for table tests.
const (
	ctBedrock     = `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/dev/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE000000001","userName":"alice"},"eventTime":"2025-03-04T10:15:31Z","eventSource":"bedrock.amazonaws.com","eventName":"ListFoundationModels","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2","requestParameters":null,"eventID":"e-1","eventCategory":"Management","recipientAccountId":"111122223333"}`
	ctS3          = `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice"},"eventTime":"2025-03-04T10:15:32Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","eventID":"e-2"}`
	invocationMin = `{"schemaType":"ModelInvocationLog","schemaVersion":"1.0","timestamp":"2025-03-04T10:15:33Z","accountId":"111122223333","identity":{"arn":"arn:aws:sts::111122223333:assumed-role/app/bob"},"region":"us-east-1","requestId":"r-1","operation":"Converse","modelId":"anthropic.claude-3-haiku-20240307-v1:0","input":{"inputBodyJson":{"messages":[{"role":"user","content":[{"text":"hello"}]}]},"inputTokenCount":3},"output":{"outputBodyJson":{"output":{"message":{"content":[{"text":"hi"}]}},"stopReason":"end_turn"},"outputTokenCount":1}}`
	ecsMin        = `{"@timestamp":"2025-03-04T10:15:34Z","event":{"id":"p-1","category":"process"},"process":{"command_line":"aws s3 ls","executable":"/usr/bin/aws"},"user":{"name":"carol"},"host":{"name":"h1"}}`
)

// outcome is a Record reduced to what a table test checks.
type outcome struct {
	status Status
	source Source
	reason string // malformed reason
	action string // Event.Action of an event
}

func (o outcome) String() string {
	return fmt.Sprintf("%s/%s%s%s", o.status, o.source, prefixed(" ", o.reason), prefixed(" ", o.action))
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

func outcomesOf(recs []Record) []outcome {
	out := make([]outcome, len(recs))
	for i, r := range recs {
		out[i] = outcome{status: r.Status, source: r.Source}
		var m *MalformedError
		if errors.As(r.Err, &m) {
			out[i].reason = m.Reason
		}
		if r.Event != nil {
			out[i].action = r.Event.Action
		}
	}
	return out
}

func event(src Source, action string) outcome { return outcome{StatusEvent, src, "", action} }
func bad(src Source, reason string) outcome   { return outcome{StatusMalformed, src, reason, ""} }

var (
	filteredCT = outcome{status: StatusFiltered, source: SourceCloudTrail}
	skippedCT  = outcome{status: StatusSkipped, source: SourceCloudTrail}
	skipped    = outcome{status: StatusSkipped}
)

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// jsonString quotes s as a JSON string.
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func cloudWatch(messages ...string) string {
	var events []string
	for i, m := range messages {
		events = append(events, fmt.Sprintf(`{"id":"%d","timestamp":1741083331000,"message":%s}`, i, jsonString(m)))
	}
	return `{"messageType":"DATA_MESSAGE","owner":"111122223333","logGroup":"g","logStream":"s","subscriptionFilters":["f"],"logEvents":[` + strings.Join(events, ",") + `]}`
}

// TestDecodeShapes covers every input shape of SPEC §2 with small messages,
// under the default provider filter (Bedrock only).
func TestDecodeShapes(t *testing.T) {
	cases := []struct {
		name string
		msg  string
		want []outcome
	}{
		{"bare bedrock record", ctBedrock, []outcome{event(SourceCloudTrail, "ListFoundationModels")}},
		{"bare record of another service", ctS3, []outcome{filteredCT}},
		{"record without eventVersion", `{"eventSource":"bedrock.amazonaws.com","eventName":"InvokeModel","eventTime":"2025-03-04T10:15:31Z"}`,
			[]outcome{event(SourceCloudTrail, "InvokeModel")}},
		{"log file", `{"Records":[` + ctS3 + `,` + ctBedrock + `,` + ctS3 + `]}`,
			[]outcome{filteredCT, event(SourceCloudTrail, "ListFoundationModels"), filteredCT}},
		{"empty log file", `{"Records":[]}`, []outcome{skippedCT}},
		{"array of records of every kind", `[` + ctBedrock + `,` + ctS3 + `,` + invocationMin + `,` + ecsMin + `]`,
			[]outcome{event(SourceCloudTrail, "ListFoundationModels"), filteredCT, event(SourceInvocation, "Converse"), event(SourceEndpoint, "")}},
		{"empty array", `[]`, []outcome{{status: StatusSkipped}}},
		{"eventbridge", `{"version":"0","detail-type":"AWS API Call via CloudTrail","source":"aws.bedrock","time":"2025-03-04T10:15:31Z","detail":` + ctBedrock + `}`,
			[]outcome{event(SourceCloudTrail, "ListFoundationModels")}},
		{"eventbridge console sign-in", `{"detail-type":"AWS Console Sign In via CloudTrail","detail":` + ctS3 + `}`, []outcome{filteredCT}},
		{"eventbridge of another kind", `{"detail-type":"GuardDuty Finding","detail":{"severity":5}}`, []outcome{bad(SourceUnknown, ReasonUnknownShape)}},
		{"cloudwatch logs", cloudWatch(ctS3, ctBedrock, invocationMin), []outcome{filteredCT, event(SourceCloudTrail, "ListFoundationModels"), event(SourceInvocation, "Converse")}},
		{"cloudwatch control message", `{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1432826855000,"message":"CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."}]}`,
			[]outcome{skipped}},
		{"cloudwatch event that is not JSON", cloudWatch("plain text line", ctBedrock),
			[]outcome{bad(SourceUnknown, ReasonInvalidJSON), event(SourceCloudTrail, "ListFoundationModels")}},
		{"cloudwatch eventbridge", cloudWatch(`{"detail-type":"AWS API Call via CloudTrail","detail":` + ctBedrock + `}`),
			[]outcome{event(SourceCloudTrail, "ListFoundationModels")}},
		{"lookupevents row", `{"EventId":"e-1","EventName":"ListFoundationModels","EventTime":"2025-03-04 21:15:31+11:00","CloudTrailEvent":` + jsonString(ctBedrock) + `}`,
			[]outcome{event(SourceCloudTrail, "ListFoundationModels")}},
		{"lookupevents row of another service", `{"EventId":"e-2","CloudTrailEvent":` + jsonString(ctS3) + `}`, []outcome{filteredCT}},
		{"digest", `{"awsAccountId":"1","digestStartTime":"2020-09-11T18:36:49Z","digestEndTime":"2020-09-11T19:36:49Z","logFiles":[]}`, []outcome{skippedCT}},
		{"invocation log", invocationMin, []outcome{event(SourceInvocation, "Converse")}},
		{"ecs process", ecsMin, []outcome{event(SourceEndpoint, "")}},
		{"gzip cloudwatch", string(gzipped(t, []byte(cloudWatch(ctBedrock, ctS3)))), []outcome{event(SourceCloudTrail, "ListFoundationModels"), filteredCT}},
		{"gzip record with BOM", string(gzipped(t, []byte("\xef\xbb\xbf"+ctBedrock))), []outcome{event(SourceCloudTrail, "ListFoundationModels")}},
	}
	d, err := NewDecoder(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := outcomesOf(decodeWith(d, []byte(c.msg)))
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("got %v\nwant %v", got, c.want)
			}
		})
	}
}

// TestDecodeMalformed covers the reasons a record is dead-lettered, and that
// one bad record of a list does not spoil the others.
func TestDecodeMalformed(t *testing.T) {
	huge := `{"eventSource":"s3.amazonaws.com","eventName":"x","pad":"` + strings.Repeat("a", 2<<20) + `"}`
	cases := []struct {
		name string
		msg  []byte
		want []outcome
	}{
		{"empty", nil, []outcome{bad(SourceUnknown, ReasonInvalidJSON)}},
		{"whitespace", []byte(" \n"), []outcome{bad(SourceUnknown, ReasonInvalidJSON)}},
		{"not json", []byte("Apache License"), []outcome{bad(SourceUnknown, ReasonInvalidJSON)}},
		{"truncated record", []byte(ctBedrock[:len(ctBedrock)/2]), []outcome{bad(SourceUnknown, ReasonInvalidJSON)}},
		{"truncated other-service record", []byte(ctS3[:len(ctS3)-1]), []outcome{bad(SourceUnknown, ReasonInvalidJSON)}},
		{"trailing data", []byte(ctS3 + ` {}`), []outcome{bad(SourceUnknown, ReasonInvalidJSON)}},
		{"control character in string", []byte("{\"eventSource\":\"s3\x01\",\"eventName\":\"x\"}"), []outcome{bad(SourceUnknown, ReasonInvalidJSON)}},
		{"bad escape", []byte(`{"eventSource":"s3\q","eventName":"x"}`), []outcome{bad(SourceUnknown, ReasonInvalidJSON)}},
		{"leading zero number", []byte(`{"a":01}`), []outcome{bad(SourceUnknown, ReasonInvalidJSON)}},
		{"NaN", []byte(`{"a":NaN}`), []outcome{bad(SourceUnknown, ReasonInvalidJSON)}},
		{"too deep", []byte(strings.Repeat("[", 200) + strings.Repeat("]", 200)), []outcome{bad(SourceUnknown, ReasonInvalidJSON)}},
		{"unknown object", []byte(`{"hello":"world"}`), []outcome{bad(SourceUnknown, ReasonUnknownShape)}},
		{"top-level string", []byte(`"eventSource"`), []outcome{bad(SourceUnknown, ReasonUnknownShape)}},
		{"top-level number", []byte(`42`), []outcome{bad(SourceUnknown, ReasonUnknownShape)}},
		{"eventName a number", []byte(`{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":7}`), []outcome{bad(SourceCloudTrail, ReasonBadField)}},
		{"eventSource an object", []byte(`{"eventVersion":"1.08","eventSource":{},"eventName":"x"}`), []outcome{bad(SourceCloudTrail, ReasonBadField)}},
		{"eventName missing", []byte(`{"eventVersion":"1.08","eventSource":"bedrock.amazonaws.com"}`), []outcome{bad(SourceCloudTrail, ReasonBadField)}},
		{"Records not an array", []byte(`{"Records":{"a":1}}`), []outcome{bad(SourceCloudTrail, ReasonBadField)}},
		{"logEvents not an array", []byte(`{"messageType":"DATA_MESSAGE","logEvents":"x"}`), []outcome{bad(SourceUnknown, ReasonBadField)}},
		{"message not a string", []byte(`{"messageType":"DATA_MESSAGE","logEvents":[{"message":{}}]}`), []outcome{bad(SourceUnknown, ReasonBadField)}},
		{"CloudTrailEvent not a string", []byte(`{"EventId":"1","CloudTrailEvent":{"eventSource":"x"}}`), []outcome{bad(SourceCloudTrail, ReasonBadField)}},
		{"detail not an object", []byte(`{"detail-type":"AWS API Call via CloudTrail","detail":"x"}`), []outcome{bad(SourceCloudTrail, ReasonBadField)}},
		{"operation a number", []byte(`{"schemaType":"ModelInvocationLog","operation":5}`), []outcome{bad(SourceInvocation, ReasonBadField)}},
		{"nested envelope", []byte(`[{"Records":[]}]`), []outcome{bad(SourceUnknown, ReasonUnknownShape)}},
		{"oversized", []byte(huge), []outcome{bad(SourceUnknown, ReasonOversized)}},
		{"oversized after gzip", gzipped(t, []byte(huge)), []outcome{bad(SourceUnknown, ReasonOversized)}},
		{"gzip bomb of spaces", gzipped(t, bytes.Repeat([]byte(" "), 8<<20)), []outcome{bad(SourceUnknown, ReasonOversized)}},
		{"bad gzip", append([]byte{0x1f, 0x8b}, []byte("not really gzip")...), []outcome{bad(SourceUnknown, ReasonBadGzip)}},
		{"truncated gzip", gzipped(t, []byte(ctBedrock))[:30], []outcome{bad(SourceUnknown, ReasonBadGzip)}},
		{"one bad element among good ones", []byte(`[` + ctBedrock + `,{"eventSource":"bedrock.amazonaws.com","eventName":[]},"x",` + ctS3 + `]`),
			[]outcome{event(SourceCloudTrail, "ListFoundationModels"), bad(SourceCloudTrail, ReasonBadField), bad(SourceUnknown, ReasonUnknownShape), filteredCT}},
		{"one bad log event among good ones", []byte(cloudWatch(ctBedrock, `{"eventSource":`, ctS3)),
			[]outcome{event(SourceCloudTrail, "ListFoundationModels"), bad(SourceUnknown, ReasonInvalidJSON), filteredCT}},
	}
	d, err := NewDecoder(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recs := decodeWith(d, c.msg)
			got := outcomesOf(recs)
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("got %v\nwant %v", got, c.want)
			}
			for _, r := range recs {
				if r.Status == StatusMalformed {
					if !IsMalformed(r.Err) {
						t.Errorf("malformed record with error %v", r.Err)
					}
					if len(r.Err.Error()) > 200 {
						t.Errorf("error detail too long: %d bytes", len(r.Err.Error()))
					}
				}
			}
		})
	}
}

// TestMalformedDetailsCarryNoContent checks that error details name keys and
// types but never the content of the record.
func TestMalformedDetailsCarryNoContent(t *testing.T) {
	const secret = "AKIASECRETCANARY0001"
	msgs := []string{
		`{"eventVersion":"1.08","eventSource":"` + secret + `","eventName":7}`,
		`{"eventSource":"` + secret,
		`{"` + secret + `":1}`,
		`["` + secret + `"]`,
		`{"schemaType":"ModelInvocationLog","operation":["` + secret + `"]}`,
		cloudWatch(secret),
		`{"messageType":"DATA_MESSAGE","logEvents":[{"message":["` + secret + `"]}]}`,
		`{"detail-type":"` + secret + `","detail":{"x":"` + secret + `"}}`,
		`{"a":"` + secret + `"} trailing ` + secret,
		`{"CloudTrailEvent":"{\"` + secret + `\":1}"}`,
	}
	d, _ := NewDecoder(DefaultConfig())
	for _, m := range msgs {
		for _, r := range decodeWith(d, []byte(m)) {
			if r.Status != StatusMalformed {
				t.Errorf("%s: status %v, want malformed", m, r.Status)
				continue
			}
			if strings.Contains(r.Err.Error(), secret) || strings.Contains(r.Err.Error(), "AKIA") {
				t.Errorf("error leaks content: %v", r.Err)
			}
		}
	}
}

// TestFilterAgreesWithFullDecode checks that the first-pass filter and the
// full decode classify records alike: a record of another service is
// filtered whether it arrives bare (filtered from the index) or inside an
// EventBridge envelope or a CloudWatch Logs message (filtered after parsing),
// and a Bedrock record is an event either way.
func TestFilterAgreesWithFullDecode(t *testing.T) {
	d, _ := NewDecoder(DefaultConfig())
	for _, rec := range []string{ctS3, ctBedrock, `{"eventSource":"s3\u002eamazonaws.com","eventName":"x","eventVersion":"1"}`, `{"eventSource":"s3.amazonaws.com","eventName":"x","eventName":7}`} {
		want := outcomesOf(decodeWith(d, []byte(rec)))
		for _, wrapped := range []string{
			`{"detail-type":"AWS API Call via CloudTrail","detail":` + rec + `}`,
			cloudWatch(rec),
			`[` + rec + `]`,
			`{"Records":[` + rec + `]}`,
			`{"CloudTrailEvent":` + jsonString(rec) + `}`,
		} {
			if got := outcomesOf(decodeWith(d, []byte(wrapped))); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: got %v, bare record gives %v", wrapped, got, want)
			}
		}
	}
}

// TestEventsOwnTheirMemory checks that an Event shares no memory with the
// message it came from nor with the Decoder's reused buffers.
func TestEventsOwnTheirMemory(t *testing.T) {
	d, _ := NewDecoder(allProviders())
	msgs := []string{ctBedrock, invocationMin, ecsMin, cloudWatch(ctBedrock), `{"CloudTrailEvent":` + jsonString(ctBedrock) + `}`}
	for _, m := range msgs {
		buf := []byte(m)
		recs := decodeWith(d, buf)
		if len(recs) != 1 || recs[0].Event == nil {
			t.Fatalf("%s: %v", m, outcomesOf(recs))
		}
		e := recs[0].Event
		before := fmt.Sprintf("%+v", *e)
		for i := range buf {
			buf[i] = 'X'
		}
		// Reuse every parser and buffer of the Decoder.
		for _, other := range msgs {
			decodeWith(d, []byte(strings.ReplaceAll(other, "a", "b")))
		}
		if after := fmt.Sprintf("%+v", *e); after != before {
			t.Errorf("event changed after its message and the decoder were reused:\n%s\n%s", before, after)
		}
	}
}

// TestOriginAndRaw checks Origin.Index, that Raw is each record's own JSON,
// and the content-hash id of records without an id.
func TestOriginAndRaw(t *testing.T) {
	d, _ := NewDecoder(allProviders())
	noID := `{"eventSource":"s3.amazonaws.com","eventName":"GetObject"}`
	var recs []Record
	d.Decode([]byte("[ "+ctS3+" ,\n"+noID+"]"), Origin{Topic: "cloudtrail", Partition: 3, Offset: 99}, func(r Record) { recs = append(recs, r) })
	if len(recs) != 2 {
		t.Fatalf("got %d records", len(recs))
	}
	for i, r := range recs {
		o := r.Event.Origin
		if o.Topic != "cloudtrail" || o.Partition != 3 || o.Offset != 99 || o.Index != i {
			t.Errorf("record %d origin %+v", i, o)
		}
	}
	if string(recs[0].Event.Raw) != ctS3 || string(recs[1].Event.Raw) != noID {
		t.Errorf("raw = %q, %q", recs[0].Event.Raw, recs[1].Event.Raw)
	}
	if recs[0].Event.ID != "e-2" {
		t.Errorf("id = %q", recs[0].Event.ID)
	}
	id := recs[1].Event.ID
	if !strings.HasPrefix(id, "h:") || len(id) != 18 || id != contentID([]byte(noID)) {
		t.Errorf("content id = %q", id)
	}
	if again := decodeWith(d, []byte(noID)); again[0].Event.ID != id {
		t.Errorf("content id not deterministic: %q vs %q", again[0].Event.ID, id)
	}

	// An EventBridge record's Raw is its detail; a CloudWatch record's Raw
	// is the unescaped message.
	eb := decodeWith(d, []byte(`{"detail-type":"AWS API Call via CloudTrail","time":"2025-01-01T00:00:00Z","detail": `+noID+` }`))
	if string(eb[0].Event.Raw) != noID {
		t.Errorf("eventbridge raw = %q", eb[0].Event.Raw)
	}
	if want := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC); !eb[0].Event.Timestamp.Equal(want) {
		t.Errorf("eventbridge fallback time = %v", eb[0].Event.Timestamp)
	}
	cw := decodeWith(d, []byte(cloudWatch(noID)))
	if string(cw[0].Event.Raw) != noID {
		t.Errorf("cloudwatch raw = %q", cw[0].Event.Raw)
	}
	if want := time.UnixMilli(1741083331000).UTC(); !cw[0].Event.Timestamp.Equal(want) {
		t.Errorf("cloudwatch fallback time = %v", cw[0].Event.Timestamp)
	}
}

func TestNewDecoderValidates(t *testing.T) {
	if _, err := NewDecoder(Config{MaxRecordBytes: 0, CloudTrailProviders: []string{""}}); err == nil {
		t.Fatal("want an error for a bad config")
	}
	cfg := DefaultConfig()
	d, err := NewDecoder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.CloudTrailProviders[0] = "s3.amazonaws.com" // the Decoder keeps its own copy
	if got := outcomesOf(decodeWith(d, []byte(ctS3))); got[0] != filteredCT {
		t.Errorf("decoder shares the caller's provider list: %v", got)
	}
}

func TestParseTimeText(t *testing.T) {
	cases := map[string]string{
		"2024-10-29T15:51:44Z":          "2024-10-29T15:51:44Z",
		"2020-09-14T00:44:23.000Z":      "2020-09-14T00:44:23Z",
		"2022-02-08 09:23:37+11:00":     "2022-02-07T22:23:37Z",
		"2025-05-15 14:17:22.000000000": "2025-05-15T14:17:22Z",
		"2026-04-20 10:00:35.640":       "2026-04-20T10:00:35.64Z",
		"1682368416719":                 "2023-04-24T20:33:36.719Z",
		"1682368414.719":                "2023-04-24T20:33:34.719Z",
		"Tue Sep 29 19:43:25 2020 UTC":  "2020-09-29T19:43:25Z",
	}
	for in, want := range cases {
		got, ok := parseTimeText([]byte(in))
		if !ok || got.Format(time.RFC3339Nano) != want {
			t.Errorf("parseTimeText(%q) = %v, %v; want %s", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "yesterday", "2024-13-45T00:00:00Z", "NaN"} {
		if got, ok := parseTimeText([]byte(in)); ok {
			t.Errorf("parseTimeText(%q) = %v, want failure", in, got)
		}
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:iam::1:user/dev/alice":            "alice",
		"arn:aws:sts::1:assumed-role/role/session": "session",
		"arn:aws:iam::1:root":                      "root",
		"<redacted>":                               "<redacted>",
		"":                                         "",
	} {
		if got := string(lastARNSegment([]byte(in))); got != want {
			t.Errorf("lastARNSegment(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		`C:\Windows\System32\cmd.exe`:            "cmd.exe",
		`\Device\HarddiskVolume2\Windows\at.exe`: "at.exe",
		"/usr/local/bin/aws":                     "aws",
		"aws":                                    "aws",
	} {
		if got := baseName(in); got != want {
			t.Errorf("baseName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFilteredRecordDoesNotAllocate: the hot path — a bare record of another
// service, or a log file of them — allocates nothing once the Decoder is warm.
func TestFilteredRecordDoesNotAllocate(t *testing.T) {
	d, _ := NewDecoder(DefaultConfig())
	logFile := []byte(`{"Records":[` + ctS3 + `,` + ctS3 + `]}`)
	for name, msg := range map[string][]byte{"record": []byte(ctS3), "log file": logFile} {
		yield := func(r Record) {
			if r.Status != StatusFiltered {
				t.Fatalf("%s: %v", name, r.Status)
			}
		}
		d.Decode(msg, Origin{}, yield)
		if n := testing.AllocsPerRun(100, func() { d.Decode(msg, Origin{}, yield) }); n != 0 {
			t.Errorf("%s: %v allocations per message", name, n)
		}
	}
}

// TestRuneCountRemembers: RuneCount counts runes, and a text other than the
// one remembered, even of the same length, is counted afresh.
func TestRuneCountRemembers(t *testing.T) {
	e := &Event{Prompt: strings.Repeat("héllo wörld ", 20)}
	if got, want := e.RuneCount(e.Prompt), utf8.RuneCountInString(e.Prompt); got != want {
		t.Fatalf("RuneCount = %d, want %d", got, want)
	}
	if got := e.RuneCount(e.Prompt); got != 240 {
		t.Fatalf("remembered RuneCount = %d, want 240", got)
	}
	other := strings.Repeat("x", len(e.Prompt)) // same length, other runes
	if got := e.RuneCount(other); got != len(other) {
		t.Fatalf("RuneCount of another text = %d, want %d", got, len(other))
	}
	e.Prompt = strings.Repeat("ü", 150) // reassigned: counted afresh
	if got := e.RuneCount(e.Prompt); got != 150 {
		t.Fatalf("RuneCount after the prompt changed = %d, want 150", got)
	}
	if got := e.RuneCount("äb"); got != 2 {
		t.Fatalf("RuneCount of a short text = %d, want 2", got)
	}
}
