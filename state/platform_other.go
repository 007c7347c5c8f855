//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package state

import "io/fs"

// lockedByOther cannot tell on this platform; Open then reports Badger's
// own error, which names the directory too.
func lockedByOther(string) bool { return false }

// diskUsage returns the size of a file (its allocated blocks are not known
// on this platform).
func diskUsage(info fs.FileInfo) int64 { return info.Size() }
