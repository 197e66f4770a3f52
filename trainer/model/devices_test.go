package model

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pawnet/pawnet/shared/alexnet"
)

func TestResolveDevices(t *testing.T) {
	for _, tc := range []struct {
		requested, batch int
		want             int
		err              string // substring; "" = no error
	}{
		{requested: 0, batch: 32, want: 1},
		{requested: 1, batch: 32, want: 1},
		{requested: 1, batch: 0, want: 1},
		{requested: 2, batch: 32, err: `-devices 2: backend "go", GoMLX's pure-Go CPU backend, has one device`},
		{requested: 8, batch: 0, err: "needs XLA"},
		{requested: -1, batch: 32, err: "-devices -1: must be 0"},
	} {
		got, err := ResolveDevices(goBackend(), tc.requested, tc.batch)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("ResolveDevices(go, %d, %d): %v", tc.requested, tc.batch, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ResolveDevices(go, %d, %d) = %d, %v; want an error with %q", tc.requested, tc.batch, got, err, tc.err)
		case tc.err == "" && got != tc.want:
			t.Errorf("ResolveDevices(go, %d, %d) = %d, want %d", tc.requested, tc.batch, got, tc.want)
		}
	}
}

func TestCheckDevices(t *testing.T) {
	for _, tc := range []struct {
		backend   string
		requested int
		fails     bool
	}{
		{"", 0, false}, {"", 1, false}, {"", 2, true}, {"go", 2, true}, {"go", -1, true},
		// Other backends are checked once created (ResolveDevices).
		{"xla:cuda", 8, false}, {"xla:/opt/p/xla_cuda_plugin.so", 2, false}, {"xla:cuda", -1, true},
	} {
		err := CheckDevices(tc.backend, tc.requested)
		if (err != nil) != tc.fails {
			t.Errorf("CheckDevices(%q, %d) = %v, want failure %v", tc.backend, tc.requested, err, tc.fails)
		}
	}
	if _, err := NewWithOptions(alexnet.Small(), goBackend(), 1, Options{Devices: 2}); err == nil || !strings.Contains(err.Error(), "pure-Go CPU backend") {
		t.Errorf("NewWithOptions with 2 devices on the Go backend: %v", err)
	}
}

// TestDevicesLeaveGraphAndCheckpointAlone trains the same steps with
// Devices left at its default and set to 1 explicitly: the losses, the
// parameters and the checkpoint files are bit-identical, so the option
// changes neither the training graph nor the checkpoint format.
func TestDevicesLeaveGraphAndCheckpointAlone(t *testing.T) {
	cfg := alexnet.Small()
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 4
	x, y := randImages(rng, cfg, n), randLabels(rng, cfg, n)
	var ckpts [][]byte
	var steps [][]stepResult
	for i, devices := range []int{0, 1} {
		m := newModel(t, cfg, 5, Options{LearningRate: 1e-3, Devices: devices})
		if m.Devices() != 1 {
			t.Fatalf("Devices() = %d with Options.Devices %d on the Go backend", m.Devices(), devices)
		}
		steps = append(steps, trainSteps(t, m, x, y, n, 2))
		dir := filepath.Join(t.TempDir(), "ckpt")
		if err := m.Save(dir); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, CheckpointFile))
		if err != nil {
			t.Fatal(err)
		}
		ckpts = append(ckpts, b)
		if i == 1 {
			// The checkpoint of one setting restores into the other.
			other := newModel(t, cfg, 9, Options{Devices: 0})
			if err := other.Restore(dir); err != nil {
				t.Fatal(err)
			}
			paramsBitsEqual(t, m.ExportParams(), other.ExportParams())
		}
	}
	if steps[0][0] != steps[1][0] || steps[0][1] != steps[1][1] {
		t.Errorf("steps with Devices 0 %v, with 1 %v", steps[0], steps[1])
	}
	if !bytes.Equal(ckpts[0], ckpts[1]) {
		t.Errorf("checkpoints differ: %d and %d bytes", len(ckpts[0]), len(ckpts[1]))
	}
}
