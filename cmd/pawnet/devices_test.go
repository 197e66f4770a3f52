package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDevicesOnCPU asks the CPU backend for two devices: train and
// throughput refuse with an error naming the backend, and train leaves no
// run folder behind.
func TestDevicesOnCPU(t *testing.T) {
	bin := pawnet(t)
	runs := filepath.Join(t.TempDir(), "runs")
	data := t.TempDir() // never read: the check comes first
	for _, args := range [][]string{
		{"train", "-backend", "go", "-devices", "2", "-runs", runs, data},
		{"throughput", "-backend", "go", "-model", "small", "-batch", "4", "-devices", "2"},
	} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), `-devices 2: backend "go", GoMLX's pure-Go CPU backend, has one device`) {
			t.Errorf("pawnet %v: %v\n%s", args, err, out)
		}
	}
	if entries, err := os.ReadDir(runs); err == nil && len(entries) > 0 {
		t.Errorf("a refused run left %v in %s", entries, runs)
	}
}
