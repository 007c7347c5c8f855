package state_test

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bedrockwatch/bedrockwatch/processor"
	"github.com/bedrockwatch/bedrockwatch/processor/rules"
	"github.com/bedrockwatch/bedrockwatch/schemas"
	"github.com/bedrockwatch/bedrockwatch/state"
)

// enumerationRule is the built-in sequence whose first step,
// ListFoundationModels by an AKIA key, leaves one pending candidate per key.
const enumerationRule = "bedrock-enumeration-then-invocation-long-term-key"

var scaleStart = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// listModels is ListFoundationModels by long-term key number i, at event time
// scaleStart + i·step, as the CloudTrail decoder would normalise it.
func listModels(i int, step time.Duration) *schemas.Event {
	key := fmt.Sprintf("AKIA%016d", i)
	return &schemas.Event{
		Timestamp:     scaleStart.Add(time.Duration(i) * step),
		Dataset:       schemas.DatasetCloudTrail,
		Provider:      "bedrock.amazonaws.com",
		Action:        "ListFoundationModels",
		Outcome:       "success",
		ID:            fmt.Sprintf("5f0c2c1e-8d0f-4c1b-9a51-%012d", i),
		IdentityType:  "IAMUser",
		IdentityARN:   "arn:aws:iam::210987654321:user/u" + key[12:],
		AccessKeyID:   key,
		EventCategory: "Management",
		UserID:        "arn:aws:iam::210987654321:user/u" + key[12:],
		UserName:      "u" + key[12:],
		AccountID:     "210987654321",
		Region:        "us-east-1",
		SourceIP:      "198.51.100.23",
		UserAgent:     "Boto3/1.34.2 md/Botocore#1.34.2 ua/2.0 os/linux#6.1 lang/python#3.11",
		Origin:        schemas.Origin{Topic: "cloudtrail", Offset: int64(i)},
	}
}

// builtinEngine returns an engine running the built-in rules whose ids are
// given, or all of them.
func builtinEngine(tb testing.TB, store processor.Store, ids ...string) *processor.Engine {
	tb.Helper()
	all, err := rules.Builtin()
	if err != nil {
		tb.Fatal(err)
	}
	rs := all
	if len(ids) > 0 {
		rs = nil
		for _, r := range all {
			if slices.Contains(ids, r.ID) {
				rs = append(rs, r)
			}
		}
		if len(rs) != len(ids) {
			tb.Fatalf("built-in rules %v: found %d", ids, len(rs))
		}
	}
	en, err := processor.New(rs, store, processor.DefaultConfig(), func(*schemas.Alert) {})
	if err != nil {
		tb.Fatal(err)
	}
	return en
}

func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// enumerationKeys counts the pending state of the enumeration rule: its
// candidates and their expiry entries.
func enumerationKeys(tb testing.TB, v *state.View) (candidates, expiry int) {
	tb.Helper()
	candidates, err := v.Count("q/" + enumerationRule + "/")
	if err != nil {
		tb.Fatal(err)
	}
	err = v.Scan("x/", func(k string, _ []byte) bool {
		if strings.Contains(k, "/q/"+enumerationRule+"/") {
			expiry++
		}
		return true
	})
	if err != nil {
		tb.Fatal(err)
	}
	return candidates, expiry
}

// TestMillionPendingSequences: a million long-term keys each list the
// foundation models — the first step of the LLMjacking sequence, so a
// million pending candidates — through the engine running the built-in
// sequence rule on Badger on disk. The heap stays bounded (the state is in
// Badger, not in Go), the state survives a reopen, and once the watermark
// passes maxspan the candidates expire and their keys are gone.
//
// Only the sequence rule runs: the pack's first-seen and baseline rules keep
// about a dozen more keys per new key for weeks by design, and would make
// this a test of them (BenchmarkEngineDistinctKeys measures the whole pack).
func TestMillionPendingSequences(t *testing.T) {
	if testing.Short() {
		t.Skip("feeds a million events (about 30 s); run without -short")
	}
	const (
		n        = 1_000_000
		step     = 500 * time.Microsecond // 1M events in 8m20s of event time: none expires while feeding
		heapMax  = 256 << 20
		reportMB = 1 << 20
	)
	dir := t.TempDir()
	opts := state.DefaultOptions()
	db := openBadger(t, dir, opts)
	defer func() { db.Close() }()
	v := db.Partition(0)
	en := builtinEngine(t, v, enumerationRule)

	heap0 := heapAfterGC()
	start := time.Now()
	var peakHeap uint64
	for i := 0; i < n; i++ {
		if err := en.Process(listModels(i, step)); err != nil {
			t.Fatal(err)
		}
		if i%250_000 == 249_999 {
			h := heapAfterGC()
			t.Logf("%7d pending keys: Go heap after GC %.1f MiB", i+1, float64(h)/reportMB)
			peakHeap = max(peakHeap, h)
		}
	}
	if err := en.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if err := v.Flush(); err != nil {
		t.Fatal(err)
	}
	feed := time.Since(start)
	heapFed := heapAfterGC()
	peakHeap = max(peakHeap, heapFed)

	// Close writes the memtables out as tables: the sizes are then the
	// state's footprint on disk.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openBadger(t, dir, opts)
	v = db.Partition(0)
	lsm, vlog := db.Size()
	cands, exp := enumerationKeys(t, v)
	if cands != n || exp != n {
		t.Fatalf("after reopen: %d candidates and %d expiry entries, want %d of each", cands, exp, n)
	}
	t.Logf("fed %d events in %s (%.0f events/s); Go heap after GC: %.1f MiB before, %.1f MiB with %d pending keys, peak %.1f MiB",
		n, feed.Round(time.Millisecond), float64(n)/feed.Seconds(), float64(heap0)/reportMB, float64(heapFed)/reportMB, n, float64(peakHeap)/reportMB)
	t.Logf("Badger on disk: LSM %.1f MiB, value log %.1f MiB: %.0f bytes per pending key (candidate + expiry entry)",
		float64(lsm)/reportMB, float64(vlog)/reportMB, float64(lsm+vlog)/n)
	if peakHeap > heapMax {
		t.Errorf("Go heap reached %.1f MiB with %d pending keys, bound %d MiB", float64(peakHeap)/reportMB, n, heapMax/reportMB)
	}

	// An engine on the reopened store continues the clock; an event an hour
	// later moves the watermark past every candidate's time + maxspan.
	en = builtinEngine(t, v, enumerationRule)
	start = time.Now()
	late := listModels(n+1, 0)
	late.Timestamp = scaleStart.Add(time.Hour)
	if err := en.Process(late); err != nil {
		t.Fatal(err)
	}
	if err := en.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := v.Flush(); err != nil {
		t.Fatal(err)
	}
	sweep := time.Since(start)
	cands, exp = enumerationKeys(t, v)
	all, err := v.Count("")
	if err != nil {
		t.Fatal(err)
	}
	heapEnd := heapAfterGC()
	t.Logf("expiring %d candidates took %s; keys left: %d (%d candidates); Go heap after GC %.1f MiB",
		n, sweep.Round(time.Millisecond), all, cands, float64(heapEnd)/reportMB)
	if cands != 1 || exp != 1 { // the late event's own candidate
		t.Fatalf("after the watermark passed maxspan: %d candidates and %d expiry entries left, want 1", cands, exp)
	}
	if all > 10 {
		t.Fatalf("%d keys left in the partition", all)
	}
	if heapEnd > heapMax {
		t.Errorf("Go heap %.1f MiB after expiry, bound %d MiB", float64(heapEnd)/reportMB, heapMax/reportMB)
	}
}

// BenchmarkEngineDistinctKeys: the engine, each event a new long-term key
// listing the models, on the in-memory map and on Badger on disk, with the
// built-in sequence rule alone (one pending candidate per event) and with
// the whole built-in pack.
func BenchmarkEngineDistinctKeys(b *testing.B) {
	for _, pack := range []string{"sequence", "builtin"} {
		for _, backend := range []string{"memory", "badger-disk"} {
			b.Run(pack+"/"+backend, func(b *testing.B) {
				var store processor.Store = state.NewMemory()
				var db *state.Badger
				if backend == "badger-disk" {
					db = openBadger(b, b.TempDir(), state.DefaultOptions())
					b.Cleanup(func() { db.Close() })
					store = db.Partition(0)
				}
				var ids []string
				if pack == "sequence" {
					ids = []string{enumerationRule}
				}
				en := builtinEngine(b, store, ids...)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := en.Process(listModels(i, 500*time.Microsecond)); err != nil {
						b.Fatal(err)
					}
				}
				if db != nil {
					if err := db.Partition(0).Flush(); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					if err := db.Close(); err != nil {
						b.Fatal(err)
					}
					db = openBadger(b, db.Dir(), state.DefaultOptions())
					lsm, vlog := db.Size()
					b.ReportMetric(float64(lsm+vlog)/float64(b.N), "disk-bytes/key")
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}
