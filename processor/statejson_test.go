package processor

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// TestStateJSONMatchesEncodingJSON: the hand-written state encoders write
// the bytes encoding/json writes, for awkward strings, times, numbers and
// nil-versus-empty slices, so stores written by either read the same.
func TestStateJSONMatchesEncodingJSON(t *testing.T) {
	strs := []string{"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnew\nline\rcr\bbs\fff",
		"\x00\x01\x1f\x7f", "héllo wörld ✓ 🙂", "bad utf8 \xff\xfe end", "\u2028line\u2029para", "\xed\xa0\x80 surrogate",
		"AKIAIOSFODNN7EXAMPLE"}
	rnd := rand.New(rand.NewPCG(1, 2))
	pick := func() string { return strs[rnd.IntN(len(strs))] }
	times := []time.Time{{}, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 59, 100, time.FixedZone("x", 5*3600+1800)), time.UnixMilli(1_700_000_000_123).UTC()}
	floats := []float64{0, 1, -1, 0.5, 1e-7, 1.5e-7, 123456789.125, 1e21, 1e20, -2.5e-9, 3.0000000000000004, math.MaxFloat64, math.SmallestNonzeroFloat64}
	snaps := func(n int) []snap {
		if n < 0 {
			return nil
		}
		out := make([]snap, n)
		for i := range out {
			s := snap{T: times[rnd.IntN(len(times))], ID: pick(), DS: pick(), Act: pick(), Out: pick(), Err: pick(), Acct: pick(),
				ARN: pick(), PType: pick(), Key: pick(), User: pick(), Host: pick(), IP: pick(), UA: pick(), Model: pick(),
				O: schemas.Origin{Topic: pick(), Partition: int32(rnd.IntN(3)), Offset: rnd.Int64N(1 << 40), File: pick(), Line: rnd.IntN(3), Index: rnd.IntN(2)}}
			if rnd.IntN(2) == 0 {
				n := rnd.Int64N(1 << 20)
				s.PTok = &n
			}
			if rnd.IntN(2) == 0 {
				n := -rnd.Int64N(5)
				s.CTok = &n
			}
			if rnd.IntN(3) == 0 {
				s.Prompt = &schemas.PromptExcerpt{Text: pick(), Length: rnd.IntN(100), Truncated: rnd.IntN(2) == 0, Masked: rnd.IntN(3)}
			}
			if rnd.IntN(3) == 0 {
				s.Fields = map[string]any{"process.command_line": pick(), "n": floats[rnd.IntN(len(floats))], "b": true}
			}
			out[i] = s
		}
		return out
	}
	check := func(name string, v any, a jsonAppender) {
		t.Helper()
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := a.appendJSON(nil)
		if !ok {
			t.Fatalf("%s: the encoder refused %+v", name, v)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
	for i := 0; i < 300; i++ {
		sn := snaps(1)[0]
		check("snap", &sn, &sn)
		steps := [][]snap{snaps(rnd.IntN(3) - 1), snaps(rnd.IntN(4) - 1)}
		if i%7 == 0 {
			steps = nil
		}
		seq := &seqState{Steps: steps, Until: snaps(rnd.IntN(3) - 1), Deadline: rnd.Int64N(1 << 42)}
		check("seqState", seq, seq)
		check("seqState again (snaps' encodings cached)", seq, seq)
		nt := &ntState{First: rnd.Int64N(1 << 42), Last: rnd.Int64N(1 << 42), Override: rnd.IntN(3), Deadline: rnd.Int64N(1 << 42)}
		if p := snaps(rnd.IntN(2)); len(p) > 0 {
			nt.Pending = &p[0]
		}
		check("ntState", nt, nt)
		oo := &oOpen{Seq: rnd.IntN(50), Deadline: rnd.Int64N(1 << 42)}
		if i%5 != 0 {
			oo.Open = []oBucket{}
		}
		for k := rnd.IntN(3); k > 0; k-- {
			b := oBucket{S: rnd.Int64N(1 << 42), V: floats[rnd.IntN(len(floats))], N: rnd.IntN(9), Last: rnd.Int64N(1 << 42),
				PTok: rnd.Int64N(3), CTok: rnd.Int64N(3), Cost: costTally{USD: floats[rnd.IntN(len(floats))], Priced: rnd.IntN(2) == 0}}
			if rnd.IntN(2) == 0 {
				b.Cost.Unknown = []string{pick(), pick()}
			} else if rnd.IntN(2) == 0 {
				b.Cost.Unknown = []string{}
			}
			if p := snaps(rnd.IntN(2)); len(p) > 0 {
				b.Top = &p[0]
			}
			oo.Open = append(oo.Open, b)
		}
		check("oOpen", oo, oo)
		check("oOpen again", oo, oo)
		th := &thrState{Seq: rnd.IntN(9), Quiet: rnd.Int64N(2) * rnd.Int64N(1<<42), Last: rnd.Int64N(1 << 42), Deadline: rnd.Int64N(1 << 42)}
		if rnd.IntN(2) == 0 {
			th.Times = []byte(pick())
		}
		if rnd.IntN(2) == 0 {
			th.Vals = map[string]int64{pick(): 1, pick(): rnd.Int64N(1 << 40), pick(): -3}
		} else if rnd.IntN(2) == 0 {
			th.Vals = map[string]int64{}
		}
		if rnd.IntN(2) == 0 {
			th.Unknown = []string{pick()}
		}
		check("thrState", th, th)
		ag := &aggState{N: rnd.IntN(9), Seq: rnd.IntN(9), Last: rnd.Int64N(1 << 42), PTok: rnd.Int64N(2), CTok: rnd.Int64N(2),
			Cost: costTally{USD: floats[rnd.IntN(len(floats))]}}
		if i%3 != 0 {
			ag.Counts = make([]int, rnd.IntN(4))
			for k := range ag.Counts {
				ag.Counts[k] = rnd.IntN(100)
			}
		}
		check("aggState", ag, ag)
		su := &suppState{FirstID: pick(), Subject: pick(), End: times[rnd.IntN(len(times))], Count: rnd.IntN(9),
			Evidence: rnd.IntN(9), EvCount: rnd.IntN(99), Earliest: times[rnd.IntN(len(times))], Last: times[rnd.IntN(len(times))]}
		check("suppState", su, su)
		ev := sn.evidence()
		want, err := json.Marshal(&ev)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := appendEvidenceJSON(nil, &ev); !ok || !bytes.Equal(got, want) {
			t.Fatalf("evidence:\n got %s\nwant %s", got, want)
		}
	}
	// Values encoding/json refuses are refused, so marshalState reports
	// encoding/json's error.
	bad := &oOpen{Open: []oBucket{{V: math.NaN()}}}
	if _, err := marshalState(bad, nil); err == nil {
		t.Fatal("NaN encoded without error")
	}
	far := &snap{T: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	var scratch []byte
	if _, err := marshalState(far, &scratch); err == nil {
		t.Fatal("year 10000 encoded without error")
	}
}
