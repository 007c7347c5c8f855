package processor

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/bedrockwatch/bedrockwatch/schemas"
)

// stateCache keeps the decoded form of the state records the engine wrote
// last, beside the exact bytes it wrote, so that a busy group's record is
// not decoded again on its next event.
//
// A cached value is used only when the store hands back the very slice the
// engine put or was given (same address and length). The Memory store and
// the Badger View's pending changes return what was put; the View returns
// an applied value as the same slice while its store's cache of applied
// values holds it (state.Options.AppliedCacheSize), so a hit is the
// engine's own last write or read, in this batch or in one committed
// before. Anything else — a value the View read again from Badger (a new
// copy), the store's content after a Discard (an aborted batch: its puts
// were never applied, so the View returns the committed slice, not the one
// cached here), a restore from the changelog, a dropped partition — is a
// different slice or none, and is decoded. Values put are never modified
// (the Store contract), and the entry keeps its slice alive so the address
// cannot be reused, so equal identity means equal bytes.
//
// load takes the entry out: the caller owns and may change the value, and
// save puts it back with its new bytes. A failure in between leaves no entry,
// so the next load decodes what the store holds.
//
// The cache has two generations of at most cacheBytes of encoded state
// each: when the current one is full it becomes the old one, and the old one
// is dropped. Busy groups stay; a stream of distinct keys costs at most two
// generations.
type stateCache struct {
	cur, old   map[string]cachedState
	curBytes   int
	limitBytes int
}

type cachedState struct {
	raw []byte
	v   any
}

// cacheBytes bounds the encoded bytes of one generation; the decoded
// values take about two to three times as much.
const cacheBytes = 2 << 20

func newStateCache() *stateCache {
	return &stateCache{cur: map[string]cachedState{}, limitBytes: cacheBytes}
}

// take returns and removes the decoded value cached for key if raw is the
// slice it was cached with.
func (c *stateCache) take(key string, raw []byte) (any, bool) {
	if len(raw) == 0 {
		return nil, false
	}
	e, ok := c.cur[key]
	if ok {
		delete(c.cur, key)
	} else if e, ok = c.old[key]; ok {
		delete(c.old, key)
	}
	if !ok || len(e.raw) != len(raw) || unsafe.SliceData(e.raw) != unsafe.SliceData(raw) {
		return nil, false
	}
	return e.v, true
}

// put caches v as the decoded form of raw under key.
func (c *stateCache) put(key string, raw []byte, v any) {
	if len(raw) == 0 || len(raw) > c.limitBytes/16 {
		return
	}
	if c.curBytes+len(raw) > c.limitBytes {
		c.old, c.cur, c.curBytes = c.cur, make(map[string]cachedState, len(c.cur)), 0
	}
	c.cur[key] = cachedState{raw: raw, v: v}
	c.curBytes += len(raw)
}

// loadState returns the state record of key — the pending one (saved since
// the last sync), the cached decoded one, or the store's decoded — and
// whether it exists; a new zero record when it does not.
func loadState[T any](en *Engine, key string) (*T, bool, error) {
	st, _, ok, err := loadStateRaw[T](en, key)
	return st, ok, err
}

// loadStateRaw is loadState that also returns the stored bytes, for
// keepState.
func loadStateRaw[T any](en *Engine, key string) (*T, []byte, bool, error) {
	if st, ok := en.pending.m[key].(*T); ok {
		return st, nil, true, nil // written back at the next sync
	}
	raw, ok, err := en.store.Get(key) // writes a pending record of another type first
	if err != nil || !ok {
		return new(T), nil, false, err
	}
	if v, hit := en.cache.take(key, raw); hit {
		if st, ok := v.(*T); ok {
			return st, raw, true, nil
		}
	}
	st := new(T)
	if err := json.Unmarshal(raw, st); err != nil {
		return nil, nil, false, fmt.Errorf("state %q: %w", key, err)
	}
	return st, raw, true, nil
}

// keepState caches st, loaded from raw and left unchanged, again (a
// record loaded from the pending changes, raw nil, stays there).
func keepState[T any](en *Engine, key string, raw []byte, st *T) {
	en.cache.put(key, raw, st)
}

// saveState records st as the state of key. It reaches the store, encoded,
// at the next sync (writeBehind); until then loadState hands st itself
// back. The caller must not change st afterwards but through another
// loadState.
func saveState[T any](en *Engine, key string, st *T) error {
	return en.pending.save(key, st)
}

// writeBehind is the Store an Engine's rules use: the underlying store,
// with the state records saved since the last sync kept decoded beside it
// instead of encoded on every change. A busy group's record (a sequence's
// candidates, an outlier's open buckets with their top events) changes on
// every event of the group; it is encoded once per sync instead. A sync
// writes them all: Engine.Sync, which Checkpoint and Flush call, and
// whenever more than maxPending records wait, which bounds the memory they
// hold. Every other access to a pending key goes through the store: a Get
// (or a Scan of its prefix) writes it first, and a Put or Delete of it
// drops it, so the rules see one consistent store either way.
//
// Evidence ring entries (evidenceRing.put) are kept apart, in snaps: they
// are mostly distinct keys, read back only for an alert and deleted when
// their group's bucket closes, so in a replay most never need encoding.
// Apart, they do not fill the bound of the other records: when more than
// twice the bound wait, the snaps alone are written.
type writeBehind struct {
	Store
	en    *Engine
	m     map[string]any
	limit int // more pending records than this: sync them all; 0: write through
	snaps map[string]*snap
	// heldBytes estimates the memory of the events that lazy snaps hold
	// (Engine.lazySnap) since the last sync, which resolves them all.
	heldBytes int
}

// maxHeldBytes bounds writeBehind.heldBytes: past it, the engine syncs
// after the event (Engine.Process).
const maxHeldBytes = 16 << 20

// hold counts e as held by a lazy snap.
func (w *writeBehind) hold(e *schemas.Event) {
	const eventBytes = 1 << 10 // the Event and its short strings
	w.heldBytes += eventBytes + len(e.Prompt) + len(e.SystemPrompt) + len(e.Completion) + len(e.Raw)
}

// maxPending bounds the records a sync writes at once.
const maxPending = 2048

func (w *writeBehind) save(key string, st any) error {
	if strings.HasPrefix(key, expiryPrefix) {
		// Scan relies on it: the sweep scans the index on every advance.
		return fmt.Errorf("processor: state record %q written behind under the expiry index", key)
	}
	w.m[key] = st
	if len(w.m) > w.limit {
		return w.syncAll()
	}
	return nil
}

// putSnap keeps sn, which may be lazy and is the caller's no more, as the
// pending value of the ring entry key.
func (w *writeBehind) putSnap(key string, sn *snap) error {
	if w.limit == 0 {
		raw, err := marshalState(sn, &w.en.encBuf)
		if err != nil {
			return err
		}
		return w.Store.Put(key, raw)
	}
	w.snaps[key] = sn
	if len(w.snaps) > 2*w.limit {
		return w.syncSnaps()
	}
	return nil
}

// snapIn returns the ring entry of key, pending or stored, if there is one
// and its event time lies in [from, to]. A stored entry of another time is
// not decoded: its time is read from the head of its bytes.
func (w *writeBehind) snapIn(key string, from, to time.Time) (snap, bool, error) {
	in := func(t time.Time) bool { return !t.Before(from) && !t.After(to) }
	if sn, ok := w.snaps[key]; ok {
		if !in(sn.T) { // T is set on a lazy snap too
			return snap{}, false, nil
		}
		sn.resolve()
		return *sn, true, nil
	}
	raw, ok, err := w.Store.Get(key)
	if err != nil || !ok {
		return snap{}, false, err
	}
	t, timeOK := snapTime(raw)
	if timeOK && !in(t) {
		return snap{}, false, nil
	}
	var sn snap
	if err := decodeSnapAt(&w.en.snapParser, raw, t, timeOK, &sn); err != nil {
		return snap{}, false, fmt.Errorf("state %q: %w", key, err)
	}
	return sn, in(sn.T), nil
}

// syncSnap writes the pending ring entry of key to the store.
func (w *writeBehind) syncSnap(key string) error {
	sn, ok := w.snaps[key]
	if !ok {
		return nil
	}
	delete(w.snaps, key)
	raw, err := marshalState(sn, &w.en.encBuf)
	if err != nil {
		return err
	}
	return w.Store.Put(key, raw)
}

// syncSnaps writes every pending ring entry, in key order.
func (w *writeBehind) syncSnaps() error {
	for _, k := range slices.Sorted(maps.Keys(w.snaps)) {
		if err := w.syncSnap(k); err != nil {
			return err
		}
	}
	return nil
}

// sync writes the pending record of key to the store and caches it.
func (w *writeBehind) sync(key string) error {
	if err := w.syncSnap(key); err != nil {
		return err
	}
	v, ok := w.m[key]
	if !ok {
		return nil
	}
	delete(w.m, key)
	raw, err := marshalState(v, &w.en.encBuf)
	if err != nil {
		return err
	}
	if err := w.Store.Put(key, raw); err != nil {
		return err
	}
	w.en.cache.put(key, raw, v)
	return nil
}

// syncAll writes every pending record and ring entry, in key order. Every
// lazy snap pending is then resolved: those of records and ring entries
// being encoded, and the rest were dropped.
func (w *writeBehind) syncAll() error {
	w.heldBytes = 0
	if err := w.syncSnaps(); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(w.m)) {
		if err := w.sync(k); err != nil {
			return err
		}
	}
	return nil
}

func (w *writeBehind) Get(key string) ([]byte, bool, error) {
	if err := w.sync(key); err != nil {
		return nil, false, err
	}
	return w.Store.Get(key)
}

func (w *writeBehind) Put(key string, value []byte) error {
	delete(w.m, key)
	delete(w.snaps, key)
	return w.Store.Put(key, value)
}

func (w *writeBehind) Delete(key string) error {
	delete(w.m, key)
	delete(w.snaps, key)
	return w.Store.Delete(key)
}

func (w *writeBehind) Scan(prefix string, fn func(key string, value []byte) bool) error {
	if strings.HasPrefix(prefix, expiryPrefix) {
		// The sweep's scan of the expiry index, on every advance: no record
		// written behind lies under it (save refuses one), and the pending
		// map need not be walked.
		return w.Store.Scan(prefix, fn)
	}
	for k := range w.m {
		if strings.HasPrefix(k, prefix) {
			if err := w.sync(k); err != nil {
				return err
			}
		}
	}
	for k := range w.snaps {
		if strings.HasPrefix(k, prefix) {
			if err := w.syncSnap(k); err != nil {
				return err
			}
		}
	}
	return w.Store.Scan(prefix, fn)
}
