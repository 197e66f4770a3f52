package server

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/rundir"
)

// The training loop takes a *Hub as its Sink without importing this
// package.
var _ rundir.Sink = (*Hub)(nil)

// writeRun writes a metrics.jsonl with the real Emitter: one message of
// each type.
func writeRun(t *testing.T, path string) []metrics.Message {
	t.Helper()
	em, err := rundir.OpenEmitter(path, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []metrics.Message{
		&metrics.RunStart{RunID: "r1", Model: alexnet.Small(), Batch: 16, Epochs: 2, Classes: []string{"cat", "dog"}, StartEpoch: 1},
		&metrics.Step{Epoch: 1, Step: 4, StepsPerEpoch: 4, GlobalStep: 4, Loss: 0.69},
		&metrics.Epoch{Epoch: 1, Epochs: 2, ValAcc: 0.5, Best: true, BestEpoch: 1},
		&metrics.Confusion{Epoch: 1, Classes: []string{"cat", "dog"}, Matrix: [][]int{{4, 4}, {3, 5}}},
		&metrics.Misclassified{Epoch: 1, Samples: []metrics.Sample{{PNG: "iVBORw0KGgo=", Path: "cat/cat.1.jpg", PDog: 0.9}}},
		&metrics.Checkpoint{Epoch: 1, Kind: metrics.KindExport, Path: "model.safetensors", Bytes: 1234},
		&metrics.RunEnd{Status: metrics.StatusFinished, Epochs: 2, BestEpoch: 1, BestValAcc: 0.5},
	}
	for _, m := range msgs {
		em.Emit(m)
	}
	if err := em.Close(); err != nil {
		t.Fatal(err)
	}
	return msgs
}

// `pawnet serve -run DIR`: a hub loaded from a real metrics.jsonl (with a
// partial last line, as a killed process leaves it) replays it byte for
// byte; a resumed run's Emitter then continues the numbering through the
// same hub.
func TestLoadHistoryReplaysRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	msgs := writeRun(t, path)
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(file, []byte("\n")), []byte("\n"))
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"type":"step","v":1,"seq":8,"t":17640`) // killed mid-write
	f.Close()

	hub := NewHub(quiet())
	n, err := hub.LoadHistory(path)
	if err != nil || n != len(msgs) {
		t.Fatalf("LoadHistory: %d, %v; want %d", n, err, len(msgs))
	}
	s := start(t, hub, Options{})
	c := dial(t, s, "")
	got, err := readUntil(c, 1, int64(len(msgs)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range lines {
		if !bytes.Equal(got[i], lines[i]) {
			t.Errorf("message %d:\n got %s\nfile %s", i+1, got[i], lines[i])
		}
	}

	// Resume: the Emitter cuts the partial line and continues at seq 8;
	// the hub accepts it and the connected client gets it live.
	em, err := rundir.OpenEmitter(path, 0, hub)
	if err != nil {
		t.Fatal(err)
	}
	em.Emit(&metrics.RunStart{RunID: "r1", StartEpoch: 2, Resumed: true})
	em.Close()
	if _, err := readUntil(c, 8, 8); err != nil {
		t.Fatal(err)
	}
	late := dial(t, s, "?since=6")
	if _, err := readUntil(late, 7, 8); err != nil {
		t.Fatal(err)
	}
}

func TestLoadHistoryEdgeCases(t *testing.T) {
	good := func(seq int) string {
		return `{"type":"step","v":1,"seq":` + strconv.Itoa(seq) + `,"t":1}` + "\n"
	}
	tests := []struct {
		name    string
		content string
		want    int
		last    int64
	}{
		{"empty", "", 0, 0},
		{"one", good(1), 1, 1},
		{"partial only", `{"type":"step"`, 0, 0},
		{"partial after good", good(1) + good(2) + `{"type":"st`, 2, 2},
		{"garbage and blank lines skipped", good(1) + "not json\n\n" + good(2), 2, 2},
		{"other schema version skipped", good(1) + `{"type":"step","v":99,"seq":2,"t":1}` + "\n", 1, 1},
		{"duplicate and out of order skipped", good(1) + good(3) + good(3) + good(2) + good(4), 3, 4},
		{"gap kept", good(1) + good(5), 2, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "metrics.jsonl")
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			h := NewHub(quiet())
			n, err := h.LoadHistory(path)
			if err != nil || n != tc.want || h.LastSeq() != tc.last || len(h.History(0)) != tc.want {
				t.Errorf("loaded %d (last seq %d), %v; want %d (last seq %d)", n, h.LastSeq(), err, tc.want, tc.last)
			}
		})
	}
	if _, err := NewHub(quiet()).LoadHistory(filepath.Join(t.TempDir(), "missing.jsonl")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// Emit refuses a seq that does not advance, and stamps an unstamped
// message with the next one.
func TestEmitSeq(t *testing.T) {
	h := NewHub(quiet())
	h.Emit(step(1, 0), nil)
	h.Emit(step(2, 0), nil)
	h.Emit(step(2, 0), nil) // duplicate
	h.Emit(step(1, 0), nil) // out of order
	if h.LastSeq() != 2 || len(h.History(0)) != 2 {
		t.Fatalf("last seq %d, %d messages; want 2, 2", h.LastSeq(), len(h.History(0)))
	}
	m := &metrics.Epoch{Epoch: 1}
	h.Emit(m, nil)
	if m.Seq != 3 || m.Type != metrics.TypeEpoch || m.V != metrics.Version || m.Time == 0 {
		t.Errorf("unstamped message stamped as %+v", m.Header)
	}
	if got := h.History(2); len(got) != 1 || !bytes.Contains(got[0], []byte(`"seq":3`)) {
		t.Errorf("History(2) = %q", got)
	}
}
