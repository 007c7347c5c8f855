package state

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// WriteSet is the pending changes of one partition: puts and deletes not yet
// in Badger, and optionally the partition's next checkpoint. Its View reads
// through it (a read sees the pending value, or no value for a pending
// delete), so the engine sees its own writes before they are applied.
//
// Apply writes the whole set to Badger — in key order, the checkpoint last —
// and empties it; Discard drops it. The service evaluates one poll batch
// into the write set, produces the changelog records from Range inside the
// Kafka transaction, and calls Apply (through View.WriteCheckpoint) only
// after the transaction committed, Discard after an abort. So Badger is
// never ahead of Kafka. Replay lets the View apply the set every
// Options.FlushEvery changes.
//
// A WriteSet belongs to its View's goroutine.
type WriteSet struct {
	b      *Badger
	v      *View
	prefix string // "p<partition>/"

	m      map[string]change
	keys   []string // the keys of m; sorted when !unsorted
	sorted bool
	cp     *Checkpoint // staged checkpoint, written by Apply

	scanning int // Scans of the View in progress: Apply must wait
}

type change struct {
	value   []byte
	deleted bool
}

// errApplyInScan is returned by Apply when called from a Scan callback.
var errApplyInScan = errors.New("state: pending changes cannot be applied during a Scan of the same View")

// Len returns the number of pending changes (keys put or deleted).
func (ws *WriteSet) Len() int { return len(ws.m) }

// Lookup returns the pending change of key: found reports whether there is
// one, and deleted whether it is a delete.
func (ws *WriteSet) Lookup(key string) (value []byte, deleted, found bool) {
	c, ok := ws.m[key]
	return c.value, c.deleted, ok
}

// Range calls fn for each pending change in ascending key order until fn
// returns false; value is nil for a delete. This is what the service writes
// to the changelog (a delete becomes a tombstone). fn must not change the
// set.
func (ws *WriteSet) Range(fn func(key string, value []byte, deleted bool) bool) {
	ws.sort()
	for _, k := range ws.keys {
		c := ws.m[k]
		if !fn(k, c.value, c.deleted) {
			return
		}
	}
}

func (ws *WriteSet) put(key string, c change) {
	if _, ok := ws.m[key]; !ok {
		if n := len(ws.keys); n > 0 && ws.keys[n-1] > key {
			ws.sorted = false
		}
		ws.keys = append(ws.keys, key)
	}
	ws.m[key] = c
}

func (ws *WriteSet) sort() {
	if !ws.sorted {
		slices.Sort(ws.keys)
		ws.sorted = true
	}
}

// pendingKey is a pending key as a Scan found it when it started.
type pendingKey struct {
	key    string
	absent bool // a pending delete: the key did not exist when the Scan started
}

// snapshot returns the pending keys with prefix, sorted.
func (ws *WriteSet) snapshot(prefix string) []pendingKey {
	if len(ws.m) == 0 {
		return nil
	}
	ws.sort()
	i := sort.SearchStrings(ws.keys, prefix)
	var out []pendingKey
	for ; i < len(ws.keys) && strings.HasPrefix(ws.keys[i], prefix); i++ {
		out = append(out, pendingKey{ws.keys[i], ws.m[ws.keys[i]].deleted})
	}
	return out
}

// Apply writes the pending changes to Badger, then the staged checkpoint if
// any, and empties the set.
//
// The changes go through one Badger WriteBatch. A set that fits in one
// Badger transaction (15% of Options.MemTableSize: about 300 KiB at the
// defaults, some 500 changes of the engine's size) is applied atomically.
// A larger one is committed as several transactions in key order, the
// checkpoint in the last: a crash part-way can leave some changes applied
// without the checkpoint that covers them, but never a checkpoint ahead of
// its changes, and restoring the changelog from the older checkpoint
// rewrites the same latest values.
//
// The values applied stay in the store's cache of applied values (see
// View.Get), so that the next batch reads them back as the same slices.
//
// On error the set is kept: applying it again is safe, since puts and
// deletes are idempotent. Apply cannot run inside a Scan callback of the
// same View.
func (ws *WriteSet) Apply() error {
	if ws.scanning > 0 {
		return errApplyInScan
	}
	if len(ws.m) == 0 && ws.cp == nil {
		return nil
	}
	if ws.b.closed.Load() {
		return ErrClosed
	}
	ws.sort()
	wb := ws.b.db.NewWriteBatch()
	fail := func(err error) error {
		wb.Cancel()
		// The batch may have committed part of the set already.
		ws.b.cache.applied(ws, false)
		ws.v.endRead()
		return fmt.Errorf("state: applying %d change(s) to %s: %w", len(ws.m), ws.prefix, err)
	}
	for _, k := range ws.keys {
		c := ws.m[k]
		key := []byte(ws.prefix + k)
		var err error
		if c.deleted {
			err = wb.Delete(key)
		} else {
			err = wb.Set(key, c.value)
		}
		if err != nil {
			return fail(err)
		}
	}
	if ws.cp != nil {
		raw, err := ws.cp.encode()
		if err != nil {
			return fail(err)
		}
		if err := wb.Set([]byte(ws.prefix+checkpointKey), raw); err != nil {
			return fail(err)
		}
	}
	err := wb.Flush()
	ws.v.endRead() // the store changed, even if only in part
	// Badger holds the set's values now (or, on error, perhaps some of
	// them): the View's cache of applied values follows.
	ws.b.cache.applied(ws, err == nil)
	if err != nil {
		return fmt.Errorf("state: applying %d change(s) to %s: %w", len(ws.m), ws.prefix, err)
	}
	ws.Discard()
	return nil
}

// Discard drops the pending changes and the staged checkpoint. Reads then
// see what Badger holds. Like Apply, it ends the View's read transaction.
func (ws *WriteSet) Discard() {
	ws.v.endRead()
	clear(ws.m)
	ws.keys = ws.keys[:0]
	ws.sorted = true
	ws.cp = nil
}
