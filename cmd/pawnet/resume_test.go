package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pawnet/pawnet/trainer/model"
	"github.com/pawnet/pawnet/trainer/rundir"
)

// runCLI runs the pawnet binary with a generous deadline, so that a
// command that blocks becomes a test failure instead of a hung test.
func runCLI(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("pawnet %v did not finish within 5 minutes:\n%s", args, out)
	}
	return string(out), err
}

// TestResumeDamagedCheckpoint trains a run to its end, damages its newest
// checkpoint and resumes it: pawnet says which checkpoint is damaged and
// which one it resumes from, redoes the last epoch once and finishes, with
// metrics.jsonl and state.json in agreement. Then, with every checkpoint
// damaged, -resume fails with the reasons and leaves the finished run's
// files byte for byte as they were.
func TestResumeDamagedCheckpoint(t *testing.T) {
	bin := pawnet(t)
	sample := filepath.Join(t.TempDir(), "sample")
	if out, err := runCLI(t, bin, "sample", "-out", sample); err != nil {
		t.Fatalf("sample: %v\n%s", err, out)
	}
	data := t.TempDir()
	for _, cls := range []string{"cat", "dog"} {
		if err := os.MkdirAll(filepath.Join(data, cls), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range 40 {
			name := cls + "." + strconv.Itoa(i) + ".jpg"
			if err := os.Link(filepath.Join(sample, "train", name), filepath.Join(data, cls, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	runs := t.TempDir()
	run := filepath.Join(runs, "d")
	if out, err := runCLI(t, bin, "train", "-epochs", "3", "-batch", "8", "-runs", runs, "-name", "d", data); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	damage := func(epoch string) {
		p := filepath.Join(run, rundir.CheckpointsDir, epoch, model.CheckpointFile)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 1
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	damage("epoch-003")
	out, err := runCLI(t, bin, "train", "-resume", run)
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	for _, want := range []string{"resume: checkpoints/epoch-003, the checkpoint state.json names, is damaged", "checksum mismatch",
		"resuming from checkpoints/epoch-002, the newest intact checkpoint (epoch 2 done, next batch 0)", "finished after 3 epochs"} {
		if !strings.Contains(out, want) {
			t.Errorf("resume output lacks %q:\n%s", want, out)
		}
	}
	st, err := rundir.ReadState(run)
	if err != nil || st.Epoch != 3 || !st.Finished {
		t.Fatalf("state after the resume: %+v, %v", st, err)
	}
	metricsAgree(t, run, st, metricsLines(t, run))

	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(run, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	m0, s0 := read(rundir.MetricsFile), read(rundir.StateFile)
	damage("epoch-002")
	damage("epoch-003")
	out, err = runCLI(t, bin, "train", "-resume", run, "-epochs", "4")
	if err == nil || !strings.Contains(out, "no other intact checkpoint is left") {
		t.Errorf("resume with every checkpoint damaged: %v\n%s", err, out)
	}
	if !bytes.Equal(read(rundir.MetricsFile), m0) || !bytes.Equal(read(rundir.StateFile), s0) {
		t.Error("the failed resume changed the finished run's metrics.jsonl or state.json")
	}
}
