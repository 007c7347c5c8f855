package state

import (
	"slices"
	"sort"
	"strings"
)

// Memory is an in-memory key-value store: a map for Get, Put and Delete, and
// an ordered index of the keys so that Scan costs O(log n) plus the keys it
// visits — the engine's sweep scans the expiry index once per second of
// event time and stops at the first key not yet due, so a Scan that walked
// every key would make a long replay quadratic.
//
// It is not safe for concurrent use: like every store in bedrockwatch, one
// partition's engine owns it.
type Memory struct {
	m     map[string][]byte
	index orderedKeys

	// During a Scan (scanning > 0), born holds the keys Put that did not
	// exist when the outermost Scan started, which it must not visit, and
	// died the keys that existed then and were deleted since. Both are made
	// on the first change during the Scan: most Scans change nothing.
	scanning   int
	born, died map[string]struct{}
}

// NewMemory returns an empty store.
func NewMemory() *Memory { return &Memory{m: map[string][]byte{}} }

// Get returns the value of key, and whether it exists. The caller must not
// modify the returned slice.
func (s *Memory) Get(key string) ([]byte, bool, error) {
	v, ok := s.m[key]
	return v, ok, nil
}

// Put sets key to value. The store keeps value; the caller must not modify it
// afterwards.
func (s *Memory) Put(key string, value []byte) error {
	if _, ok := s.m[key]; !ok {
		s.index.insert(key)
		if s.scanning > 0 {
			s.tracking()
			if _, ok := s.died[key]; ok {
				delete(s.died, key) // it existed when the scan started
			} else {
				s.born[key] = struct{}{}
			}
		}
	}
	s.m[key] = value
	return nil
}

// Delete removes key; deleting an absent key is not an error.
func (s *Memory) Delete(key string) error {
	if _, ok := s.m[key]; !ok {
		return nil
	}
	delete(s.m, key)
	s.index.remove(key)
	if s.scanning > 0 {
		s.tracking()
		if _, ok := s.born[key]; ok {
			delete(s.born, key)
		} else {
			s.died[key] = struct{}{}
		}
	}
	return nil
}

// Scan calls fn for every key with the given prefix, in ascending key order,
// until fn returns false. fn may Put and Delete keys; the scan visits the keys
// present when it started, each with its value when visited (a key deleted
// before its turn is skipped, a key put during the scan is not visited).
func (s *Memory) Scan(prefix string, fn func(key string, value []byte) bool) error {
	s.scanning++
	defer func() {
		if s.scanning--; s.scanning == 0 {
			s.born, s.died = nil, nil
		}
	}()
	c := s.index.cursor(prefix)
	for {
		k, ok := c.next()
		if !ok || !strings.HasPrefix(k, prefix) {
			return nil
		}
		if _, ok := s.born[k]; ok {
			continue
		}
		if !fn(k, s.m[k]) {
			return nil
		}
	}
}

// tracking makes the maps of keys born and died during a Scan.
func (s *Memory) tracking() {
	if s.born == nil {
		s.born, s.died = map[string]struct{}{}, map[string]struct{}{}
	}
}

// Len returns the number of keys.
func (s *Memory) Len() int { return len(s.m) }

// orderedKeys is a sorted set of strings kept as a sorted list of sorted
// chunks of at most chunkMax keys: inserting or removing a key moves at most
// a chunk's keys and, when a chunk splits or empties, the chunk list.
type orderedKeys struct {
	chunks  [][]string
	version uint64 // changes with every insert and remove
}

const chunkMax = 512

// chunkFor returns the index of the first chunk whose last key is >= k, or
// the last chunk.
func (o *orderedKeys) chunkFor(k string) int {
	i := sort.Search(len(o.chunks), func(i int) bool {
		c := o.chunks[i]
		return c[len(c)-1] >= k
	})
	return min(i, len(o.chunks)-1)
}

// insert adds k, which must not be present.
func (o *orderedKeys) insert(k string) {
	o.version++
	if len(o.chunks) == 0 {
		o.chunks = append(o.chunks, []string{k})
		return
	}
	ci := o.chunkFor(k)
	c := o.chunks[ci]
	c = slices.Insert(c, sort.SearchStrings(c, k), k)
	if len(c) <= chunkMax {
		o.chunks[ci] = c
		return
	}
	half := len(c) / 2
	upper := append(make([]string, 0, chunkMax), c[half:]...)
	clear(c[half:]) // drop the strings from the lower chunk's spare capacity
	o.chunks[ci] = c[:half]
	o.chunks = slices.Insert(o.chunks, ci+1, upper)
}

// remove deletes k, which must be present.
func (o *orderedKeys) remove(k string) {
	o.version++
	ci := o.chunkFor(k)
	c := o.chunks[ci]
	j := sort.SearchStrings(c, k)
	if j == len(c) || c[j] != k {
		return
	}
	c = slices.Delete(c, j, j+1)
	if len(c) == 0 {
		o.chunks = slices.Delete(o.chunks, ci, ci+1)
		return
	}
	o.chunks[ci] = c
}

// keyCursor walks the keys in order from a starting point, whatever changes
// the set in between: when the set changed since the last step, it finds its
// place again after the last key it returned.
type keyCursor struct {
	o       *orderedKeys
	version uint64
	ci, j   int    // position of the next key, when version is current
	last    string // the last key returned
	started bool
	from    string
}

func (o *orderedKeys) cursor(from string) *keyCursor {
	return &keyCursor{o: o, from: from, version: o.version - 1}
}

// next returns the next key, or false at the end.
func (c *keyCursor) next() (string, bool) {
	o := c.o
	if c.version != o.version {
		c.version = o.version
		c.ci, c.j = 0, 0
		if len(o.chunks) == 0 {
			return "", false
		}
		k, strict := c.from, false
		if c.started {
			k, strict = c.last, true
		}
		c.ci = o.chunkFor(k)
		ch := o.chunks[c.ci]
		c.j = sort.SearchStrings(ch, k)
		if strict && c.j < len(ch) && ch[c.j] == k {
			c.j++
		}
	}
	for c.ci < len(o.chunks) && c.j >= len(o.chunks[c.ci]) {
		c.ci, c.j = c.ci+1, 0
	}
	if c.ci >= len(o.chunks) {
		return "", false
	}
	k := o.chunks[c.ci][c.j]
	c.j++
	c.last, c.started = k, true
	return k, true
}
