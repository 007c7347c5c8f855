package processor

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bedrockwatch/bedrockwatch/schemas"
	"github.com/bedrockwatch/bedrockwatch/state"
)

type cacheProbe struct {
	N int `json:"n"`
}

// probeView opens a Badger store used as the service uses it (changes
// applied only by WriteCheckpoint), with the given cache of applied values,
// and an engine shell whose state cache works on partition 0's View.
func probeView(t *testing.T, appliedCache int64) (*state.Badger, *state.View, *Engine) {
	t.Helper()
	opts := state.DefaultOptions()
	opts.FlushEvery, opts.AppliedCacheSize = 0, appliedCache
	db, err := state.Open("", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	v := db.Partition(0)
	en := &Engine{cache: newStateCache()}
	en.useStore(v)
	return db, v, en
}

// commitView commits a batch as the service does: the engine's pending
// state into the View (Checkpoint), then the View's changes into Badger.
func commitView(t *testing.T, en *Engine, v *state.View) {
	t.Helper()
	if err := en.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := v.WriteCheckpoint(state.Checkpoint{ChangelogOffset: 1}); err != nil {
		t.Fatal(err)
	}
}

func loadProbe(t *testing.T, en *Engine) (*cacheProbe, []byte, bool) {
	t.Helper()
	st, raw, ok, err := loadStateRaw[cacheProbe](en, "q/k")
	if err != nil {
		t.Fatal(err)
	}
	return st, raw, ok
}

func saveProbe(t *testing.T, en *Engine, st *cacheProbe) {
	t.Helper()
	if err := saveState(en, "q/k", st); err != nil {
		t.Fatal(err)
	}
}

// TestStateCacheHitsAcrossCommit: the decoded state the engine saved is
// handed back after the write set was applied (the value the View returns
// is the slice put), as is state loaded and kept unchanged; without the
// View's cache of applied values it is decoded again, with the same value.
func TestStateCacheHitsAcrossCommit(t *testing.T) {
	for _, size := range []int64{32 << 20, 0} {
		t.Run(fmt.Sprintf("applied-cache=%d", size), func(t *testing.T) {
			_, v, en := probeView(t, size)
			saved := &cacheProbe{N: 1}
			saveProbe(t, en, saved)
			commitView(t, en, v)
			st, raw, ok := loadProbe(t, en)
			if !ok || st.N != 1 {
				t.Fatalf("after the commit: %+v, %v", st, ok)
			}
			if hit := st == saved; hit != (size > 0) {
				t.Fatalf("decoded state reused after the commit: %v, want %v", hit, size > 0)
			}
			keepState(en, "q/k", raw, st)
			commitView(t, en, v)
			again, _, _ := loadProbe(t, en)
			if hit := again == st; hit != (size > 0) {
				t.Fatalf("kept state reused after an empty commit: %v, want %v", hit, size > 0)
			}
		})
	}
}

// TestStateCacheAfterAbort: a state changed and saved in a batch that is
// then discarded (an aborted transaction) is not what the next load
// returns, though the engine's cache still holds it: the View returns the
// committed slice, which the cache does not match. The service reopens its
// engines after an abort, which drops the batch's pending records with
// them; here only the pending records go and the state cache stays, the
// harder case.
func TestStateCacheAfterAbort(t *testing.T) {
	_, v, en := probeView(t, 32<<20)
	saveProbe(t, en, &cacheProbe{N: 1})
	commitView(t, en, v)
	st, _, _ := loadProbe(t, en) // a hit: the committed decoded state
	st.N = 2                     // changed in place, as runners do
	saveProbe(t, en, st)
	if got, _, _ := loadProbe(t, en); got.N != 2 {
		t.Fatalf("within the batch: N = %d, want 2", got.N)
	} else {
		saveProbe(t, en, got)
	}
	if err := en.Sync(); err != nil { // the batch's Checkpoint, then the abort
		t.Fatal(err)
	}
	v.Discard()
	en.useStore(v)
	got, raw, ok := loadProbe(t, en)
	if !ok || got.N != 1 || string(raw) != `{"n":1}` {
		t.Fatalf("after the abort: %+v (%s), %v; want the committed N=1", got, raw, ok)
	}
	if got == st {
		t.Fatal("after the abort the load returned the aborted batch's decoded state")
	}
	// The next batch, and its commit, carry on from the committed state.
	got.N = 3
	saveProbe(t, en, got)
	commitView(t, en, v)
	if got, _, _ := loadProbe(t, en); got.N != 3 {
		t.Fatalf("after the next commit: N = %d, want 3", got.N)
	}
}

// TestStateCacheAfterDrop: after DropPartition the state is gone, though
// the engine's cache and the View's held it.
func TestStateCacheAfterDrop(t *testing.T) {
	db, v, en := probeView(t, 32<<20)
	saveProbe(t, en, &cacheProbe{N: 1})
	commitView(t, en, v)
	st, raw, _ := loadProbe(t, en)
	keepState(en, "q/k", raw, st)
	if err := db.DropPartition(0); err != nil {
		t.Fatal(err)
	}
	if got, raw, ok := loadProbe(t, en); ok || got.N != 0 {
		t.Fatalf("after DropPartition: %+v (%s), %v; want none", got, raw, ok)
	}
}

// TestStateCacheAfterRestore: changelog records written through the View
// (as restore writes them, after a DropPartition or over the local state)
// replace a state both caches held.
func TestStateCacheAfterRestore(t *testing.T) {
	for _, drop := range []bool{false, true} {
		t.Run(fmt.Sprintf("drop=%v", drop), func(t *testing.T) {
			db, v, en := probeView(t, 32<<20)
			saveProbe(t, en, &cacheProbe{N: 1})
			commitView(t, en, v)
			st, raw, _ := loadProbe(t, en)
			keepState(en, "q/k", raw, st)
			v.Discard()
			if drop {
				if err := db.DropPartition(0); err != nil {
					t.Fatal(err)
				}
			}
			if err := v.Put("q/k", []byte(`{"n":7}`)); err != nil {
				t.Fatal(err)
			}
			if err := v.Flush(); err != nil {
				t.Fatal(err)
			}
			commitView(t, en, v)
			if got, _, _ := loadProbe(t, en); got.N != 7 {
				t.Fatalf("after the restore: N = %d, want 7", got.N)
			}
			// A restored delete.
			if err := v.Delete("q/k"); err != nil {
				t.Fatal(err)
			}
			commitView(t, en, v)
			if got, _, ok := loadProbe(t, en); ok {
				t.Fatalf("after a restored delete: %+v", got)
			}
		})
	}
}

// alertPrints identifies alerts by rule, id, subject, summary and metrics,
// so that a baseline or count that differs shows.
func alertPrints(as []*schemas.Alert) string {
	var l []string
	for _, a := range as {
		m, _ := json.Marshal(a.Metrics)
		l = append(l, fmt.Sprintf("%s/%s %s %q %s", a.Rule.ID, a.ID, a.Subject, a.Summary, m))
	}
	sort.Strings(l)
	return strings.Join(l, "\n")
}

// TestEngineOnBadgerWithAbortsMatchesMemory runs the built-in pack over 35
// days of traffic with anomalies on a Badger View as the service does:
// batches committed with WriteCheckpoint, and one in three first aborted —
// processed together with other events that change the same keys (and
// would make the anomalies' first-seen and volume alerts differ), then
// discarded and the engine reopened — before it is processed again and
// committed. The alerts equal those of one run on the memory store: no
// state of an aborted attempt survives, in Badger or in a cache, with the
// cache of applied values large, small (evicting) or off.
func TestEngineOnBadgerWithAbortsMatchesMemory(t *testing.T) {
	g := newTraffic(4)
	g.steady(g.start, 35)
	at := g.start.Add(34*24*time.Hour + 10*time.Hour)
	leaked := g.cloudTrailBurst(at)
	events := g.sorted()
	rs := builtinRules(t)
	want := run(t, rs, events)
	if len(want) < 2 {
		t.Fatalf("reference run: %d alerts", len(want))
	}

	// poison returns the events of an aborted attempt: at the batch's last
	// event time, the leaked user and the steady principals doing what
	// would change their baselines and first-seen terms.
	pg := newTraffic(99)
	poison := func(last time.Time) []*schemas.Event {
		pg.events = pg.events[:0]
		for k := 0; k < 3; k++ {
			pg.add(last, map[string]any{"data_stream.dataset": "aws.cloudtrail",
				"event.action": "GetFoundationModel", "user.id": leaked, "cloud.account.id": acct})
			pg.add(last, map[string]any{"data_stream.dataset": "aws.cloudtrail",
				"event.action": "Converse", "user.id": principal(k), "cloud.account.id": acct,
				"gen_ai.request.model.id": "us.anthropic.claude-3-5-sonnet-20241022-v2:0"})
			pg.add(last, map[string]any{"data_stream.dataset": "aws_bedrock.invocation", "event.action": "InvokeModel",
				"user.id": principal(k), "cloud.account.id": acct, "gen_ai.request.model.id": "anthropic.claude-3-haiku-20240307-v1:0",
				"gen_ai.usage.prompt_tokens": 90000, "gen_ai.prompt": strings.Repeat("poison ", 500)})
		}
		return pg.events
	}

	sizes := []int64{32 << 20, 16 << 10, 0}
	if testing.Short() {
		sizes = sizes[:1]
	}
	for _, size := range sizes {
		t.Run(fmt.Sprintf("applied-cache=%d", size), func(t *testing.T) {
			opts := state.DefaultOptions()
			opts.FlushEvery, opts.AppliedCacheSize = 0, size
			db, err := state.Open("", opts)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			v := db.Partition(0)
			var got, attempt []*schemas.Alert
			emit := func(a *schemas.Alert) { attempt = append(attempt, a) }
			open := func() *Engine {
				en, err := New(rs, v, DefaultConfig(), emit)
				if err != nil {
					t.Fatal(err)
				}
				return en
			}
			en := open()
			rnd := rand.New(rand.NewPCG(uint64(size), 3))
			aborts := 0
			process := func(batch []*schemas.Event) {
				for _, e := range batch {
					if err := en.Process(e); err != nil {
						t.Fatal(err)
					}
				}
			}
			for i := 0; i < len(events); {
				n := 1 + rnd.IntN(60)
				batch := events[i:min(i+n, len(events))]
				i += len(batch)
				if rnd.IntN(3) == 0 {
					mixed := append(append([]*schemas.Event{}, batch[:len(batch)/2]...), poison(batch[len(batch)-1].Timestamp)...)
					process(append(mixed, batch[len(batch)/2:]...))
					if err := en.Checkpoint(); err != nil {
						t.Fatal(err)
					}
					v.Discard()
					en, attempt = open(), nil
					aborts++
				}
				process(batch)
				if i == len(events) {
					if err := en.Flush(); err != nil {
						t.Fatal(err)
					}
				}
				if err := en.Checkpoint(); err != nil {
					t.Fatal(err)
				}
				if err := v.WriteCheckpoint(state.Checkpoint{ChangelogOffset: int64(i)}); err != nil {
					t.Fatal(err)
				}
				got, attempt = append(got, attempt...), nil
			}
			if g, w := alertPrints(got), alertPrints(want); g != w {
				t.Fatalf("with %d aborted batches:\n%s\nmemory store, no aborts:\n%s", aborts, g, w)
			}
			t.Logf("%d alerts, %d batches aborted once", len(got), aborts)
		})
	}
}
