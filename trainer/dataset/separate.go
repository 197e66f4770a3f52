package dataset

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/pawnet/pawnet/trainer/fsutil"
)

// kagglePattern matches Kaggle's train file names: cat.N.jpg, dog.N.jpg,
// and the same with jpeg/png/webp, in any case.
var kagglePattern = regexp.MustCompile(`(?i)^(cat|dog)\..+\.(jpe?g|png|webp)$`)

// Collision is a file that was left in place because its destination
// already exists.
type Collision struct{ Src, Dst string }

// SeparateReport counts what Separate did (or would do, in a dry run).
type SeparateReport struct {
	Moved      map[string]int // class → files moved now
	InPlace    map[string]int // class → files already in the class folder
	Collisions []Collision
	Other      []string // files left in place that are not cat.*/dog.* images
	Failures   []string // moves that failed for another reason, with the error
	DryRun     bool
}

// Separate moves DIR/cat.* and DIR/dog.* images into DIR/cat/ and DIR/dog/
// (the seed's separate_data). It never overwrites: a name that already
// exists in the class folder is reported as a collision and the file stays
// where it is. Other files and folders are left alone and listed. Running
// it again moves nothing. With dryRun it only reports.
func Separate(dir string, dryRun bool) (*SeparateReport, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	rep := &SeparateReport{Moved: map[string]int{}, InPlace: map[string]int{}, DryRun: dryRun}
	for _, cls := range []string{"cat", "dog"} {
		if ents, err := os.ReadDir(filepath.Join(dir, cls)); err == nil {
			for _, e := range ents {
				if e.Type().IsRegular() {
					rep.InPlace[cls]++
				}
			}
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
		m := kagglePattern.FindStringSubmatch(name)
		if m == nil || !e.Type().IsRegular() {
			rep.Other = append(rep.Other, name)
			continue
		}
		cls := strings.ToLower(m[1])
		dst := filepath.Join(dir, cls, name)
		if _, err := os.Lstat(dst); err == nil {
			rep.Collisions = append(rep.Collisions, Collision{Src: filepath.Join(dir, name), Dst: dst})
			continue
		}
		if dryRun {
			rep.Moved[cls]++
			continue
		}
		if err := os.MkdirAll(filepath.Join(dir, cls), 0o755); err != nil {
			return rep, err
		}
		if err := fsutil.MoveNoReplace(filepath.Join(dir, name), dst); err != nil {
			if errors.Is(err, fsutil.ErrExists) {
				rep.Collisions = append(rep.Collisions, Collision{Src: filepath.Join(dir, name), Dst: dst})
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
