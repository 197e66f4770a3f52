package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/model"
	"github.com/pawnet/pawnet/trainer/rundir"
)

// TestCheckpointOnFullDisk resumes a run under a file-size limit that the
// next checkpoint exceeds (the kernel refuses the write as on a full disk):
// training stops with an error that says so, the previous checkpoint and
// state.json are untouched, nothing partial is left, metrics.jsonl holds
// nothing after state.json's last message but the failed attempt's run
// start and end, and a resume without the limit finishes the run with
// each epoch summarised once.
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
	// After state.json's last message only the failed attempt's start and
	// end are left: none of the work that the state does not count.
	lines := metricsLines(t, run)
	covered := 0
	for covered < len(lines) && lines[covered].Seq <= after.Seq {
		covered++
	}
	if rest := lines[covered:]; len(rest) != 2 || rest[0].Type != metrics.TypeRunStart || rest[1].Type != metrics.TypeRunEnd {
		t.Errorf("metrics.jsonl after state.json's seq %d: %+v; want the failed attempt's run start and end only", after.Seq, rest)
	}
	metricsAgree(t, run, after, lines[:covered])
	out, err = exec.Command(bin, "train", "-resume", run, "-epochs", "2").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "finished after 2 epochs") {
		t.Fatalf("resume without the limit: %v\n%s", err, out)
	}
	st, err := rundir.ReadState(run)
	if err != nil {
		t.Fatal(err)
	}
	metricsAgree(t, run, st, metricsLines(t, run))
}

// metricsLine is the part of a metrics.jsonl line these tests read.
type metricsLine struct {
	Type  string `json:"type"`
	Seq   int64  `json:"seq"`
	Epoch int    `json:"epoch"`
}

// metricsLines reads a run's metrics.jsonl.
func metricsLines(t *testing.T, run string) []metricsLine {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(run, rundir.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var out []metricsLine
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		var m metricsLine
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// metricsAgree checks lines, a run's metrics up to its state: they end at
// the state's last message, their seq increases, and they summarise epochs
// 1..st.Epoch once each.
func metricsAgree(t *testing.T, run string, st rundir.State, lines []metricsLine) {
	t.Helper()
	var epochs []int
	for i, m := range lines {
		if i > 0 && m.Seq <= lines[i-1].Seq {
			t.Errorf("%s: seq %d after %d", run, m.Seq, lines[i-1].Seq)
		}
		if m.Type == metrics.TypeEpoch {
			epochs = append(epochs, m.Epoch)
		}
	}
	if len(lines) == 0 || lines[len(lines)-1].Seq != st.Seq {
		t.Errorf("%s: metrics.jsonl does not end at seq %d, the state's", run, st.Seq)
	}
	if len(epochs) != st.Epoch {
		t.Errorf("%s: epochs %v summarised; state.json says %d are done", run, epochs, st.Epoch)
	}
	for i, e := range epochs {
		if e != i+1 {
			t.Errorf("%s: epochs %v summarised; want 1..%d once each", run, epochs, st.Epoch)
			break
		}
	}
}
