package bench

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// CPUTime returns the user plus system CPU time this process has used, all
// goroutines together (an embedded broker's too).
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Memory is this process's resident set size.
type Memory struct {
	RSS  int64 // now (VmRSS)
	Peak int64 // high-water mark since start or the last ResetPeak (VmHWM)
}

// ReadMemory reads /proc/self/status (Linux).
func ReadMemory() (Memory, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return Memory{}, err
	}
	var m Memory
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Bytes()
		var dst *int64
		switch {
		case bytes.HasPrefix(line, []byte("VmRSS:")):
			dst = &m.RSS
		case bytes.HasPrefix(line, []byte("VmHWM:")):
			dst = &m.Peak
		default:
			continue
		}
		f := bytes.Fields(line[6:])
		if len(f) == 0 {
			continue
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return Memory{}, err
		}
		*dst = kb << 10
	}
	if m.RSS == 0 {
		return m, errors.New("bench: /proc/self/status has no VmRSS")
	}
	return m, nil
}

// ResetPeak sets the peak RSS back to the current RSS (Linux ≥ 4.0), so
// that the peak of one phase can be read on its own.
func ResetPeak() error {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// DirSize returns the bytes of the regular files under dir: their apparent
// size, and the disk space allocated to them (Badger preallocates sparse
// value-log files, so the two differ).
func DirSize(dir string) (apparent, allocated int64, err error) {
	err = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			apparent += info.Size()
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				allocated += st.Blocks * 512
			}
		}
		return nil
	})
	return apparent, allocated, err
}
