package state

import "sync"

// appliedCache keeps, for all the Views of one store, the values most
// recently applied to Badger or read from it, up to Options.AppliedCacheSize
// bytes, least recently used first out. A View's Get returns the cached
// slice itself, so a value applied at the end of one batch comes back in
// the next as the very slice the engine put — which is what lets the
// engine's decoded-state cache (processor/statecache.go) hit across
// commits — and without a Badger read and block decompression.
//
// The invariant: an entry holds the value Badger holds for its key now.
// Everything that writes a partition's keys keeps to it:
//
//   - WriteSet.Apply stores the applied values (and forgets the keys it
//     deleted, or put empty) only after Badger accepted the batch; when
//     Badger refuses it, the keys of the set are forgotten, since part of it
//     may have been written. Pending changes never enter the cache: Discard
//     (an aborted transaction) has nothing to take back.
//   - DropPartition forgets the partition's entries before dropping its
//     keys; Close forgets everything.
//   - getStored stores what it read, from a read transaction opened after
//     the View's last Apply (Apply and DropPartition end it).
//
// Only present, non-empty values are kept: an absent key, a delete and the
// empty values of the engine's expiry index are read from Badger (whose
// bloom filters answer the absent ones cheaply). So are values larger than
// a 64th of the limit, and values whose slice has much more capacity than
// length (it may be a window on a larger buffer, which the entry would keep
// alive while counting only the window).
//
// One mutex guards every View's entries: Views of different partitions may
// be used from different goroutines, and eviction takes entries of any
// View. The service uses them from one goroutine, so the lock is never
// contended there.
type appliedCache struct {
	mu    sync.Mutex
	limit int64
	bytes int64
	// lru is the sentinel of a circular list of entries, most recently
	// used at lru.next, evicted from lru.prev.
	lru appliedEntry
}

type appliedEntry struct {
	v          *View
	key        string
	value      []byte
	prev, next *appliedEntry
}

// appliedOverhead estimates the bytes an entry costs beside its key and
// value: the entry, its map slot and the slice and string headers.
const appliedOverhead = 128

func (e *appliedEntry) cost() int64 { return int64(len(e.key)+cap(e.value)) + appliedOverhead }

func newAppliedCache(limit int64) *appliedCache {
	c := &appliedCache{limit: limit}
	c.lru.next, c.lru.prev = &c.lru, &c.lru
	return c
}

func (c *appliedCache) unlink(e *appliedEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (c *appliedCache) pushFront(e *appliedEntry) {
	e.prev, e.next = &c.lru, c.lru.next
	c.lru.next.prev = e
	c.lru.next = e
}

// remove forgets e. c.mu is held.
func (c *appliedCache) remove(e *appliedEntry) {
	c.unlink(e)
	delete(e.v.applied, e.key)
	c.bytes -= e.cost()
}

// get returns v's cached value of key (the key below v's prefix).
func (c *appliedCache) get(v *View, key string) ([]byte, bool) {
	if c.limit <= 0 {
		return nil, false
	}
	c.mu.Lock()
	e, ok := v.applied[key]
	if ok && c.lru.next != e {
		c.unlink(e)
		c.pushFront(e)
	}
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	return e.value, true
}

// set records that Badger holds value for v's key (below v's prefix);
// value nil or empty means it holds none worth keeping. c.mu is held.
func (c *appliedCache) set(v *View, key string, value []byte) {
	e, ok := v.applied[key]
	// A value is kept if small beside the limit, and not a window on a
	// larger buffer (a record of a fetched batch, as restore puts them),
	// which the entry would keep alive whole.
	keep := len(value) > 0 && int64(len(key)+cap(value))+appliedOverhead <= c.limit/64 &&
		cap(value) <= len(value)+len(value)/4+64
	if !keep {
		if ok {
			c.remove(e)
		}
		return
	}
	if ok {
		c.bytes -= e.cost()
		e.value = value
		c.bytes += e.cost()
		if c.lru.next != e {
			c.unlink(e)
			c.pushFront(e)
		}
	} else {
		if v.applied == nil {
			v.applied = map[string]*appliedEntry{}
		}
		e = &appliedEntry{v: v, key: key, value: value}
		v.applied[key] = e
		c.pushFront(e)
		c.bytes += e.cost()
	}
	for c.bytes > c.limit && c.lru.prev != &c.lru {
		c.remove(c.lru.prev)
	}
}

// stored records a value getStored read.
func (c *appliedCache) stored(v *View, key string, value []byte) {
	if c.limit <= 0 || len(value) == 0 {
		return
	}
	c.mu.Lock()
	c.set(v, key, value)
	c.mu.Unlock()
}

// applied records the changes of ws, which Badger accepted (ok) or refused
// (!ok: they are forgotten).
func (c *appliedCache) applied(ws *WriteSet, ok bool) {
	if c.limit <= 0 {
		return
	}
	v := ws.v
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range ws.keys {
		ch := ws.m[k]
		if !ok || ch.deleted {
			if e, found := v.applied[k]; found {
				c.remove(e)
			}
			continue
		}
		c.set(v, k, ch.value)
	}
}

// drop forgets every entry of v.
func (c *appliedCache) drop(v *View) {
	c.mu.Lock()
	for _, e := range v.applied {
		c.unlink(e)
		c.bytes -= e.cost()
	}
	v.applied = nil
	c.mu.Unlock()
}

// size returns the entries and the bytes (as counted against the limit)
// the cache holds.
func (c *appliedCache) size() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.lru.next; e != &c.lru; e = e.next {
		entries++
	}
	return entries, c.bytes
}
