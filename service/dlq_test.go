package service_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bedrockwatch/bedrockwatch/schemas"
	"github.com/bedrockwatch/bedrockwatch/service"
	"github.com/bedrockwatch/bedrockwatch/service/servicetest"
)

// dlqValueCap is the largest value the service copies to the DLQ
// (records.go, maxDLQValue); a longer input is cut and marked truncated.
const dlqValueCap = 512 << 10

// badInput is an input message that must be dead-lettered once, with
// reason, at index inside the message.
type badInput struct {
	name      string
	topic     string
	msg       []byte
	reason    string
	index     int
	truncated bool
}

// ctRecord is a CloudTrail record of key calling action at t; timeJSON and
// identityJSON, when set, replace the eventTime and userIdentity values
// (JSON text) to give them odd types.
func ctRecord(id int, t time.Time, action, key, timeJSON, identityJSON string) string {
	if timeJSON == "" {
		timeJSON = strconv.Quote(t.Format(time.RFC3339))
	}
	if identityJSON == "" {
		identityJSON = fmt.Sprintf(`{"type":"IAMUser","principalId":"AIDA%06d","arn":"arn:aws:iam::111122223333:user/u%s","accountId":"111122223333","accessKeyId":"%s","userName":"u%s"}`, id, key, key, key)
	}
	return fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":%s,"eventTime":%s,"eventSource":"bedrock.amazonaws.com","eventName":"%s","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.9","userAgent":"Boto3/1.34.2","requestParameters":{"modelId":"anthropic.claude-3-sonnet-20240229-v1:0"},"responseElements":null,"requestID":"dlq-r-%d","eventID":"dlq-e-%08d","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`,
		identityJSON, timeJSON, action, id, id)
}

// cwlMessage is a CloudWatch Logs subscription DATA_MESSAGE carrying msgs
// as log events.
func cwlMessage(t time.Time, msgs ...string) []byte {
	type logEvent struct {
		ID        string `json:"id"`
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	}
	evs := make([]logEvent, len(msgs))
	for i, m := range msgs {
		evs[i] = logEvent{ID: strconv.Itoa(i), Timestamp: t.UnixMilli(), Message: m}
	}
	b, err := json.Marshal(map[string]any{"messageType": "DATA_MESSAGE", "owner": "111122223333",
		"logGroup": "aws-cloudtrail-logs", "logStream": "111122223333_CloudTrail_us-east-1",
		"subscriptionFilters": []string{"bedrockwatch"}, "logEvents": evs})
	if err != nil {
		panic(err)
	}
	return b
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// oversized is a CloudTrail-looking record of n bytes padded with letters
// that compress poorly, as a real payload might.
func oversized(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	head := []byte(`{"eventVersion":"1.09","eventSource":"bedrock.amazonaws.com","eventName":"InvokeModel","pad":"`)
	b := make([]byte, 0, n)
	b = append(b, head...)
	for len(b) < n-2 {
		b = append(b, byte('a'+rng.IntN(26)))
	}
	return append(b, '"', '}')
}

// header returns the value of header k of r.
func header(r *kgo.Record, k string) (string, bool) {
	for _, h := range r.Headers {
		if h.Key == k {
			return string(h.Value), true
		}
	}
	return "", false
}

// TestDLQBadInputInterleaved: bad input of every kind, produced among the
// demo inputs and a hand-written LLMjacking sequence, lands on the DLQ
// exactly once each (read_committed) with the reason of its kind and
// headers that lead back to the original record; a 2 MiB record is
// dead-lettered as oversized with its copy cut to the cap; records whose
// odd values SPEC §2 says to keep (eventTime a number, userIdentity a
// string) are events, not dead letters; and no alert is lost or
// duplicated: the alerts are replay's of the good records.
func TestDLQBadInputInterleaved(t *testing.T) {
	brokers, prefix, _ := servicetest.Brokers(t, 3)
	cfg := servicetest.Config(t, brokers, prefix, "dlq-0", t.TempDir())
	cfg.InputIdle = 10 * time.Millisecond
	if cfg.Decode.MaxRecordBytes != 1<<20 {
		t.Fatalf("default max_record_bytes is %d, SPEC §2 says 1 MiB", cfg.Decode.MaxRecordBytes)
	}
	ct, inv, ep := cfg.Topics.CloudTrail, cfg.Topics.Invocations, cfg.Topics.Endpoint

	// Bad input, one of each kind.
	at := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	good := ctRecord(900, at, "ListFoundationModels", "AKIADLQCWL0000000001", "", "")
	truncGz := gzipped(cwlMessage(at, good))
	truncGz = truncGz[:len(truncGz)/2]
	bad := []badInput{
		{name: "invalid JSON, cut short", topic: ct, msg: []byte(`{"eventVersion":"1.09","eventSource":"bedrock.amazonaws.com","eventName":"Invo`), reason: schemas.ReasonInvalidJSON},
		{name: "not JSON at all", topic: inv, msg: []byte("2026-06-01 09:00:00 INFO this is a log line, not JSON"), reason: schemas.ReasonInvalidJSON},
		{name: "eventName an object", topic: ct, msg: []byte(`{"eventVersion":"1.09","eventSource":"bedrock.amazonaws.com","eventName":{"op":"InvokeModel"},"eventTime":"2026-06-01T09:00:00Z"}`), reason: schemas.ReasonBadField},
		{name: "eventSource a number", topic: ct, msg: []byte(`{"eventVersion":"1.09","eventSource":42,"eventName":"InvokeModel","eventTime":"2026-06-01T09:00:00Z"}`), reason: schemas.ReasonBadField},
		{name: "invocation log operation a number", topic: inv, msg: []byte(`{"schemaType":"ModelInvocationLog","schemaVersion":"1.0","timestamp":"2026-06-01T09:00:00Z","operation":5,"modelId":"anthropic.claude-3-sonnet-20240229-v1:0"}`), reason: schemas.ReasonBadField},
		{name: "unknown shape", topic: ep, msg: []byte(`{"hello":"world","items":[1,2,3],"nested":{"ok":true}}`), reason: schemas.ReasonUnknownShape},
		{name: "top-level string", topic: ct, msg: []byte(`"just a string"`), reason: schemas.ReasonUnknownShape},
		{name: "2 MiB record", topic: ct, msg: oversized(1, 2<<20), reason: schemas.ReasonOversized, truncated: true},
		{name: "truncated gzip CloudWatch Logs message", topic: ct, msg: truncGz, reason: schemas.ReasonBadGzip},
	}

	// The good input: the demo, then a hand-written sequence in June 2026
	// (after every demo time) that carries odd but acceptable values and
	// messages holding good and bad records side by side.
	var goodIn []servicetest.Input
	files, _ := filepath.Glob("../testdata/demo/*")
	for _, f := range files {
		for _, m := range servicetest.Messages(t, f) {
			goodIn = append(goodIn, servicetest.Input{Topic: servicetest.TopicFor(cfg, f), Msg: m})
		}
	}
	if len(goodIn) < len(bad) {
		t.Fatalf("only %d demo messages", len(goodIn))
	}
	t0 := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	badEventName := `{"eventVersion":"1.09","eventSource":"bedrock.amazonaws.com","eventName":{"x":1},"eventTime":"2026-06-01T10:03:00Z"}`
	logFile := fmt.Sprintf(`{"Records":[%s,%s,%s]}`,
		ctRecord(903, t0.Add(3*time.Minute), "ListFoundationModels", "AKIADLQFILE000000001", "", ""),
		badEventName,
		ctRecord(904, t0.Add(4*time.Minute), "InvokeModel", "AKIADLQFILE000000001", "", ""))
	cwl := cwlMessage(t0.Add(5*time.Minute),
		ctRecord(905, t0.Add(5*time.Minute), "ListFoundationModels", "AKIADLQCWL0000000002", "", ""),
		"not json {",
		ctRecord(906, t0.Add(6*time.Minute), "InvokeModel", "AKIADLQCWL0000000002", "", ""))
	cwlGood := cwlMessage(t0.Add(7*time.Minute),
		ctRecord(907, t0.Add(7*time.Minute), "ListFoundationModels", "AKIADLQGZIP000000001", "", ""),
		ctRecord(908, t0.Add(8*time.Minute), "InvokeModel", "AKIADLQGZIP000000001", "", ""))
	tail := []struct {
		msg    []byte
		replay []byte // what replay reads for it, when not msg (a gzip message)
	}{
		// eventTime as epoch seconds: kept, the sequence completes.
		{msg: []byte(ctRecord(901, t0, "ListFoundationModels", "AKIADLQTIME000000001", strconv.FormatInt(t0.Unix(), 10), ""))},
		{msg: []byte(ctRecord(902, t0.Add(time.Minute), "InvokeModel", "AKIADLQTIME000000001", "", ""))},
		// userIdentity a string: kept, the single-event rule fires.
		{msg: []byte(strings.Replace(ctRecord(909, t0.Add(2*time.Minute), "DeleteModelInvocationLoggingConfiguration", "", "", `"AIDADLQSTRINGIDENTITY"`), `"readOnly":true`, `"readOnly":false`, 1))},
		{msg: []byte(logFile)},
		{msg: cwl},
		{msg: gzipped(cwlGood), replay: cwlGood},
	}
	bad = append(bad,
		badInput{name: "bad record inside a CloudTrail log file", topic: ct, msg: []byte(logFile), reason: schemas.ReasonBadField, index: 1},
		badInput{name: "bad log event inside a CloudWatch Logs message", topic: ct, msg: cwl, reason: schemas.ReasonInvalidJSON, index: 1},
	)

	// Interleave: a bad record after every few good ones.
	var in []servicetest.Input
	var replayIn [][]byte
	every := len(goodIn) / (len(bad) - 2)
	bi := 0
	for i, g := range goodIn {
		in = append(in, g)
		replayIn = append(replayIn, g.Msg)
		if (i+1)%every == 0 && bi < len(bad)-2 {
			in = append(in, servicetest.Input{Topic: bad[bi].topic, Msg: bad[bi].msg})
			bi++
		}
	}
	for ; bi < len(bad)-2; bi++ {
		in = append(in, servicetest.Input{Topic: bad[bi].topic, Msg: bad[bi].msg})
	}
	for _, m := range tail {
		in = append(in, servicetest.Input{Topic: ct, Msg: m.msg})
		if m.replay != nil {
			replayIn = append(replayIn, m.replay)
		} else {
			replayIn = append(replayIn, m.msg)
		}
	}
	want := servicetest.Replay(t, cfg, replayIn)
	// Each hand-written case raises its alert in replay, so the service
	// is held to it (a record with userIdentity a string has no subject).
	for _, w := range [][2]string{
		{"bedrock-enumeration-then-invocation-long-term-key", "AKIADLQTIME000000001"},
		{"bedrock-invocation-logging-modified", ""},
		{"bedrock-enumeration-then-invocation-long-term-key", "AKIADLQFILE000000001"},
		{"bedrock-enumeration-then-invocation-long-term-key", "AKIADLQCWL0000000002"},
		{"bedrock-enumeration-then-invocation-long-term-key", "AKIADLQGZIP000000001"},
	} {
		found := false
		for _, a := range want {
			found = found || a.RuleID == w[0] && a.Subject == w[1]
		}
		if !found {
			t.Errorf("replay raised no %s alert for %q: the hand-written sequence does not test what it should", w[0], w[1])
		}
	}

	// The input topics take records up to 8 MiB, as a platform feeding
	// CloudTrail log files would configure them; so does the producer.
	servicetest.CreateInputsWith(t, brokers, cfg, 3, map[string]*string{"max.message.bytes": kadm.StringPtr(strconv.Itoa(8 << 20))})
	cl := servicetest.Client(t, brokers, kgo.ProducerBatchMaxBytes(8<<20))
	start := time.Now()
	stop := runService(t, cfg)
	servicetest.ProduceDrained(t, cl, brokers, cfg, in)
	t.Logf("%d messages (%d bad) produced and consumed in %s", len(in), len(bad), time.Since(start).Round(time.Millisecond))

	got := servicetest.ReadAlerts(t, brokers, cfg.Topics.Alerts, len(want), time.Second, 30*time.Second)
	dead := servicetest.ReadRecords(t, brokers, cfg.Topics.DLQ, len(bad), time.Second, 30*time.Second)
	if err := stop(); err != nil {
		t.Fatalf("service: %v", err)
	}

	// Every dead letter leads back to its original record, which is one of
	// the bad inputs, with its reason, index and a copy of its value.
	seen := make([]int, len(bad))
	lateN, lateOrig := 0, map[string]bool{}
	for _, r := range dead {
		hdr := func(k string) string {
			v, ok := header(r, k)
			if !ok {
				t.Errorf("dead letter at %d/%d has no %s header", r.Partition, r.Offset, k)
			}
			return v
		}
		topic, reason, detail := hdr(service.HeaderTopic), hdr(service.HeaderReason), hdr(service.HeaderDetail)
		p, err1 := strconv.ParseInt(hdr(service.HeaderPartition), 10, 32)
		off, err2 := strconv.ParseInt(hdr(service.HeaderOffset), 10, 64)
		idx, err3 := strconv.Atoi(hdr(service.HeaderIndex))
		if err1 != nil || err2 != nil || err3 != nil {
			t.Errorf("dead letter at %d/%d: unreadable position headers: %v %v %v", r.Partition, r.Offset, err1, err2, err3)
			continue
		}
		orig := servicetest.ReadAt(t, brokers, topic, int32(p), off, 10*time.Second)
		if reason == service.ReasonLate {
			// A good event behind the watermark: its copy names the
			// input record it came from (one copy per route it took).
			lateN++
			lateOrig[fmt.Sprintf("%s/%d/%d", topic, p, off)] = true
			if !bytes.Equal(r.Value, orig.Value) || !strings.Contains(detail, "behind the watermark") {
				t.Errorf("late copy at %s/%d/%d: value or detail %q does not match the input record", topic, p, off, detail)
			}
			for _, b := range bad {
				if b.topic == topic && bytes.Equal(b.msg, orig.Value) {
					t.Errorf("late copy of a bad input %s", b.name)
				}
			}
			continue
		}
		k := -1
		for i, b := range bad {
			if b.topic == topic && bytes.Equal(b.msg, orig.Value) && b.index == idx {
				k = i
			}
		}
		if k < 0 {
			t.Errorf("dead letter (reason %s, index %d, detail %q) points at %s/%d/%d, which is not a bad input: %.120q",
				reason, idx, detail, topic, p, off, orig.Value)
			continue
		}
		b := bad[k]
		seen[k]++
		if reason != b.reason {
			t.Errorf("%s: reason %q, want %q (detail %q)", b.name, reason, b.reason, detail)
		}
		if detail == "" {
			t.Errorf("%s: no detail", b.name)
		}
		trunc, hasTrunc := header(r, service.HeaderTruncated)
		if b.truncated {
			if !hasTrunc || trunc != "true" {
				t.Errorf("%s: %s header %q, want \"true\"", b.name, service.HeaderTruncated, trunc)
			}
			if len(r.Value) != dlqValueCap || !bytes.Equal(r.Value, b.msg[:dlqValueCap]) {
				t.Errorf("%s: dead letter holds %d bytes, want the first %d of the %d-byte record", b.name, len(r.Value), dlqValueCap, len(b.msg))
			}
		} else {
			if hasTrunc {
				t.Errorf("%s: marked truncated", b.name)
			}
			if !bytes.Equal(r.Value, b.msg) {
				t.Errorf("%s: dead letter value differs from the record (%d vs %d bytes)", b.name, len(r.Value), len(b.msg))
			}
		}
		if !bytes.Equal(r.Key, orig.Key) {
			t.Errorf("%s: dead letter key %q, record key %q", b.name, r.Key, orig.Key)
		}
	}
	for i, n := range seen {
		if n != 1 {
			t.Errorf("%s: dead-lettered %d times, want once", bad[i].name, n)
		}
	}
	if len(dead)-lateN != len(bad) {
		t.Errorf("%d dead letters besides %d late copies, want %d (one per bad record, nothing else)", len(dead)-lateN, lateN, len(bad))
	}
	// The demo's prompt-injection file lists its events newest first, and
	// its records are consumed one by one: most come behind the watermark.
	if len(lateOrig) == 0 {
		t.Error("no late copy on the DLQ, though the demo's newest-first file makes late events")
	}
	t.Logf("%d late copies of %d late input records", lateN, len(lateOrig))

	servicetest.Mismatch(t, want, got)
	t.Logf("%d dead letters", len(dead))
}

// TestDLQOversizedBurstAndLargeEvent: oversized records arriving together,
// so that one transaction dead-letters several cut copies of 512 KiB to the
// same DLQ partition, are each dead-lettered once; a good record just under
// max_record_bytes, padded with text that compresses poorly, is an event
// like any other (its routed copy exceeds the broker's default 1 MiB
// limit); neither wedges the service: the LLMjacking sequence whose first
// step is that large record alerts, once.
func TestDLQOversizedBurstAndLargeEvent(t *testing.T) {
	brokers, prefix, _ := servicetest.Brokers(t, 3)
	cfg := servicetest.Config(t, brokers, prefix, "dlq-burst-0", t.TempDir())
	cfg.InputIdle = 10 * time.Millisecond
	const n = 6
	servicetest.CreateInputsWith(t, brokers, cfg, 3, map[string]*string{"max.message.bytes": kadm.StringPtr(strconv.Itoa(32 << 20))})
	cl := servicetest.Client(t, brokers, kgo.ProducerBatchMaxBytes(32<<20), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	stop := runService(t, cfg)

	// All to partition 0, in one batch, so one poll returns them all.
	var rs []*kgo.Record
	for i := range n {
		rs = append(rs, &kgo.Record{Topic: cfg.Topics.CloudTrail, Partition: 0, Value: oversized(uint64(100+i), 2<<20)})
	}
	t0 := time.Date(2026, 6, 2, 10, 0, 0, 0, time.UTC)
	key := "AKIADLQLARGE00000001"
	large := []byte(ctRecord(1, t0, "ListFoundationModels", key, "", ""))
	pad := oversized(5, cfg.Decode.MaxRecordBytes-len(large))
	pad = pad[bytes.IndexByte(pad, 'd')+len(`d":"`) : len(pad)-2] // the letters only
	large = bytes.Replace(large, []byte(`"awsRegion"`), fmt.Appendf(nil, `"pad":"%s","awsRegion"`, pad[:len(pad)-10]), 1)
	if len(large) > cfg.Decode.MaxRecordBytes || len(large) < cfg.Decode.MaxRecordBytes-64 || !json.Valid(large) {
		t.Fatalf("the large record is %d bytes (valid JSON %v), want just under %d", len(large), json.Valid(large), cfg.Decode.MaxRecordBytes)
	}
	seq := [][]byte{large, []byte(ctRecord(2, t0.Add(time.Minute), "InvokeModel", key, "", ""))}
	for _, m := range seq {
		rs = append(rs, &kgo.Record{Topic: cfg.Topics.CloudTrail, Partition: 0, Key: servicetest.Key(m), Value: m})
	}
	if err := cl.ProduceSync(t.Context(), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	want := servicetest.Replay(t, cfg, seq)
	if len(want) != 1 || want[0].Subject != key {
		t.Fatalf("replay raised %v for the sequence, want one alert for %s", want, key)
	}
	adm := kadm.NewClient(servicetest.Client(t, brokers))
	if err := service.WaitCaughtUp(t.Context(), adm, cfg, 30*time.Second); err != nil {
		t.Fatalf("after %d oversized records together and a large one: %v", n, err)
	}
	got := servicetest.ReadAlerts(t, brokers, cfg.Topics.Alerts, len(want), time.Second, 20*time.Second)
	dead := servicetest.ReadRecords(t, brokers, cfg.Topics.DLQ, n, time.Second, 20*time.Second)
	if err := stop(); err != nil {
		t.Fatalf("service: %v", err)
	}
	offsets := map[string]int{}
	for _, r := range dead {
		reason, _ := header(r, service.HeaderReason)
		trunc, _ := header(r, service.HeaderTruncated)
		off, _ := header(r, service.HeaderOffset)
		if reason != schemas.ReasonOversized || trunc != "true" || len(r.Value) != dlqValueCap {
			t.Errorf("dead letter of offset %s: reason %q truncated %q, %d bytes", off, reason, trunc, len(r.Value))
		}
		offsets[off]++
	}
	for i := range n {
		if c := offsets[strconv.Itoa(i)]; c != 1 {
			t.Errorf("oversized record at offset %d dead-lettered %d times, want once", i, c)
		}
	}
	if len(dead) != n {
		t.Errorf("%d dead letters, want %d", len(dead), n)
	}
	servicetest.Mismatch(t, want, got)
}
