package dataset

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/pawnet/pawnet/trainer/fsutil"
)

// Collision is a file that was left in place because its destination
// already exists.
type Collision struct{ Src, Dst string }

// SeparateReport counts what Separate did (or would do, in a dry run).
type SeparateReport struct {
	Moved      map[string]int // class → files moved now
	InPlace    map[string]int // class → photos already in the class folder (as Scan finds them)
	Collisions []Collision
	Other      []string // files left in place that are not cat.*/dog.* images
	// Skipped are cat.*/dog.* entries left in place because they cannot be
	// read as photos (see Classify), or are relative symlinks that would
	// no longer resolve from the class folder.
	Skipped  []BadFile
	Failures []string // moves that failed for another reason, with the error
	DryRun   bool
}

// Separate moves DIR/cat.* and DIR/dog.* photos (KaggleClass: every
// format of ImageExts) into DIR/cat/ and DIR/dog/
// (the seed's separate_data). It never overwrites: a name that already
// exists in the class folder is reported as a collision and the file stays
// where it is. Only what Scan would read is moved (see Classify): a named
// pipe, a dangling symlink and the like stay and are listed in Skipped,
// and so does a relative symlink that would not resolve to the same file
// from the class folder. Other files and folders are left alone and
// listed. Running it again moves nothing. With dryRun it only reports.
func Separate(dir string, dryRun bool) (*SeparateReport, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	rep := &SeparateReport{Moved: map[string]int{}, InPlace: map[string]int{}, DryRun: dryRun}
	for _, cls := range []string{"cat", "dog"} {
		if found, err := FindPhotos(filepath.Join(dir, cls)); err == nil {
			rep.InPlace[cls] = len(found.Photos)
		}
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			if name != "cat" && name != "dog" {
				rep.Other = append(rep.Other, name+"/")
			}
			continue
		}
		cls := KaggleClass(name)
		if cls == "" {
			rep.Other = append(rep.Other, name)
			continue
		}
		src := filepath.Join(dir, name)
		dst := filepath.Join(dir, cls, name)
		if err := Classify(src, e); err != nil {
			rep.Skipped = append(rep.Skipped, BadFile{src, err})
			continue
		}
		if err := linkStaysValid(src, e, filepath.Join(dir, cls)); err != nil {
			rep.Skipped = append(rep.Skipped, BadFile{src, err})
			continue
		}
		if _, err := os.Lstat(dst); err == nil {
			rep.Collisions = append(rep.Collisions, Collision{Src: src, Dst: dst})
			continue
		}
		if dryRun {
			rep.Moved[cls]++
			continue
		}
		if err := os.MkdirAll(filepath.Join(dir, cls), 0o755); err != nil {
			return rep, err
		}
		if err := fsutil.MoveNoReplace(src, dst); err != nil {
			if errors.Is(err, fsutil.ErrExists) {
				rep.Collisions = append(rep.Collisions, Collision{Src: src, Dst: dst})
			} else {
				rep.Failures = append(rep.Failures, fmt.Sprintf("%s: %v", name, err))
			}
			continue
		}
		rep.Moved[cls]++
	}
	sort.Strings(rep.Other)
	return rep, nil
}

// linkStaysValid checks that the entry at src, when it is a symlink with a
// relative target, would still resolve to the same file once moved into
// the folder to (which need not exist yet).
func linkStaysValid(src string, e fs.DirEntry, to string) error {
	if e.Type()&fs.ModeSymlink == 0 {
		return nil
	}
	target, err := os.Readlink(src)
	if err != nil || filepath.IsAbs(target) {
		return err
	}
	now, err := os.Stat(src)
	if err != nil {
		return err
	}
	if then, err := os.Stat(filepath.Join(to, target)); err != nil || !os.SameFile(now, then) {
		return fmt.Errorf("a relative symlink to %s that would not resolve from %s/; not moved", target, filepath.Base(to))
	}
	return nil
}
