package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kotel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/bedrockwatch/bedrockwatch/service"
	"github.com/bedrockwatch/bedrockwatch/service/servicetest"
)

// TestAlertSpansLinkInputRecords: with kotel on the producer and on the
// service, every alert's span is linked to the trace context of each input
// record of its evidence (found by the topic, partition and offset the
// evidence names), and the alert record's own traceparent header is the
// alert span's context.
func TestAlertSpansLinkInputRecords(t *testing.T) {
	brokers, prefix, _ := servicetest.Brokers(t, 3)
	cfg := servicetest.Config(t, brokers, prefix, "traced-0", t.TempDir())
	cfg.InputIdle = 10 * time.Millisecond

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	prop := propagation.TraceContext{}
	hooks := func() kgo.Opt {
		k := kotel.NewKotel(kotel.WithTracer(kotel.NewTracer(kotel.TracerProvider(tp), kotel.TracerPropagator(prop))))
		return kgo.WithHooks(k.Hooks()...)
	}

	servicetest.CreateInputs(t, brokers, cfg, 3)
	stop := runServiceWith(t, cfg, service.Options{TracerProvider: tp, ClientOpts: []kgo.Opt{hooks()}})
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()

	// Each input record is produced under a root span of its own, so that
	// its trace id names it.
	producer := servicetest.Client(t, brokers, hooks())
	tracer := tp.Tracer("test")
	inputTrace := map[string]trace.TraceID{} // "topic/partition/offset"
	files, _ := filepath.Glob("../testdata/demo/*")
	for _, f := range files {
		topic := servicetest.TopicFor(cfg, f)
		for i, m := range servicetest.Messages(t, f) {
			pctx, span := tracer.Start(context.Background(), fmt.Sprintf("input %s %d", filepath.Base(f), i))
			r := &kgo.Record{Topic: topic, Key: servicetest.Key(m), Value: m}
			if err := producer.ProduceSync(pctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
			span.End()
			inputTrace[fmt.Sprintf("%s/%d/%d", r.Topic, r.Partition, r.Offset)] = span.SpanContext().TraceID()
			servicetest.Drain(t, brokers, cfg, 30*time.Second)
		}
	}

	// Read the alerts with their headers.
	reader := servicetest.Client(t, brokers, kgo.ConsumeTopics(cfg.Topics.Alerts),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	type alertRec struct {
		id, rule    string
		traceparent string
		evidence    []string
	}
	var alerts []alertRec
	deadline := time.Now().Add(30 * time.Second)
	for len(alerts) == 0 || time.Now().Before(deadline) {
		if time.Now().After(deadline) {
			t.Fatal("no alert within 30s")
		}
		pctx, pcancel := context.WithTimeout(context.Background(), time.Second)
		fs := reader.PollFetches(pctx)
		pcancel()
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			n++
			var ce struct {
				ID     string `json:"id"`
				RuleID string `json:"ruleid"`
				Data   struct {
					Evidence []struct {
						Topic     string `json:"topic"`
						Partition int32  `json:"partition"`
						Offset    int64  `json:"offset"`
					} `json:"evidence"`
				} `json:"data"`
			}
			if err := json.Unmarshal(r.Value, &ce); err != nil {
				t.Fatalf("alert is not a CloudEvent: %v", err)
			}
			a := alertRec{id: ce.ID, rule: ce.RuleID}
			for _, h := range r.Headers {
				if h.Key == "traceparent" {
					a.traceparent = string(h.Value)
				}
			}
			for _, e := range ce.Data.Evidence {
				if e.Topic != "" {
					a.evidence = append(a.evidence, fmt.Sprintf("%s/%d/%d", e.Topic, e.Partition, e.Offset))
				}
			}
			alerts = append(alerts, a)
		})
		if n == 0 && len(alerts) > 0 {
			break // quiet
		}
	}

	spans := map[string]sdktrace.ReadOnlySpan{} // alert id → its span
	for _, s := range rec.Ended() {
		if !strings.HasPrefix(s.Name(), "alert ") {
			continue
		}
		for _, kv := range s.Attributes() {
			if kv.Key == "bedrockwatch.alert.id" {
				spans[kv.Value.AsString()] = s
			}
		}
	}
	linked := 0
	for _, a := range alerts {
		s, ok := spans[a.id]
		if !ok {
			t.Errorf("alert %s (%s): no span", a.id, a.rule)
			continue
		}
		links := map[trace.TraceID]bool{}
		for _, l := range s.Links() {
			links[l.SpanContext.TraceID()] = true
		}
		for _, e := range a.evidence {
			tid, ok := inputTrace[e]
			if !ok {
				t.Errorf("alert %s (%s): evidence %s is no input record of this test", a.id, a.rule, e)
				continue
			}
			if !links[tid] {
				t.Errorf("alert %s (%s): the span has no link to the trace %s of input record %s", a.id, a.rule, tid, e)
				continue
			}
			linked++
		}
		if !strings.HasPrefix(a.traceparent, "00-"+s.SpanContext().TraceID().String()+"-") {
			t.Errorf("alert %s (%s): traceparent %q is not in the alert span's trace %s", a.id, a.rule, a.traceparent, s.SpanContext().TraceID())
		}
	}
	if linked == 0 {
		t.Fatal("no alert evidence was checked against span links")
	}

	// A process span covers each batch and links its records.
	process := 0
	for _, s := range rec.Ended() {
		if strings.HasSuffix(s.Name(), " process") && len(s.Links()) > 0 {
			process++
		}
	}
	if process == 0 {
		t.Error("no process span with links to its records")
	}
	t.Logf("%d alerts, %d evidence records found in span links, %d process spans", len(alerts), linked, process)
}
