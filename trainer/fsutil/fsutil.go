// Package fsutil holds the trainer's file-system helpers: atomic writes
// and moves that never overwrite.
package fsutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// WriteFileAtomic writes data to a temporary file in path's folder, syncs
// it, renames it over path with mode 0644 and syncs the folder, so readers
// see the old or the new content, never a partial file, and the new content
// survives a crash once WriteFileAtomic has returned.
func WriteFileAtomic(path string, data []byte) error {
	return WriteAtomic(path, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// WriteAtomic is WriteFileAtomic with a writer callback: write fills the
// temporary file. If write or any later step before the rename fails, the
// temporary file is removed and path keeps its old content.
//
// After the rename WriteAtomic fsyncs path's folder, which makes the rename
// itself durable, and returns that error, wrapped with path, if it fails.
// Where a folder cannot be fsynced at all (EINVAL or ENOTSUP, as on some
// file systems and platforms), that error is ignored.
func WriteAtomic(path string, write func(*os.File) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	if err := writeTemp(f, write); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := RenameSync(f.Name(), path); err != nil {
		os.Remove(f.Name()) // a no-op once renamed (the folder's sync failed)
		return err
	}
	return nil
}

// RenameSync renames src over dst (both in the same folder) and fsyncs
// that folder, so that the rename survives a crash once RenameSync has
// returned. It is the last step of a file written in place under a
// temporary name and synced by its writer, such as a resumable download.
// The folder's fsync errors are treated as in WriteAtomic.
func RenameSync(src, dst string) error {
	if err := os.Rename(src, dst); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return fmt.Errorf("%s: sync folder after rename: %w", dst, err)
	}
	return nil
}

// writeTemp fills, syncs, closes and chmods the temporary file.
func writeTemp(f *os.File, write func(*os.File) error) error {
	if err := write(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Chmod(f.Name(), 0o644)
}

// syncDir fsyncs a folder, ignoring EINVAL and ENOTSUP: the errors of
// platforms and file systems that cannot fsync a folder.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		return nil
	}
	return err
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
