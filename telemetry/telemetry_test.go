package telemetry

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scrape returns the sample lines of the Prometheus endpoint as
// "name{labels}" → value, and the metric family names from # TYPE lines.
func scrape(t *testing.T, h http.Handler) (samples map[string]float64, families []string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	samples = map[string]float64{}
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if line == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			families = append(families, rest)
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.HasPrefix(line, Namespace+"_") {
			t.Errorf("series without the %s_ prefix: %s", Namespace, line)
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	sort.Strings(families)
	return samples, families
}

func setup(t *testing.T) (*Telemetry, *Metrics) {
	t.Helper()
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
		t.Setenv(k, "")
	}
	tel, err := Setup(context.Background(), Options{InstanceID: "bedrockwatch-0", Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	m, err := NewMetrics(tel.MeterProvider)
	if err != nil {
		t.Fatal(err)
	}
	return tel, m
}

func TestPrometheusSeries(t *testing.T) {
	tel, m := setup(t)
	ctx := context.Background()

	m.Consumed(ctx, "cloudtrail", "aws.cloudtrail", 3)
	m.Consumed(ctx, "cloudtrail", "aws.cloudtrail", 2)
	m.Consumed(ctx, "bedrock-invocations", "aws_bedrock.invocation", 7)
	m.DeadLettered(ctx, "malformed", 1)
	m.DeadLettered(ctx, "oversized", 2)
	m.Late(ctx, 4)
	m.Alert(ctx, "bedrock-llmjacking", "high")
	m.Alert(ctx, "bedrock-llmjacking", "high")
	m.Alert(ctx, "bedrock-guardrail-deleted", "critical")
	m.ProcessDuration(ctx, "cloudtrail", 0.02)
	m.ProcessDuration(ctx, "cloudtrail", 3)
	m.EventToAlert(ctx, "bedrock-llmjacking", 42)
	m.SetLag("cloudtrail", 0, 5)
	m.SetLag("cloudtrail", 1, 9)
	m.SetLag("cloudtrail", 1, 6)
	m.SetWatermarkDelay(2, 1.5)
	m.SetRestore(2, 120)
	m.SetStateSize(1<<20, 64<<20)
	m.Transaction(ctx, true)
	m.Transaction(ctx, true)
	m.Transaction(ctx, false)

	got, families := scrape(t, tel.Handler())
	wantFamilies := []string{
		"bedrockwatch_alerts_total counter",
		"bedrockwatch_consumer_lag gauge",
		"bedrockwatch_dlq_messages_total counter",
		"bedrockwatch_event_to_alert_duration_seconds histogram",
		"bedrockwatch_events_late_total counter",
		"bedrockwatch_messaging_client_consumed_messages_total counter",
		"bedrockwatch_messaging_process_duration_seconds histogram",
		"bedrockwatch_state_restore_remaining gauge",
		"bedrockwatch_state_size_bytes gauge",
		"bedrockwatch_transactions_total counter",
		"bedrockwatch_watermark_delay_seconds gauge",
	}
	if strings.Join(families, "\n") != strings.Join(wantFamilies, "\n") {
		t.Errorf("metric families:\n%s\nwant:\n%s", strings.Join(families, "\n"), strings.Join(wantFamilies, "\n"))
	}

	want := map[string]float64{
		`bedrockwatch_messaging_client_consumed_messages_total{event_dataset="aws.cloudtrail",messaging_destination_name="cloudtrail",messaging_operation_name="poll",messaging_system="kafka"}`:                  5,
		`bedrockwatch_messaging_client_consumed_messages_total{event_dataset="aws_bedrock.invocation",messaging_destination_name="bedrock-invocations",messaging_operation_name="poll",messaging_system="kafka"}`: 7,
		`bedrockwatch_dlq_messages_total{reason="malformed"}`:                                                       1,
		`bedrockwatch_dlq_messages_total{reason="oversized"}`:                                                       2,
		`bedrockwatch_events_late_total`:                                                                            4,
		`bedrockwatch_alerts_total{rule="bedrock-llmjacking",severity="high"}`:                                      2,
		`bedrockwatch_alerts_total{rule="bedrock-guardrail-deleted",severity="critical"}`:                           1,
		`bedrockwatch_consumer_lag{messaging_destination_name="cloudtrail",messaging_destination_partition_id="0"}`: 5,
		`bedrockwatch_consumer_lag{messaging_destination_name="cloudtrail",messaging_destination_partition_id="1"}`: 6,
		`bedrockwatch_watermark_delay_seconds{messaging_destination_partition_id="2"}`:                              1.5,
		`bedrockwatch_state_restore_remaining{messaging_destination_partition_id="2"}`:                              120,
		`bedrockwatch_state_size_bytes{part="lsm"}`:                                                                 1 << 20,
		`bedrockwatch_state_size_bytes{part="vlog"}`:                                                                64 << 20,
		`bedrockwatch_transactions_total{outcome="committed"}`:                                                      2,
		`bedrockwatch_transactions_total{outcome="aborted"}`:                                                        1,

		`bedrockwatch_messaging_process_duration_seconds_count{messaging_destination_name="cloudtrail",messaging_operation_name="process",messaging_system="kafka"}`:             2,
		`bedrockwatch_messaging_process_duration_seconds_sum{messaging_destination_name="cloudtrail",messaging_operation_name="process",messaging_system="kafka"}`:               3.02,
		`bedrockwatch_messaging_process_duration_seconds_bucket{messaging_destination_name="cloudtrail",messaging_operation_name="process",messaging_system="kafka",le="0.025"}`: 1,
		`bedrockwatch_messaging_process_duration_seconds_bucket{messaging_destination_name="cloudtrail",messaging_operation_name="process",messaging_system="kafka",le="2.5"}`:   1,
		`bedrockwatch_messaging_process_duration_seconds_bucket{messaging_destination_name="cloudtrail",messaging_operation_name="process",messaging_system="kafka",le="5"}`:     2,
		`bedrockwatch_messaging_process_duration_seconds_bucket{messaging_destination_name="cloudtrail",messaging_operation_name="process",messaging_system="kafka",le="+Inf"}`:  2,
		`bedrockwatch_event_to_alert_duration_seconds_count{rule="bedrock-llmjacking"}`:                                                                                          1,
		`bedrockwatch_event_to_alert_duration_seconds_sum{rule="bedrock-llmjacking"}`:                                                                                            42,
		`bedrockwatch_event_to_alert_duration_seconds_bucket{rule="bedrock-llmjacking",le="30"}`:                                                                                 0,
		`bedrockwatch_event_to_alert_duration_seconds_bucket{rule="bedrock-llmjacking",le="60"}`:                                                                                 1,
		`bedrockwatch_event_to_alert_duration_seconds_bucket{rule="bedrock-llmjacking",le="86400"}`:                                                                              1,
	}
	for k, v := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("missing series %s", k)
		case g != v:
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
	// Every non-histogram series is one of the expected ones: no stray
	// labels (otel_scope_*, target_info, promhttp_*).
	for k := range got {
		if strings.Contains(k, "_bucket{") || strings.Contains(k, "_duration_seconds_") {
			continue
		}
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected series %s", k)
		}
	}
	// Bucket boundaries are the documented ones.
	for _, b := range ProcessBuckets {
		k := `bedrockwatch_messaging_process_duration_seconds_bucket{messaging_destination_name="cloudtrail",messaging_operation_name="process",messaging_system="kafka",le="` + strconv.FormatFloat(b, 'g', -1, 64) + `"}`
		if _, ok := got[k]; !ok {
			t.Errorf("missing bucket %s", k)
		}
	}

	// Revoked partitions disappear.
	m.DropPartition("cloudtrail", 1)
	m.DropStatePartition(2)
	got, _ = scrape(t, tel.Handler())
	for _, k := range []string{
		`bedrockwatch_consumer_lag{messaging_destination_name="cloudtrail",messaging_destination_partition_id="1"}`,
		`bedrockwatch_watermark_delay_seconds{messaging_destination_partition_id="2"}`,
		`bedrockwatch_state_restore_remaining{messaging_destination_partition_id="2"}`,
	} {
		if _, ok := got[k]; ok {
			t.Errorf("%s still exposed after the partition was dropped", k)
		}
	}
	if got[`bedrockwatch_consumer_lag{messaging_destination_name="cloudtrail",messaging_destination_partition_id="0"}`] != 5 {
		t.Error("partition 0's lag went with partition 1's")
	}
}

func TestMetricsConcurrentAndCheap(t *testing.T) {
	tel, m := setup(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				m.Consumed(ctx, "cloudtrail", "aws.cloudtrail", 1)
				m.Alert(ctx, "r"+strconv.Itoa(i%3), "high")
				m.ProcessDuration(ctx, "cloudtrail", 0.001)
				m.SetLag("cloudtrail", int32(g), int64(i))
				if i%50 == 0 {
					m.DropPartition("cloudtrail", int32(g))
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			scrape(t, tel.Handler())
		}
	}()
	wg.Wait()
	got, _ := scrape(t, tel.Handler())
	if v := got[`bedrockwatch_messaging_client_consumed_messages_total{event_dataset="aws.cloudtrail",messaging_destination_name="cloudtrail",messaging_operation_name="poll",messaging_system="kafka"}`]; v != 8*500 {
		t.Errorf("consumed = %v, want %d", v, 8*500)
	}

	// Once a label combination was seen, recording allocates nothing.
	allocs := testing.AllocsPerRun(200, func() {
		m.Consumed(ctx, "cloudtrail", "aws.cloudtrail", 1)
		m.Alert(ctx, "r1", "high")
		m.ProcessDuration(ctx, "cloudtrail", 0.001)
		m.EventToAlert(ctx, "r1", 1)
		m.DeadLettered(ctx, "malformed", 1)
		m.Late(ctx, 1)
		m.Transaction(ctx, true)
		m.SetLag("cloudtrail", 0, 3)
	})
	if allocs > 0 {
		t.Errorf("hot path allocates %v times per call set", allocs)
	}
}

func TestNilMetrics(t *testing.T) {
	var m *Metrics
	ctx := context.Background()
	m.Consumed(ctx, "t", "d", 1)
	m.Alert(ctx, "r", "high")
	m.SetLag("t", 0, 1)
	m.DropPartition("t", 0)
	m.SetStateSize(1, 2)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOTLP checks that both signals are pushed by OTLP/HTTP when the
// standard environment names an endpoint, and only then.
func TestOTLP(t *testing.T) {
	var metricsPosts, tracesPosts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		switch r.URL.Path {
		case "/v1/metrics":
			metricsPosts.Add(1)
		case "/v1/traces":
			tracesPosts.Add(1)
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	ctx := context.Background()
	tel, err := Setup(ctx, Options{InstanceID: "i"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMetrics(tel.MeterProvider)
	if err != nil {
		t.Fatal(err)
	}
	m.Alert(ctx, "r", "low")
	_, span := tel.TracerProvider.Tracer("test").Start(ctx, "process")
	span.End()
	if !span.SpanContext().IsSampled() {
		t.Error("span not sampled with an OTLP traces endpoint")
	}
	if !tel.TracesExported {
		t.Error("TracesExported false with an OTLP traces endpoint")
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := tel.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if metricsPosts.Load() == 0 || tracesPosts.Load() == 0 {
		t.Errorf("OTLP posts: metrics %d, traces %d; want both > 0", metricsPosts.Load(), tracesPosts.Load())
	}

	// Without an endpoint no span is sampled (nobody would receive it).
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	tel, err = Setup(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, span = tel.TracerProvider.Tracer("test").Start(ctx, "process")
	if span.SpanContext().IsSampled() || !span.SpanContext().IsValid() {
		t.Errorf("without OTLP: sampled %v valid %v; want unsampled, valid", span.SpanContext().IsSampled(), span.SpanContext().IsValid())
	}
	if tel.TracesExported {
		t.Error("TracesExported true without an OTLP endpoint")
	}
	_ = tel.Shutdown(ctx)

	// Only http/protobuf is built in.
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	if _, err := Setup(ctx, Options{}); err == nil || !strings.Contains(err.Error(), "http/protobuf") {
		t.Errorf("protocol grpc: err = %v, want one naming http/protobuf", err)
	}
	// OTEL_*_EXPORTER=none turns a signal off.
	t.Setenv("OTEL_METRICS_EXPORTER", "none")
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	if tel, err := Setup(ctx, Options{}); err != nil {
		t.Errorf("exporters none: %v", err)
	} else {
		_ = tel.Shutdown(ctx)
	}
}

func TestLoggerRedactsPrompts(t *testing.T) {
	const canary = "IGNORE PREVIOUS INSTRUCTIONS canary-7f3a"
	for _, format := range []string{"json", "text", ""} {
		var buf bytes.Buffer
		log, err := NewLogger(&buf, "debug", format)
		if err != nil {
			t.Fatal(err)
		}
		log.Debug("decoded", "prompt", canary, "records", 3)
		log.Info("x", "completion", canary)
		log.Warn("x", "System_Prompt", canary)
		log.Error("x", "gen_ai.prompt", canary)
		log.Info("x", slog.Group("prompt", "text", canary))
		log.WithGroup("req").Info("x", "prompt", canary, "model", "anthropic.claude")
		log.With("prompt", canary).Info("with")
		out := buf.String()
		if strings.Contains(out, "canary-7f3a") {
			t.Errorf("format %q: prompt text in the log:\n%s", format, out)
		}
		if n := strings.Count(out, Redacted); n != 7 {
			t.Errorf("format %q: %d redactions, want 7:\n%s", format, n, out)
		}
		if !strings.Contains(out, "anthropic.claude") || !strings.Contains(out, "records") {
			t.Errorf("format %q: other attributes lost:\n%s", format, out)
		}
	}
	var buf bytes.Buffer
	log, _ := NewLogger(&buf, "warn", "json")
	log.Info("hidden")
	log.Warn("shown")
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), `"msg":"shown"`) {
		t.Errorf("level warn: %s", buf.String())
	}
	if _, err := NewLogger(io.Discard, "verbose", "json"); err == nil {
		t.Error("level verbose accepted")
	}
	if _, err := NewLogger(io.Discard, "info", "xml"); err == nil {
		t.Error("format xml accepted")
	}
}

func TestMux(t *testing.T) {
	notReady := errors.New("restoring partitions 1, 4: 1200 changelog records to go")
	var ready atomic.Bool
	mux := NewMux(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("metrics")) }),
		nil,
		func() error {
			if ready.Load() {
				return nil
			}
			return notReady
		}, false)
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	for _, c := range []struct {
		path string
		code int
		body string
	}{
		{"/metrics", 200, "metrics"},
		{"/healthz", 200, "ok\n"},
		{"/readyz", 503, notReady.Error() + "\n"},
		{"/debug/pprof/", 404, ""},
	} {
		code, body := get(c.path)
		if code != c.code || (c.body != "" && body != c.body) {
			t.Errorf("GET %s = %d %q, want %d %q", c.path, code, body, c.code, c.body)
		}
	}
	ready.Store(true)
	if code, body := get("/readyz"); code != 200 || body != "ok\n" {
		t.Errorf("ready: GET /readyz = %d %q", code, body)
	}

	mux = NewMux(nil, func() error { return errors.New("poll loop stuck for 2m0s") }, nil, true)
	for path, want := range map[string]int{"/healthz": 503, "/readyz": 200, "/debug/pprof/": 200, "/debug/pprof/cmdline": 200, "/metrics": 404} {
		if code, _ := get(path); code != want {
			t.Errorf("GET %s = %d, want %d", path, code, want)
		}
	}
}
