package state

// AppliedCacheSize returns the entries and bytes of b's cache of applied
// values, for the tests.
func (b *Badger) AppliedCacheSize() (entries int, bytes int64) { return b.cache.size() }
