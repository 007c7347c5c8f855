package service_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bedrockwatch/bedrockwatch/service"
	"github.com/bedrockwatch/bedrockwatch/service/servicetest"
)

// crashWorkload returns n CloudTrail records in event-time order: keys
// long-term keys each listing the foundation models and invoking one a
// minute later (the LLMjacking sequence), the rest non-Bedrock filler.
func crashWorkload(n, keys int) []servicetest.Input {
	start := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	rec := func(i int, t time.Time, source, action, key string) []byte {
		return fmt.Appendf(nil, `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDA%06d","arn":"arn:aws:iam::111122223333:user/u%s","accountId":"111122223333","accessKeyId":"%s","userName":"u%s"},"eventTime":"%s","eventSource":"%s","eventName":"%s","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"Boto3/1.34.2","requestParameters":{"modelId":"anthropic.claude-3-sonnet-20240229-v1:0"},"responseElements":null,"requestID":"r-%d","eventID":"e-%08d","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`,
			i, key, key, key, t.Format(time.RFC3339), source, action, i, i)
	}
	var out []servicetest.Input
	step := 30 * 24 * time.Hour / time.Duration(n) // under the 30-day learning span
	k := 0
	for i := 0; i < n; i++ {
		t := start.Add(time.Duration(i) * step)
		switch {
		case k < keys && i%(n/keys) == 0:
			key := fmt.Sprintf("AKIA%016d", k)
			out = append(out, servicetest.Input{Msg: rec(i, t, "bedrock.amazonaws.com", "ListFoundationModels", key)})
			k++
		case k > 0 && i%(n/keys) == 1:
			key := fmt.Sprintf("AKIA%016d", k-1)
			out = append(out, servicetest.Input{Msg: rec(i, t, "bedrock.amazonaws.com", "InvokeModel", key)})
		default:
			out = append(out, servicetest.Input{Msg: rec(i, t, "s3.amazonaws.com", "GetObject", fmt.Sprintf("AKIA%016d", 9_000_000+i%5000))})
		}
	}
	return out
}

// crashInputs returns crashWorkload(n, keys) for cfg's CloudTrail topic and
// the alerts replay raises on it (at least one per attacking key).
func crashInputs(t *testing.T, cfg service.Config, n, keys int) ([]servicetest.Input, []servicetest.Alert) {
	t.Helper()
	in := crashWorkload(n, keys)
	all := make([][]byte, len(in))
	for i := range in {
		in[i].Topic = cfg.Topics.CloudTrail
		all[i] = in[i].Msg
	}
	want := servicetest.Replay(t, cfg, all)
	if len(want) < keys {
		t.Fatalf("replay raised %d alerts for %d attacking keys", len(want), keys)
	}
	return in, want
}

// TestServiceChild is not a test: it is the service run as a child process
// by the drills (TestCrashNoLossNoDuplicates, TestRebalanceDrill), which
// kill it or stop it. The environment says where and as whom it runs:
// BW_CHILD_BROKERS, BW_CHILD_PREFIX (topic and group prefix),
// BW_CHILD_INSTANCE, BW_CHILD_STATE, and BW_CHILD_SESSION (a group session
// timeout, so that a replica that leaves without a word frees its
// partitions sooner than the 45s default). SIGTERM stops it gracefully, as
// Kubernetes does; it logs as text on stderr.
func TestServiceChild(t *testing.T) {
	if os.Getenv("BW_CHILD_BROKERS") == "" {
		t.Skip("run by the crash and rebalance drills")
	}
	cfg := servicetest.Config(t, strings.Split(os.Getenv("BW_CHILD_BROKERS"), ","), os.Getenv("BW_CHILD_PREFIX"),
		os.Getenv("BW_CHILD_INSTANCE"), os.Getenv("BW_CHILD_STATE"))
	opt := service.Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	if v := os.Getenv("BW_CHILD_SESSION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("BW_CHILD_SESSION: %v", err)
		}
		opt.ClientOpts = append(opt.ClientOpts, kgo.SessionTimeout(d), kgo.HeartbeatInterval(d/6))
	}
	svc, err := service.New(cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := svc.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestCrashNoLossNoDuplicates: a replica killed with SIGKILL at random
// points while 100k records flow, and restarted on its state directory,
// gives every alert exactly once (read_committed): none lost, none
// duplicated; the restarts restore Badger from the checkpoint and the
// changelog tail. -short: 20k records and 2 kills; BEDROCKWATCH_CHAOS
// (make chaos): 200k records and 8 kills.
func TestCrashNoLossNoDuplicates(t *testing.T) {
	n, keys, kills := 100_000, 2_000, 4
	switch {
	case servicetest.Chaos():
		n, keys, kills = 200_000, 4_000, 8
	case testing.Short():
		n, keys, kills = 20_000, 400, 2
	}
	brokers, prefix, _ := servicetest.Brokers(t, 3)
	stateDir := t.TempDir()
	cfg := servicetest.Config(t, brokers, prefix, "crash-0", stateDir)
	in, want := crashInputs(t, cfg, n, keys)
	servicetest.CreateInputs(t, brokers, cfg, 3)

	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestServiceChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "BW_CHILD_BROKERS="+strings.Join(brokers, ","), "BW_CHILD_PREFIX="+prefix,
			"BW_CHILD_INSTANCE=crash-0", "BW_CHILD_STATE="+stateDir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	// Produce in the background, in event-time order, keyed by access key.
	cl := servicetest.Client(t, brokers, kgo.MaxBufferedRecords(1<<16))
	produced := make(chan error, 1)
	go func() {
		for _, m := range in {
			cl.Produce(context.Background(), &kgo.Record{Topic: m.Topic, Key: servicetest.Key(m.Msg), Value: m.Msg}, nil)
		}
		produced <- cl.Flush(context.Background())
	}()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < kills; i++ {
		cmd := start()
		time.Sleep(time.Duration(500+rng.IntN(2500)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		t.Logf("killed the replica (%d/%d)", i+1, kills)
	}
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	cmd := start()
	defer func() { cmd.Process.Signal(syscall.SIGKILL); cmd.Wait() }()
	servicetest.Drain(t, brokers, cfg, 3*time.Minute)
	got := servicetest.ReadAlerts(t, brokers, cfg.Topics.Alerts, len(want), time.Second, time.Minute)
	lost, unexpected, dups := servicetest.Mismatch(t, want, got)
	servicetest.ReportDrill(t, "crash", len(want), len(got), dups, lost, unexpected)
}
