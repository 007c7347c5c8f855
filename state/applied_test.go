package state_test

import (
	"fmt"
	"sync"
	"testing"
	"unsafe"

	"github.com/bedrockwatch/bedrockwatch/state"
)

// same reports whether a and b are the very same slice.
func same(a, b []byte) bool {
	return len(a) == len(b) && len(a) > 0 && unsafe.SliceData(a) == unsafe.SliceData(b)
}

func getRaw(t *testing.T, v *state.View, key string) ([]byte, bool) {
	t.Helper()
	val, ok, err := v.Get(key)
	if err != nil {
		t.Fatal(err)
	}
	return val, ok
}

// commit applies v's pending changes as the service does after a Kafka
// transaction committed.
func commit(t *testing.T, v *state.View, offset int64) {
	t.Helper()
	if err := v.WriteCheckpoint(state.Checkpoint{ChangelogOffset: offset}); err != nil {
		t.Fatal(err)
	}
}

// TestAppliedValueIsReturnedAsPut: after WriteCheckpoint applied a value,
// Get returns the slice that was put (what lets the engine's decoded-state
// cache hit across commits); a value read from Badger comes back as the
// same slice on the next Get too. With the cache off, the values are still
// right.
func TestAppliedValueIsReturnedAsPut(t *testing.T) {
	for _, size := range []int64{32 << 20, 0} {
		t.Run(fmt.Sprintf("cache=%d", size), func(t *testing.T) {
			opts := testOptions()
			opts.FlushEvery, opts.AppliedCacheSize = 0, size
			db := openBadger(t, t.TempDir(), opts)
			t.Cleanup(func() { db.Close() })
			v := db.Partition(0)
			put := []byte(`{"n":1}`)
			if err := v.Put("q/a", put); err != nil {
				t.Fatal(err)
			}
			commit(t, v, 0)
			got, ok := getRaw(t, v, "q/a")
			if !ok || string(got) != `{"n":1}` {
				t.Fatalf("Get = %q, %v", got, ok)
			}
			if size > 0 && !same(got, put) {
				t.Fatal("Get after the commit returned a copy, not the slice put")
			}
			// A key applied empty, and a missing one.
			mustPut(t, v, "x/empty", "")
			commit(t, v, 1)
			if got, ok := getRaw(t, v, "x/empty"); !ok || len(got) != 0 {
				t.Fatalf("empty value: %q, %v", got, ok)
			}
			if _, ok := getRaw(t, v, "q/missing"); ok {
				t.Fatal("missing key found")
			}
			if size > 0 {
				// Evicted or never cached: read from Badger, then kept.
				db.Close()
				db = openBadger(t, db.Dir(), opts)
				v = db.Partition(0)
				first, _ := getRaw(t, v, "q/a")
				second, _ := getRaw(t, v, "q/a")
				if string(first) != `{"n":1}` || !same(first, second) {
					t.Fatalf("reads from Badger: %q then %q (same slice %v)", first, second, same(first, second))
				}
			}
		})
	}
}

// TestAbortedChangesAreNotCached: a change put and discarded (an aborted
// transaction) is never returned after the Discard, whether the key had an
// applied value (cached) or none.
func TestAbortedChangesAreNotCached(t *testing.T) {
	db, _ := openTemp(t, 0)
	v := db.Partition(0)
	mustPut(t, v, "q/a", "committed-a")
	commit(t, v, 0)
	getRaw(t, v, "q/a") // cached
	mustPut(t, v, "q/a", "aborted-a", "q/b", "aborted-b")
	mustDelete(t, v, "q/a")
	mustPut(t, v, "q/a", "aborted-a2")
	if got, _ := getRaw(t, v, "q/a"); string(got) != "aborted-a2" {
		t.Fatalf("pending value not seen: %q", got)
	}
	v.Discard()
	if got, ok := getRaw(t, v, "q/a"); !ok || string(got) != "committed-a" {
		t.Fatalf("after Discard: q/a = %q, %v; want the committed value", got, ok)
	}
	if got, ok := getRaw(t, v, "q/b"); ok {
		t.Fatalf("after Discard: q/b = %q, want absent", got)
	}
	// An aborted delete of a cached key.
	mustDelete(t, v, "q/a")
	v.Discard()
	if got, ok := getRaw(t, v, "q/a"); !ok || string(got) != "committed-a" {
		t.Fatalf("after a discarded delete: q/a = %q, %v", got, ok)
	}
}

// TestAppliedDeleteAndOverwriteReplaceCachedValues: a committed delete or
// overwrite of a cached key — the engine's, or restore's changelog records
// put through the View — is what Get returns next, and so is an empty
// value (not cached, but it must drop the cached one).
func TestAppliedDeleteAndOverwriteReplaceCachedValues(t *testing.T) {
	db, _ := openTemp(t, 0)
	v := db.Partition(0)
	mustPut(t, v, "q/a", "one", "q/b", "one", "q/c", "one")
	commit(t, v, 0)
	for _, k := range []string{"q/a", "q/b", "q/c"} {
		getRaw(t, v, k)
	}
	mustDelete(t, v, "q/a")
	mustPut(t, v, "q/b", "two", "q/c", "")
	commit(t, v, 1)
	if got, ok := getRaw(t, v, "q/a"); ok {
		t.Fatalf("deleted q/a = %q", got)
	}
	if got, _ := getRaw(t, v, "q/b"); string(got) != "two" {
		t.Fatalf("q/b = %q, want two", got)
	}
	if got, ok := getRaw(t, v, "q/c"); !ok || len(got) != 0 {
		t.Fatalf("q/c = %q, %v, want empty", got, ok)
	}
	// Restore's way: records put through the View, applied by Flush, then
	// the checkpoint.
	mustPut(t, v, "q/b", "restored")
	if err := v.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, _ := getRaw(t, v, "q/b"); string(got) != "restored" {
		t.Fatalf("after a restore: q/b = %q", got)
	}
}

// TestDropPartitionForgetsCachedValues: after DropPartition (an unusable
// checkpoint, an aged warm cache), no value of the partition is returned,
// from the cache or otherwise, and the other partitions keep theirs.
func TestDropPartitionForgetsCachedValues(t *testing.T) {
	db, _ := openTemp(t, 0)
	v1, v2 := db.Partition(1), db.Partition(2)
	for _, v := range []*state.View{v1, v2} {
		mustPut(t, v, "q/a", fmt.Sprintf("p%d", v.Partition()))
		commit(t, v, 0)
		getRaw(t, v, "q/a")
	}
	if err := db.DropPartition(1); err != nil {
		t.Fatal(err)
	}
	if got, ok := getRaw(t, v1, "q/a"); ok {
		t.Fatalf("dropped partition still returns q/a = %q", got)
	}
	if got, _ := getRaw(t, v2, "q/a"); string(got) != "p2" {
		t.Fatalf("partition 2: q/a = %q", got)
	}
	// Restored from scratch: the new values.
	mustPut(t, v1, "q/a", "restored")
	commit(t, v1, 5)
	if got, _ := getRaw(t, v1, "q/a"); string(got) != "restored" {
		t.Fatalf("restored partition: q/a = %q", got)
	}
}

// TestAppliedCacheIsBounded: far more state than the cache holds is
// applied and read back; the cache stays within AppliedCacheSize and every
// value read is right (evicted ones from Badger).
func TestAppliedCacheIsBounded(t *testing.T) {
	const limit = 256 << 10
	opts := testOptions()
	opts.FlushEvery, opts.AppliedCacheSize = 0, limit
	db := openBadger(t, "", opts)
	defer db.Close()
	views := []*state.View{db.Partition(0), db.Partition(1)}
	val := func(i, gen int) string { return fmt.Sprintf("%06d-%d-%0500d", i, gen, 0) }
	const keys = 4000 // about 2.5 MiB of values
	for gen := 0; gen < 3; gen++ {
		for i := 0; i < keys; i++ {
			v := views[i%2]
			k := fmt.Sprintf("q/%06d", i)
			if gen > 0 {
				if got, _ := getRaw(t, v, k); string(got) != val(i, gen-1) {
					t.Fatalf("gen %d: %s = %.20q, want %.20q", gen, k, got, val(i, gen-1))
				}
			}
			mustPut(t, v, k, val(i, gen))
			if i%100 == 99 {
				commit(t, views[0], int64(i))
				commit(t, views[1], int64(i))
			}
		}
		if n, b := db.AppliedCacheSize(); b > limit || n == 0 {
			t.Fatalf("gen %d: cache holds %d entries, %d bytes; limit %d", gen, n, b, limit)
		} else {
			t.Logf("gen %d: cache holds %d entries, %d bytes", gen, n, b)
		}
	}
	if err := db.DropPartition(0); err != nil {
		t.Fatal(err)
	}
	if err := db.DropPartition(1); err != nil {
		t.Fatal(err)
	}
	if n, b := db.AppliedCacheSize(); n != 0 || b != 0 {
		t.Fatalf("after dropping every partition the cache holds %d entries, %d bytes", n, b)
	}
}

// TestAppliedCacheConcurrentViews: Views of different partitions used from
// their own goroutines share the cache (run with -race).
func TestAppliedCacheConcurrentViews(t *testing.T) {
	opts := testOptions()
	opts.FlushEvery, opts.AppliedCacheSize = 0, 64<<10
	db := openBadger(t, "", opts)
	defer db.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for p := int32(0); p < 4; p++ {
		v := db.Partition(p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				k := fmt.Sprintf("q/%03d", i%300)
				want := fmt.Sprintf("p%d-%d", p, i-300)
				got, ok, err := v.Get(k)
				if err == nil && i >= 300 && (!ok || string(got) != want) {
					err = fmt.Errorf("partition %d: %s = %q, want %q", p, k, got, want)
				}
				if err == nil {
					err = v.Put(k, []byte(fmt.Sprintf("p%d-%d", p, i)))
				}
				if err == nil && i%7 == 0 {
					err = v.WriteCheckpoint(state.Checkpoint{ChangelogOffset: int64(i)})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestAppliedCacheSizeValidated(t *testing.T) {
	o := testOptions()
	o.AppliedCacheSize = -1
	if err := o.Validate(); err == nil {
		t.Fatal("negative applied_cache_size accepted")
	}
}

// TestAppliedCacheSkipsWindows: a value that is a window on a larger buffer
// (a record of a fetched batch, as restore puts them) is not kept, so the
// cache does not hold the buffer alive; it is still read right.
func TestAppliedCacheSkipsWindows(t *testing.T) {
	db, _ := openTemp(t, 0)
	v := db.Partition(0)
	buf := make([]byte, 1<<20)
	copy(buf, "windowed")
	if err := v.Put("q/w", buf[:8]); err != nil {
		t.Fatal(err)
	}
	commit(t, v, 0)
	if n, b := db.AppliedCacheSize(); n != 0 || b != 0 {
		t.Fatalf("cache holds %d entries, %d bytes after applying a window on 1 MiB", n, b)
	}
	got, ok := getRaw(t, v, "q/w")
	if !ok || string(got) != "windowed" || same(got, buf[:8]) {
		t.Fatalf("Get = %q, %v (same slice %v)", got, ok, same(got, buf[:8]))
	}
	if n, _ := db.AppliedCacheSize(); n != 1 {
		t.Fatalf("the value read from Badger was not kept: %d entries", n)
	}
}
