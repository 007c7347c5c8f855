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
