// Command recipe is an experiment, not part of pawnet: the ablation behind
// the small model's training recipe (train.Defaults). It trains each
// variant with `pawnet train` for a fixed number of epochs (no early
// stopping, so every run gets the same budget whatever the machine's
// load) over several seeds (each seed is another split, init and
// augmentation), one run at a time, and prints per variant the best
// validation accuracy of every seed, their mean and spread (max − min),
// the mean validation log loss at the best epoch, and the process CPU
// seconds per epoch. Runs already finished in -runs are read back, not
// retrained, so an interrupted ablation continues. Run it with, e.g.:
//
//	GOEXPERIMENT=simd go build -o bin/pawnet ./cmd/pawnet
//	GOEXPERIMENT=simd go run ./cmd/experiments/recipe -data data/sample/train -epochs 30
//
// A variant is NAME=FLAGS (the flags of `pawnet train`), given with -variant
// (repeatable); the default list is the cumulative ablation in README.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/rundir"
)

// defaultVariants is the cumulative ablation: each adds one change to the
// one before it.
var defaultVariants = []string{
	"base=-schedule constant -wd 0 -label-smoothing 0",
	"cosine=-schedule cosine -warmup 2 -wd 0 -label-smoothing 0",
	"cosine+wd=-schedule cosine -warmup 2 -wd 0.05 -label-smoothing 0",
	"cosine+wd+ls=-schedule cosine -warmup 2 -wd 0.05 -label-smoothing 0.1",
}

type variants []string

func (v *variants) String() string     { return strings.Join(*v, "; ") }
func (v *variants) Set(s string) error { *v = append(*v, s); return nil }

func main() {
	bin := flag.String("bin", "bin/pawnet", "the pawnet binary")
	data := flag.String("data", "", "class-folder tree to train on (required)")
	runs := flag.String("runs", "runs/recipe", "folder of the ablation's run folders")
	epochs := flag.Int("epochs", 30, "epochs per run (the fixed budget)")
	seedList := flag.String("seeds", "1,2,3", "comma-separated seeds")
	extra := flag.String("flags", "", "flags passed to every run")
	var vs variants
	flag.Var(&vs, "variant", "NAME=FLAGS of pawnet train (repeatable; default: the cumulative ablation)")
	flag.Parse()
	if *data == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if len(vs) == 0 {
		vs = defaultVariants
	}
	var seeds []uint64
	for _, s := range strings.Split(*seedList, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "recipe: -seeds: %v\n", err)
			os.Exit(2)
		}
		seeds = append(seeds, n)
	}
	if err := run(*bin, *data, *runs, *extra, *epochs, seeds, vs); err != nil {
		fmt.Fprintln(os.Stderr, "recipe:", err)
		os.Exit(1)
	}
}

// result is one finished run.
type result struct {
	acc, logLoss, cpuPerEpoch float64
	bestEpoch                 int
	valAcc                    []float64 // per epoch
}

func run(bin, data, runs, extra string, epochs int, seeds []uint64, vs []string) error {
	table := make([][]result, len(vs))
	for i, v := range vs {
		name, flags, ok := strings.Cut(v, "=")
		if !ok || name == "" {
			return fmt.Errorf("variant %q: want NAME=FLAGS", v)
		}
		for _, seed := range seeds {
			r, err := trainOne(bin, data, runs, fmt.Sprintf("%s-e%d-s%d", name, epochs, seed), flags+" "+extra, epochs, seed)
			if err != nil {
				return fmt.Errorf("%s seed %d: %w", name, seed, err)
			}
			fmt.Printf("%-16s seed %d: best val acc %.4f at epoch %d, log loss %.4f, %.1f CPU-s/epoch\n",
				name, seed, r.acc, r.bestEpoch, r.logLoss, r.cpuPerEpoch)
			table[i] = append(table[i], r)
		}
	}
	fmt.Printf("\nval accuracy (mean over seeds) against training CPU-minutes (process CPU time, all threads):\n")
	for i, v := range vs {
		name, _, _ := strings.Cut(v, "=")
		fmt.Printf("%-16s", name)
		for e := 5; e <= epochs; e += 5 {
			sum, cpu, n := 0.0, 0.0, 0
			for _, r := range table[i] {
				if e <= len(r.valAcc) {
					sum += r.valAcc[e-1]
					cpu += r.cpuPerEpoch * float64(e)
					n++
				}
			}
			if n > 0 {
				fmt.Printf("  e%d %.1f min %.1f%%", e, cpu/float64(n)/60, 100*sum/float64(n))
			}
		}
		fmt.Println()
	}
	fmt.Printf("\n%d epochs per run, seeds %v\n", epochs, seeds)
	fmt.Printf("| variant | flags | best val acc per seed | mean ± spread/2 | mean val log loss | CPU-s/epoch |\n|---|---|---|---|---|---|\n")
	for i, v := range vs {
		name, flags, _ := strings.Cut(v, "=")
		var accs []string
		lo, hi, sum, ll, cpu := math.Inf(1), math.Inf(-1), 0.0, 0.0, 0.0
		for _, r := range table[i] {
			accs = append(accs, fmt.Sprintf("%.1f", 100*r.acc))
			lo, hi, sum, ll, cpu = math.Min(lo, r.acc), math.Max(hi, r.acc), sum+r.acc, ll+r.logLoss, cpu+r.cpuPerEpoch
		}
		n := float64(len(table[i]))
		fmt.Printf("| %s | `%s` | %s | %.1f%% ± %.1f | %.3f | %.1f |\n", name, strings.TrimSpace(flags), strings.Join(accs, ", "),
			100*sum/n, 100*(hi-lo)/2, ll/n, cpu/n)
	}
	return nil
}

// trainOne trains one run (or reads back a finished one) and returns its
// best epoch's figures and the CPU seconds per epoch of its process.
func trainOne(bin, data, runs, id, flags string, epochs int, seed uint64) (result, error) {
	dir := filepath.Join(runs, id)
	cpuFile := filepath.Join(dir, "cpu-seconds")
	st, err := rundir.ReadState(dir)
	if err != nil || !st.Finished {
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			// A run cut short: start it again from nothing.
			if err := os.RemoveAll(dir); err != nil {
				return result{}, err
			}
		}
		args := []string{"train", "-backend", "go", "-runs", runs, "-name", id, "-seed", strconv.FormatUint(seed, 10),
			"-epochs", strconv.Itoa(epochs), "-patience", "0", "-keep", "1"}
		args = append(args, strings.Fields(flags)...)
		args = append(args, data)
		cmd := exec.Command(bin, args...)
		cmd.Stderr = os.Stderr
		fmt.Fprintf(os.Stderr, "$ %s %s\n", bin, strings.Join(args, " "))
		if err := cmd.Run(); err != nil {
			return result{}, err
		}
		ps := cmd.ProcessState
		cpu := (ps.UserTime() + ps.SystemTime()).Seconds()
		if err := os.WriteFile(cpuFile, []byte(strconv.FormatFloat(cpu, 'f', 2, 64)), 0o644); err != nil {
			return result{}, err
		}
		if st, err = rundir.ReadState(dir); err != nil {
			return result{}, err
		}
	}
	b, err := os.ReadFile(cpuFile)
	if err != nil {
		return result{}, err
	}
	cpu, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	if err != nil {
		return result{}, fmt.Errorf("%s: %w", cpuFile, err)
	}
	accs, err := valAccs(filepath.Join(dir, rundir.MetricsFile))
	if err != nil {
		return result{}, err
	}
	return result{acc: st.BestAcc, logLoss: st.BestLogLoss, bestEpoch: st.BestEpoch, cpuPerEpoch: cpu / float64(max(st.Epoch, 1)), valAcc: accs}, nil
}

// valAccs reads the validation accuracy of every epoch from metrics.jsonl.
func valAccs(path string) ([]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var accs []float64
	_, _, err = metrics.ReadLines(f, func(h metrics.Header, ok bool, line []byte) {
		if !ok || h.Type != metrics.TypeEpoch {
			return
		}
		if m, err := metrics.Decode(line); err == nil {
			if e, ok := m.(*metrics.Epoch); ok && e.Epoch == len(accs)+1 {
				accs = append(accs, e.ValAcc)
			}
		}
	})
	return accs, err
}
