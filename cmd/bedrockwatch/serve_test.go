package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bedrockwatch/bedrockwatch/service/servicetest"
)

// freeAddr returns a loopback address nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// scrape reads /metrics into series → value (the sum over series with the
// same name and labels is not needed: each line is one series).
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// sum adds the values of the series of name whose labels contain every
// one of labels (`key="value"`), and counts them.
func sum(m map[string]float64, name string, labels ...string) (total float64, n int) {
	for series, v := range m {
		base, lbls, _ := strings.Cut(series, "{")
		if base != name {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(lbls, l) {
				ok = false
			}
		}
		if ok {
			total += v
			n++
		}
	}
	return total, n
}

func probe(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRunServesMetricsAndProbes: `bedrockwatch run` on kfake, fed the demo
// files, serves on --metrics-addr the consumed, alerts-by-rule and lag
// series with the values the run gives, /healthz ok and /readyz ok once
// the partitions are restored.
func TestRunServesMetricsAndProbes(t *testing.T) {
	brokers, prefix, _ := servicetest.Brokers(t, 3)
	cfg := servicetest.Config(t, brokers, prefix, "metrics-0", t.TempDir())
	servicetest.CreateInputs(t, brokers, cfg, 3)
	addr := freeAddr(t)
	args := []string{
		"--brokers", strings.Join(brokers, ","),
		"--cloudtrail-topic", cfg.Topics.CloudTrail, "--invocations-topic", cfg.Topics.Invocations,
		"--endpoint-topic", cfg.Topics.Endpoint, "--alerts-topic", cfg.Topics.Alerts, "--dlq-topic", cfg.Topics.DLQ,
		"--events-topic", cfg.Topics.Events, "--changelog-topic", cfg.Topics.Changelog, "--group", cfg.Group,
		"--instance-id", "metrics-0", "--state-dir", cfg.StateDir, "--partitions", "3", "--replication-factor", "1",
		"--input-idle", "10ms", "--idle-advance", "0", "--metrics-addr", addr, "--log-level", "info",
	}
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runRun(ctx, args, io.Discard, &logs) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("run did not stop within 30s")
		}
	}
	defer stop()

	// The endpoints come up before the group is joined; readiness follows
	// the restores.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, _ := 0, ""
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			if c, _ = probe(t, addr, "/readyz"); c == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz not ok within 30s (last status %d); logs:\n%s", c, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c, body := probe(t, addr, "/healthz"); c != http.StatusOK {
		t.Fatalf("/healthz: %d %s", c, body)
	}

	files, _ := filepath.Glob("../../testdata/demo/*")
	var in []servicetest.Input
	var all [][]byte
	for _, f := range files {
		for _, m := range servicetest.Messages(t, f) {
			all = append(all, m)
			in = append(in, servicetest.Input{Topic: servicetest.TopicFor(cfg, f), Msg: m})
		}
	}
	cl := servicetest.Client(t, brokers)
	servicetest.ProduceDrained(t, cl, brokers, cfg, in)
	want := servicetest.Replay(t, cfg, all)
	got := servicetest.ReadAlerts(t, brokers, cfg.Topics.Alerts, len(want), time.Second, 30*time.Second)
	if len(got) != len(want) {
		t.Fatalf("read %d alerts, replay gives %d", len(got), len(want))
	}
	byRule := map[string]int{}
	for _, a := range want {
		byRule[a.RuleID]++
	}

	// Counters are taken after commit: poll until the last one shows.
	var m map[string]float64
	for deadline := time.Now().Add(10 * time.Second); ; {
		m = scrape(t, addr)
		if n, _ := sum(m, "bedrockwatch_alerts_total"); int(n) == len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	consumed, _ := sum(m, "bedrockwatch_messaging_client_consumed_messages_total", `messaging_destination_name="`+cfg.Topics.CloudTrail+`"`)
	if consumed == 0 {
		t.Errorf("no consumed series of %s with a value; metrics:\n%v", cfg.Topics.CloudTrail, m)
	}
	total, _ := sum(m, "bedrockwatch_messaging_client_consumed_messages_total")
	if int(total) < len(in) {
		t.Errorf("consumed %v records in all, produced %d", total, len(in))
	}
	for rule, n := range byRule {
		v, series := sum(m, "bedrockwatch_alerts_total", `rule="`+rule+`"`)
		if series == 0 || int(v) != n {
			t.Errorf("alerts of %s: %v in %d series, want %d", rule, v, series, n)
		}
	}
	if _, n := sum(m, "bedrockwatch_consumer_lag", `messaging_destination_name="`+cfg.Topics.CloudTrail+`"`); n == 0 {
		t.Errorf("no consumer lag series of %s", cfg.Topics.CloudTrail)
	}
	for series, v := range m {
		if strings.HasPrefix(series, "bedrockwatch_consumer_lag{") && v != 0 {
			t.Errorf("%s = %v after the group caught up", series, v)
		}
	}
	if _, n := sum(m, "bedrockwatch_messaging_process_duration_seconds_count"); n == 0 {
		t.Error("no processing duration series")
	}
	if v, _ := sum(m, "bedrockwatch_transactions_total", `outcome="committed"`); v == 0 {
		t.Error("no committed transactions counted")
	}
	stop()
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("errors logged:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), `"msg":"serving /metrics, /healthz and /readyz"`) {
		t.Errorf("the JSON log does not announce the metrics server:\n%s", logs.String())
	}
}
