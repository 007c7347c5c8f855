package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bedrockwatch/bedrockwatch/bench"
	"github.com/bedrockwatch/bedrockwatch/processor/rules"
)

// TestBenchTiny runs `bedrockwatch bench` on a tiny backlog against the
// embedded broker: the table and the JSON hold the producer and the
// ceiling, and (b) is either measured or reported unavailable with its
// error — never left out, never made up.
func TestBenchTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker and the service")
	}
	out := filepath.Join(t.TempDir(), "bench.json")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"bench", "--duration", "3s", "--max-backlog-mb", "6", "--keys", "300",
		"--max-prompt-kb", "4", "--partitions", "2", "--ceiling-runs", "1", "--timeout", "30s", "--json", out}, &stdout, &stderr)
	t.Logf("stdout:\n%s", stdout.String())
	if code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr.String())
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^producer \(snappy, async, keyed\) +[1-9][0-9]* `),
		regexp.MustCompile(`(?m)^\(a\) ceiling: group consumer that discards +[1-9][0-9]* `),
		regexp.MustCompile(`(?m)^\(b\) bedrockwatch end to end \(1 replica\) +([1-9][0-9]* |unavailable: .+)`),
		regexp.MustCompile(`(?m)^\(g\) alerts +[0-9]+ expected`),
	} {
		if !want.MatchString(stdout.String()) {
			t.Errorf("the table has no line matching %s", want)
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep benchReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("--json: %v", err)
	}
	if rep.Traffic.Records == 0 || rep.Producer.Records != rep.Traffic.Records || rep.Ceiling.Records != rep.Traffic.Records {
		t.Errorf("traffic %d records, produced %d, ceiling read %d", rep.Traffic.Records, rep.Producer.Records, rep.Ceiling.Records)
	}
	if rep.Ceiling.SteadyRecordsPerSec <= 0 || rep.Ceiling.CPUSeconds <= 0 {
		t.Errorf("ceiling not measured: %+v", rep.Ceiling)
	}
	e := rep.EndToEnd
	switch {
	case e.Available:
		if e.Records != rep.Traffic.Records || e.RecordsPerSec <= 0 || rep.Ratio == nil || e.Alerts == nil || e.Latency == nil {
			t.Errorf("end to end measured but incomplete: %+v", e)
		}
		if e.Alerts != nil && (e.Alerts.Lost > 0 || e.Alerts.Duplicates > 0) {
			t.Logf("the service lost %d and duplicated %d alerts: %v", e.Alerts.Lost, e.Alerts.Duplicates, e.Alerts.LostIDs)
		}
	case e.Error == "":
		t.Error("end to end unavailable without an error")
	default:
		t.Logf("end to end unavailable: %s", e.Error)
		if e.Latency != nil || e.Alerts != nil || rep.Ratio != nil {
			t.Errorf("an unavailable end to end reports numbers: %+v", e)
		}
	}
	if !strings.Contains(stderr.String(), "bench: ") {
		t.Errorf("no progress line on stderr:\n%s", stderr.String())
	}
}

func TestBenchFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench", "--zipf-s", "0.5", "--bedrock-share", "3", "--compression", "gzip"}, &stdout, &stderr)
	if code != 2 {
		t.Fatalf("exit status %d, want 2 (usage); stderr:\n%s", code, stderr.String())
	}
	for _, want := range []string{"zipf-s", "bedrock-share", "compression"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("usage error does not name %s:\n%s", want, stderr.String())
		}
	}
}

// TestEndToEndUnavailable: when the service cannot run, runEndToEnd says
// why and reports no numbers.
func TestEndToEndUnavailable(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	rs, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	g, err := bench.NewGenerator(bench.DefaultMix(), 1)
	if err != nil {
		t.Fatal(err)
	}
	prog := newProgress(io.Discard)
	defer prog.stop()
	env := e2eEnv{brokers: c.ListenAddrs(), clientOpts: []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)},
		topics: bench.DefaultTopics(), embedded: true, replicas: 1, partitions: 0, rules: rs, gen: g,
		paced: time.Second, latencyAttacks: 2000, producer: bench.DefaultProducerConfig(), timeout: 10 * time.Second, progress: prog}
	called := false
	res, err := runEndToEnd(context.Background(), env, func(int64) ([]bench.ExpectedAlert, error) {
		called = true
		return nil, nil
	})
	if err == nil || !strings.Contains(err.Error(), "partitions") {
		t.Fatalf("runEndToEnd with 0 partitions: %v, want the service's configuration error", err)
	}
	if res.Available || res.Latency != nil || res.Alerts != nil || res.RecordsPerSec != 0 || called {
		t.Errorf("a failed end to end reports numbers: %+v", res)
	}
}
