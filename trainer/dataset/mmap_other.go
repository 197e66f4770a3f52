//go:build !unix

package dataset

import (
	"io"
	"os"
)

// mapFile reads the first size bytes of f into memory: this platform has
// no mmap in package syscall.
func mapFile(f *os.File, size int) ([]byte, func() error, error) {
	data := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, int64(size)), data); err != nil {
		return nil, nil, err
	}
	return data, func() error { return nil }, nil
}
