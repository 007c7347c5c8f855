package service_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/bedrockwatch/bedrockwatch/service"
	"github.com/bedrockwatch/bedrockwatch/service/servicetest"
	"github.com/bedrockwatch/bedrockwatch/telemetry"
)

// supervise runs the service as a pod would: when Run returns before stop
// (a fatal error), a new Service takes the same instance id and state
// directory. stop ends it and reports the restarts and their causes.
func supervise(t *testing.T, cfg service.Config, opt service.Options) (stop func() (restarts []error)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var exits []error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			svc, err := service.New(cfg, opt)
			if err != nil {
				t.Error(err)
				return
			}
			err = svc.Run(ctx)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				err = errors.New("Run returned nil before it was stopped")
			}
			mu.Lock()
			exits = append(exits, err)
			mu.Unlock()
			t.Logf("the service exited (%v); restarting it as its pod would be", err)
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	stopped := false
	stop = func() []error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Error("service did not stop within 30s")
			}
		}
		mu.Lock()
		defer mu.Unlock()
		return append([]error(nil), exits...)
	}
	t.Cleanup(func() { stop() })
	return stop
}

// faultPlan injects transaction failures into a kfake cluster at spaced
// points and counts those that happened.
type faultPlan struct {
	endTxnAbortable, endTxnUnknown, endTxnDropped atomic.Int32 // EndTxn commits failed
	endTxnFenced                                  atomic.Int32
	fenceBudget                                   int32        // EndTxn commits to answer PRODUCER_FENCED
	offsetCommit                                  atomic.Int32 // TxnOffsetCommits failed
	produceRejected                               atomic.Int32 // transactional produce requests failed
	timedOut                                      *kfake.FaultHandle
}

const (
	perEndTxnKind    = 2 // each retriable EndTxn fault kind, every 3rd commit
	offsetCommitFail = 3 // every 4th TxnOffsetCommit
	produceFail      = 3 // every 6th transactional produce request
	produceTimeout   = 2 // every 8th produce request to the events topic
)

func (fp *faultPlan) total() int {
	return int(fp.endTxnAbortable.Load() + fp.endTxnUnknown.Load() + fp.endTxnDropped.Load() + fp.endTxnFenced.Load() +
		fp.offsetCommit.Load() + fp.produceRejected.Load() + int32(fp.timedOut.Hits()))
}

func (fp *faultPlan) complete() bool {
	return fp.endTxnAbortable.Load() >= perEndTxnKind && fp.endTxnUnknown.Load() >= perEndTxnKind &&
		fp.endTxnDropped.Load() >= perEndTxnKind && fp.endTxnFenced.Load() >= fp.fenceBudget &&
		fp.offsetCommit.Load() >= offsetCommitFail &&
		fp.produceRejected.Load() >= produceFail && fp.timedOut.Hits() >= produceTimeout
}

func (fp *faultPlan) String() string {
	return "EndTxn commit answered TRANSACTION_ABORTABLE " + itoa(fp.endTxnAbortable.Load()) +
		", answered UNKNOWN_SERVER_ERROR " + itoa(fp.endTxnUnknown.Load()) +
		", connection closed " + itoa(fp.endTxnDropped.Load()) +
		", answered PRODUCER_FENCED " + itoa(fp.endTxnFenced.Load()) +
		"; TxnOffsetCommit answered UNKNOWN_SERVER_ERROR " + itoa(fp.offsetCommit.Load()) +
		"; transactional Produce answered INVALID_RECORD " + itoa(fp.produceRejected.Load()) +
		"; events Produce applied but answered REQUEST_TIMED_OUT " + itoa(int32(fp.timedOut.Hits()))
}

func itoa(n int32) string {
	b := []byte{}
	if n == 0 {
		return "0"
	}
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// inject installs the plan on c for the service of cfg.
func (fp *faultPlan) inject(c *kfake.Cluster, cfg service.Config) {
	// EndTxn: every 3rd commit fails, the kinds in turn: an abortable
	// answer, an unknown server error (the commit's outcome unconfirmed), a
	// connection closed before the broker acts, and the producer fenced
	// (fatal to the client: the service exits and is restarted).
	var commits int
	c.ControlKey(int16(kmsg.EndTxn), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		r := req.(*kmsg.EndTxnRequest)
		if !r.Commit {
			return nil, nil, false
		}
		commits++
		if commits%3 != 0 {
			return nil, nil, false
		}
		resp := r.ResponseKind().(*kmsg.EndTxnResponse)
		switch (commits / 3) % 4 {
		case 1:
			if fp.endTxnAbortable.Load() < perEndTxnKind {
				fp.endTxnAbortable.Add(1)
				resp.ErrorCode = kerr.TransactionAbortable.Code
				return resp, nil, true
			}
		case 2:
			if fp.endTxnUnknown.Load() < perEndTxnKind {
				fp.endTxnUnknown.Add(1)
				resp.ErrorCode = kerr.UnknownServerError.Code
				return resp, nil, true
			}
		case 3:
			if fp.endTxnDropped.Load() < perEndTxnKind {
				fp.endTxnDropped.Add(1)
				return nil, errors.New("injected: connection closed before EndTxn"), true
			}
		case 0:
			if fp.endTxnFenced.Load() < fp.fenceBudget {
				fp.endTxnFenced.Add(1)
				resp.ErrorCode = kerr.ProducerFenced.Code
				return resp, nil, true
			}
		}
		return nil, nil, false
	})
	// TxnOffsetCommit: every 4th fails on each partition.
	var offsetCommits int
	c.ControlKey(int16(kmsg.TxnOffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		offsetCommits++
		if offsetCommits%4 != 0 || fp.offsetCommit.Load() >= offsetCommitFail {
			return nil, nil, false
		}
		r := req.(*kmsg.TxnOffsetCommitRequest)
		resp := r.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
		for _, rt := range r.Topics {
			st := kmsg.NewTxnOffsetCommitResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.UnknownServerError.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		fp.offsetCommit.Add(1)
		return resp, nil, true
	})
	// Produce: every 6th request of the service's transactions is refused
	// whole, so its records fail and the batch must abort.
	var produces int
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		r := req.(*kmsg.ProduceRequest)
		if r.TransactionID == nil {
			return nil, nil, false // the test's own producer
		}
		produces++
		if produces%6 != 0 || fp.produceRejected.Load() >= produceFail {
			return nil, nil, false
		}
		resp := refusedProduce(r)
		fp.produceRejected.Add(1)
		return resp, nil, true
	})
	// And every 8th produce request to the events topic is applied but
	// answered REQUEST_TIMED_OUT: the client must retry it and the broker
	// deduplicate it by sequence number, or routed events double.
	var lastReq kmsg.Request
	var lastAns bool
	var eventProduces int
	fp.timedOut = c.Fault(kfake.Fault{
		Keys: []kmsg.Key{kmsg.Produce}, Topic: cfg.Topics.Events, Err: kerr.RequestTimedOut, Count: produceTimeout,
		When: func(req kmsg.Request) bool { // runs on the cluster goroutine, once per partition
			if req != lastReq {
				lastReq = req
				eventProduces++
				lastAns = eventProduces%8 == 0
			}
			return lastAns
		},
	})
}

// transactions returns the service's counts of committed and aborted
// transactions (the transactions metric, by outcome).
func transactions(t *testing.T, reader *sdkmetric.ManualReader) (committed, aborted int64) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if m.Name != "transactions" || !ok {
				continue
			}
			for _, dp := range sum.DataPoints {
				switch v, _ := dp.Attributes.Value(telemetry.AttrOutcome); v.AsString() {
				case "committed":
					committed += dp.Value
				case "aborted":
					aborted += dp.Value
				}
			}
		}
	}
	return committed, aborted
}

// TestAbortInjectedFaults: while an LLMjacking workload flows, kfake fails
// transactions at several points — EndTxn commits answered
// TRANSACTION_ABORTABLE or UNKNOWN_SERVER_ERROR or cut off, TxnOffsetCommits
// refused, produce requests refused or applied-but-timed-out — so the
// service must abort and redo batches; and once an EndTxn commit is
// answered PRODUCER_FENCED, fatal by design: Run returns and the service is
// restarted on its state directory as its pod would be, onto the backlog
// that built up meanwhile and the routed events its predecessor left. Every
// fault must have happened, each refused commit must show as an aborted
// transaction, and the alerts read with read_committed must equal
// replay's: none lost, none duplicated.
func TestAbortInjectedFaults(t *testing.T) {
	brokers, prefix, c := servicetest.Brokers(t, 3)
	if c == nil {
		t.Skip("BEDROCKWATCH_TEST_BROKERS is set: a real broker takes no fault injection")
	}
	n, keys := 20_000, 400
	if testing.Short() {
		n, keys = 6_000, 150
	}
	cfg := servicetest.Config(t, brokers, prefix, "abort-0", t.TempDir())
	// Small batches: many transactions, so the faults fall at many points.
	cfg.MaxPollRecords = 200
	// A fenced producer's transaction stays open on the broker until the
	// restarted replica's producer aborts it or it times out; the group's
	// offsets are unstable until then.
	cfg.TransactionTimeout = 3 * time.Second
	in, want := crashInputs(t, cfg, n, keys)
	servicetest.CreateInputs(t, brokers, cfg, 3)

	// The service's own count of the transactions it ended, by outcome.
	met, reader := readableMetrics(t)

	fp := faultPlan{fenceBudget: 1}
	fp.inject(c, cfg)
	start := time.Now()
	stop := supervise(t, cfg, service.Options{Metrics: met})

	// Produce in chunks, in event-time order, keyed by access key, while
	// the service runs; then wait until every fault has fired.
	cl := servicetest.Client(t, brokers, kgo.MaxBufferedRecords(1<<16))
	const chunks = 40
	for i := 0; i < chunks; i++ {
		var rs []*kgo.Record
		for _, m := range in[i*len(in)/chunks : (i+1)*len(in)/chunks] {
			rs = append(rs, &kgo.Record{Topic: m.Topic, Key: servicetest.Key(m.Msg), Value: m.Msg})
		}
		if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(75 * time.Millisecond)
	}
	adm := kadm.NewClient(servicetest.Client(t, brokers))
	if err := service.WaitCaughtUp(context.Background(), adm, cfg, 2*time.Minute); err != nil {
		t.Fatalf("%v (faults: %s)", err, &fp)
	}
	got := servicetest.ReadAlerts(t, brokers, cfg.Topics.Alerts, len(want), time.Second, time.Minute)
	restarts := stop()
	t.Logf("faults injected: %s (%d); %d restarts; %d records in %s",
		&fp, fp.total(), len(restarts), n, time.Since(start).Round(time.Millisecond))
	if !fp.complete() {
		t.Errorf("not every planned fault happened: %s", &fp)
	}
	// Each refused EndTxn, TxnOffsetCommit or produce request must have
	// ended its transaction in an abort (a closed connection or a timed-out
	// produce may be retried through).
	committed, aborted := transactions(t, reader)
	mustAbort := int64(fp.endTxnAbortable.Load() + fp.endTxnUnknown.Load() + fp.offsetCommit.Load() + fp.produceRejected.Load())
	t.Logf("transactions: %d committed, %d aborted", committed, aborted)
	if aborted < mustAbort {
		t.Errorf("the service aborted %d transactions, fewer than the %d faults that refuse a commit", aborted, mustAbort)
	}
	for _, err := range restarts {
		t.Logf("restart after: %v", err)
	}

	servicetest.Mismatch(t, want, got)
}

// TestAbortRestartBacklog: a replica restarted onto a backlog in every
// input partition — its pod was down while records came — gives replay's
// alerts. Small polls reach one partition first; the others, not read yet
// but holding records, must hold the watermark back however long the
// restart took (InputIdle here stands for the default 2 s against a
// rejoin or restore that takes longer), or their events are all late
// behind the first partition's and the alerts they make are lost.
func TestAbortRestartBacklog(t *testing.T) {
	n, keys := 20_000, 500
	if testing.Short() {
		n, keys = 6_000, 150
	}
	brokers, prefix, _ := servicetest.Brokers(t, 3)
	cfg := servicetest.Config(t, brokers, prefix, "backlog-0", t.TempDir())
	cfg.MaxPollRecords = 200
	cfg.InputIdle = 100 * time.Millisecond
	in, want := crashInputs(t, cfg, n, keys)
	servicetest.CreateInputs(t, brokers, cfg, 3)
	adm := kadm.NewClient(servicetest.Client(t, brokers))
	cl := servicetest.Client(t, brokers, kgo.MaxBufferedRecords(1<<16))

	// A tenth while the replica runs, the rest while it is down.
	stop := runService(t, cfg)
	servicetest.ProduceInputs(t, cl, in[:n/10])
	if err := service.WaitCaughtUp(context.Background(), adm, cfg, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	servicetest.ProduceInputs(t, cl, in[n/10:])
	start := time.Now()
	stop = runService(t, cfg)
	if err := service.WaitCaughtUp(context.Background(), adm, cfg, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("backlog of %d records consumed in %s", n-n/10, time.Since(start).Round(time.Millisecond))
	got := servicetest.ReadAlerts(t, brokers, cfg.Topics.Alerts, len(want), time.Second, 20*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	servicetest.Mismatch(t, want, got)
}

// TestAbortRewindsInputProgress: a transaction that read input records is
// aborted (the broker refuses the routed events it produced), and right
// after it the input's broker fails fetches for a while, so the replica
// polls nothing from the input and runs only transactions of its own clock.
// The abort rewinds the input to the committed offsets, so what the
// replica knows of the input — the highest event time read, caught up —
// must go back with it: a watermark taken from the aborted read would be
// committed and move the engines past the events that are yet to be read
// again, which would then all be late and their alerts lost. The alerts
// must equal replay's.
func TestAbortRewindsInputProgress(t *testing.T) {
	brokers, prefix, c := servicetest.Brokers(t, 3)
	if c == nil {
		t.Skip("BEDROCKWATCH_TEST_BROKERS is set: a real broker takes no fault injection")
	}
	cfg := servicetest.Config(t, brokers, prefix, "rewind-0", t.TempDir())
	cfg.InputIdle = 200 * time.Millisecond
	n, keys := 4000, 40 // 10.8 minutes apart: each key's two steps within the 15m maxspan
	in, want := crashInputs(t, cfg, n, keys)
	servicetest.CreateInputs(t, brokers, cfg, 1)

	met, reader := readableMetrics(t)

	// Once armed, the first transactional produce request with routed
	// events is refused, and from then on the input's fetches fail until
	// the fault is removed.
	var armed, refused atomic.Bool
	var eventsID atomic.Pointer[[16]byte] // produce v13+ names topics by id
	var fetchFault atomic.Pointer[kfake.FaultHandle]
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		r := req.(*kmsg.ProduceRequest)
		if r.TransactionID == nil || !armed.Load() || refused.Load() {
			return nil, nil, false
		}
		routes := false
		for _, rt := range r.Topics {
			routes = routes || rt.Topic == cfg.Topics.Events || rt.TopicID == *eventsID.Load()
		}
		if !routes {
			return nil, nil, false
		}
		resp := refusedProduce(r)
		fetchFault.Store(c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Fetch}, Topic: cfg.Topics.CloudTrail, Err: kerr.UnknownServerError, Count: -1}))
		refused.Store(true)
		return resp, nil, true
	})

	stop := runServiceWith(t, cfg, service.Options{Metrics: met})
	cl := servicetest.Client(t, brokers, kgo.MaxBufferedRecords(1<<16))
	adm := kadm.NewClient(servicetest.Client(t, brokers))
	servicetest.ProduceInputs(t, cl, in[:n/2])
	if err := service.WaitCaughtUp(context.Background(), adm, cfg, time.Minute); err != nil {
		t.Fatal(err)
	}

	topics, err := adm.ListTopics(context.Background(), cfg.Topics.Events)
	if err != nil {
		t.Fatal(err)
	}
	id := [16]byte(topics[cfg.Topics.Events].ID)
	eventsID.Store(&id)
	armed.Store(true)
	servicetest.ProduceInputs(t, cl, in[n/2:])
	deadline := time.Now().Add(30 * time.Second)
	for !refused.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the service routed no events after the input was extended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// While the input cannot be fetched, let the replica commit what it
	// commits without it (its clock: at most a few transactions).
	committed, _ := transactions(t, reader)
	for wait := time.Now().Add(3 * time.Second); time.Now().Before(wait); time.Sleep(50 * time.Millisecond) {
		if c, _ := transactions(t, reader); c >= committed+3 {
			break
		}
	}
	after, aborted := transactions(t, reader)
	t.Logf("while the input was unreadable: %d transactions committed (%d aborted in all)", after-committed, aborted)
	fetchFault.Load().Remove()

	if err := service.WaitCaughtUp(context.Background(), adm, cfg, time.Minute); err != nil {
		t.Fatal(err)
	}
	got := servicetest.ReadAlerts(t, brokers, cfg.Topics.Alerts, len(want), time.Second, 20*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	servicetest.Mismatch(t, want, got)
}

// refusedProduce answers a produce request with INVALID_RECORD for every
// partition: the broker refuses the batch.
func refusedProduce(r *kmsg.ProduceRequest) *kmsg.ProduceResponse {
	resp := r.ResponseKind().(*kmsg.ProduceResponse)
	for _, rt := range r.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.ErrorCode = kerr.InvalidRecord.Code
			sp.BaseOffset = -1
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// readableMetrics returns the service's metrics and a reader of them, for
// counting the transactions it ended (see transactions).
func readableMetrics(t *testing.T) (*telemetry.Metrics, *sdkmetric.ManualReader) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	met, err := telemetry.NewMetrics(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if err != nil {
		t.Fatal(err)
	}
	return met, reader
}
