package fsutil

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
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

func TestWriteAtomic(t *testing.T) {
	writeString := func(s string) func(*os.File) error {
		return func(f *os.File) error { _, err := f.WriteString(s); return err }
	}
	cases := []struct {
		name    string
		old     string // "" = no file before
		file    string // relative to the test folder
		write   func(*os.File) error
		wantErr bool
		want    string // content afterwards; "" = no file
	}{
		{"new file", "", "x.json", writeString("new"), false, "new"},
		{"replaces a file", "old", "x.json", writeString("new"), false, "new"},
		{"failing writer keeps the old file", "old", "x.json",
			func(f *os.File) error { f.WriteString("partial"); return errors.New("boom") }, true, "old"},
		{"failing writer, no file before", "", "x.json", func(*os.File) error { return errors.New("boom") }, true, ""},
		{"missing folder", "", "missing/x.json", writeString("new"), true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, c.file)
			if c.old != "" {
				if err := os.WriteFile(path, []byte(c.old), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := WriteAtomic(path, c.write)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error: %v", err, c.wantErr)
			}
			// Exactly the file (or nothing) is left: no temporary file.
			var names []string
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				names = append(names, e.Name())
			}
			var wantNames []string
			if c.want != "" {
				wantNames = []string{c.file}
			}
			if !slices.Equal(names, wantNames) {
				t.Fatalf("folder holds %q, want %q", names, wantNames)
			}
			if c.want == "" {
				return
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != c.want {
				t.Fatalf("content %q (%v), want %q", got, err, c.want)
			}
			fi, _ := os.Stat(path)
			wantMode := os.FileMode(0o644)
			if c.wantErr { // the old file is untouched, mode included
				wantMode = 0o600
			}
			if fi.Mode().Perm() != wantMode {
				t.Errorf("mode %v, want %v", fi.Mode().Perm(), wantMode)
			}
		})
	}
}

// TestRenameSync checks that RenameSync replaces the destination with the
// source and fails, keeping the destination, when the source is missing.
func TestRenameSync(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "f.part"), filepath.Join(dir, "f")
	if err := os.WriteFile(dst, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := RenameSync(src, dst); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); string(got) != "new" {
		t.Errorf("destination holds %q, want %q", got, "new")
	}
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Errorf("source still there: %v", err)
	}
	if err := RenameSync(src, dst); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing source: err = %v, want ErrNotExist", err)
	}
	if got, _ := os.ReadFile(dst); string(got) != "new" {
		t.Errorf("a failed rename changed the destination to %q", got)
	}
}
