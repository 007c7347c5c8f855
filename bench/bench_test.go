package bench_test

import (
	"testing"

	"github.com/bedrockwatch/bedrockwatch/bench"
	"github.com/bedrockwatch/bedrockwatch/processor"
	"github.com/bedrockwatch/bedrockwatch/processor/rules"
)

// BenchmarkGenerator measures the generator alone, to show it is not what
// limits a producer (which reaches a few hundred thousand records/s).
func BenchmarkGenerator(b *testing.B) {
	for _, tc := range []struct {
		name string
		mix  func(*bench.Mix)
	}{
		{"standard", func(*bench.Mix) {}},
		{"cloudtrail-only", func(m *bench.Mix) { m.InvocationShare, m.EndpointShare = 0, 0 }},
		{"invocations-only", func(m *bench.Mix) { m.InvocationShare, m.EndpointShare = 1000, 0 }},
		{"1M-keys", func(m *bench.Mix) { m.Keys = 1_000_000 }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m := bench.DefaultMix()
			tc.mix(&m)
			if m.InvocationShare > 10 {
				m.InvocationShare = 10 // the limit: 10 invocation logs per CloudTrail record
			}
			g, err := bench.NewGenerator(m, 1)
			if err != nil {
				b.Fatal(err)
			}
			var bytes int64
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				r := g.Next()
				bytes += int64(len(r.Key) + len(r.Value))
			}
			b.SetBytes(bytes / int64(max(b.N, 1)))
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkExpect measures replaying generated traffic through the engine.
func BenchmarkExpect(b *testing.B) {
	g, err := bench.NewGenerator(bench.DefaultMix(), 1)
	if err != nil {
		b.Fatal(err)
	}
	rs, err := rules.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	x, err := bench.NewExpect(rs, processor.DefaultReplayConfig())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if err := x.Add(g.Next()); err != nil {
			b.Fatal(err)
		}
	}
	if err := x.Sync(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
