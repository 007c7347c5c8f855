//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package state

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// lockedByOther reports whether another open file description holds an
// exclusive flock on dir, as Badger takes on the directories it opens. Open
// asks only after Badger failed, to classify the failure by the operating
// system's answer rather than by Badger's message.
func lockedByOther(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	fd := int(f.Fd())
	err = syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		syscall.Flock(fd, syscall.LOCK_UN)
		return false
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
}

// diskUsage returns the bytes a file occupies on disk, as du counts them:
// Badger preallocates its log files (sparsely) at twice their size.
func diskUsage(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return int64(st.Blocks) * 512
	}
	return info.Size()
}
