package state_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/bedrockwatch/bedrockwatch/processor"
	"github.com/bedrockwatch/bedrockwatch/state"
)

// benchStores opens each store under benchmark: the in-memory map, Badger in
// memory, and Badger on disk.
func benchStores(b *testing.B, fn func(b *testing.B, s processor.Store)) {
	b.Run("memory", func(b *testing.B) { fn(b, state.NewMemory()) })
	for _, disk := range []bool{false, true} {
		name := "badger-inmemory"
		if disk {
			name = "badger-disk"
		}
		b.Run(name, func(b *testing.B) {
			dir := ""
			if disk {
				dir = b.TempDir()
			}
			db := openBadger(b, dir, state.DefaultOptions())
			defer db.Close()
			v := db.Partition(0)
			fn(b, v)
			if err := v.Flush(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkBadgerStore: what the engine does per stateful event — read a
// group's state, write it back, and move its expiry entry (Get, Put, Delete,
// Put) — over 100,000 groups, with the View applying every FlushEvery
// changes.
func BenchmarkBadgerStore(b *testing.B) {
	const groups = 100_000
	benchStores(b, func(b *testing.B, s processor.Store) {
		rnd := rand.New(rand.NewPCG(1, 2))
		value := make([]byte, 480) // a sequence candidate's JSON is about this size
		for i := range value {
			value[i] = "abcdefghijklmnopqrstuvwxyz0123456789\":,{}"[rnd.IntN(41)]
		}
		deadline := make([]int64, groups)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			g := rnd.IntN(groups)
			key := fmt.Sprintf("q/bedrock-enumeration-then-invocation-long-term-key/AKIA%016d", g)
			if _, _, err := s.Get(key); err != nil {
				b.Fatal(err)
			}
			v := append([]byte(nil), value...)
			if err := s.Put(key, v); err != nil {
				b.Fatal(err)
			}
			if d := deadline[g]; d != 0 {
				if err := s.Delete(fmt.Sprintf("x/%016x/%s", d, key)); err != nil {
					b.Fatal(err)
				}
			}
			deadline[g] = int64(1e12 + i)
			if err := s.Put(fmt.Sprintf("x/%016x/%s", deadline[g], key), []byte{}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
