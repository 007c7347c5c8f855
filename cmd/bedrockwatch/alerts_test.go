package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bedrockwatch/bedrockwatch/schemas"
	"github.com/bedrockwatch/bedrockwatch/schemas/alertcheck"
	"github.com/bedrockwatch/bedrockwatch/service/cekafka"
)

const testAlertsTopic = "bedrockwatch-alerts"

func alertEvent(t *testing.T, n int, summary string) *kgo.Record {
	t.Helper()
	ts := time.Date(2025, 3, 14, 9, 0, n, 0, time.UTC)
	rule := "bedrock-llmjacking-new-region"
	a := &schemas.Alert{
		Rule:     schemas.AlertRule{ID: rule, Name: "Bedrock invoked from a new region", Severity: "high", RiskScore: 73, Threat: []schemas.Threat{}},
		Group:    schemas.AlertGroup{Fields: []string{}, Values: []string{}},
		Actor:    schemas.Actor{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SourceIPs: []string{}, UserAgents: []string{}},
		ModelIDs: []string{}, Window: schemas.Window{Start: ts, End: ts},
		Evidence:      []schemas.Evidence{{Dataset: "aws.cloudtrail", EventID: "e" + string(rune('0'+n)), Time: ts}},
		EvidenceCount: 1, Metrics: map[string]any{}, Summary: summary,
		ID: schemas.AlertID(rule, summary), Time: ts, Subject: "AKIAIOSFODNN7EXAMPLE",
	}
	ev, err := a.CloudEvent()
	if err != nil {
		t.Fatal(err)
	}
	write := cekafka.Record
	if n%2 == 0 {
		write = cekafka.BinaryRecord // the reader takes both modes
	}
	r, err := write(context.Background(), ev, testAlertsTopic, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// alertsCluster starts kfake with the alert topic and produces, in
// transactions: A, B committed; X aborted; a non-CloudEvent and C committed.
func alertsCluster(t *testing.T) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, testAlertsTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	addr := c.ListenAddrs()[0]
	p, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.TransactionalID("alerts-test"), kgo.DefaultProduceTopic(testAlertsTopic))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	txn := func(commit bool, rs ...*kgo.Record) {
		t.Helper()
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := p.ProduceSync(ctx, rs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := p.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	txn(true, alertEvent(t, 1, "alert A"), alertEvent(t, 2, "alert B"))
	txn(false, alertEvent(t, 3, "aborted alert X"))
	txn(true, &kgo.Record{Value: []byte(`{"eventName":"InvokeModel"}`)}, alertEvent(t, 4, "alert C\x1b[2J"))
	return addr
}

func runAlertsCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	code = run(ctx, append([]string{"alerts"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestAlertsCommand(t *testing.T) {
	addr := alertsCluster(t)

	t.Run("text", func(t *testing.T) {
		code, out, errs := runAlertsCmd(t, "--brokers", addr, "--from-beginning", "--count", "3", "--timeout", "10s")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		want := []string{
			"2025-03-14T09:00:01Z  HIGH      bedrock-llmjacking-new-region                       AKIAIOSFODNN7EXAMPLE  alert A",
			"2025-03-14T09:00:02Z  HIGH      bedrock-llmjacking-new-region                       AKIAIOSFODNN7EXAMPLE  alert B",
			`2025-03-14T09:00:04Z  HIGH      bedrock-llmjacking-new-region                       AKIAIOSFODNN7EXAMPLE  alert C\x1b[2J`,
		}
		if strings.Join(lines, "\n") != strings.Join(want, "\n") {
			t.Errorf("stdout:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
		}
		if !strings.Contains(errs, "skipping") || !strings.Contains(errs, "not a CloudEvent") {
			t.Errorf("the non-CloudEvent record is not reported: %q", errs)
		}
	})

	t.Run("json", func(t *testing.T) {
		code, out, errs := runAlertsCmd(t, "--brokers", addr, "--from-beginning", "--json", "--count", "3", "--timeout", "10s")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		var summaries []string
		for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if err := alertcheck.Validate([]byte(line)); err != nil {
				t.Errorf("%v: %s", err, line)
			}
			var ev struct {
				Severity string `json:"severity"`
				Data     struct {
					Summary string `json:"summary"`
				} `json:"data"`
			}
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatal(err)
			}
			summaries = append(summaries, ev.Data.Summary)
		}
		if got := strings.Join(summaries, "|"); got != "alert A|alert B|alert C\x1b[2J" {
			t.Errorf("summaries %q", got)
		}
	})

	t.Run("from the end", func(t *testing.T) {
		code, out, errs := runAlertsCmd(t, "--brokers", addr, "--timeout", "300ms")
		if code != 0 || out != "" {
			t.Errorf("exit %d, stdout %q, stderr %q: want 0 and nothing (no new alert)", code, out, errs)
		}
	})

	t.Run("count not reached", func(t *testing.T) {
		code, out, errs := runAlertsCmd(t, "--brokers", addr, "--from-beginning", "--count", "5", "--timeout", "500ms")
		if code != 1 || strings.Count(out, "\n") != 3 || !strings.Contains(errs, "3 of --count 5") {
			t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
		}
	})

	t.Run("group", func(t *testing.T) {
		t.Setenv("BEDROCKWATCH_GROUP", "svc") // the service's group: not taken
		code, out, errs := runAlertsCmd(t, "--brokers", addr, "--from-beginning", "--group", "reader", "--count", "2", "--timeout", "10s")
		if code != 0 || strings.Count(out, "\n") != 2 {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
		}
		// The group committed what was printed, no more.
		code, out, errs = runAlertsCmd(t, "--brokers", addr, "--from-beginning", "--group", "reader", "--count", "1", "--timeout", "10s")
		if code != 0 || !strings.HasSuffix(out, "alert C\\x1b[2J\n") || strings.Count(out, "\n") != 1 {
			t.Errorf("second run: exit %d, stdout %q, stderr %q; want alert C only", code, out, errs)
		}
		// BEDROCKWATCH_GROUP did not make the first runs join svc.
		cl, _ := kgo.NewClient(kgo.SeedBrokers(addr))
		defer cl.Close()
		adm := kadm.NewClient(cl)
		offs, err := adm.FetchOffsets(context.Background(), "svc")
		if err == nil && len(offs) > 0 {
			t.Errorf("group svc has offsets: %v", offs)
		}
		// A group that commits other topics (the service's) is refused.
		if _, err := adm.CommitOffsets(context.Background(), "svc", kadm.OffsetsFromRecords(kgo.Record{Topic: testAlertsTopic, Partition: 0, Offset: 0})); err != nil {
			t.Fatal(err)
		}
		if _, err := adm.CreateTopic(context.Background(), 1, 1, nil, "cloudtrail"); err != nil {
			t.Fatal(err)
		}
		if _, err := adm.CommitOffsets(context.Background(), "svc", kadm.OffsetsFromRecords(kgo.Record{Topic: "cloudtrail", Partition: 0, Offset: 5})); err != nil {
			t.Fatal(err)
		}
		code, _, errs = runAlertsCmd(t, "--brokers", addr, "--group", "svc", "--timeout", "1s")
		if code != 2 || !strings.Contains(errs, "cloudtrail") || !strings.Contains(errs, "group of its own") {
			t.Errorf("service group: exit %d, stderr %q", code, errs)
		}
	})

	t.Run("service config file", func(t *testing.T) {
		cfg := filepath.Join(t.TempDir(), "config.yaml")
		// The service's file: run-only keys are ignored, group too.
		data := "brokers: [" + addr + "]\nstate-dir: /var/lib/bedrockwatch\ngroup: svc\nalerts_topic: " + testAlertsTopic + "\nlog-level: debug\n"
		if err := os.WriteFile(cfg, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errs := runAlertsCmd(t, "--config", cfg, "--from-beginning", "--count", "1", "--timeout", "10s")
		if code != 0 || !strings.Contains(out, "alert A") {
			t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
		}
		if err := os.WriteFile(cfg, []byte("brokers: ["+addr+"]\nbrokerz: x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if code, _, errs := runAlertsCmd(t, "--config", cfg); code != 2 || !strings.Contains(errs, `unknown key "brokerz"`) {
			t.Errorf("typo in config: exit %d, stderr %q", code, errs)
		}
	})
}

func TestAlertsUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	code, _, errs := runAlertsCmd(t, "--brokers", addr, "--timeout", "1s")
	if code != 1 || !strings.Contains(errs, "cannot reach brokers "+addr) {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	for _, args := range [][]string{{"--count", "-1"}, {"extra"}, {"--timeout", "-1s"}, {"--sasl-mechanism", "KERBEROS"}} {
		if code, _, errs := runAlertsCmd(t, append([]string{"--brokers", addr}, args...)...); code != 2 {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, code, errs)
		}
	}
}

func TestEventLineEscapes(t *testing.T) {
	for in, want := range map[string]string{
		"plain":            "plain",
		"two\nlines":       `two\nlines`,
		"\x1b]0;pwned\x07": `\x1b]0;pwned\a`,
		"rtl \u202eevil":   `rtl \u202eevil`,
		"tab\tand ünïcödé": `tab\tand ünïcödé`,
	} {
		if got := oneLine(in); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", in, got, want)
		}
	}
}
