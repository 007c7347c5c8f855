package state

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// View is one partition's keyed state: the processor's Store over the keys
// of the Badger store below "p<partition>/", read through the View's
// WriteSet of pending changes. Keys beginning with "_" are reserved for the
// store's own records (the checkpoint) and refused.
//
// A View belongs to one goroutine (its partition's engine). Changes are kept
// in the WriteSet until applied: every Options.FlushEvery changes on their
// own, and on Flush, WriteCheckpoint and (for FlushEvery > 0) Close.
//
// Reads share one Badger read transaction from one Apply or Discard of the
// write set to the next. While it is open Badger keeps the versions it can
// see, so a View that reads and then idles without applying or discarding
// holds back compaction of the keys changed since; the service ends every
// batch with WriteCheckpoint (or Discard on abort), replay with Flush.
type View struct {
	b    *Badger
	p    int32
	ws   *WriteSet
	kbuf []byte
	// rtxn is the read transaction of Get and Scan, kept from one
	// WriteSet.Apply to the next (opening one per read costs more than the
	// read), so that reads see every applied change.
	rtxn *badger.Txn
	// stale: the store changed during a Scan, whose iterator still uses
	// rtxn; the Scan ends it when it returns.
	stale bool
	// applied is v's part of the store's appliedCache, by key below the
	// prefix; guarded by the cache's mutex.
	applied map[string]*appliedEntry
}

// readTxn returns the read transaction, opening it if needed.
func (v *View) readTxn() *badger.Txn {
	if v.rtxn == nil {
		v.rtxn = v.b.db.NewTransaction(false)
	}
	return v.rtxn
}

// endRead discards the read transaction: the store changed.
func (v *View) endRead() {
	if v.ws.scanning > 0 {
		v.stale = true
		return
	}
	v.stale = false
	if v.rtxn != nil {
		v.rtxn.Discard()
		v.rtxn = nil
	}
}

// Partition returns the partition number of v.
func (v *View) Partition() int32 { return v.p }

// WriteSet returns v's pending changes.
func (v *View) WriteSet() *WriteSet { return v.ws }

func reserved(key string) error {
	if strings.HasPrefix(key, "_") {
		return fmt.Errorf("state: key %q is reserved: keys beginning with \"_\" hold the store's own records", key)
	}
	return nil
}

// key returns the Badger key of key in a buffer reused by the next call.
func (v *View) key(key string) []byte {
	v.kbuf = append(append(v.kbuf[:0], v.ws.prefix...), key...)
	return v.kbuf
}

// Get returns the value of key and whether it exists, seeing pending
// changes. The caller must not modify the value.
//
// A pending value is returned as it was put. So is an applied one while the
// store's cache of recently applied values (Options.AppliedCacheSize) holds
// it: a value put, then applied by WriteCheckpoint, comes back from Get in
// the next batch as the same slice, until evicted. A value read from Badger
// is a copy, kept in that cache too.
func (v *View) Get(key string) ([]byte, bool, error) {
	if err := reserved(key); err != nil {
		return nil, false, err
	}
	if c, ok := v.ws.m[key]; ok {
		if c.deleted {
			return nil, false, nil
		}
		return c.value, true, nil
	}
	if val, ok := v.b.cache.get(v, key); ok {
		return val, true, nil
	}
	val, ok, err := v.getStored(v.key(key))
	if ok {
		v.b.cache.stored(v, key, val)
	}
	return val, ok, err
}

// getStored reads a key from Badger, ignoring pending changes.
func (v *View) getStored(k []byte) ([]byte, bool, error) {
	if v.b.closed.Load() {
		return nil, false, ErrClosed
	}
	item, err := v.readTxn().Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("state: get: %w", err)
	}
	val, err := item.ValueCopy(nil)
	if err != nil {
		return nil, false, fmt.Errorf("state: get: %w", err)
	}
	return val, true, nil
}

// Put sets key to value. v keeps value: the caller must not modify it
// afterwards. An error is one of applying the pending changes.
func (v *View) Put(key string, value []byte) error {
	if err := reserved(key); err != nil {
		return err
	}
	if value == nil {
		value = []byte{}
	}
	v.ws.put(key, change{value: value})
	return v.maybeFlush()
}

// Delete removes key; deleting an absent key is not an error.
func (v *View) Delete(key string) error {
	if err := reserved(key); err != nil {
		return err
	}
	v.ws.put(key, change{deleted: true})
	return v.maybeFlush()
}

func (v *View) maybeFlush() error {
	if n := v.b.opts.FlushEvery; n > 0 && v.ws.Len() >= n && v.ws.scanning == 0 {
		return v.ws.Apply()
	}
	return nil
}

// Flush applies the pending changes to Badger (see WriteSet.Apply).
func (v *View) Flush() error { return v.ws.Apply() }

// Discard drops the pending changes (see WriteSet.Discard).
func (v *View) Discard() { v.ws.Discard() }

// Scan calls fn for each key with prefix, in ascending key order, until fn
// returns false, seeing pending changes. It has the semantics of
// Memory.Scan: it visits the keys that existed when it started, each with
// its value at the time it is visited; fn may Put and Delete (a key deleted
// before its turn is skipped, a key put during the Scan is not visited), but
// must not Flush, Discard or WriteCheckpoint.
//
// How: the Scan streams a Badger iterator on a snapshot taken at its start,
// merged with the pending keys under prefix as they were at its start, and
// looks each key up in the (live) pending changes before using the
// snapshot's value. Pending changes are not applied while a Scan runs (an
// automatic flush waits for the next write after it), so the snapshot plus
// the pending changes is always the current state. Stopping early costs
// nothing for the keys not visited.
func (v *View) Scan(prefix string, fn func(key string, value []byte) bool) error {
	return v.scan(prefix, true, fn)
}

// Count returns the number of keys with prefix, pending changes included.
func (v *View) Count(prefix string) (int, error) {
	n := 0
	err := v.scan(prefix, false, func(string, []byte) bool { n++; return true })
	return n, err
}

func (v *View) scan(prefix string, values bool, fn func(key string, value []byte) bool) error {
	if v.b.closed.Load() {
		return ErrClosed
	}
	ws := v.ws
	pend := ws.snapshot(prefix)
	ws.scanning++
	defer func() {
		if ws.scanning--; ws.scanning == 0 && v.stale {
			v.endRead()
		}
	}()

	full := []byte(ws.prefix + prefix)
	it := v.readTxn().NewIterator(badger.IteratorOptions{Prefix: full})
	defer it.Close()
	strip := len(ws.prefix)

	var dbKey string // the iterator's key, when haveDB
	haveDB := false
	load := func() {
		if haveDB = it.Valid(); haveDB {
			dbKey = string(it.Item().Key()[strip:])
		}
	}
	next := func() { it.Next(); load() }
	it.Seek(full)
	load()

	i := 0
	for {
		havePend := i < len(pend)
		if !haveDB && !havePend {
			return nil
		}
		var key string
		var val []byte
		if havePend && (!haveDB || pend[i].key <= dbKey) {
			// A pending key, shadowing Badger's value of the same key.
			key = pend[i].key
			absent := pend[i].absent
			i++
			if haveDB && dbKey == key {
				next()
			}
			if absent {
				continue
			}
			c, ok := ws.m[key]
			if !ok || c.deleted {
				continue // deleted (or discarded) during the scan
			}
			val = c.value
		} else {
			key = dbKey
			if c, ok := ws.m[key]; ok {
				// Changed by fn during the scan.
				next()
				if c.deleted {
					continue
				}
				val = c.value
			} else {
				if values {
					var err error
					if val, err = it.Item().ValueCopy(nil); err != nil {
						return fmt.Errorf("state: scan %q: %w", prefix, err)
					}
				}
				next()
			}
		}
		if strings.HasPrefix(key, "_") {
			continue
		}
		if !fn(key, val) {
			return nil
		}
	}
}

// ReadCheckpoint returns the partition's checkpoint — the staged one if a
// WriteCheckpoint is pending, else the stored one — and whether there is
// one. A checkpoint of another FormatVersion is an error wrapping ErrFormat.
func (v *View) ReadCheckpoint() (Checkpoint, bool, error) {
	if cp := v.ws.cp; cp != nil {
		return *cp, true, nil
	}
	raw, ok, err := v.getStored(v.key(checkpointKey))
	if err != nil || !ok {
		return Checkpoint{}, false, err
	}
	cp, err := decodeCheckpoint(raw)
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("partition %d: %w", v.p, err)
	}
	return cp, true, nil
}

// WriteCheckpoint applies the pending changes together with cp (version set
// to FormatVersion) in one batch, cp last (see WriteSet.Apply for the
// atomicity). The service calls it after the Kafka transaction of the batch
// committed, with the changelog offset of the batch's last changelog record
// and the input offsets it committed.
func (v *View) WriteCheckpoint(cp Checkpoint) error {
	c := cp
	c.Version = FormatVersion
	if cp.Inputs != nil {
		c.Inputs = make(map[string]int64, len(cp.Inputs))
		for k, o := range cp.Inputs {
			c.Inputs[k] = o
		}
	}
	v.ws.cp = &c
	if err := v.ws.Apply(); err != nil {
		return err
	}
	return nil
}
