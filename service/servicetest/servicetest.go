// Package servicetest runs bedrockwatch against a Kafka-protocol broker for
// tests: franz-go's kfake in-process over TCP, or a real Kafka or Redpanda
// when BEDROCKWATCH_TEST_BROKERS is set. It produces input files as records,
// reads alerts with read_committed, and computes what replay gives for the
// same inputs.
package servicetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bedrockwatch/bedrockwatch/processor"
	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
	"github.com/bedrockwatch/bedrockwatch/service"
	"github.com/bedrockwatch/bedrockwatch/state"
)

// Brokers returns the brokers of a cluster for t: BEDROCKWATCH_TEST_BROKERS,
// or an in-process kfake cluster with partitions per new topic, closed at
// the end of the test. Topic names get a per-test prefix on a real broker.
func Brokers(t testing.TB, partitions int) (brokers []string, prefix string, c *kfake.Cluster) {
	t.Helper()
	if env := os.Getenv("BEDROCKWATCH_TEST_BROKERS"); env != "" {
		return strings.Split(env, ","), fmt.Sprintf("t%d-", time.Now().UnixNano()), nil
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(partitions),
		kfake.BrokerConfigs(map[string]string{"transaction.max.timeout.ms": "900000"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs(), "", c
}

// Config returns a service configuration for tests on brokers.
func Config(t testing.TB, brokers []string, prefix, instance, stateDir string) service.Config {
	t.Helper()
	cfg := service.DefaultConfig()
	cfg.Brokers = brokers
	tp := &cfg.Topics
	for _, s := range []*string{&tp.CloudTrail, &tp.Invocations, &tp.Endpoint, &tp.Alerts, &tp.DLQ, &tp.Events, &tp.Changelog} {
		*s = prefix + *s
	}
	cfg.Group = prefix + "bedrockwatch"
	cfg.InstanceID = instance
	cfg.StateDir = stateDir
	cfg.CreateTopics = true
	cfg.Partitions = 3
	cfg.ReplicationFactor = 1
	cfg.IdleAdvance = 0
	cfg.TransactionTimeout = 10 * time.Second
	rs, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Rules = rs
	return cfg
}

// Client returns a plain client of brokers, closed at the end of the test.
func Client(t testing.TB, brokers []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Messages splits files into messages as replay reads them: each JSON
// document or line one message.
func Messages(t testing.TB, files ...string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := schemas.OpenMaybeGzip(fh)
		if err != nil {
			t.Fatal(err)
		}
		err = schemas.SplitDocuments(r, 64<<20, func(d schemas.Document) error {
			out = append(out, bytes.Clone(d.Data))
			return nil
		})
		r.Close()
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TopicFor names the input topic of cfg for a file (service.InputTopicFor).
func TopicFor(cfg service.Config, file string) string { return service.InputTopicFor(cfg.Topics, file) }

var keyDecoder, _ = schemas.NewDecoder(schemas.DefaultConfig())

// Key returns the record key a producer would give msg (service.RecordKey).
func Key(msg []byte) []byte { return service.RecordKey(keyDecoder, msg) }

// Produce writes msgs to topic keyed by Key and waits for them.
func Produce(t testing.TB, cl *kgo.Client, topic string, msgs [][]byte) {
	t.Helper()
	rs := make([]*kgo.Record, len(msgs))
	for i, m := range msgs {
		rs[i] = &kgo.Record{Topic: topic, Key: Key(m), Value: m}
	}
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		t.Fatalf("producing to %s: %v", topic, err)
	}
}

// Alert is what tests read of an alert CloudEvent.
type Alert struct {
	ID      string `json:"id"`
	RuleID  string `json:"ruleid"`
	Subject string `json:"subject"`
}

// ReadAlerts reads the alert topic with read_committed from the start until
// it has want alerts and then quiet more passes without another, or
// timeout (ReadRecords). It returns every alert read, duplicates included.
func ReadAlerts(t testing.TB, brokers []string, topic string, want int, quiet, timeout time.Duration) []Alert {
	t.Helper()
	var out []Alert
	for _, r := range ReadRecords(t, brokers, topic, want, quiet, timeout) {
		var a Alert
		if err := json.Unmarshal(r.Value, &a); err != nil {
			t.Errorf("alert record is not a CloudEvent: %v", err)
			continue
		}
		out = append(out, a)
	}
	return out
}

// Replay returns the alerts replay raises for msgs in this order, with the
// stream left open (as a service sees it: no end of input).
func Replay(t testing.TB, cfg service.Config, msgs [][]byte) []Alert {
	t.Helper()
	var out []Alert
	var mu sync.Mutex
	rc := processor.DefaultReplayConfig()
	rc.Engine = cfg.Engine
	rc.Decode = cfg.Decode
	rp, err := processor.NewReplayer(cfg.Rules, state.NewMemory(), rc, func(a *schemas.Alert) {
		mu.Lock()
		out = append(out, Alert{ID: a.ID, RuleID: a.Rule.ID, Subject: a.Subject})
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	for _, m := range msgs {
		all.Write(m)
		all.WriteByte('\n')
	}
	if err := rp.ReadFile("input", &all); err != nil {
		t.Fatal(err)
	}
	if err := rp.Finish(false); err != nil {
		t.Fatal(err)
	}
	return out
}

// Compare reports the alerts of want missing from got, those of got not in
// want, and the ids got holds more than once.
func Compare(want, got []Alert) (missing, extra []Alert, dups []string) {
	w := map[string]Alert{}
	for _, a := range want {
		w[a.ID] = a
	}
	seen := map[string]int{}
	for _, a := range got {
		seen[a.ID]++
		if seen[a.ID] == 2 {
			dups = append(dups, a.ID)
		}
		if _, ok := w[a.ID]; !ok && seen[a.ID] == 1 {
			extra = append(extra, a)
		}
	}
	for _, a := range want {
		if seen[a.ID] == 0 {
			missing = append(missing, a)
		}
	}
	return missing, extra, dups
}

// Mismatch compares the alerts read (got) with replay's (want), reports
// the first ten lost and unexpected alerts and the duplicated ids as test
// errors, logs the one-line summary the drills print, and returns the
// counts.
func Mismatch(t testing.TB, want, got []Alert) (lost, unexpected, duplicated int) {
	t.Helper()
	missing, extra, dups := Compare(want, got)
	t.Logf("alerts expected %d, got %d, duplicates %d, lost %d, unexpected %d", len(want), len(got), len(dups), len(missing), len(extra))
	for i, a := range missing {
		if i < 10 {
			t.Errorf("lost %s %s %s", a.RuleID, a.Subject, a.ID)
		}
	}
	for i, a := range extra {
		if i < 10 {
			t.Errorf("unexpected %s %s %s", a.RuleID, a.Subject, a.ID)
		}
	}
	if len(dups) > 0 {
		t.Errorf("duplicated: %v", dups[:min(len(dups), 10)])
	}
	return len(missing), len(extra), len(dups)
}

// CreateInputs creates the input topics of cfg with partitions each, as a
// producer's platform would before bedrockwatch starts.
func CreateInputs(t testing.TB, brokers []string, cfg service.Config, partitions int32) {
	t.Helper()
	adm := kadm.NewClient(Client(t, brokers))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopics(ctx, partitions, -1, nil, cfg.Topics.Inputs()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp {
		t.Logf("created %s: %v", r.Topic, r.Err)
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			t.Fatalf("creating %s: %v", r.Topic, r.Err)
		}
	}
}

// Input is one message and the topic it goes to.
type Input struct {
	Topic string
	Msg   []byte
}

// ProduceInputs writes the inputs, each to its topic keyed by Key, at once,
// and waits for them.
func ProduceInputs(t testing.TB, cl *kgo.Client, in []Input) {
	t.Helper()
	rs := make([]*kgo.Record, len(in))
	for i, m := range in {
		rs[i] = &kgo.Record{Topic: m.Topic, Key: Key(m.Msg), Value: m.Msg}
	}
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		t.Fatalf("producing the inputs: %v", err)
	}
}

// ProducePaced writes the inputs one at a time, gap apart, so that a
// running service reads them in this order, as replay reads its files.
func ProducePaced(t testing.TB, cl *kgo.Client, in []Input, gap time.Duration) {
	t.Helper()
	for _, m := range in {
		r := &kgo.Record{Topic: m.Topic, Key: Key(m.Msg), Value: m.Msg}
		if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			t.Fatalf("producing to %s: %v", m.Topic, err)
		}
		time.Sleep(gap)
	}
}

// Drain waits until cfg's group has consumed everything in the input
// topics and the events topic (service.WaitCaughtUp), or fails the test.
func Drain(t testing.TB, brokers []string, cfg service.Config, timeout time.Duration) {
	t.Helper()
	adm := kadm.NewClient(Client(t, brokers))
	if err := service.WaitCaughtUp(context.Background(), adm, cfg, timeout); err != nil {
		t.Fatal(err)
	}
}

// ProduceDrained writes the inputs one at a time and waits for the service
// to consume each (Drain) before the next, so that it reads them in this
// order, as replay reads its files.
func ProduceDrained(t testing.TB, cl *kgo.Client, brokers []string, cfg service.Config, in []Input) {
	t.Helper()
	for _, m := range in {
		r := &kgo.Record{Topic: m.Topic, Key: Key(m.Msg), Value: m.Msg}
		if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			t.Fatalf("producing to %s: %v", m.Topic, err)
		}
		Drain(t, brokers, cfg, 30*time.Second)
	}
}

// Chaos reports whether BEDROCKWATCH_CHAOS (set by `make chaos`) asks the
// drills for their larger scale: more records, more kills, more moves.
func Chaos() bool {
	v := os.Getenv("BEDROCKWATCH_CHAOS")
	return v != "" && v != "0"
}

// ReportDrill appends one drill's alert counts to the file named by
// BEDROCKWATCH_CHAOS_REPORT, as the line "drill expected got duplicates
// lost unexpected" that `make chaos` sums; it does nothing when that is
// unset. got counts every alert read back, duplicates included.
func ReportDrill(t testing.TB, drill string, expected, got, dups, lost, unexpected int) {
	t.Helper()
	name := os.Getenv("BEDROCKWATCH_CHAOS_REPORT")
	if name == "" {
		return
	}
	f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatalf("chaos report: %v", err)
	}
	_, err = fmt.Fprintf(f, "%s %d %d %d %d %d\n", drill, expected, got, dups, lost, unexpected)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("chaos report %s: %v", name, err)
	}
}

// CreateInputsWith is CreateInputs with topic configs, such as a
// max.message.bytes above the broker's default for tests of oversized
// records.
func CreateInputsWith(t testing.TB, brokers []string, cfg service.Config, partitions int32, configs map[string]*string) {
	t.Helper()
	adm := kadm.NewClient(Client(t, brokers))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopics(ctx, partitions, -1, configs, cfg.Topics.Inputs()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			t.Fatalf("creating %s: %v", r.Topic, r.Err)
		}
	}
}

// ReadRecords reads topic with read_committed from the start until it has
// want records and then quiet more passes without another, or timeout. It
// returns every record read, duplicates included.
func ReadRecords(t testing.TB, brokers []string, topic string, want int, quiet, timeout time.Duration) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	deadline := time.Now().Add(timeout)
	var quietUntil time.Time
	for time.Now().Before(deadline) {
		if len(out) >= want && quietUntil.IsZero() {
			quietUntil = time.Now().Add(quiet)
		}
		if !quietUntil.IsZero() && time.Now().After(quietUntil) {
			break
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, r)
			if len(out) > want {
				quietUntil = time.Time{}
			}
		})
	}
	return out
}

// ReadAt returns the record at offset of topic's partition, read with
// read_uncommitted, or fails the test after timeout.
func ReadAt(t testing.TB, brokers []string, topic string, partition int32, offset int64, timeout time.Duration) *kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {partition: kgo.NewOffset().At(offset)}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		var found *kgo.Record
		fs.EachRecord(func(r *kgo.Record) {
			if found == nil && r.Offset == offset {
				found = r
			}
		})
		if found != nil {
			return found
		}
	}
	t.Fatalf("no record at %s/%d offset %d within %s", topic, partition, offset, timeout)
	return nil
}
