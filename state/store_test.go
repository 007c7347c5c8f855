package state_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/bedrockwatch/bedrockwatch/processor"
	"github.com/bedrockwatch/bedrockwatch/state"
)

// Both stores are the engine's Store.
var (
	_ processor.Store = (*state.Memory)(nil)
	_ processor.Store = (*state.View)(nil)
)

// harness is one store implementation under the contract tests: partition p's
// store, flushing pending changes, reopening, dropping a partition.
type harness interface {
	store(p int32) processor.Store
	flush(t *testing.T)
	reopen(t *testing.T)
	drop(t *testing.T, p int32)
}

type backend struct {
	name    string
	durable bool // data survives reopen
	open    func(t *testing.T) harness
}

type memHarness struct{ m map[int32]*state.Memory }

func (h *memHarness) store(p int32) processor.Store {
	if h.m[p] == nil {
		h.m[p] = state.NewMemory()
	}
	return h.m[p]
}
func (h *memHarness) flush(*testing.T)           {}
func (h *memHarness) reopen(*testing.T)          {}
func (h *memHarness) drop(_ *testing.T, p int32) { delete(h.m, p) }

type badgerHarness struct {
	dir  string
	opts state.Options
	db   *state.Badger
}

func openBadger(t testing.TB, dir string, opts state.Options) *state.Badger {
	t.Helper()
	db, err := state.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func newBadgerHarness(t *testing.T, inMemory bool, flushEvery int) harness {
	opts := testOptions()
	opts.FlushEvery = flushEvery
	return newBadgerHarnessOpts(t, inMemory, opts)
}

func newBadgerHarnessOpts(t *testing.T, inMemory bool, opts state.Options) harness {
	h := &badgerHarness{opts: opts}
	if !inMemory {
		h.dir = t.TempDir()
	}
	h.db = openBadger(t, h.dir, opts)
	t.Cleanup(func() {
		if err := h.db.Close(); err != nil {
			t.Error(err)
		}
	})
	return h
}

func (h *badgerHarness) store(p int32) processor.Store { return h.db.Partition(p) }

func (h *badgerHarness) flush(t *testing.T) {
	t.Helper()
	for _, p := range []int32{0, 1, 10} {
		if err := h.db.Partition(p).Flush(); err != nil {
			t.Fatal(err)
		}
	}
}

func (h *badgerHarness) reopen(t *testing.T) {
	t.Helper()
	h.flush(t)
	if err := h.db.Close(); err != nil {
		t.Fatal(err)
	}
	h.db = openBadger(t, h.dir, h.opts)
}

func (h *badgerHarness) drop(t *testing.T, p int32) {
	t.Helper()
	if err := h.db.DropPartition(p); err != nil {
		t.Fatal(err)
	}
}

// testOptions are the options of the tests: the defaults.
func testOptions() state.Options { return state.DefaultOptions() }

var backends = []backend{
	{name: "memory", open: func(*testing.T) harness { return &memHarness{m: map[int32]*state.Memory{}} }},
	// Every change stays pending until the harness flushes: reads go
	// through the overlay.
	{name: "badger-overlay", durable: true, open: func(t *testing.T) harness { return newBadgerHarness(t, false, 0) }},
	// The View applies every 3 changes on its own: reads mix applied and
	// pending changes.
	{name: "badger-flush3", durable: true, open: func(t *testing.T) harness { return newBadgerHarness(t, false, 3) }},
	{name: "badger-flush1", durable: true, open: func(t *testing.T) harness { return newBadgerHarness(t, false, 1) }},
	{name: "badger-inmemory", open: func(t *testing.T) harness { return newBadgerHarness(t, true, 3) }},
	// Without the cache of applied values every read of an applied key
	// goes to Badger.
	{name: "badger-nocache", durable: true, open: func(t *testing.T) harness {
		opts := testOptions()
		opts.FlushEvery, opts.AppliedCacheSize = 3, 0
		return newBadgerHarnessOpts(t, false, opts)
	}},
}

func mustGet(t *testing.T, s processor.Store, key string) (string, bool) {
	t.Helper()
	v, ok, err := s.Get(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(v), ok
}

func mustPut(t *testing.T, s processor.Store, kv ...string) {
	t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		if err := s.Put(kv[i], []byte(kv[i+1])); err != nil {
			t.Fatal(err)
		}
	}
}

func mustDelete(t *testing.T, s processor.Store, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if err := s.Delete(k); err != nil {
			t.Fatal(err)
		}
	}
}

// scanAll returns "key=value" for every key with prefix.
func scanAll(t *testing.T, s processor.Store, prefix string) []string {
	t.Helper()
	var out []string
	if err := s.Scan(prefix, func(k string, v []byte) bool {
		out = append(out, k+"="+string(v))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func wantList(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// contract is the Store behaviour every implementation shares. Each case runs
// on a fresh store; h.flush moves pending changes into Badger so that a case
// sees keys both applied and pending.
var contract = []struct {
	name    string
	durable bool
	run     func(t *testing.T, h harness)
}{
	{name: "get missing", run: func(t *testing.T, h harness) {
		if v, ok := mustGet(t, h.store(0), "q/none"); ok || v != "" {
			t.Fatalf("missing key: %q, %v", v, ok)
		}
	}},
	{name: "put, get, overwrite", run: func(t *testing.T, h harness) {
		s := h.store(0)
		mustPut(t, s, "k", "v1")
		if v, ok := mustGet(t, s, "k"); !ok || v != "v1" {
			t.Fatalf("after put: %q, %v", v, ok)
		}
		h.flush(t)
		mustPut(t, s, "k", "v2")
		if v, _ := mustGet(t, s, "k"); v != "v2" {
			t.Fatalf("after overwrite (pending over applied): %q", v)
		}
		h.flush(t)
		if v, _ := mustGet(t, s, "k"); v != "v2" {
			t.Fatalf("after overwrite (applied): %q", v)
		}
		mustPut(t, s, "empty", "")
		if v, ok := mustGet(t, s, "empty"); !ok || v != "" {
			t.Fatalf("empty value: %q, %v", v, ok)
		}
	}},
	{name: "delete", run: func(t *testing.T, h harness) {
		s := h.store(0)
		mustPut(t, s, "a", "1", "b", "2")
		h.flush(t)
		mustDelete(t, s, "a", "never-existed")
		if _, ok := mustGet(t, s, "a"); ok {
			t.Fatal("deleted key (applied, delete pending) still there")
		}
		mustPut(t, s, "c", "3")
		mustDelete(t, s, "c")
		if _, ok := mustGet(t, s, "c"); ok {
			t.Fatal("deleted key (put and delete pending) still there")
		}
		h.flush(t)
		if _, ok := mustGet(t, s, "a"); ok {
			t.Fatal("deleted key back after flush")
		}
		wantList(t, "keys after deletes", scanAll(t, s, ""), "b=2")
		mustPut(t, s, "a", "again")
		if v, _ := mustGet(t, s, "a"); v != "again" {
			t.Fatalf("put after delete: %q", v)
		}
	}},
	{name: "scan order and prefix", run: func(t *testing.T, h harness) {
		s := h.store(0)
		mustPut(t, s, "x/0003/q", "c", "b/1", "-", "x/0001/q", "a")
		h.flush(t)
		mustPut(t, s, "x/0002/q", "b", "x", "no slash", "x/", "bare", "xa/1", "-", "x/0004/q", "d")
		wantList(t, "Scan(x/)", scanAll(t, s, "x/"), "x/=bare", "x/0001/q=a", "x/0002/q=b", "x/0003/q=c", "x/0004/q=d")
		wantList(t, "Scan(x/000)", scanAll(t, s, "x/000"), "x/0001/q=a", "x/0002/q=b", "x/0003/q=c", "x/0004/q=d")
		wantList(t, "Scan(nothing)", scanAll(t, s, "y/"))
		wantList(t, "Scan(\"\")", scanAll(t, s, ""), "b/1=-", "x=no slash", "x/=bare", "x/0001/q=a", "x/0002/q=b", "x/0003/q=c", "x/0004/q=d", "xa/1=-")
	}},
	{name: "scan stops early", run: func(t *testing.T, h harness) {
		s := h.store(0)
		for i := 0; i < 20; i++ {
			mustPut(t, s, fmt.Sprintf("k/%02d", i), "v")
			if i == 9 {
				h.flush(t)
			}
		}
		var seen []string
		if err := s.Scan("k/", func(k string, _ []byte) bool {
			seen = append(seen, k)
			return len(seen) < 3
		}); err != nil {
			t.Fatal(err)
		}
		wantList(t, "visited", seen, "k/00", "k/01", "k/02")
	}},
	{name: "scan while put and delete", run: func(t *testing.T, h harness) {
		s := h.store(0)
		mustPut(t, s, "k/1", "1", "k/3", "3", "k/5", "5")
		h.flush(t)
		mustPut(t, s, "k/2", "2", "k/4", "4", "k/6", "6")
		mustDelete(t, s, "k/6") // absent when the scan starts
		var seen []string
		if err := s.Scan("k/", func(k string, v []byte) bool {
			seen = append(seen, k+"="+string(v))
			if k == "k/2" {
				// The engine's sweep deletes and rewrites keys as it goes.
				mustDelete(t, s, "k/2", "k/4", "k/5")
				mustPut(t, s, "k/3", "3'", "k/2a", "new", "k/9", "new", "k/6", "back", "k/5", "5'")
			}
			return true
		}); err != nil {
			t.Fatal(err)
		}
		// Keys present at the start, each with its value when visited;
		// keys deleted before their turn skipped; new keys not visited.
		wantList(t, "visited", seen, "k/1=1", "k/2=2", "k/3=3'", "k/5=5'")
		wantList(t, "after", scanAll(t, s, "k/"), "k/1=1", "k/2a=new", "k/3=3'", "k/5=5'", "k/6=back", "k/9=new")
		h.flush(t)
		wantList(t, "after flush", scanAll(t, s, "k/"), "k/1=1", "k/2a=new", "k/3=3'", "k/5=5'", "k/6=back", "k/9=new")
	}},
	{name: "many keys", run: func(t *testing.T, h harness) {
		s := h.store(0)
		var want []string
		for i := 999; i >= 0; i-- { // written in descending order
			k := fmt.Sprintf("q/r/%04d", i)
			mustPut(t, s, k, fmt.Sprint(i))
			if i%3 == 0 {
				mustDelete(t, s, k)
			} else {
				want = append(want, k+"="+fmt.Sprint(i))
			}
			if i%250 == 0 {
				h.flush(t)
			}
		}
		slices.Sort(want)
		wantList(t, "scan", scanAll(t, s, "q/"), want...)
	}},
	{name: "reopen after close keeps data", durable: true, run: func(t *testing.T, h harness) {
		mustPut(t, h.store(0), "q/a", "1", "q/b", "2")
		mustPut(t, h.store(1), "q/a", "p1")
		mustDelete(t, h.store(0), "q/b")
		h.reopen(t)
		wantList(t, "partition 0", scanAll(t, h.store(0), ""), "q/a=1")
		wantList(t, "partition 1", scanAll(t, h.store(1), ""), "q/a=p1")
		mustPut(t, h.store(0), "q/c", "3")
		h.reopen(t)
		wantList(t, "partition 0 again", scanAll(t, h.store(0), ""), "q/a=1", "q/c=3")
	}},
	{name: "partitions are isolated", run: func(t *testing.T, h harness) {
		mustPut(t, h.store(1), "q/k", "one")
		h.flush(t)
		mustPut(t, h.store(10), "q/k", "ten", "q/only10", "x")
		mustPut(t, h.store(0), "q/k", "zero")
		if v, _ := mustGet(t, h.store(1), "q/k"); v != "one" {
			t.Fatalf("partition 1 sees %q", v)
		}
		wantList(t, "partition 1 (p1/ is not a prefix of p10/)", scanAll(t, h.store(1), ""), "q/k=one")
		wantList(t, "partition 10", scanAll(t, h.store(10), ""), "q/k=ten", "q/only10=x")
		mustDelete(t, h.store(0), "q/k")
		if v, _ := mustGet(t, h.store(10), "q/k"); v != "ten" {
			t.Fatalf("a delete in partition 0 reached partition 10: %q", v)
		}
	}},
	{name: "drop partition", run: func(t *testing.T, h harness) {
		mustPut(t, h.store(0), "q/k", "zero")
		mustPut(t, h.store(1), "q/k", "one", "x/1", "")
		mustPut(t, h.store(10), "q/k", "ten")
		h.flush(t)
		mustPut(t, h.store(1), "q/pending", "p")
		h.drop(t, 1)
		wantList(t, "dropped partition", scanAll(t, h.store(1), ""))
		if _, ok := mustGet(t, h.store(1), "q/pending"); ok {
			t.Fatal("a pending change of the dropped partition survived")
		}
		wantList(t, "partition 0", scanAll(t, h.store(0), ""), "q/k=zero")
		wantList(t, "partition 10", scanAll(t, h.store(10), ""), "q/k=ten")
		mustPut(t, h.store(1), "q/k", "reborn")
		wantList(t, "partition 1 reused", scanAll(t, h.store(1), ""), "q/k=reborn")
	}},
}

func TestStoreContract(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, c := range contract {
				t.Run(c.name, func(t *testing.T) {
					if c.durable && !b.durable {
						t.Skip("the store does not outlive its process")
					}
					c.run(t, b.open(t))
				})
			}
		})
	}
}
