//go:build unix

package predict

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pawnet/pawnet/internal/fixtures"
	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/classify"
	"github.com/pawnet/pawnet/trainer/dataset"
	"github.com/pawnet/pawnet/trainer/model"
)

// TestFilesAndRunSkipHostileEntries gives predict a folder and arguments
// holding a named pipe, dangling and looping symlinks and a symlink to a
// photo: Files lists the photos (the link included) and names the rest
// with the reason, and Run, handed a named pipe anyway (an entry replaced
// after the listing), reports it as that file's error instead of blocking.
func TestFilesAndRunSkipHostileEntries(t *testing.T) {
	sample := filepath.Join(fixtures.SampleDir(t), "test")
	dir := t.TempDir()
	for _, n := range []string{"1.jpg", "2.jpg", "3.jpg"} {
		fixtures.Link(t, filepath.Join(sample, n), filepath.Join(dir, n))
	}
	photo, err := filepath.Abs(filepath.Join(sample, "4.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	args := t.TempDir() // entries given as arguments, not found in a folder
	for _, d := range []string{dir, args} {
		mk := []struct {
			name string
			make func(p string) error
		}{
			{"5000.jpg", func(p string) error { return syscall.Mkfifo(p, 0o644) }},
			{"5001.jpg", func(p string) error { return os.Symlink("missing.jpg", p) }},
			{"5002.jpg", func(p string) error { return os.Symlink("5002.jpg", p) }},
			{"4.jpg", func(p string) error { return os.Symlink(photo, p) }},
		}
		for _, m := range mk {
			if err := m.make(filepath.Join(d, m.name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := map[string]string{
		"5000.jpg": "a named pipe (FIFO)",
		"5001.jpg": "a dangling symlink to missing.jpg",
		"5002.jpg": "a symlink loop",
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"folder", []string{dir}},
		{"arguments", []string{filepath.Join(args, "4.jpg"), filepath.Join(args, "5000.jpg"), filepath.Join(args, "5001.jpg"), filepath.Join(args, "5002.jpg")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files, skipped, err := Files(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if len(files) == 0 || filepath.Base(files[len(files)-1].Path) != "4.jpg" || len(skipped) != len(want) {
				t.Fatalf("files %v, skipped %v; want the photos and %d skipped", files, skipped, len(want))
			}
			for _, s := range skipped {
				if w := want[filepath.Base(s.Path)]; !errors.Is(s.Err, dataset.ErrNotRegular) || !strings.Contains(s.Err.Error(), w) {
					t.Errorf("%s: %v, want %q", s.Path, s.Err, w)
				}
			}
		})
	}

	st := statsOf(t)
	stats, _ := json.Marshal(st)
	cfg := alexnet.Small()
	w := filepath.Join(t.TempDir(), "w.safetensors")
	if _, err := model.WriteWeights(w, cfg, alexnet.InitParams(cfg, 3), alexnet.Metadata{Stats: stats, Classes: []string{"cat", "dog"}}); err != nil {
		t.Fatal(err)
	}
	m, err := alexnet.LoadFile(w)
	if err != nil {
		t.Fatal(err)
	}
	c, err := classify.New(m)
	if err != nil {
		t.Fatal(err)
	}
	files := []dataset.Photo{dataset.OnDisk(filepath.Join(dir, "1.jpg")), dataset.InDir(dir, "5000.jpg"), dataset.OnDisk(filepath.Join(dir, "4.jpg"))}
	done := make(chan []Result, 1)
	go func() { done <- Run(c, files, false, 8, nil) }()
	var res []Result
	select {
	case res = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("Run did not return within 2 minutes: blocked on the named pipe?")
	}
	if res[0].Err != nil || res[2].Err != nil || !errors.Is(res[1].Err, dataset.ErrNotRegular) {
		t.Errorf("results: %v / %v / %v; want the named pipe alone refused", res[0].Err, res[1].Err, res[2].Err)
	}
	r, cam := CAM(c, dataset.OnDisk(filepath.Join(dir, "5000.jpg")), t.TempDir(), 64, 0.5)
	if !errors.Is(r.Err, dataset.ErrNotRegular) || cam != "" {
		t.Errorf("CAM of the named pipe: %v, %q", r.Err, cam)
	}
}
