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
//	GOEXPERIMENT=simd go run ./experiments/recipe -data data/sample/train -epochs 30
//
// A variant is NAME=FLAGS (the flags of `pawnet train`), given with -variant
// (repeatable); the default list is the ablation in README.md.
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

// defaultVariants is the ablation in README.md: the earlier recipe, the
// cosine schedule, then weight decay and label smoothing on top of it, each
// alone and together.
var defaultVariants = []string{
	"base=-schedule constant -wd 0 -label-smoothing 0",
	"cosine=-schedule cosine -warmup 2 -wd 0 -label-smoothing 0",
	"cosine+wd=-schedule cosine -warmup 2 -wd 0.05 -label-smoothing 0",
	"cosine+ls=-schedule cosine -warmup 2 -wd 0 -label-smoothing 0.1",
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
	testDir := flag.String("test", "", "with -labels: also score each run's weights on this folder of test/N.jpg photos")
	labels := flag.String("labels", "", "the test folder's id,label CSV (1 = dog)")
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
	if (*testDir == "") != (*labels == "") {
		fmt.Fprintln(os.Stderr, "recipe: -test and -labels go together")
		os.Exit(2)
	}
	test = testSet{*testDir, *labels}
	if err := run(*bin, *data, *runs, *extra, *epochs, seeds, vs); err != nil {
		fmt.Fprintln(os.Stderr, "recipe:", err)
		os.Exit(1)
	}
}

// testSet is the labelled test set runs are scored on ("" = none).
type testSet struct{ dir, labels string }

var test testSet

// result is one finished run.
type result struct {
	acc, logLoss, cpuPerEpoch float64
	bestEpoch                 int
	valAcc                    []float64 // per epoch
	cal                       *metrics.Calibration
	// test scores: uncalibrated, calibrated, calibrated + TTA (log loss,
	// accuracy); nil without a test set.
	test [][2]float64
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
			if c := r.cal; c != nil {
				fmt.Printf("%-16s seed %d: temperature %.3f, val log loss → %.4f calibrated; TTA val acc %.4f, log loss %.4f, %.4f calibrated\n",
					name, seed, c.Temperature, c.ValLogLossCal, c.ValAccTTA, c.ValLogLossTTA, c.ValLogLossTTACal)
			}
			if len(r.test) == 3 {
				fmt.Printf("%-16s seed %d: test log loss / acc: uncalibrated %.4f / %.4f, calibrated %.4f / %.4f, calibrated + TTA %.4f / %.4f\n",
					name, seed, r.test[0][0], r.test[0][1], r.test[1][0], r.test[1][1], r.test[2][0], r.test[2][1])
			}
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
	calibrationTable(vs, table)
	return nil
}

// calibrationTable prints, for the variants whose runs were calibrated
// (and scored), the mean over seeds of the val and test figures before
// and after the temperature and with TTA.
func calibrationTable(vs []string, table [][]result) {
	header := false
	for i, v := range vs {
		name, _, _ := strings.Cut(v, "=")
		var sum [10]float64
		n := 0
		for _, r := range table[i] {
			if r.cal == nil {
				continue
			}
			n++
			vals := []float64{r.logLoss, r.cal.ValLogLossCal, r.cal.ValAccTTA, r.cal.ValLogLossTTACal, r.cal.Temperature}
			for _, t := range r.test {
				vals = append(vals, t[0])
			}
			if len(r.test) == 3 {
				vals = append(vals, r.test[2][1])
			}
			for k, x := range vals {
				sum[k] += x
			}
		}
		if n == 0 {
			continue
		}
		if !header {
			fmt.Printf("\nmeans over seeds | val log loss → calibrated | TTA val acc | TTA val log loss calibrated | temperature | test log loss uncalibrated → calibrated → + TTA | test acc (TTA)\n")
			header = true
		}
		m := func(k int) float64 { return sum[k] / float64(n) }
		fmt.Printf("%-16s | %.4f → %.4f | %.1f%% | %.4f | %.3f | %.4f → %.4f → %.4f | %.1f%%\n",
			name, m(0), m(1), 100*m(2), m(3), m(4), m(5), m(6), m(7), 100*m(8))
	}
}

// scoreTest predicts the test set with a run's weights uncalibrated,
// calibrated and calibrated with TTA, and scores each (`pawnet score`).
func scoreTest(bin, dir string) ([][2]float64, error) {
	var out [][2]float64
	for _, v := range []struct {
		file  string
		flags []string
	}{
		{"test-uncalibrated.csv", []string{"-no-calibration"}},
		{"test-calibrated.csv", nil},
		{"test-tta.csv", []string{"-tta"}},
	} {
		sub := filepath.Join(dir, v.file)
		args := append([]string{"predict", "-weights", filepath.Join(dir, rundir.WeightsFile), "-csv", sub}, v.flags...)
		cmd := exec.Command(bin, append(args, test.dir)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%v: %s", err, b)
		}
		b, err := exec.Command(bin, "score", sub, test.labels).Output()
		if err != nil {
			return nil, err
		}
		var n int
		var ll, acc float64
		if _, err := fmt.Sscanf(string(b), "score: %d photos, log loss %f, accuracy %f", &n, &ll, &acc); err != nil {
			return nil, fmt.Errorf("pawnet score said %q: %v", b, err)
		}
		out = append(out, [2]float64{ll, acc})
	}
	return out, nil
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
	r := result{acc: st.BestAcc, logLoss: st.BestLogLoss, bestEpoch: st.BestEpoch, cpuPerEpoch: cpu / float64(max(st.Epoch, 1)), valAcc: accs,
		cal: st.BestCalibration}
	if test.dir != "" {
		if r.test, err = scoreTest(bin, dir); err != nil {
			return result{}, err
		}
	}
	return r, nil
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
