package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/pawnet/pawnet/trainer/model"
	"github.com/pawnet/pawnet/trainer/rundir"
)

// TestCheckpointOnFullDisk resumes a run under a file-size limit that the
// next checkpoint exceeds (the kernel refuses the write as on a full disk):
// training stops with an error that says so, the previous checkpoint and
// state.json are untouched, nothing partial is left, and a resume without
// the limit finishes the run.
func TestCheckpointOnFullDisk(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("needs bash for ulimit")
	}
	bin := pawnet(t)
	dir := filepath.Join(t.TempDir(), "sample")
	for _, args := range [][]string{{"sample", "-out", dir}, {"separate", filepath.Join(dir, "train")}} {
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	runs := t.TempDir()
	run := filepath.Join(runs, "full")
	if out, err := exec.Command(bin, "train", "-epochs", "1", "-runs", runs, "-name", "full", filepath.Join(dir, "train")).CombinedOutput(); err != nil {
		t.Fatalf("first epoch: %v\n%s", err, out)
	}
	before, err := rundir.ReadState(run)
	if err != nil {
		t.Fatal(err)
	}
	ckpt, err := os.ReadFile(filepath.Join(run, before.Checkpoint, model.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	// ulimit -f counts 1024-byte blocks: half a checkpoint.
	limit := len(ckpt) / 2048
	out, err := exec.Command("bash", "-c", `ulimit -f "$1" && exec "$2" train -resume "$3" -epochs 2`, "-", strconv.Itoa(limit), bin, run).CombinedOutput()
	if err == nil {
		t.Fatalf("resume under a %d KiB file limit succeeded:\n%s", limit, out)
	}
	if !strings.Contains(string(out), "file too large") || !strings.Contains(string(out), "checkpoint") {
		t.Errorf("error output does not say what failed:\n%s", out)
	}
	after, err := rundir.ReadState(run)
	if err != nil || !reflect.DeepEqual(after, before) {
		t.Errorf("state.json changed: %+v, was %+v (%v)", after, before, err)
	}
	if again, err := os.ReadFile(filepath.Join(run, before.Checkpoint, model.CheckpointFile)); err != nil || string(again) != string(ckpt) {
		t.Errorf("the previous checkpoint changed (%v)", err)
	}
	filepath.WalkDir(filepath.Join(run, rundir.CheckpointsDir), func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp") {
			t.Errorf("partial file left: %s", p)
		}
		return nil
	})
	out, err = exec.Command(bin, "train", "-resume", run, "-epochs", "2").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "finished after 2 epochs") {
		t.Fatalf("resume without the limit: %v\n%s", err, out)
	}
}
