package rundir

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/metrics"
)

func TestConfigAndStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	c := Config{RunID: "r", DataDir: "d", Model: alexnet.Small(), Epochs: 3, BatchSize: 8, LR: 1e-3, Seed: 0, ValFraction: 0.2, Classes: []string{"cat", "dog"}}
	if err := WriteConfig(dir, c); err != nil {
		t.Fatal(err)
	}
	got, err := ReadConfig(dir)
	c.Schema = Schema
	if err != nil || got.RunID != c.RunID || got.Model != c.Model || got.LR != c.LR || got.Schema != Schema || len(got.Classes) != 2 {
		t.Fatalf("ReadConfig = %+v, %v; want %+v", got, err, c)
	}
	s := State{Epoch: 2, NextBatch: 5, Partial: Sums{Loss: 1.5, Correct: 3, Seen: 4}, Checkpoint: "checkpoints/epoch-002", Seq: 40}
	if err := WriteState(dir, s); err != nil {
		t.Fatal(err)
	}
	gs, err := ReadState(dir)
	s.Schema = Schema
	if err != nil || gs != s {
		t.Fatalf("ReadState = %+v, %v; want %+v", gs, err, s)
	}
}

func TestReadSchemaVersions(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		wantErr    string
	}{
		{"before versions", `{"epoch": 3}`, ""},
		{"this version", `{"schema": 1, "epoch": 3}`, ""},
		{"a newer one", `{"schema": 2, "epoch": 3}`, "schema version 2"},
		{"not JSON", `{"epoch": `, "state.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, StateFile), []byte(tc.json), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := ReadState(dir)
			switch {
			case tc.wantErr == "" && (err != nil || s.Epoch != 3 || s.Schema != Schema):
				t.Errorf("ReadState = %+v, %v", s, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("ReadState error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestEmitterEncodesOnce checks that the sink gets the very line written to
// the file, and that a message JSON cannot encode (NaN) is reported by Err
// and Close and takes no sequence number.
func TestEmitterEncodesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), MetricsFile)
	var lines [][]byte
	var seqs []int64
	e, err := OpenEmitter(path, 0, SinkFunc(func(m metrics.Message, line []byte) {
		lines = append(lines, line)
		seqs = append(seqs, metrics.Seq(m))
	}))
	if err != nil {
		t.Fatal(err)
	}
	e.Emit(&metrics.Step{Epoch: 1, Step: 1, Loss: 0.7})
	e.Emit(&metrics.Step{Epoch: 1, Step: 2, Loss: math.NaN()})
	e.Emit(&metrics.Step{Epoch: 1, Step: 3, Loss: 0.6})
	if e.Err() == nil {
		t.Error("Err() is nil after a NaN message")
	}
	if err := e.Close(); err == nil || !strings.Contains(err.Error(), "encode step 2") {
		t.Errorf("Close() = %v", err)
	}
	if len(seqs) != 2 || seqs[0] != 1 || seqs[1] != 2 {
		t.Fatalf("sink got seqs %v; want [1 2]", seqs)
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(append(append(lines[0], '\n'), lines[1]...), '\n'); !bytes.Equal(file, want) {
		t.Errorf("file:\n%s\nsink lines:\n%s", file, want)
	}
}
