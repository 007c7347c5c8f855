package bench_test

import (
	"bytes"
	"testing"

	"github.com/bedrockwatch/bedrockwatch/bench"
	"github.com/bedrockwatch/bedrockwatch/processor"
	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
	"github.com/bedrockwatch/bedrockwatch/state"
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

// BenchmarkReplayGenerated replays 16 MiB of one generated stream end to end
// (split, decode, every built-in rule) as `bedrockwatch replay` does. Unlike
// processor's BenchmarkReplay* benchmarks, which repeat a small real sample
// (so that after its first copy every record is late and every alert
// suppressed), the traffic here moves forward in event time over 10,000
// keys, with benign prompts and LLMjacking attacks at their default rates.
func BenchmarkReplayGenerated(b *testing.B) {
	for _, tc := range []struct {
		name   string
		stream bench.Stream
		mix    func(*bench.Mix)
	}{
		{"cloudtrail-5pct-bedrock", bench.CloudTrail, func(*bench.Mix) {}},
		{"invocations", bench.Invocations, func(m *bench.Mix) { m.InvocationShare = 10 }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m := bench.DefaultMix()
			tc.mix(&m)
			input := generated(b, m, tc.stream, 16<<20)
			rs, err := rules.Builtin()
			if err != nil {
				b.Fatal(err)
			}
			defer processor.TuneGCForReplay()()
			b.SetBytes(int64(len(input)))
			b.ReportAllocs()
			var recs int64
			b.ResetTimer()
			for range b.N {
				rp, err := processor.NewReplayer(rs, state.NewMemory(), processor.DefaultReplayConfig(), func(*schemas.Alert) {})
				if err != nil {
					b.Fatal(err)
				}
				if err := rp.ReadFile("bench", bytes.NewReader(input)); err != nil {
					b.Fatal(err)
				}
				if err := rp.Finish(true); err != nil {
					b.Fatal(err)
				}
				_, n := rp.Progress()
				recs += n
			}
			b.ReportMetric(float64(recs)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// generated returns JSON lines of stream s of m's traffic, about size bytes.
func generated(b *testing.B, m bench.Mix, s bench.Stream, size int) []byte {
	b.Helper()
	g, err := bench.NewGenerator(m, 1)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]byte, 0, size+64<<10)
	for len(out) < size {
		if r := g.Next(); r.Stream == s {
			out = append(append(out, r.Value...), '\n')
		}
	}
	return out
}
