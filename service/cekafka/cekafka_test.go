package cekafka

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/binding/spec"
	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bedrockwatch/bedrockwatch/schemas"
	"github.com/bedrockwatch/bedrockwatch/schemas/alertcheck"
)

func testAlert(t *testing.T) (*schemas.Alert, cloudevents.Event) {
	t.Helper()
	ts := time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)
	a := &schemas.Alert{
		Rule: schemas.AlertRule{ID: "bedrock-llmjacking-new-region", Name: "Bedrock invoked from a new region", Severity: "high", RiskScore: 73,
			Threat: []schemas.Threat{{Framework: "MITRE ATT&CK", Tactic: &schemas.ThreatRef{ID: "TA0040", Name: "Impact"}}}},
		Group:         schemas.AlertGroup{Fields: []string{"aws.cloudtrail.user_identity.access_key_id"}, Values: []string{"AKIAIOSFODNN7EXAMPLE"}},
		Actor:         schemas.Actor{AccountID: "123456789012", AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SourceIPs: []string{"203.0.113.7"}, UserAgents: []string{"Boto3/1.34"}},
		ModelIDs:      []string{"anthropic.claude-3-sonnet-20240229-v1:0"},
		Window:        schemas.Window{Start: ts.Add(-time.Minute), End: ts},
		Evidence:      []schemas.Evidence{{Dataset: "aws.cloudtrail", EventID: "e1", Time: ts, Action: "InvokeModel", Topic: "cloudtrail", Partition: 2, Offset: 41}},
		EvidenceCount: 1, Metrics: map[string]any{"count": 1}, Summary: "AKIAIOSFODNN7EXAMPLE invoked Bedrock in eu-north-1 for the first time",
		ID: schemas.AlertID("bedrock-llmjacking-new-region", "e1"), Time: ts, Subject: "AKIAIOSFODNN7EXAMPLE",
	}
	ev, err := a.CloudEvent()
	if err != nil {
		t.Fatal(err)
	}
	return a, ev
}

func header(r *kgo.Record, k string) string {
	for _, h := range r.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

func checkSame(t *testing.T, got *cloudevents.Event, want cloudevents.Event) {
	t.Helper()
	if got.ID() != want.ID() || got.Type() != want.Type() || got.Source() != want.Source() || got.Subject() != want.Subject() ||
		got.SpecVersion() != want.SpecVersion() || got.DataSchema() != want.DataSchema() || got.DataContentType() != want.DataContentType() ||
		!got.Time().Equal(want.Time()) {
		t.Errorf("attributes differ:\ngot  %s\nwant %s", got.Context, want.Context)
	}
	for _, ext := range []string{"ruleid", "severity", "partitionkey"} {
		if g, w := got.Extensions()[ext], want.Extensions()[ext]; g != w {
			t.Errorf("extension %s = %v (%T), want %v", ext, g, g, w)
		}
	}
	if len(got.Extensions()) != len(want.Extensions()) {
		t.Errorf("extensions %v, want %v", got.Extensions(), want.Extensions())
	}
	if !bytes.Equal(got.Data(), want.Data()) {
		t.Errorf("data differs:\ngot  %s\nwant %s", got.Data(), want.Data())
	}
	if err := alertcheck.ValidateData(got.Data()); err != nil {
		t.Errorf("data no longer valid: %v", err)
	}
}

func TestStructuredRoundTrip(t *testing.T) {
	a, ev := testAlert(t)
	r, err := Record(context.Background(), ev, "bedrockwatch-alerts", []byte(a.PartitionKey()))
	if err != nil {
		t.Fatal(err)
	}
	if r.Topic != "bedrockwatch-alerts" || string(r.Key) != "AKIAIOSFODNN7EXAMPLE" {
		t.Errorf("topic %q key %q", r.Topic, r.Key)
	}
	if len(r.Headers) != 1 || header(r, "content-type") != "application/cloudevents+json; charset=UTF-8" {
		t.Errorf("headers %v, want only the structured content-type", r.Headers)
	}
	// The value is the JSON event format, as json.Marshal of the event
	// (what replay prints) gives.
	want, _ := json.Marshal(ev)
	if !bytes.Equal(r.Value, want) {
		t.Errorf("value:\n%s\nwant:\n%s", r.Value, want)
	}
	if err := alertcheck.Validate(r.Value); err != nil {
		t.Errorf("alertcheck: %v", err)
	}
	got, err := Event(r)
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, got, ev)
}

func TestBinaryRoundTrip(t *testing.T) {
	_, ev := testAlert(t)
	r, err := BinaryRecord(context.Background(), ev, "bedrockwatch-alerts", nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Key) != "AKIAIOSFODNN7EXAMPLE" {
		t.Errorf("key %q: want the partitionkey extension", r.Key)
	}
	for k, v := range map[string]string{
		"ce_specversion": "1.0", "ce_id": ev.ID(), "ce_type": schemas.AlertType, "ce_source": "bedrockwatch/bedrock-llmjacking-new-region",
		"ce_subject": "AKIAIOSFODNN7EXAMPLE", "ce_time": "2025-03-14T09:26:53.589Z", "ce_dataschema": schemas.AlertDataSchema,
		"content-type": "application/json", "ce_ruleid": "bedrock-llmjacking-new-region", "ce_severity": "high", "ce_partitionkey": "AKIAIOSFODNN7EXAMPLE",
	} {
		if got := header(r, k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if len(r.Headers) != 11 {
		t.Errorf("%d headers, want 11: %v", len(r.Headers), r.Headers)
	}
	if !bytes.Equal(r.Value, ev.Data()) {
		t.Errorf("value is not the data:\n%s", r.Value)
	}
	got, err := Event(r)
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, got, ev)

	// Header names from other producers may be capitalised.
	for i := range r.Headers {
		r.Headers[i].Key = strings.ToUpper(r.Headers[i].Key)
	}
	if got, err = Event(r); err != nil {
		t.Fatal(err)
	}
	checkSame(t, got, ev)
}

// TestBinaryWithTransformer goes through the SDK's path that needs
// binding.MessageMetadataReader (a binary message written with a
// transformer), which panics when the message does not implement it.
func TestBinaryWithTransformer(t *testing.T) {
	_, ev := testAlert(t)
	in, err := BinaryRecord(context.Background(), ev, "a", nil)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMessage(in)
	if m.ReadEncoding() != binding.EncodingBinary {
		t.Fatalf("encoding %v", m.ReadEncoding())
	}
	if _, v := m.GetAttribute(spec.ID); v == nil {
		t.Error("GetAttribute(id) = nil")
	}
	if v := m.GetExtension("severity"); v != "high" {
		t.Errorf("GetExtension(severity) = %v", v)
	}
	var seen any
	w := &recordWriter{r: &kgo.Record{}}
	enc, err := binding.Write(context.Background(), m, w, w, binding.TransformerFunc(
		func(r binding.MessageMetadataReader, mw binding.MessageMetadataWriter) error {
			seen = r.GetExtension("ruleid")
			return mw.SetExtension("reviewed", "yes")
		}))
	if err != nil || enc != binding.EncodingBinary {
		t.Fatalf("Write: %v %v", enc, err)
	}
	if seen != "bedrock-llmjacking-new-region" || header(w.r, "ce_reviewed") != "yes" {
		t.Errorf("transformer saw %v; headers %v", seen, w.r.Headers)
	}

	// Structured messages answer metadata too.
	sr, _ := Record(context.Background(), ev, "a", nil)
	sm := NewMessage(sr)
	if v := sm.GetExtension("partitionkey"); v != "AKIAIOSFODNN7EXAMPLE" {
		t.Errorf("structured GetExtension(partitionkey) = %v", v)
	}
	if string(sr.Key) != "AKIAIOSFODNN7EXAMPLE" {
		t.Errorf("structured key %q", sr.Key)
	}
}

func TestNotACloudEvent(t *testing.T) {
	for name, r := range map[string]*kgo.Record{
		"plain JSON":   {Topic: "bedrockwatch-alerts", Partition: 3, Offset: 17, Value: []byte(`{"eventName":"InvokeModel"}`)},
		"content-type": {Topic: "bedrockwatch-alerts", Partition: 3, Offset: 17, Value: []byte(`{}`), Headers: []kgo.RecordHeader{{Key: "content-type", Value: []byte("application/json")}}},
	} {
		_, err := Event(r)
		if !errors.Is(err, ErrNotCloudEvent) {
			t.Errorf("%s: err = %v, want ErrNotCloudEvent", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "bedrockwatch-alerts/3@17") || !strings.Contains(err.Error(), "ce_specversion") {
			t.Errorf("%s: unclear error %q", name, err)
		}
	}
	for name, r := range map[string]*kgo.Record{
		"broken JSON":   {Value: []byte(`{"specversion":"1.0",`), Headers: []kgo.RecordHeader{{Key: "content-type", Value: []byte(StructuredContentType)}}},
		"missing id":    {Value: []byte(`{"specversion":"1.0","type":"t","source":"s"}`), Headers: []kgo.RecordHeader{{Key: "content-type", Value: []byte(StructuredContentType)}}},
		"batch":         {Value: []byte(`[]`), Headers: []kgo.RecordHeader{{Key: "content-type", Value: []byte("application/cloudevents-batch+json")}}},
		"bad version":   {Value: []byte(`{}`), Headers: []kgo.RecordHeader{{Key: "ce_specversion", Value: []byte("9.9")}}},
		"binary no src": {Value: []byte(`{}`), Headers: []kgo.RecordHeader{{Key: "ce_specversion", Value: []byte("1.0")}, {Key: "ce_id", Value: []byte("x")}, {Key: "ce_type", Value: []byte("t")}}},
	} {
		ev, err := Event(r)
		if err == nil {
			t.Errorf("%s: no error, event %v", name, ev)
			continue
		}
		if errors.Is(err, ErrNotCloudEvent) {
			t.Errorf("%s: %v: a malformed CloudEvent is reported as not one", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
	if _, err := Record(context.Background(), cloudevents.New(), "a", nil); err == nil {
		t.Error("Record of an invalid event: no error")
	}
}
