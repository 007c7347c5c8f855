package state_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/bedrockwatch/bedrockwatch/processor"
	"github.com/bedrockwatch/bedrockwatch/state"
)

// naiveStore is the reference the stores are checked against: a map whose
// Scan sorts a snapshot of the keys and reads each value when visited.
type naiveStore struct{ m map[string][]byte }

func (s *naiveStore) Get(k string) ([]byte, bool, error) { v, ok := s.m[k]; return v, ok, nil }
func (s *naiveStore) Put(k string, v []byte) error       { s.m[k] = v; return nil }
func (s *naiveStore) Delete(k string) error              { delete(s.m, k); return nil }
func (s *naiveStore) Scan(prefix string, fn func(string, []byte) bool) error {
	var keys []string
	for k := range s.m {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v, ok := s.m[k]; ok && !fn(k, v) {
			break
		}
	}
	return nil
}

// TestStoresAgreeWithReference runs the same random operations — including
// scans whose callback puts and deletes, and early stops — on Memory, on a
// Badger View applying every few changes, and on the reference, and compares
// every result.
func TestStoresAgreeWithReference(t *testing.T) {
	db := openBadger(t, "", func() state.Options { o := testOptions(); o.FlushEvery = 7; return o }())
	t.Cleanup(func() { db.Close() })
	stores := []struct {
		name string
		s    processor.Store
	}{{"memory", state.NewMemory()}, {"badger", db.Partition(0)}}
	ref := &naiveStore{m: map[string][]byte{}}
	rnd := rand.New(rand.NewPCG(7, 11))
	key := func() string {
		// Few prefixes and a small key space, so that operations collide.
		return fmt.Sprintf("%s/%03d", []string{"x", "q", "q/a", "s"}[rnd.IntN(4)], rnd.IntN(400))
	}
	// ops is a deterministic script, replayed on each store.
	type op struct {
		kind    int // 0 put, 1 delete, 2 get, 3 scan
		key     string
		val     string
		stop    int      // scan: stop after this many visits (0: never)
		mutate  []string // scan: keys to put or delete during the scan
		mutateP []bool   // true: put
	}
	var ops []op
	for i := 0; i < 20000; i++ {
		o := op{kind: rnd.IntN(10), key: key(), val: fmt.Sprint(i)}
		switch {
		case o.kind < 5:
			o.kind = 0
		case o.kind < 7:
			o.kind = 1
		case o.kind < 9:
			o.kind = 2
		default:
			o.kind = 3
			o.key = []string{"", "x/", "q/", "q/a", "s/0", "x/1"}[rnd.IntN(6)]
			if rnd.IntN(3) == 0 {
				o.stop = 1 + rnd.IntN(50)
			}
			for j := rnd.IntN(8); j > 0; j-- {
				k := key()
				if rnd.IntN(2) == 0 { // a key the scan may still visit
					k = o.key + k[strings.IndexByte(k, '/')+1:]
				}
				if rnd.IntN(3) == 0 { // deleted, then back
					o.mutate = append(o.mutate, k)
					o.mutateP = append(o.mutateP, false)
				}
				o.mutate = append(o.mutate, k)
				o.mutateP = append(o.mutateP, rnd.IntN(2) == 0)
			}
		}
		ops = append(ops, o)
	}
	run := func(s processor.Store) []string {
		var out []string
		for i, o := range ops {
			switch o.kind {
			case 0:
				if err := s.Put(o.key, []byte(o.val)); err != nil {
					t.Fatal(err)
				}
			case 1:
				if err := s.Delete(o.key); err != nil {
					t.Fatal(err)
				}
			case 2:
				v, ok, err := s.Get(o.key)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, fmt.Sprintf("%d get %s=%s/%v", i, o.key, v, ok))
			case 3:
				n := 0
				err := s.Scan(o.key, func(k string, v []byte) bool {
					out = append(out, fmt.Sprintf("%d scan %s=%s", i, k, v))
					if n < len(o.mutate) { // one change per visit
						if o.mutateP[n] {
							s.Put(o.mutate[n], []byte(fmt.Sprint(i, "m")))
						} else {
							s.Delete(o.mutate[n])
						}
					}
					n++
					return o.stop == 0 || n < o.stop
				})
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		var final []string
		s.Scan("", func(k string, v []byte) bool { final = append(final, k+"="+string(v)); return true })
		return append(out, final...)
	}
	want := run(ref)
	for _, st := range stores {
		got := run(st.s)
		if !slices.Equal(got, want) {
			for i := range min(len(got), len(want)) {
				if got[i] != want[i] {
					t.Fatalf("%s: first difference at result %d: got %q, want %q", st.name, i, got[i], want[i])
				}
			}
			t.Fatalf("%s: %d results, want %d", st.name, len(got), len(want))
		}
	}
}

// BenchmarkMemoryScanEarlyStop: the engine's sweep on a large store — a
// Scan of the expiry index that stops at the first key not yet due.
func BenchmarkMemoryScanEarlyStop(b *testing.B) {
	s := state.NewMemory()
	for i := 0; i < 1_000_000; i++ {
		s.Put(fmt.Sprintf("x/%016x/q/r/AKIA%016d", i, i), nil)
		s.Put(fmt.Sprintf("q/r/AKIA%016d", i), []byte("state"))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		s.Scan("x/", func(string, []byte) bool { n++; return n < 3 })
	}
}
