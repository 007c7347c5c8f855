package service_test

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/bedrockwatch/bedrockwatch/service"
	"github.com/bedrockwatch/bedrockwatch/service/servicetest"
)

// runService starts a service and returns a function that stops it and
// returns Run's error.
func runService(t *testing.T, cfg service.Config) (stop func() error) {
	t.Helper()
	return runServiceWith(t, cfg, service.Options{})
}

// runServiceWith is runService with options (metrics, tracing, hooks).
func runServiceWith(t *testing.T, cfg service.Config, opt service.Options) (stop func() error) {
	t.Helper()
	svc, err := service.New(cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return errors.New("service did not stop within 30s")
		}
	}
	t.Cleanup(func() { stop() })
	return stop
}

func ids(as []servicetest.Alert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.RuleID + " " + a.Subject + " " + a.ID
	}
	sort.Strings(out)
	return out
}

// TestEndToEndEqualsReplay: the demo inputs produced to the input topics
// give, read back with read_committed, exactly the alerts replay gives.
func TestEndToEndEqualsReplay(t *testing.T) {
	brokers, prefix, _ := servicetest.Brokers(t, 3)
	cfg := servicetest.Config(t, brokers, prefix, "replica-0", t.TempDir())
	// Records come one at a time and each is waited for: a partition read
	// to its end is quiet at once, as replay's single stream is.
	cfg.InputIdle = 10 * time.Millisecond
	files, _ := filepath.Glob("../testdata/demo/*")
	var all [][]byte
	var in []servicetest.Input
	for _, f := range files {
		for _, m := range servicetest.Messages(t, f) {
			all = append(all, m)
			in = append(in, servicetest.Input{Topic: servicetest.TopicFor(cfg, f), Msg: m})
		}
	}
	cl := servicetest.Client(t, brokers)
	servicetest.CreateInputs(t, brokers, cfg, 3)
	stop := runService(t, cfg)
	// Produced one at a time, the service reads the records in the order
	// replay reads the files, deliberate disorder included.
	servicetest.ProduceDrained(t, cl, brokers, cfg, in)
	want := servicetest.Replay(t, cfg, all)
	if len(want) == 0 {
		t.Fatal("replay raised no alerts on the demo")
	}
	got := servicetest.ReadAlerts(t, brokers, cfg.Topics.Alerts, len(want), time.Second, 30*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	servicetest.Mismatch(t, want, got)
}
