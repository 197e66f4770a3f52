package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/pawnet/pawnet/shared/preprocess"
	"github.com/pawnet/pawnet/trainer/fsutil"
)

// Which entries of a data folder are opened
//
// Every command that reads photo folders (separate, stats, pack, train,
// predict) decides what to open with Classify, and walks folders with
// FindPhotos, so they agree on every entry. Only regular files are
// opened. An entry's type is read without following it (its directory
// entry, as Lstat gives it); a symlink is then followed only to see what
// it points to, and read when it resolves to a regular file, wherever
// that file lies (a folder of links into another tree is a common way to
// lay out a split). Everything else is skipped with its reason and never
// opened: a named pipe (opening one blocks until a writer comes), a
// socket, a device, a symlink to any of these, a dangling symlink and a
// symlink loop. Symlinks to folders are not followed (so a walk cannot
// loop), and are reported too. OpenRegular checks the opened file once
// more, so an entry replaced after the scan cannot block a reader either;
// the pack (pack.go) is opened with it too.

// ErrNotRegular is wrapped by the errors of Classify and OpenRegular for an
// entry that is not a regular file or a symlink to one.
var ErrNotRegular = errors.New("not a regular file")

// notRegular is an ErrNotRegular that says what the entry is.
type notRegular string

func (e notRegular) Error() string      { return ErrNotRegular.Error() + ": " + string(e) }
func (notRegular) Is(target error) bool { return target == ErrNotRegular }

// Classify reports whether the entry at path may be opened as a photo:
// nil for a regular file or a symlink that resolves to one, else an error
// wrapping ErrNotRegular that says what it is (or the error of Lstat, when
// path cannot be looked at). d is the entry as its folder listed it; nil
// means path is Lstat'ed. Classify never opens path.
func Classify(path string, d fs.DirEntry) error {
	var mode fs.FileMode
	if d != nil {
		mode = d.Type()
	} else {
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		mode = fi.Mode()
	}
	if mode.IsRegular() {
		return nil
	}
	if mode&fs.ModeSymlink == 0 {
		return notRegular(fsutil.DescribeMode(mode))
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, syscall.ELOOP):
		return notRegular("a symlink loop (too many levels of symbolic links)")
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		target, _ := os.Readlink(path)
		return notRegular("a dangling symlink to " + target)
	case err != nil:
		return notRegular(fmt.Sprintf("a symlink that cannot be followed (%v)", err))
	case fi.Mode().IsRegular():
		return nil
	case fi.IsDir():
		return notRegular("a symlink to a folder (not followed)")
	}
	return notRegular("a symlink to " + fsutil.DescribeMode(fi.Mode()))
}

// Found is what FindPhotos saw under a folder.
type Found struct {
	// Photos are the photos it may read (see Classify), sorted by path.
	Photos []string
	// Ignored are the entries without a photo's name (IsImageName),
	// whatever they are; they are never opened.
	Ignored []string
	// Skipped are the entries not read, with the reason: those with a
	// photo's name that are not regular files, symlinks to folders, and
	// folders that could not be listed.
	Skipped []BadFile
}

// FindPhotos walks the folder tree at root, without following symlinks to
// folders below it (root itself may be one), and sorts every entry below
// it into Found: the one scan of photo folders that Scan, Separate and
// predict.Files share. A root that cannot be listed is an error.
func FindPhotos(root string) (Found, error) {
	var f Found
	if _, err := os.ReadDir(root); err != nil {
		return f, err
	}
	walk := root
	if fi, err := os.Lstat(root); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		walk += string(filepath.Separator) // WalkDir follows a root named with a trailing separator
	}
	filepath.WalkDir(walk, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil: // a folder below root that cannot be listed
			f.Skipped = append(f.Skipped, BadFile{p, err})
		case d.IsDir():
		default:
			f.add(p, d)
		}
		return nil
	})
	sort.Strings(f.Photos)
	return f, nil
}

// add sorts one non-folder entry into f.
func (f *Found) add(p string, d fs.DirEntry) {
	err := Classify(p, d)
	switch {
	case err == nil && IsImageName(d.Name()):
		f.Photos = append(f.Photos, p)
	case err == nil || !(IsImageName(d.Name()) || isFolderLink(err)):
		f.Ignored = append(f.Ignored, p)
	default:
		f.Skipped = append(f.Skipped, BadFile{p, err})
	}
}

// isFolderLink reports whether Classify's error is about a symlink to a
// folder.
func isFolderLink(err error) bool {
	var nr notRegular
	return errors.As(err, &nr) && nr == "a symlink to a folder (not followed)"
}

// OpenRegular opens the file at path for reading when it is a regular file
// (after following symlinks); anything else is closed again and refused
// with an error wrapping ErrNotRegular. The open never blocks: a named
// pipe is opened without waiting for a writer, and then refused. Every
// file of a data folder is opened through it: photos, and the pack.
func OpenRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: path, Err: notRegular(fsutil.DescribeMode(fi.Mode()))}
	}
	return f, nil
}

// ReadRegular reads the whole file at path, opened with OpenRegular.
func ReadRegular(path string) ([]byte, error) {
	f, err := OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if fi, err := f.Stat(); err == nil {
		buf.Grow(int(fi.Size()) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// LoadStats reads a stats.json (preprocess.Stats) as preprocess.LoadStats
// does, but opened with OpenRegular: a data folder's stats.json may be
// anything its owner put there.
func LoadStats(path string) (preprocess.Stats, error) {
	data, err := ReadRegular(path)
	if err != nil {
		return preprocess.Stats{}, err
	}
	st, err := preprocess.ParseStats(data)
	if err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// WithoutBad returns the items whose photos are not among bad, in order:
// the ones that were decoded.
func WithoutBad(items []Item, bad []BadFile) []Item {
	if len(bad) == 0 {
		return items
	}
	isBad := make(map[string]bool, len(bad))
	for _, b := range bad {
		isBad[b.Path] = true
	}
	out := make([]Item, 0, len(items))
	for _, it := range items {
		if !isBad[it.Path] {
			out = append(out, it)
		}
	}
	return out
}
