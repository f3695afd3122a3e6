//go:build unix

package gguf

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps size bytes of fh read-only and shared: pages come from the
// page cache, so a second process (or a reload) reuses them.
func mapFile(fh *os.File, size int64) ([]byte, func() error, error) {
	data, err := unix.Mmap(int(fh.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return data, func() error { return unix.Munmap(data) }, nil
}
