package model

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/pawnet/pawnet/shared/alexnet"
)

// TestWriteWeights checks the exported files: for each variant the bytes
// alexnet.SaveVariant writes at alexnet.VariantPath, readable by all,
// loadable, the float32 file's size reported, nothing else left in the
// folder; and a failed Save keeps the previous files.
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
	for _, v := range alexnet.Variants {
		var w bytes.Buffer
		if err := alexnet.SaveVariant(&w, cfg, params, meta, v); err != nil {
			t.Fatal(err)
		}
		p := alexnet.VariantPath(path, v)
		if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, w.Bytes()) {
			t.Errorf("%s: %d bytes, equal to SaveVariant's %d: %v; %v", p, len(got), w.Len(), bytes.Equal(got, w.Bytes()), err)
		}
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, %v; want 0644", p, fi.Mode(), err)
		}
		if m, err := alexnet.LoadFile(p); err != nil || m.Metadata().Variant != v {
			t.Errorf("%s: LoadFile: %v", p, err)
		}
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
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != len(alexnet.Variants) {
		t.Errorf("folder holds %d entries, want only the %d weights files", len(entries), len(alexnet.Variants))
	}
}
