package state

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// ErrLocked is returned (wrapped, with the directory) by Open when another
// process holds the store's directory: Badger allows one writer per
// directory.
var ErrLocked = errors.New("locked by another process (Badger's directory lock)")

// ErrClosed is returned by a View of a closed store.
var ErrClosed = errors.New("state: store is closed")

// Badger is the persistent keyed state of one process: one Badger database
// holding every partition's keys under "p<partition>/". The engine of
// partition p works on the View returned by Partition(p).
//
// A Badger may be used from several goroutines (one per partition View);
// each View belongs to one goroutine.
type Badger struct {
	db    *badger.DB
	dir   string
	opts  Options
	cache *appliedCache // recently applied and read values (see appliedCache)

	mu     sync.Mutex
	views  map[int32]*View
	closed atomic.Bool
}

// Open opens (creating if needed) the store in dir, or an in-memory store
// when dir is "". It fails with an error wrapping ErrLocked and naming dir
// when another process has the directory open.
func Open(dir string, opts Options) (*Badger, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	db, err := badger.Open(opts.badgerOptions(dir))
	if err != nil {
		if dir != "" && lockedByOther(dir) {
			return nil, fmt.Errorf("state: %s: %w", dir, ErrLocked)
		}
		return nil, fmt.Errorf("state: opening %s: %w", describeDir(dir), err)
	}
	return &Badger{db: db, dir: dir, opts: opts, cache: newAppliedCache(opts.AppliedCacheSize), views: map[int32]*View{}}, nil
}

func describeDir(dir string) string {
	if dir == "" {
		return "in-memory store"
	}
	return dir
}

// Dir returns the directory of the store ("" when in memory).
func (b *Badger) Dir() string { return b.dir }

// Close ends the store. Pending changes of Views that flush on their own
// (Options.FlushEvery > 0) are applied first; those of Views that flush only
// when told (FlushEvery 0, the service) are discarded, since no Kafka
// transaction committed them. Close waits for Badger's goroutines to end and
// releases the directory lock. It must not run concurrently with the use of
// a View; a View of a closed store returns ErrClosed.
func (b *Badger) Close() error {
	if b.closed.Load() {
		return nil
	}
	var errs []error
	b.mu.Lock()
	for p, v := range b.views {
		if b.opts.FlushEvery > 0 {
			if err := v.ws.Apply(); err != nil {
				errs = append(errs, fmt.Errorf("partition %d: %w", p, err))
			}
		} else {
			v.ws.Discard()
		}
		v.endRead()
		b.cache.drop(v)
	}
	b.mu.Unlock()
	b.closed.Store(true)
	if err := b.db.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("state: closing %s: %w", describeDir(b.dir), err)
	}
	return nil
}

// partitionPrefix is the key prefix of partition p: "p<p>/". The slash keeps
// "p1/" from being a prefix of "p10/".
func partitionPrefix(p int32) string { return "p" + strconv.Itoa(int(p)) + "/" }

// Partition returns the View of partition p, the same one on every call.
func (b *Badger) Partition(p int32) *View {
	b.mu.Lock()
	defer b.mu.Unlock()
	if v, ok := b.views[p]; ok {
		return v
	}
	v := &View{b: b, p: p}
	v.ws = &WriteSet{b: b, v: v, prefix: partitionPrefix(p), m: map[string]change{}, sorted: true}
	b.views[p] = v
	return v
}

// DropPartition deletes every key of partition p, its checkpoint included,
// and discards the pending changes of its View and the values it cached
// (the View stays usable, now empty). The service calls it when a
// partition's checkpoint is unusable before restoring it whole from the
// changelog, and when a revoked partition's warm cache has aged. It must
// not run while p's View is in use. Badger blocks writes to every partition
// while it drops the prefix.
func (b *Badger) DropPartition(p int32) error {
	if b.closed.Load() {
		return ErrClosed
	}
	b.mu.Lock()
	v := b.views[p]
	b.mu.Unlock()
	if v != nil {
		v.ws.Discard()
		v.endRead()
		b.cache.drop(v)
	}
	if err := b.db.DropPrefix([]byte(partitionPrefix(p))); err != nil {
		return fmt.Errorf("state: dropping partition %d: %w", p, err)
	}
	return nil
}

// Size returns the bytes the store occupies on disk now, as du counts them
// (allocated blocks: Badger preallocates log files sparsely): LSM tables,
// and value-log files. The memtables' write-ahead logs (.mem, up to
// NumMemtables+1 files of MemTableSize) are not counted. For an in-memory
// store, lsm is the size of its tables and vlog is 0. Unlike
// badger.DB.Size, which Badger refreshes once a minute, the figures are
// current.
func (b *Badger) Size() (lsm, vlog int64) {
	if b.dir == "" {
		for _, t := range b.db.Tables() {
			lsm += int64(t.OnDiskSize)
		}
		return lsm, 0
	}
	filepath.WalkDir(b.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		switch {
		case strings.HasSuffix(path, ".sst"):
			lsm += diskUsage(info)
		case strings.HasSuffix(path, ".vlog"):
			vlog += diskUsage(info)
		}
		return nil
	})
	return lsm, vlog
}

// RunGC collects value-log garbage every interval until ctx is done, then
// returns nil. Each round rewrites value-log files while at least half of a
// file is garbage. Values below Badger's value threshold live in the LSM
// tables, so with bedrockwatch's small values this mostly finds nothing to
// do; it keeps the disk bounded when large values appear. An in-memory store
// has no value log: RunGC only waits for ctx. Cancel ctx and wait for RunGC
// to return before Close.
func (b *Badger) RunGC(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("state: GC interval must be positive, got %s", interval)
	}
	if b.dir == "" {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		// ErrNoRewrite (nothing to collect) and ErrRejected (a GC is
		// already running) end a round; so does anything else, to be
		// retried next round.
		for i := 0; i < 16 && ctx.Err() == nil && !b.closed.Load(); i++ {
			if err := b.db.RunValueLogGC(0.5); err != nil {
				break
			}
		}
	}
}
