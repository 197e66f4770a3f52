// Package dataset reads labelled photo folders for training: it separates
// Kaggle's flat train/ folder into class folders, scans ImageFolder-style
// trees (cat/ dog/, or PetImages' Cat/ Dog/), makes the seeded train /
// validation split, computes normalization statistics, and feeds batches of
// augmented tensors from a decode-once uint8 cache. Train and stats read
// that cache from a pack (WritePack, OpenPack, LoadPack; `pawnet pack`):
// the folder decoded once into one memory-mapped file, checked against the
// folder when opened and rebuilt when stale or damaged.
package dataset

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ImageExts are the file extensions (lower case) of the formats the decoder
// (shared/imageio) reads: the one list of what a photo is. Separate, Scan,
// FindPhotos, the pack, the zip reader (OpenZip) and predict all decide
// with IsImageName and KaggleClass, which read it.
var ImageExts = map[string]bool{
	".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".webp": true,
	".bmp": true, ".tif": true, ".tiff": true,
}

// IsImageName reports whether a file name (a base name, or a slash- or
// separator-delimited path, whose last element is read) has a photo
// extension in ImageExts, in any case, and is not a hidden file.
func IsImageName(name string) bool {
	name = baseName(name)
	return ImageExts[strings.ToLower(filepath.Ext(name))] && !strings.HasPrefix(name, ".")
}

// KaggleClass returns "cat" or "dog" for a photo named as in Kaggle's
// train folder (cat.N.jpg, dog.N.jpg: the class, a dot, anything, and an
// extension of ImageExts, in any case), and "" for any other name. name
// may be a path; its last element is read.
func KaggleClass(name string) string {
	name = baseName(name)
	if !IsImageName(name) {
		return ""
	}
	stem := strings.ToLower(strings.TrimSuffix(name, filepath.Ext(name)))
	for _, cls := range []string{"cat", "dog"} {
		if len(stem) > len(cls)+1 && strings.HasPrefix(stem, cls+".") {
			return cls
		}
	}
	return ""
}

// baseName is the last element of a path separated by slashes or the
// OS's separator.
func baseName(p string) string {
	if i := strings.LastIndexAny(p, "/"+string(filepath.Separator)); i >= 0 {
		return p[i+1:]
	}
	return p
}

// Item is one labelled photo.
type Item struct {
	Photo
	Label int
}

// Dataset is a scanned class-folder tree.
type Dataset struct {
	Root    string
	Classes []string // folder names; index = label
	Items   []Item   // sorted by label, then path
	Ignored []string // files under the class folders that are not photos
	// Skipped are the entries that are not read, with the reason (see
	// FindPhotos): entries with a photo's name that are not regular files
	// (named pipes, sockets, devices, dangling or looping symlinks),
	// symlinks to folders, and folders that cannot be listed.
	Skipped []BadFile
	// Zip is the zip the photos are read from (ScanZip), nil for a folder.
	Zip *Zip
}

// Scan reads root/<class>/* where each subfolder holding photos is a class.
// Labels follow the folder names sorted case-insensitively, so both cat/dog
// and PetImages' Cat/Dog give cat = 0, dog = 1. Files directly in root are
// ignored; if root still holds Kaggle's unsplit cat.N.jpg files the error
// says to run `pawnet separate` first. Only real folders are classes, and
// only regular files (or symlinks to them) are items: every entry is
// sorted by FindPhotos, and what is not read is listed in Skipped. A root
// that is a zip file (IsZipName) is read in place with ScanZip.
func Scan(root string) (*Dataset, error) {
	if fi, err := os.Stat(root); err == nil && fi.Mode().IsRegular() && IsZipName(root) {
		return ScanZip(root)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	ds := &Dataset{Root: root}
	var dirs []string
	unsplit := 0
	for _, e := range entries {
		if e.IsDir() {
			if !strings.HasPrefix(e.Name(), ".") {
				dirs = append(dirs, e.Name())
			}
			continue
		}
		var top Found // what would be read if root were a class folder
		top.add(filepath.Join(root, e.Name()), e)
		switch {
		case len(top.Photos) > 0 && KaggleClass(e.Name()) != "":
			unsplit++
		case len(top.Skipped) > 0:
			ds.Skipped = append(ds.Skipped, top.Skipped...)
		}
	}
	sort.Slice(dirs, func(i, j int) bool {
		a, b := strings.ToLower(dirs[i]), strings.ToLower(dirs[j])
		if a != b {
			return a < b
		}
		return dirs[i] < dirs[j]
	})
	for _, d := range dirs {
		found, err := FindPhotos(filepath.Join(root, d))
		if err != nil {
			ds.Skipped = append(ds.Skipped, BadFile{filepath.Join(root, d), err})
			continue
		}
		ds.Ignored = append(ds.Ignored, found.Ignored...)
		ds.Skipped = append(ds.Skipped, found.Skipped...)
		if len(found.Photos) == 0 {
			continue
		}
		for _, p := range found.Photos {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return nil, err
			}
			ds.Items = append(ds.Items, Item{Photo: InDir(root, rel), Label: len(ds.Classes)})
		}
		ds.Classes = append(ds.Classes, d)
	}
	if len(ds.Classes) < 2 {
		if unsplit > 0 {
			return nil, fmt.Errorf("%s holds %d unsplit cat.N/dog.N files; run `pawnet separate %s` first", root, unsplit, root)
		}
		return nil, fmt.Errorf("%s: found %d class folder(s) with photos, need at least 2 (e.g. cat/ and dog/)", root, len(ds.Classes))
	}
	return ds, nil
}

// Counts returns the number of items per class.
func (ds *Dataset) Counts() []int {
	c := make([]int, len(ds.Classes))
	for _, it := range ds.Items {
		c[it.Label]++
	}
	return c
}

// Split divides items into train and validation parts, stratified by class:
// each class is shuffled with the seed and its first round(valFraction·n)
// items go to validation. The result depends only on the items and seed.
func Split(items []Item, seed uint64, valFraction float64) (train, val []Item) {
	ti, vi := SplitIndices(items, seed, valFraction)
	return Pick(items, ti), Pick(items, vi)
}

// Pick returns the items at the given indices.
func Pick(items []Item, idx []int) []Item {
	out := make([]Item, len(idx))
	for k, i := range idx {
		out[k] = items[i]
	}
	return out
}

// SplitIndices is Split as indices into items.
func SplitIndices(items []Item, seed uint64, valFraction float64) (train, val []int) {
	byClass := map[int][]int{}
	var labels []int
	for i, it := range items {
		if _, ok := byClass[it.Label]; !ok {
			labels = append(labels, it.Label)
		}
		byClass[it.Label] = append(byClass[it.Label], i)
	}
	sort.Ints(labels)
	for _, l := range labels {
		cls := byClass[l]
		r := rand.New(rand.NewPCG(seed, uint64(l)))
		r.Shuffle(len(cls), func(i, j int) { cls[i], cls[j] = cls[j], cls[i] })
		nv := int(float64(len(cls))*valFraction + 0.5)
		val = append(val, cls[:nv]...)
		train = append(train, cls[nv:]...)
	}
	return train, val
}
