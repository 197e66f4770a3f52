package fsutil

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestMoveNoReplace(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	cases := []struct {
		name    string
		dstData string // "" = dst absent
		wantErr error
	}{
		{"free destination", "", nil},
		{"existing destination", "keep", ErrExists},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(dst)
			os.WriteFile(src, []byte("moving"), 0o644)
			if c.dstData != "" {
				os.WriteFile(dst, []byte(c.dstData), 0o644)
			}
			err := MoveNoReplace(src, dst)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			got, _ := os.ReadFile(dst)
			_, srcErr := os.Stat(src)
			if c.wantErr == nil && (string(got) != "moving" || srcErr == nil) {
				t.Error("file not moved")
			}
			if c.wantErr != nil && (string(got) != c.dstData || srcErr != nil) {
				t.Error("destination overwritten or source lost")
			}
		})
	}
}

func TestWriteFileAtomicLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.json")
	for _, content := range []string{"one", "two"} {
		if err := WriteFileAtomic(p, []byte(content)); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(p); string(got) != content {
			t.Fatalf("content %q, want %q", got, content)
		}
	}
	if err := WriteAtomic(p, func(*os.File) error { return errors.New("boom") }); err == nil {
		t.Fatal("writer error not returned")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("%d entries left, want only x.json", len(ents))
	}
	if got, _ := os.ReadFile(p); string(got) != "two" {
		t.Error("a failed write changed the file")
	}
}
