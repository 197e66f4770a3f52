// Data assembly: scan, split, cache and the normalization statistics.

package train

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/preprocess"
	"github.com/pawnet/pawnet/trainer/dataset"
	"github.com/pawnet/pawnet/trainer/rundir"
)

// prepare scans and caches the data, loads or computes the stats, builds
// the model and restores the checkpoint of a resumed run.
func (r *Run) prepare() error {
	c := &r.cfg
	if r.init == nil && r.st.Checkpoint == "" { // a resumed run without a checkpoint starts over, from -init too
		if err := r.readInit(c.Init, c.Model); err != nil {
			return err
		}
	}
	ds, err := r.scanned, error(nil)
	if ds == nil {
		if ds, err = dataset.Scan(c.DataDir); err != nil {
			return err
		}
	}
	for _, b := range ds.Skipped {
		fmt.Fprintf(r.opts.Log, "skipped %s\n", b)
	}
	if c.Classes != nil && strings.Join(c.Classes, ",") != strings.Join(ds.Classes, ",") {
		return fmt.Errorf("classes changed since the run started: %v, now %v", c.Classes, ds.Classes)
	}
	c.Classes = ds.Classes
	if len(ds.Classes) != c.Model.Classes {
		return fmt.Errorf("%s has %d classes %v; the model has %d outputs", c.DataDir, len(ds.Classes), ds.Classes, c.Model.Classes)
	}
	// The model is built (its 58 M parameters initialized, for the full
	// config) while the data is read.
	built := make(chan error, 1)
	go func() { built <- r.buildModel() }()
	defer func() {
		if built != nil {
			<-built // a data error: let the model finish before returning
		}
	}()
	trainIdx, valIdx := dataset.SplitIndices(ds.Items, c.Seed, c.ValFraction)
	t0 := time.Now()
	var bad []dataset.BadFile
	how := "decoded into memory"
	if r.opts.NoPack {
		r.cache, bad = dataset.BuildCache(ds.Items, c.Model.InputSize, r.opts.Workers, r.progress(len(ds.Items), "decode"))
	} else {
		var path string
		r.cache, bad, path, err = dataset.LoadPack(ds, dataset.PackOptions{Size: c.Model.InputSize, Workers: r.opts.Workers,
			CacheDir: r.opts.CacheDir, Log: r.opts.Log, Progress: func(n int) func() { return r.progress(n, "pack") }})
		if err != nil {
			return err
		}
		how = "mapped from " + path
	}
	for _, b := range bad {
		fmt.Fprintf(r.opts.Log, "skipped %s\n", b)
	}
	r.trainIx, r.valIx = r.cache.Split(valIdx)
	fmt.Fprintf(r.opts.Log, "data: %d train, %d val photos of %v at %d px, %s in %.1fs (%d skipped)\n",
		len(r.trainIx), len(r.valIx), c.Classes, c.Model.InputSize, how, time.Since(t0).Seconds(), len(bad)+len(ds.Skipped))
	if len(r.trainIx) == 0 || len(r.valIx) == 0 {
		return errors.New("need at least one readable train and one validation photo")
	}
	train := dataset.WithoutBad(dataset.Pick(ds.Items, trainIdx), bad) // the decoded ones
	if err := r.loadStats(train); err != nil {
		return err
	}
	if r.stats.Photos == nil {
		r.stats.Photos = dataset.PhotoSizes(train, r.opts.Workers)
	}
	if p := r.stats.Photos; p != nil {
		fmt.Fprintf(r.opts.Log, "train photos' longer side: median %d px (10%%–90%%: %d–%d, %d–%d)\n", p.Median, p.P10, p.P90, p.Min, p.Max)
	}
	if r.norm, err = preprocess.NewNormalizer(r.stats); err != nil {
		return err
	}

	err = <-built
	built = nil
	if err != nil {
		return err
	}
	fmt.Fprintf(r.opts.Log, "backend: %s (%s)\n", r.device, r.reason)
	if r.st.Checkpoint != "" {
		if err := r.m.Restore(filepath.Join(r.dir, r.st.Checkpoint)); err != nil {
			return fmt.Errorf("resume: %w", err)
		}
		fmt.Fprintf(r.opts.Log, "resumed %s from %s (epoch %d done, next batch %d)\n", r.dir, r.st.Checkpoint, r.st.Epoch, r.st.NextBatch)
	} else if err := r.applyInit(); err != nil {
		return err
	}
	r.init = nil
	if err := rundir.WriteConfig(r.dir, *c); err != nil {
		return err
	}
	return rundir.WriteStats(r.dir, r.stats)
}

// statsSize is the side photos are resized to for the statistics, as
// `pawnet stats` does by default (alexnet.StatsSide).
var statsSize = alexnet.StatsSide()

// loadStats uses the run's stats.json (resume), then opts.StatsPath or
// DataDir/stats.json (dataset.SideFile: beside a zip) when computed on the
// same split, else computes them over the train split: from the cache
// when it holds statsSize images (the full model), else by decoding the
// train photos at statsSize.
func (r *Run) loadStats(train []dataset.Item) error {
	if done, err := r.fineTuneStats(); done || err != nil {
		return err
	}
	candidates := []string{filepath.Join(r.dir, rundir.StatsFile)}
	if r.opts.StatsPath != "" {
		candidates = append(candidates, r.opts.StatsPath)
	}
	candidates = append(candidates, dataset.SideFile(r.cfg.DataDir, rundir.StatsFile))
	for _, p := range candidates {
		st, err := dataset.LoadStats(p) // a named pipe there is not opened
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			fmt.Fprintf(r.opts.Log, "stats: %s not used: %v\n", p, err)
			continue
		}
		if st.Seed != r.cfg.Seed || st.ValFraction != r.cfg.ValFraction {
			fmt.Fprintf(r.opts.Log, "stats: %s was computed on another split (seed %d, val %.2f); not used\n", p, st.Seed, st.ValFraction)
			continue
		}
		r.stats = st
		fmt.Fprintf(r.opts.Log, "stats: %s\n", p)
		return nil
	}
	var st preprocess.Stats
	var err error
	if r.cache.Size == statsSize {
		st, err = r.cache.Stats(r.trainIx, r.opts.Workers)
		if err != nil {
			return err
		}
		fmt.Fprintf(r.opts.Log, "stats: computed over the %d cached train photos\n", st.Images)
	} else {
		var bad []dataset.BadFile
		st, bad, err = dataset.ComputeStats(train, nil, statsSize, r.opts.Workers, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(r.opts.Log, "stats: computed over %d train photos decoded at %d px (%d skipped)\n", st.Images, statsSize, len(bad))
	}
	st.Seed, st.ValFraction = r.cfg.Seed, r.cfg.ValFraction
	r.stats = st
	return nil
}
