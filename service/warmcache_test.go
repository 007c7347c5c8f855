package service

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/bedrockwatch/bedrockwatch/state"
)

// TestWarmCacheKeptThenDropped: a revoked partition's state stays in
// Badger (checkpoint and keys) for WarmCacheTTL, so that a partition that
// comes back restores only the changelog tail; after the TTL its prefix is
// dropped, and a partition assigned again within the TTL is not dropped.
func TestWarmCacheKeptThenDropped(t *testing.T) {
	cfg := DefaultConfig()
	cfg.WarmCacheTTL = 300 * time.Millisecond
	s := &Service{cfg: cfg, log: slog.New(slog.NewTextHandler(io.Discard, nil)), met: nopMetrics{},
		parts: map[int32]*partition{}, warm: map[int32]time.Time{}, inputs: map[string]map[int32]*inputPart{}}
	db, err := state.Open(t.TempDir(), state.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s.db = db
	for _, p := range []int32{0, 1} {
		v := db.Partition(p)
		if err := v.Put("seq/rule/key", []byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := v.WriteCheckpoint(state.Checkpoint{ChangelogOffset: 41}); err != nil {
			t.Fatal(err)
		}
		s.parts[p] = &partition{p: p, view: v}
	}
	has := func(p int32) bool {
		t.Helper()
		_, ok, err := db.Partition(p).ReadCheckpoint()
		if err != nil {
			t.Fatal(err)
		}
		v, found, err := db.Partition(p).Get("seq/rule/key")
		if err != nil {
			t.Fatal(err)
		}
		if ok != found || (found && string(v) != "x") {
			t.Fatalf("partition %d: checkpoint %v, key %v %q: half dropped", p, ok, found, v)
		}
		return ok
	}

	s.queue(false, map[string][]int32{cfg.Topics.Events: {0, 1}})
	if err := s.applyAssignments(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(s.parts) != 0 || len(s.warm) != 2 {
		t.Fatalf("after revoking: %d owned, %d warm", len(s.parts), len(s.warm))
	}
	if err := s.expireWarm(); err != nil {
		t.Fatal(err)
	}
	if !has(0) || !has(1) {
		t.Fatal("a revoked partition's state was dropped before the TTL")
	}
	// Partition 1 comes back within the TTL: it is no longer warm.
	delete(s.warm, 1) // what applyAssignments does before restoring it
	time.Sleep(cfg.WarmCacheTTL + 50*time.Millisecond)
	if err := s.expireWarm(); err != nil {
		t.Fatal(err)
	}
	if has(0) {
		t.Error("partition 0's state outlived the warm-cache TTL")
	}
	if !has(1) {
		t.Error("partition 1, owned again, lost its state")
	}
	if len(s.warm) != 0 {
		t.Errorf("%d partitions still warm", len(s.warm))
	}
}
