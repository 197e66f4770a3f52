package workflow

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"

	"github.com/pawnet/pawnet/internal/benchdoc"
	"github.com/pawnet/pawnet/trainer/fsutil"
	"github.com/pawnet/pawnet/trainer/rundir"
)

// BenchRaw is where Bench keeps the raw `go test -bench` output that
// docs/benchmarks.md is written from.
const BenchRaw = "artifacts/bench.txt"

// Bench waits for a quiet machine (waitQuiet), runs the benchmarks
// (benchdoc.Commands, the one list; the pawnet/PyTorch pairs three times,
// keeping the best), prints their output and keeps it in BenchRaw, then
// rewrites docs/benchmarks.md from it (PAWNET_BENCH_MD to write
// elsewhere; see BenchDoc and internal/benchdoc, whose rows say what each
// figure is), and fails when a row of the table was not measured.
func Bench() error {
	mg.Deps(TestSample, Wasm)
	e, err := sampleEnv(goEnv())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(BenchRaw), 0o755); err != nil {
		return err
	}
	raw, err := os.Create(BenchRaw)
	if err != nil {
		return err
	}
	defer raw.Close()
	out := io.MultiWriter(os.Stdout, raw)
	// The run's machine, read back by writeBenchDoc (also when mage
	// benchDoc renders the file again later).
	commit, _ := sh.Output("git", "rev-parse", "--short", "HEAD")
	if dirty, _ := sh.Output("git", "status", "--porcelain", "--untracked-files=no"); dirty != "" {
		commit += "+changes"
	}
	if err := benchWeights(); err != nil {
		return err
	}
	fmt.Fprintf(out, "pawnet-quiet: %s\n", waitQuiet(envDuration("PAWNET_BENCH_WAIT", 10*time.Minute), loadAverage, 10*time.Second))
	fmt.Fprintf(out, "pawnet-commit: %s\npawnet-date: %s\npawnet-load-start: %s\n", commit, time.Now().UTC().Format(time.RFC3339), loadAverage())
	for _, args := range benchdoc.Commands {
		fmt.Fprintln(out, "$ go", strings.Join(args, " "))
		cmd := command(e, "go", args...)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Run(); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "pawnet-load-end: %s\n", loadAverage())
	if err := raw.Close(); err != nil {
		return err
	}
	res, err := writeBenchDoc()
	if err != nil {
		return err
	}
	if missing := benchdoc.Missing(benchdoc.Rows, res); len(missing) > 0 {
		return fmt.Errorf("mage bench: rows not measured in this run: %s (PyTorch needs python3-torch, ONNX Runtime Web npm)", strings.Join(missing, ", "))
	}
	return nil
}

// benchWeights makes sure the int8-agreement row has trained weights to
// measure: with no PAWNET_WEIGHTS and no runs/*/model.safetensors, it
// trains the demo's small model on the sample first (about 90 s).
func benchWeights() error {
	if getenv("PAWNET_WEIGHTS") != "" {
		return nil
	}
	if _, err := newestWeights(RunsDir); err == nil {
		return nil
	}
	train, err := SampleTrain()
	if err != nil {
		return err
	}
	return run(Binary, "train", "-name", "bench-"+time.Now().Format("20060102-150405"), train)
}

// newestWeights returns the most recently written runs/*/model.safetensors.
func newestWeights(runs string) (string, error) {
	paths, _ := filepath.Glob(filepath.Join(runs, "*", rundir.WeightsFile))
	if len(paths) == 0 {
		return "", fmt.Errorf("no %s/*/%s: run go tool mage demo (or train) first, or set PAWNET_WEIGHTS", runs, rundir.WeightsFile)
	}
	mod := func(p string) int64 {
		st, err := os.Stat(p)
		if err != nil {
			return 0
		}
		return st.ModTime().UnixNano()
	}
	sort.SliceStable(paths, func(i, j int) bool { return mod(paths[i]) > mod(paths[j]) })
	return paths[0], nil
}

// waitQuiet waits up to limit, polling load every poll, for the 1-minute
// load average to fall under 1, and says how that went, for the
// pawnet-quiet line of the run's output.
func waitQuiet(limit time.Duration, load func() string, poll time.Duration) string {
	start := time.Now()
	for {
		avg := load()
		one, err := strconv.ParseFloat(strings.Fields(avg + " x")[0], 64)
		waited := time.Since(start).Round(time.Second)
		if err == nil && one < 1 {
			return fmt.Sprintf("yes: load %s after %v", avg, waited)
		}
		if time.Since(start) >= limit {
			return fmt.Sprintf("no: load %s after waiting %v", avg, waited)
		}
		if waited == 0 {
			fmt.Printf("mage bench: waiting up to %v for a 1-minute load average under 1 (now %s)\n", limit, avg)
		}
		time.Sleep(poll)
	}
}

// loadAverage returns /proc/loadavg's 1-, 5- and 15-minute averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// BenchDoc rewrites docs/benchmarks.md (PAWNET_BENCH_MD) from the output
// Bench kept in BenchRaw, with the machine it recorded there, without
// running the benchmarks again (after a change to internal/benchdoc's
// rows).
func BenchDoc() error {
	_, err := writeBenchDoc()
	return err
}

// writeBenchDoc is BenchDoc, returning the results it read.
func writeBenchDoc() (*benchdoc.Results, error) {
	f, err := os.Open(BenchRaw)
	if err != nil {
		return nil, fmt.Errorf("%w (go tool mage bench writes it)", err)
	}
	defer f.Close()
	res, err := benchdoc.Parse(f)
	if err != nil {
		return nil, err
	}
	mach := benchdoc.Machine{Cores: runtime.NumCPU(), Commit: res.Config("pawnet-commit"), Date: res.Config("pawnet-date"),
		LoadStart: res.Config("pawnet-load-start"), LoadEnd: res.Config("pawnet-load-end"), Quiet: res.Config("pawnet-quiet")}
	for _, v := range []*string{&mach.Commit, &mach.Date, &mach.LoadStart, &mach.LoadEnd} {
		if *v == "" {
			*v = "not recorded"
		}
	}
	mach.Go, _ = sh.Output("go", "env", "GOVERSION")
	path := getenv("PAWNET_BENCH_MD")
	if path == "" {
		path = "docs/benchmarks.md"
	}
	var b bytes.Buffer
	if err := benchdoc.Write(&b, benchdoc.Rows, res, mach); err != nil {
		return nil, err
	}
	if err := fsutil.WriteFileAtomic(path, b.Bytes()); err != nil {
		return nil, err
	}
	fmt.Printf("wrote %s: %d benchmark results\n", path, res.Len())
	return res, nil
}
