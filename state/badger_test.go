package state_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bedrockwatch/bedrockwatch/state"
)

func openTemp(t *testing.T, flushEvery int) (*state.Badger, string) {
	t.Helper()
	dir := t.TempDir()
	opts := testOptions()
	opts.FlushEvery = flushEvery
	db := openBadger(t, dir, opts)
	t.Cleanup(func() { db.Close() })
	return db, dir
}

func reopen(t *testing.T, db *state.Badger, dir string, flushEvery int) *state.Badger {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	opts.FlushEvery = flushEvery
	db = openBadger(t, dir, opts)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOverlayPendingWritesAndDiscard(t *testing.T) {
	db, _ := openTemp(t, 0)
	v := db.Partition(2)
	mustPut(t, v, "q/a", "stored-a", "q/b", "stored-b")
	if err := v.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := v.WriteSet().Len(); n != 0 {
		t.Fatalf("%d changes pending after Flush", n)
	}
	mustPut(t, v, "q/a", "pending-a", "q/c", "pending-c")
	mustDelete(t, v, "q/b")
	if v.WriteSet().Len() != 3 {
		t.Fatalf("pending %d, want 3", v.WriteSet().Len())
	}
	wantList(t, "with pending", scanAll(t, v, "q/"), "q/a=pending-a", "q/c=pending-c")
	if n, err := v.Count("q/"); err != nil || n != 2 {
		t.Fatalf("Count = %d, %v", n, err)
	}
	var changes []string
	v.WriteSet().Range(func(k string, val []byte, deleted bool) bool {
		changes = append(changes, fmt.Sprintf("%s=%s/%v", k, val, deleted))
		return true
	})
	wantList(t, "changes for the changelog", changes, "q/a=pending-a/false", "q/b=/true", "q/c=pending-c/false")

	v.Discard()
	wantList(t, "after Discard", scanAll(t, v, "q/"), "q/a=stored-a", "q/b=stored-b")
	if _, ok := mustGet(t, v, "q/c"); ok {
		t.Fatal("a discarded put is visible")
	}
}

func TestAutoFlushAndClose(t *testing.T) {
	t.Run("flush every N applies on its own and on Close", func(t *testing.T) {
		db, dir := openTemp(t, 3)
		v := db.Partition(0)
		mustPut(t, v, "a", "1", "b", "2")
		if v.WriteSet().Len() != 2 {
			t.Fatalf("pending %d, want 2", v.WriteSet().Len())
		}
		mustPut(t, v, "c", "3")
		if v.WriteSet().Len() != 0 {
			t.Fatalf("pending %d after the third change, want 0", v.WriteSet().Len())
		}
		mustPut(t, v, "d", "4") // pending at Close: applied
		db = reopen(t, db, dir, 3)
		wantList(t, "after reopen", scanAll(t, db.Partition(0), ""), "a=1", "b=2", "c=3", "d=4")
	})
	t.Run("manual flush discards at Close", func(t *testing.T) {
		db, dir := openTemp(t, 0)
		v := db.Partition(0)
		mustPut(t, v, "a", "1")
		v.Flush()
		mustPut(t, v, "b", "uncommitted")
		db = reopen(t, db, dir, 0)
		wantList(t, "after reopen", scanAll(t, db.Partition(0), ""), "a=1")
	})
	t.Run("use after Close", func(t *testing.T) {
		db, _ := openTemp(t, 0)
		v := db.Partition(0)
		db.Close()
		if _, _, err := v.Get("a"); !errors.Is(err, state.ErrClosed) {
			t.Fatalf("Get after Close: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
}

func TestNoApplyDuringScan(t *testing.T) {
	db, _ := openTemp(t, 1) // every change would apply at once
	v := db.Partition(0)
	mustPut(t, v, "k/1", "1", "k/2", "2")
	err := v.Scan("k/", func(k string, _ []byte) bool {
		mustPut(t, v, k+"x", "new") // no automatic apply inside a scan…
		if v.WriteSet().Len() == 0 {
			t.Error("changes applied inside a Scan")
		}
		if err := v.Flush(); err == nil { // …nor an explicit one
			t.Error("Flush inside a Scan succeeded")
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, v, "k/3", "3") // the next write after the scan applies
	if v.WriteSet().Len() != 0 {
		t.Fatalf("%d changes still pending after the scan", v.WriteSet().Len())
	}
	wantList(t, "keys", scanAll(t, v, "k/"), "k/1=1", "k/1x=new", "k/2=2", "k/2x=new", "k/3=3")

	// Misuse inside a scan is an error, or harmless — never a panic.
	err = v.Scan("k/", func(k string, _ []byte) bool {
		if err := v.WriteCheckpoint(state.Checkpoint{}); err == nil {
			t.Error("WriteCheckpoint inside a Scan succeeded")
		}
		v.Discard()
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	wantList(t, "keys after", scanAll(t, v, "k/"), "k/1=1", "k/1x=new", "k/2=2", "k/2x=new", "k/3=3")
}

func TestReservedKeys(t *testing.T) {
	db, _ := openTemp(t, 0)
	v := db.Partition(0)
	if err := v.WriteCheckpoint(state.Checkpoint{ChangelogOffset: 7}); err != nil {
		t.Fatal(err)
	}
	if err := v.Put("_meta", []byte("x")); err == nil {
		t.Fatal("Put of a reserved key succeeded")
	}
	if err := v.Delete("_meta"); err == nil {
		t.Fatal("Delete of a reserved key succeeded")
	}
	if _, _, err := v.Get("_meta"); err == nil {
		t.Fatal("Get of a reserved key succeeded")
	}
	mustPut(t, v, "a", "1")
	wantList(t, "Scan hides the checkpoint", scanAll(t, v, ""), "a=1")
}

func TestCheckpointRoundTrip(t *testing.T) {
	db, dir := openTemp(t, 0)
	v := db.Partition(3)
	if _, ok, err := v.ReadCheckpoint(); err != nil || ok {
		t.Fatalf("fresh partition has a checkpoint: %v, %v", ok, err)
	}
	wm := time.Date(2026, 2, 3, 2, 6, 44, 0, time.UTC)
	inputs := map[string]int64{"cloudtrail": 1200, "bedrock-invocations": 31}
	cp := state.Checkpoint{ChangelogOffset: 4411, Inputs: inputs, Watermark: wm}
	mustPut(t, v, "q/r/AKIA1", "state")
	mustDelete(t, v, "q/r/gone")
	if err := v.WriteCheckpoint(cp); err != nil {
		t.Fatal(err)
	}
	inputs["cloudtrail"] = 0 // the checkpoint does not alias the caller's map
	if v.WriteSet().Len() != 0 {
		t.Fatal("WriteCheckpoint left changes pending")
	}
	check := func(what string, v *state.View) {
		t.Helper()
		got, ok, err := v.ReadCheckpoint()
		if err != nil || !ok {
			t.Fatalf("%s: %v, %v", what, ok, err)
		}
		if got.Version != state.FormatVersion || got.ChangelogOffset != 4411 || !got.Watermark.Equal(wm) ||
			got.Inputs["cloudtrail"] != 1200 || got.Inputs["bedrock-invocations"] != 31 || len(got.Inputs) != 2 {
			t.Fatalf("%s: %+v", what, got)
		}
		if val, _ := mustGet(t, v, "q/r/AKIA1"); val != "state" {
			t.Fatalf("%s: the change written with the checkpoint is missing", what)
		}
	}
	check("same store", v)
	db = reopen(t, db, dir, 0)
	check("after reopen", db.Partition(3))
	if _, ok, _ := db.Partition(4).ReadCheckpoint(); ok {
		t.Fatal("partition 4 has partition 3's checkpoint")
	}
	if err := db.DropPartition(3); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.Partition(3).ReadCheckpoint(); ok {
		t.Fatal("DropPartition kept the checkpoint")
	}
}

func TestOpenLockedDirectory(t *testing.T) {
	db, dir := openTemp(t, 0)
	_ = db
	_, err := state.Open(dir, testOptions())
	if !errors.Is(err, state.ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Fatalf("error does not name the directory: %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := state.DefaultOptions().Validate(); err != nil {
		t.Fatal(err)
	}
	o := state.Options{NumCompactors: 1, FlushEvery: -1}
	err := o.Validate()
	if err == nil {
		t.Fatal("zero options validate")
	}
	for _, want := range []string{"mem_table_size", "table_size", "num_memtables", "block_cache_size", "value_log_file_size", "num_compactors", "flush_every"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate does not report %s: %v", want, err)
		}
	}
	if _, err := state.Open(t.TempDir(), o); err == nil {
		t.Fatal("Open accepted invalid options")
	}
}

// TestCloseLeaksNoGoroutines: everything Badger starts (compactors, caches,
// watermarks, the value-log GC loop) ends with Close.
func TestCloseLeaksNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, dir := range []string{t.TempDir(), ""} {
		db, err := state.Open(dir, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		v := db.Partition(0)
		for i := 0; i < 5000; i++ {
			mustPut(t, v, fmt.Sprintf("q/%05d", i), "value")
		}
		scanAll(t, v, "q/")
		ctx, cancel := context.WithCancel(context.Background())
		gcDone := make(chan error)
		go func() { gcDone <- db.RunGC(ctx, time.Millisecond) }()
		time.Sleep(20 * time.Millisecond)
		cancel()
		if err := <-gcDone; err != nil {
			t.Fatalf("RunGC: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("%d goroutines before Open, %d after Close:\n%s", before, n, buf)
	}
}

func TestSize(t *testing.T) {
	db, dir := openTemp(t, 1000)
	v := db.Partition(0)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		val := make([]byte, 100) // incompressible
		for j := range val {
			val[j] = byte(rnd.Uint32())
		}
		if err := v.Put(fmt.Sprintf("q/rule/AKIA%016d", i), val); err != nil {
			t.Fatal(err)
		}
	}
	db = reopen(t, db, dir, 1000) // Close writes the memtables out as tables
	lsm, vlog := db.Size()
	if lsm < 20000*100 || vlog < 0 || vlog > 1<<20 {
		t.Fatalf("Size = %d, %d for 20,000 keys of 100 random bytes", lsm, vlog)
	}
	t.Logf("20,000 keys: LSM %d bytes (%.0f bytes/key), value log %d bytes", lsm, float64(lsm)/20000, vlog)
}

func TestQuietLogger(t *testing.T) {
	var buf bytes.Buffer
	opts := testOptions()
	opts.Logger = slog.New(slog.NewTextHandler(&buf, nil))
	db, err := state.Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if buf.Len() != 0 {
		t.Fatalf("Badger logged at the default level (Warn):\n%s", buf.String())
	}
	opts.LogLevel = slog.LevelInfo
	db, err = state.Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if !strings.Contains(buf.String(), "component=badger") {
		t.Fatalf("no Badger messages at Info:\n%s", buf.String())
	}
}
