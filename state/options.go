package state

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// Options configures a Badger store. The defaults keep Badger's Go heap
// near 60–80 MiB under sustained writes, whatever the amount of state, and
// below about 100 MiB when sampled as TestMillionPendingSequences samples it
// (a million pending sequences, heap after GC every 250,000 events).
//
// The tables, more than the caches, decide the footprint. Badger builds
// every table in an in-memory arena (z.Allocator) that starts at twice
// TableSize and doubles as it fills, and it keeps up to 8 used arenas in a
// pool that keeps their full grown size and shrinks only when writes stop.
// A table is full when its Snappy-compressed size reaches TableSize, and the
// engine's state compresses about 5:1, so one table holds about 5 ×
// TableSize of raw blocks, and its arena holds each block twice (raw, and a
// buffer for its compressed copy sized for the worst case): the arena grows
// to 2+4+8 = 14 × TableSize. A memtable is flushed as one level-0 table
// built the same way, whose arena holds about twice the memtable's data: the
// same 14 × TableSize while MemTableSize ≤ 4 × TableSize, twice that above.
// So the pool alone holds 8 × 14 × TableSize: 112 MiB with 1 MiB tables and
// 4 MiB memtables, 56 MiB with the defaults. On top of it, each table a
// compaction has built but not yet written holds its arena and a 3 MiB
// index buffer while it waits for msync, so when the disk is slow a dozen
// of them pile up; and what compaction allocates while the collector runs
// counts as live in that cycle. With 1 MiB tables those moments reached
// 200–280 MiB (heap after GC, sampled every 10,000 events on a loaded
// machine); with the defaults they stay below about 200 MiB sampled that
// often, and 78–97 MiB in the test.
//
// The price: smaller tables mean more of them, and each costs a fixed 3 MiB
// index buffer (so the collector runs more often) and an msync; the store
// took about 7% fewer writes per second in the test. Smaller still (256 KiB
// tables, 1 MiB memtables) halves the heap again but costs about a third
// of the throughput. Compression stays on: without it the heap halves, but the
// state takes 4× the disk and page cache and the test ran at half the rate.
//
// Tables of 512 KiB at every level make about 2,000 table files per GiB of
// state (Badger's default doubles table size per level, and the arenas
// follow the largest table).
//
// The figures above are Badger's alone. On top of them the store keeps up
// to AppliedCacheSize of recently applied values (32 MiB by default), which
// fills as soon as that much distinct state has been written: in
// TestMillionPendingSequences the peak went from 90 to 127 MiB with it.
// Larger tables were measured again with it, on the service benchmark
// (bench --records 700000, CPU seconds per million records, medians of 4
// runs on 2 shared cores): 8 MiB memtables with 2 MiB tables cost about 17%
// less CPU than the defaults and 16 MiB with 4 MiB about 25% less, but the
// test's heap peaked at 220 MiB (272 MiB after expiry) and 496 MiB.
type Options struct {
	// MemTableSize is the size of one memtable (Badger's write buffer and
	// the unit of its WAL files). Default 2 MiB. One Badger transaction
	// holds at most 15% of it, which bounds an atomic write (see
	// WriteSet.Apply).
	MemTableSize int64 `yaml:"mem_table_size"`
	// TableSize is the compressed size of the tables compaction writes, at
	// every level. Default 512 KiB. Badger's heap grows with it (see
	// Options).
	TableSize int64 `yaml:"table_size"`
	// NumMemtables is how many memtables may be full before writes stall.
	// Default 2.
	NumMemtables int `yaml:"num_memtables"`
	// BlockCacheSize caches decompressed table blocks. Default 32 MiB.
	BlockCacheSize int64 `yaml:"block_cache_size"`
	// IndexCacheSize caches table indexes and bloom filters; 0 keeps them
	// all in memory. Default 16 MiB.
	IndexCacheSize int64 `yaml:"index_cache_size"`
	// ValueLogFileSize is the size of one value-log file. Default 64 MiB.
	ValueLogFileSize int64 `yaml:"value_log_file_size"`
	// NumCompactors is the number of compaction goroutines: 0 (none) or at
	// least 2. Default 2.
	NumCompactors int `yaml:"num_compactors"`
	// SyncWrites fsyncs every applied write set. Off by default: the state is
	// a cache of the changelog (SPEC §8), and syncing costs ~50× throughput.
	SyncWrites bool `yaml:"sync_writes"`
	// AppliedCacheSize bounds the bytes (values, keys and about 128 bytes
	// per entry) of the values the store keeps in memory, for every
	// partition together, after applying them or reading them from Badger:
	// a View's Get returns such a value as the same slice, without reading
	// Badger, so the engine finds its decoded form in its own cache after
	// a commit instead of decoding it again. The least recently used go
	// first. 0 turns the cache off. Default 32 MiB.
	AppliedCacheSize int64 `yaml:"applied_cache_size"`
	// FlushEvery is how many pending changes a View buffers before it
	// applies them on its own. 0 means never: changes wait for Flush or
	// WriteCheckpoint (the service, which applies a write set only after the
	// Kafka transaction that produced it commits). Default 4096 (replay).
	FlushEvery int `yaml:"flush_every"`
	// Logger receives Badger's messages at LogLevel and above. nil means
	// slog.Default().
	Logger *slog.Logger `yaml:"-"`
	// LogLevel is the least level of Badger messages passed on. Default
	// Warn: Badger reports every table flush and compaction at Info.
	LogLevel slog.Level `yaml:"log_level"`
}

// DefaultOptions returns the defaults described on Options.
func DefaultOptions() Options {
	return Options{
		MemTableSize:     2 << 20,
		TableSize:        512 << 10,
		NumMemtables:     2,
		BlockCacheSize:   32 << 20,
		IndexCacheSize:   16 << 20,
		ValueLogFileSize: 64 << 20,
		NumCompactors:    2,
		AppliedCacheSize: 32 << 20,
		FlushEvery:       4096,
		LogLevel:         slog.LevelWarn,
	}
}

// Validate reports every problem of o at once.
func (o Options) Validate() error {
	var errs []error
	if o.MemTableSize < 1<<20 {
		errs = append(errs, fmt.Errorf("mem_table_size must be at least 1 MiB, got %d", o.MemTableSize))
	}
	if o.TableSize < 64<<10 {
		errs = append(errs, fmt.Errorf("table_size must be at least 64 KiB, got %d", o.TableSize))
	}
	if o.NumMemtables < 1 {
		errs = append(errs, fmt.Errorf("num_memtables must be positive, got %d", o.NumMemtables))
	}
	if o.BlockCacheSize < 1<<20 {
		errs = append(errs, fmt.Errorf("block_cache_size must be at least 1 MiB (tables are compressed), got %d", o.BlockCacheSize))
	}
	if o.IndexCacheSize < 0 {
		errs = append(errs, fmt.Errorf("index_cache_size must not be negative, got %d", o.IndexCacheSize))
	}
	if o.ValueLogFileSize < 1<<20 || o.ValueLogFileSize >= 2<<30 {
		errs = append(errs, fmt.Errorf("value_log_file_size must be at least 1 MiB and below 2 GiB, got %d", o.ValueLogFileSize))
	}
	if o.NumCompactors == 1 || o.NumCompactors < 0 {
		errs = append(errs, fmt.Errorf("num_compactors must be 0 or at least 2, got %d", o.NumCompactors))
	}
	if o.AppliedCacheSize < 0 {
		errs = append(errs, fmt.Errorf("applied_cache_size must not be negative, got %d", o.AppliedCacheSize))
	}
	if o.FlushEvery < 0 {
		errs = append(errs, fmt.Errorf("flush_every must not be negative, got %d", o.FlushEvery))
	}
	return errors.Join(errs...)
}

// badgerOptions translates o for a store in dir ("" for in-memory).
func (o Options) badgerOptions(dir string) badger.Options {
	bo := badger.DefaultOptions(dir).
		WithMemTableSize(o.MemTableSize).
		WithNumMemtables(o.NumMemtables).
		WithBaseTableSize(o.TableSize).
		WithBlockCacheSize(o.BlockCacheSize).
		WithIndexCacheSize(o.IndexCacheSize).
		WithValueLogFileSize(o.ValueLogFileSize).
		WithNumCompactors(o.NumCompactors).
		WithSyncWrites(o.SyncWrites).
		// Values up to 64 KiB (all of the engine's, in practice) live in
		// the LSM tables; larger ones go to the value log, which RunGC
		// compacts.
		WithValueThreshold(64 << 10).
		// One writer per partition and no read-modify-write transactions:
		// conflict detection would only cost memory.
		WithDetectConflicts(false).
		// Size is measured by Size, not through Badger's expvar globals.
		WithMetricsEnabled(false).
		WithLogger(quietLogger{l: o.Logger, min: o.LogLevel})
	// One table size at every level (Badger's default doubles it per
	// level): the arenas Badger keeps are sized by the largest table it
	// built.
	bo.TableSizeMultiplier = 1
	if dir == "" {
		bo = bo.WithInMemory(true)
	}
	return bo
}

// quietLogger passes Badger's messages at or above min to an slog.Logger,
// with component=badger. Badger's messages never hold keys' values.
type quietLogger struct {
	l   *slog.Logger
	min slog.Level
}

func (q quietLogger) Errorf(f string, a ...any)   { q.log(slog.LevelError, f, a) }
func (q quietLogger) Warningf(f string, a ...any) { q.log(slog.LevelWarn, f, a) }
func (q quietLogger) Infof(f string, a ...any)    { q.log(slog.LevelInfo, f, a) }
func (q quietLogger) Debugf(f string, a ...any)   { q.log(slog.LevelDebug, f, a) }

func (q quietLogger) log(level slog.Level, f string, a []any) {
	if level < q.min {
		return
	}
	l := q.l
	if l == nil {
		l = slog.Default()
	}
	msg := strings.TrimSpace(fmt.Sprintf(f, a...))
	switch {
	case level >= slog.LevelError:
		l.Error(msg, "component", "badger")
	case level >= slog.LevelWarn:
		l.Warn(msg, "component", "badger")
	case level >= slog.LevelInfo:
		l.Info(msg, "component", "badger")
	default:
		l.Debug(msg, "component", "badger")
	}
}
