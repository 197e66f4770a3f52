// Package fsutil holds the trainer's file-system helpers: atomic writes
// and moves that never overwrite.
package fsutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFileAtomic writes data to a temporary file in path's folder, syncs
// it, and renames it over path, so readers see the old or the new content,
// never a partial file.
func WriteFileAtomic(path string, data []byte) error {
	return WriteAtomic(path, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// WriteAtomic is WriteFileAtomic with a writer callback.
func WriteAtomic(path string, write func(*os.File) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// ErrExists is returned by MoveNoReplace when the destination exists.
var ErrExists = errors.New("destination already exists")

// MoveNoReplace moves src to dst without ever replacing an existing dst:
// it hard-links dst (which fails if dst exists) and then removes src. On a
// file system without hard links it falls back to a checked rename.
func MoveNoReplace(src, dst string) error {
	err := os.Link(src, dst)
	if err == nil {
		return os.Remove(src)
	}
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s: %w", dst, ErrExists)
	}
	if _, statErr := os.Lstat(dst); statErr == nil {
		return fmt.Errorf("%s: %w", dst, ErrExists)
	}
	return os.Rename(src, dst)
}
