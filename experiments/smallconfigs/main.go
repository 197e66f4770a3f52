// Command smallconfigs is an experiment, not part of pawnet: it compares
// candidate small AlexNet configurations by the validation accuracy each
// reaches for the same CPU-time budget, on the product's own data path.
//
// It reads a class-folder dataset as pawnet train does (dataset.Scan; the
// embedded sample's train folder after `pawnet separate`, 1800 photos),
// makes the seeded 80/20 split (dataset.SplitIndices), decodes each photo
// once at each config's input size (dataset.BuildCache), normalizes with
// the train split's channel statistics at that size, and trains with
// Adam (batch 32) on batches of pawnet's Loader with its augmentation
// (preprocess.DefaultAug), evaluating on the validation split with the
// eval transform. Six times over the budget of training CPU time
// (user+system, all threads) it prints the validation accuracy and mean
// cross-entropy, and at the end the CPU milliseconds per step and the
// parameter count. Run it with, e.g.:
//
//	go tool mage sample && bin/pawnet separate data/sample/train
//	GOEXPERIMENT=simd go run ./experiments/smallconfigs -data data/sample/train -cpu-seconds 90
//
// -lr sets Adam's learning rate and -configs a comma-separated subset of the
// config names (small, small-x2, small-d128, small-96px, small-32px-k5s1).
// The backend is $GOMLX_BACKEND, or the pure-Go CPU backend when unset.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/preprocess"
	"github.com/pawnet/pawnet/trainer/dataset"
	"github.com/pawnet/pawnet/trainer/model"
)

func main() {
	data := flag.String("data", "", "a class-folder dataset, e.g. data/sample/train after pawnet separate (required)")
	seed := flag.Uint64("seed", 1, "the train/validation split's and the loader's seed")
	budget := flag.Float64("cpu-seconds", 90, "training CPU time per config, in seconds")
	lr := flag.Float64("lr", model.DefaultLearningRate, "Adam's learning rate")
	only := flag.String("configs", "", "comma-separated config names to run (default: all)")
	flag.Parse()
	if *data == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*data, *seed, *budget, *lr, *only); err != nil {
		fmt.Fprintln(os.Stderr, "smallconfigs:", err)
		os.Exit(1)
	}
}

func run(dir string, seed uint64, budget, lr float64, only string) error {
	ds, err := dataset.Scan(dir)
	if err != nil {
		return err
	}
	_, valIdx := dataset.SplitIndices(ds.Items, seed, 0.2)

	wide := alexnet.Small()
	wide.Name, wide.Channels, wide.Dense = "small-x2", [alexnet.NumConv]int{24, 64, 96, 96, 64}, 512
	narrowDense := alexnet.Small()
	narrowDense.Name, narrowDense.Dense = "small-d128", 128
	s96 := alexnet.Small()
	s96.Name, s96.InputSize = "small-96px", 96
	native32 := alexnet.Small()
	native32.Name, native32.InputSize = "small-32px-k5s1", 32
	native32.Kernels, native32.Strides, native32.Pads = [alexnet.NumConv]int{5, 5, 3, 3, 3}, [alexnet.NumConv]int{1, 1, 1, 1, 1}, [alexnet.NumConv]int{2, 2, 1, 1, 1}
	configs := []alexnet.Config{alexnet.Small(), wide, narrowDense, s96, native32}
	if only != "" {
		var keep []alexnet.Config
		for _, cfg := range configs {
			if slices.Contains(strings.Split(only, ","), cfg.Name) {
				keep = append(keep, cfg)
			}
		}
		configs = keep
	}
	backend, err := model.Backend("")
	if err != nil {
		return err
	}
	const batch = 32
	for _, cfg := range configs {
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("%s: %w", cfg.Name, err)
		}
		cache, bad := dataset.BuildCache(ds.Items, cfg.InputSize, 0, nil)
		trainIx, valIx := cache.Split(valIdx)
		stats, err := cache.Stats(trainIx, 0)
		if err != nil {
			return err
		}
		norm, err := preprocess.NewNormalizer(stats)
		if err != nil {
			return err
		}
		aug := preprocess.DefaultAug()
		train := &dataset.Loader{Cache: cache, Indices: trainIx, Size: cfg.InputSize, BatchSize: batch, Norm: norm, Aug: &aug, Shuffle: true, Seed: seed, Workers: 2, Prefetch: 4}
		val := &dataset.Loader{Cache: cache, Indices: valIx, Size: cfg.InputSize, BatchSize: batch, Norm: norm, Seed: seed, Workers: 2, Prefetch: 4}
		fmt.Printf("%-16s %d train, %d val photos at %d px (%d unreadable)\n", cfg.Name, len(trainIx), len(valIx), cfg.InputSize, len(bad))
		m, err := model.NewWithOptions(cfg, backend, 1, model.Options{BatchSize: batch, LearningRate: lr})
		if err != nil {
			return err
		}
		var trainCPU time.Duration
		steps, nextEval := 0, budget/6
		for epoch := 1; trainCPU.Seconds() < budget; epoch++ {
			for b := range train.Epoch(context.Background(), epoch, 0) {
				if trainCPU.Seconds() >= budget {
					continue // drain the epoch's batches
				}
				c0 := processCPU()
				if _, _, err := m.TrainStep(b.X, b.Y, b.N); err != nil {
					return err
				}
				trainCPU += processCPU() - c0
				steps++
				if trainCPU.Seconds() >= nextEval || trainCPU.Seconds() >= budget {
					nextEval += budget / 6
					acc, loss, err := evaluate(m, val)
					if err != nil {
						return err
					}
					fmt.Printf("%-16s %5.1f cpu-s %4d steps (%4.1f epochs): val acc %.3f loss %.4f\n",
						cfg.Name, trainCPU.Seconds(), steps, float64(steps*batch)/float64(len(trainIx)), acc, loss)
				}
			}
		}
		cache.Close()
		fmt.Printf("%-16s %.1f cpu-ms/step, %.2fM params\n", cfg.Name, trainCPU.Seconds()*1e3/float64(steps), float64(cfg.NumParams())/1e6)
	}
	return nil
}

// processCPU is the CPU time (user + system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// evaluate returns the accuracy and mean cross-entropy of m on the
// loader's two-class batches (the eval transform).
func evaluate(m *model.Model, val *dataset.Loader) (acc, loss float64, err error) {
	correct, n := 0, 0
	for b := range val.Epoch(context.Background(), 0, 0) {
		if err != nil {
			continue // drain
		}
		var lg []float32
		if lg, err = m.Logits(b.X, b.N); err != nil {
			continue
		}
		for i, l := range b.Y[:b.N] {
			a, c := float64(lg[2*i]), float64(lg[2*i+1])
			mx := max(a, c)
			lse := mx + math.Log(math.Exp(a-mx)+math.Exp(c-mx))
			loss += lse - float64(lg[2*i+int(l)])
			if (c > a) == (l == 1) {
				correct++
			}
			n++
		}
	}
	if err != nil || n == 0 {
		return 0, 0, cmp.Or(err, errors.New("no validation photos"))
	}
	return float64(correct) / float64(n), loss / float64(n), nil
}
