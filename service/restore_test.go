package service

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/bedrockwatch/bedrockwatch/state"
)

// TestRestoreWaitsForOpenChangelogTransactions: the changelog of a
// partition as a rebalance drill left it. Replica X died in a transaction
// that wrote to it; replica Y took the partition over and committed state
// after X's records; then a third owner restores it while X's transaction
// is still open (before the broker's transaction timeout). The last stable
// offset is X's first record, so a restore that reads up to it misses
// every change Y committed, while the group's offsets for the events Y
// processed are committed: the new owner would go on from them with Y's
// state changes lost. The restore must wait for the transactions open when
// it starts, then read all that was committed. The dead replica's
// transaction ends either way a real one does: the replica restarts (its
// transactional id initialised again), or the broker aborts it after its
// transaction timeout. Listings of the last stable offset that fail while
// it waits are tried again.
func TestRestoreWaitsForOpenChangelogTransactions(t *testing.T) {
	const timeout = 2 * time.Second // the dead transaction's, in the broker's case
	for _, tc := range []struct {
		name         string
		restart      bool
		failListings int
	}{
		{"ended by its owner's restart", true, 0},
		{"ended by the broker after the transaction timeout", false, 0},
		{"with listings failing while it waits", true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) { testRestoreWaits(t, tc.restart, tc.failListings, timeout) })
	}
}

func testRestoreWaits(t *testing.T, restart bool, failListings int, timeout time.Duration) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	failed := 0
	if failListings > 0 {
		// The restore's read_committed listings (the last stable offset)
		// answer UNKNOWN_SERVER_ERROR, failListings times.
		c.ControlKey(int16(kmsg.ListOffsets), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
			req := kreq.(*kmsg.ListOffsetsRequest)
			if req.IsolationLevel != 1 || failed >= failListings {
				return nil, nil, false
			}
			c.KeepControl()
			failed++
			resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
			for _, rt := range req.Topics {
				st := kmsg.NewListOffsetsResponseTopic()
				st.Topic = rt.Topic
				for _, rp := range rt.Partitions {
					sp := kmsg.NewListOffsetsResponseTopicPartition()
					sp.Partition = rp.Partition
					sp.ErrorCode = kerr.UnknownServerError.Code
					st.Partitions = append(st.Partitions, sp)
				}
				resp.Topics = append(resp.Topics, st)
			}
			return resp, nil, true
		})
	}
	cfg := DefaultConfig()
	cfg.Brokers = c.ListenAddrs()
	topic := cfg.Topics.Changelog
	ctx := context.Background()

	client := func(opts ...kgo.Opt) *kgo.Client {
		t.Helper()
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cfg.Brokers...)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	adm := kadm.NewClient(client())
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	transact := func(txid string, commit bool, kvs ...string) *kgo.Client {
		t.Helper()
		txTimeout := time.Minute
		if !commit && !restart {
			txTimeout = timeout
		}
		cl := client(kgo.TransactionalID(txid), kgo.TransactionTimeout(txTimeout))
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(kvs); i += 2 {
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: 0, Key: []byte(kvs[i]), Value: []byte(kvs[i+1])}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if commit {
			if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
				t.Fatal(err)
			}
		}
		return cl
	}
	transact("replica-x", true, "seq/k", "x1")
	transact("replica-x-zombie", false, "seq/k", "x-aborted") // died in this one
	began := time.Now()
	transact("replica-y", true, "seq/k", "y1", "seq/k2", "y2")

	db, err := state.Open(t.TempDir(), state.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	base, err := ClientOpts(cfg.Brokers, cfg.TLS, cfg.SASL)
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{cfg: cfg, log: slog.New(slog.NewTextHandler(io.Discard, nil)), met: nopMetrics{}, db: db, adm: adm, base: base}

	type result struct {
		n   int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := s.restore(ctx, 0)
		done <- result{n, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("restore returned (%d records, error %v) after %s while a transaction on the changelog was open",
			r.n, r.err, time.Since(began).Round(time.Millisecond))
	case <-time.After(timeout / 4):
	}
	if restart {
		// The dead replica's transactional id is initialised again,
		// which aborts its transaction.
		if _, _, err := client(kgo.TransactionalID("replica-x-zombie"), kgo.TransactionTimeout(time.Minute)).ProducerID(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("restore still waiting 30s after the open transaction should have ended")
	}
	if waited := time.Since(began); !restart && waited < timeout*3/4 {
		t.Errorf("restore returned after %s, before the open transaction's %s timeout", waited.Round(time.Millisecond), timeout)
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if failed != failListings {
		t.Errorf("%d listings failed, want %d", failed, failListings)
	}
	view := db.Partition(0)
	for k, want := range map[string]string{"seq/k": "y1", "seq/k2": "y2"} {
		v, ok, err := view.Get(k)
		if err != nil {
			t.Fatal(err)
		}
		if !ok || string(v) != want {
			t.Errorf("%s after the restore: %q (found %v), want %q, replica Y's committed value", k, v, ok, want)
		}
	}
	if r.n != 3 {
		t.Errorf("restore applied %d changelog records, want the 3 committed ones", r.n)
	}
	cp, ok, err := view.ReadCheckpoint()
	if err != nil || !ok {
		t.Fatalf("no checkpoint after the restore (%v)", err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if end, _ := ends.Lookup(topic, 0); cp.ChangelogOffset != end.Offset-1 {
		t.Errorf("checkpoint at changelog offset %d, want %d, the end of the changelog", cp.ChangelogOffset, end.Offset-1)
	}
}
