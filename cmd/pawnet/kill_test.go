package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pawnet/pawnet/trainer/rundir"
)

// TestKill9ThenResume kills a real training process with SIGKILL after its
// first finished epoch and checks that -resume continues from that
// checkpoint, losing at most the partial epoch, and finishes the run.
func TestKill9ThenResume(t *testing.T) {
	bin := pawnet(t)
	dir := filepath.Join(t.TempDir(), "sample")
	for _, args := range [][]string{{"sample", "-out", dir}, {"separate", filepath.Join(dir, "train")}} {
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	runs := t.TempDir()
	run := filepath.Join(runs, "k")
	cmd := exec.Command(bin, "train", "-epochs", "3", "-runs", runs, "-name", "k", filepath.Join(dir, "train"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var st rundir.State
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var err error
		if st, err = rundir.ReadState(run); err == nil && st.Epoch >= 1 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no epoch finished in 3 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Kill() // SIGKILL: no chance to save anything
	cmd.Wait()
	killedAt := st.Epoch

	out, err := exec.Command(bin, "train", "-resume", run).CombinedOutput()
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "resumed "+run) || !strings.Contains(string(out), "finished after 3 epochs") {
		t.Fatalf("resume output:\n%s", out)
	}
	// The metrics file is consistent: one run_start per process, epochs
	// 1..3 each summarised once, strictly increasing seq.
	data, err := os.ReadFile(filepath.Join(run, rundir.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	epochs := map[int]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m struct {
			Type  string `json:"type"`
			Seq   int64  `json:"seq"`
			Epoch int    `json:"epoch"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad line %q: %v", line, err)
		}
		if m.Seq <= last {
			t.Fatalf("seq %d after %d", m.Seq, last)
		}
		last = m.Seq
		if m.Type == "epoch" {
			epochs[m.Epoch]++
		}
	}
	for e := 1; e <= 3; e++ {
		if epochs[e] != 1 {
			t.Errorf("epoch %d summarised %d times (killed after epoch %d)", e, epochs[e], killedAt)
		}
	}
}
