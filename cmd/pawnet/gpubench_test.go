package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pawnet/pawnet/trainer/sample"
)

// TestGPUBenchDryRun runs scripts/gpu-bench.sh in its CPU dry-run mode, so
// the device script keeps working between the rare GPU sessions.
func TestGPUBenchDryRun(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	dir := os.Getenv("PAWNET_SAMPLE_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "pawnet-test-sample")
	}
	if _, err := sample.Make(dir, sample.DefaultCacheDir(), io.Discard); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := exec.Command("bash", "../../scripts/gpu-bench.sh", "dry-run")
	cmd.Env = append(os.Environ(), "BIN="+pawnet(t), "SAMPLE="+dir, "OUT="+out)
	res, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, res)
	}
	log, err := os.ReadFile(filepath.Join(out, "gpu-bench.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"== summary", "throughput backend=go model=small batch=8 dtype=fp32 devices=1 ", "throughput backend=go model=small batch=8 dtype=bf16 devices=1 ",
		"data parallel: N=1",
		"input workers=2 images=16", "run ", "finished after 1 epochs"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if strings.Contains(string(log), "!! ") {
		t.Errorf("a step failed:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(out, "metrics-sample-small.jsonl")); err != nil {
		t.Error("the sample run's metrics.jsonl was not copied to $OUT")
	}
}
