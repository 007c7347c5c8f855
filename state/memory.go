package state

import (
	"sort"
	"strings"
)

// Memory is an in-memory key-value store. It is not safe for concurrent use:
// like every store in bedrockwatch, one partition's engine owns it.
type Memory struct {
	m map[string][]byte
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
	s.m[key] = value
	return nil
}

// Delete removes key; deleting an absent key is not an error.
func (s *Memory) Delete(key string) error {
	delete(s.m, key)
	return nil
}

// Scan calls fn for every key with the given prefix, in ascending key order,
// until fn returns false. fn may Put and Delete keys; the scan visits the keys
// present when it started.
func (s *Memory) Scan(prefix string, fn func(key string, value []byte) bool) error {
	keys := make([]string, 0, 16)
	for k := range s.m {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, ok := s.m[k]
		if !ok {
			continue
		}
		if !fn(k, v) {
			break
		}
	}
	return nil
}

// Len returns the number of keys.
func (s *Memory) Len() int { return len(s.m) }
