package processor

import (
	"testing"

	"github.com/bedrockwatch/bedrockwatch/schemas"
	"github.com/bedrockwatch/bedrockwatch/state"
)

// BenchmarkStatefulRules measures events per second through an engine with
// the whole built-in pack (stateful kinds included) on the memory store,
// over 35 days of synthetic traffic of three principals.
func BenchmarkStatefulRules(b *testing.B) {
	g := newTraffic(1)
	g.steady(g.start, 35)
	events := g.sorted()
	rs := builtinRules(b)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		b.StopTimer()
		en, err := New(rs, state.NewMemory(), DefaultConfig(), func(*schemas.Alert) {})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for _, e := range events {
			if err := en.Process(e); err != nil {
				b.Fatal(err)
			}
		}
		if err := en.Flush(); err != nil {
			b.Fatal(err)
		}
		n += len(events)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkStatefulRulesBadgerTxn is BenchmarkStatefulRules on a Badger
// View used as the service uses it: no automatic flush, and every txnEvents
// events (one committed transaction of a partition) the watermark advanced
// once and the pending changes applied by WriteCheckpoint, so that most
// loads of a batch read state applied by an earlier one.
func BenchmarkStatefulRulesBadgerTxn(b *testing.B) {
	const txnEvents = 200
	g := newTraffic(1)
	g.steady(g.start, 35)
	events := g.sorted()
	rs := builtinRules(b)
	opts := state.DefaultOptions()
	opts.FlushEvery = 0
	cfg := DefaultConfig()
	cfg.ExternalWatermark = true
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		b.StopTimer()
		db, err := state.Open("", opts)
		if err != nil {
			b.Fatal(err)
		}
		v := db.Partition(0)
		en, err := New(rs, v, cfg, func(*schemas.Alert) {})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for i, e := range events {
			if err := en.Process(e); err != nil {
				b.Fatal(err)
			}
			if i%txnEvents == txnEvents-1 {
				if err := en.Advance(e.Timestamp.Add(-cfg.AllowedLateness)); err != nil {
					b.Fatal(err)
				}
				if err := en.Checkpoint(); err != nil {
					b.Fatal(err)
				}
				if err := v.WriteCheckpoint(state.Checkpoint{ChangelogOffset: int64(i)}); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := en.Flush(); err != nil {
			b.Fatal(err)
		}
		if err := v.WriteCheckpoint(state.Checkpoint{ChangelogOffset: int64(len(events))}); err != nil {
			b.Fatal(err)
		}
		n += len(events)
		b.StopTimer()
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
