package workflow

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// Var is one PAWNET_* environment variable a workflow reads.
type Var struct {
	Name, Means string
}

// Vars lists every environment variable the workflows read, with what it
// sets; `go tool mage vars` prints it. A workflow reads only these
// (getenv panics on another name, and TestVarsAreListed checks the source).
var Vars = []Var{
	{"PAWNET_ADDR", "demo: the dashboard's address (default 127.0.0.1:8080)"},
	{"PAWNET_DATA", "train: a class-folder dataset instead of the embedded sample"},
	{"PAWNET_TRAIN_FLAGS", "train: extra flags for pawnet train, e.g. \"-model full -bf16\""},
	{"PAWNET_MODEL", "kaggle: small or full (default: full on a GPU, else small)"},
	{"PAWNET_EPOCHS", "kaggle: training epochs (default: the model's)"},
	{"PAWNET_WEIGHTS", "bench, teach: the weights to measure or teach on (default: the newest runs/*/model.safetensors)"},
	{"PAWNET_SAMPLE_DIR", "fuzz: the sample photos that seed the image fuzzer (default .cache/testdata when prepared)"},
	{"PAWNET_BENCH_MD", "bench, benchDoc: where to write the benchmark table (default docs/benchmarks.md)"},
	{"PAWNET_BENCH_WAIT", "bench: how long to wait for a quiet machine (a duration, default 10m)"},
	{"PAWNET_FUZZTIME", "fuzz: each fuzzer's -fuzztime (default 60s)"},
	{"PAWNET_FUZZPARALLEL", "fuzz: fuzzing workers (default GOMAXPROCS)"},
	{"PAWNET_KAGGLE_SYNTH", "kaggleBench: N synthetic 500×375 photos instead of the sample"},
	{"PAWNET_SIZE", "kaggleBench: the pack side in pixels (default 64)"},
	{"PAWNET_SUBMIT_N", "submitBench: photos in the synthetic test.zip (default 12500)"},
	{"PAWNET_SCALE_N", "scale: synthetic photos to generate (default 25000)"},
	{"PAWNET_SCALE_DATA", "scale: a Kaggle train/ folder or cat/ dog/ tree instead of synthetic photos"},
	{"PAWNET_SCALE_EVERY", "scale: steps between checkpoints (default 3)"},
}

// getenv returns the variable name, which must be listed in Vars.
func getenv(name string) string {
	for _, v := range Vars {
		if v.Name == name {
			return os.Getenv(name)
		}
	}
	panic(fmt.Sprintf("workflow: %s is not listed in Vars", name))
}

// envInt returns the variable name as a positive integer, def when unset
// or not one.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// envDuration returns the variable name as a duration, def when unset or
// not one.
func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(getenv(name)); err == nil {
		return d
	}
	return def
}

// PrintVars prints Vars, one per line.
func PrintVars() {
	for _, v := range Vars {
		fmt.Printf("%-20s %s\n", v.Name, v.Means)
	}
}
