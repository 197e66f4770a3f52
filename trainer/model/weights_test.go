package model

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/pawnet/pawnet/shared/alexnet"
)

// TestWriteWeights checks the exported file: the bytes alexnet.Save
// writes, readable by all, loadable, its size reported, nothing else left
// in the folder; and a failed Save keeps the previous file.
func TestWriteWeights(t *testing.T) {
	cfg := alexnet.Small()
	params := alexnet.InitParams(cfg, 1)
	meta := alexnet.Metadata{Classes: []string{"cat", "dog"}, BestEpoch: 2}
	var want bytes.Buffer
	if err := alexnet.Save(&want, cfg, params, meta); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.safetensors")
	size, err := WriteWeights(path, cfg, params, meta)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want.Bytes()) || size != int64(len(got)) {
		t.Fatalf("file: %d bytes (reported %d), equal to Save's %d bytes: %v; %v", len(got), size, want.Len(), bytes.Equal(got, want.Bytes()), err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", fi.Mode(), err)
	}
	m, err := alexnet.LoadFile(path)
	if err != nil || m.Metadata().BestEpoch != 2 {
		t.Fatalf("LoadFile: %v", err)
	}
	bad := cfg
	bad.Dense++ // not a known config: Save refuses it
	if _, err := WriteWeights(path, bad, params, meta); err == nil {
		t.Error("WriteWeights accepted a custom config")
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, want.Bytes()) {
		t.Error("a failed WriteWeights changed the previous file")
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only the weights file", len(entries))
	}
}
