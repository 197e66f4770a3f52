//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/pawnet/pawnet/shared/preprocess"
)

// hostileEntry makes one entry of a hostile data folder and says what
// the commands' output must say about it.
type hostileEntry struct {
	path string // relative to the data folder
	make func(p string) error
	want string
}

// TestHostileFolder gives separate, stats, pack, train and predict a data
// folder holding a named pipe called like a photo, dangling and looping
// symlinks, a symlink to a folder and a photo that does not decode, and
// named pipes where the pack and stats.json go: every command finishes,
// names each entry with the reason, and stats.json counts only the
// decoded photos.
func TestHostileFolder(t *testing.T) {
	bin := pawnet(t)
	sample := filepath.Join(t.TempDir(), "sample")
	if out, err := runCLI(t, bin, "sample", "-out", sample); err != nil {
		t.Fatalf("sample: %v\n%s", err, out)
	}
	data := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(sample, "train", "cat.0.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, cls := range []string{"cat", "dog"} {
		for i := range 40 {
			name := cls + "." + strconv.Itoa(i) + ".jpg"
			if err := os.Link(filepath.Join(sample, "train", name), filepath.Join(data, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	fifo := func(p string) error { return syscall.Mkfifo(p, 0o644) }
	link := func(target string) func(string) error { return func(p string) error { return os.Symlink(target, p) } }
	// Truncated photos: their headers read, their pixels do not.
	truncated := func(p string) error { return os.WriteFile(p, good[:len(good)/2], 0o644) }
	flat := []hostileEntry{
		{"cat.5000.jpg", fifo, "a named pipe (FIFO)"},
		{"dog.5001.jpg", link("missing.jpg"), "a dangling symlink to missing.jpg"},
		{"cat.5002.jpg", link("cat.5002.jpg"), "a symlink loop"},
	}
	for i := range 6 {
		flat = append(flat, hostileEntry{"cat.6" + strconv.Itoa(i) + ".jpg", truncated, ""})
	}
	for _, e := range flat {
		if err := e.make(filepath.Join(data, e.path)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runCLI(t, bin, "separate", data)
	if err != nil || !strings.Contains(out, "moved 46 cat and 40 dog files") {
		t.Fatalf("separate: %v\n%s", err, out)
	}
	for _, e := range flat[:3] {
		if want := "left in place, not a photo file: " + filepath.Join(data, e.path) + ": not a regular file: " + e.want; !strings.Contains(out, want) {
			t.Errorf("separate: output lacks %q:\n%s", want, out)
		}
	}

	// The same kinds inside the class folders, and a symlink to a folder.
	inside := []hostileEntry{
		{"cat/cat.7000.jpg", fifo, "a named pipe (FIFO)"},
		{"dog/dog.7001.jpg", link("missing.jpg"), "a dangling symlink to missing.jpg"},
		{"dog/dog.7002.jpg", link("dog.7002.jpg"), "a symlink loop"},
		{"cat/more", link("../dog"), "a symlink to a folder (not followed)"},
	}
	for _, e := range inside {
		if err := e.make(filepath.Join(data, e.path)); err != nil {
			t.Fatal(err)
		}
	}
	// named says whether a command's output names every entry with its
	// reason: those left at the top and those inside the class folders.
	named := func(t *testing.T, cmd, out string) {
		t.Helper()
		for _, e := range append(flat[:3:3], inside...) {
			if want := filepath.Join(data, e.path) + ": not a regular file: " + e.want; !strings.Contains(out, want) {
				t.Errorf("%s: output lacks %q:\n%s", cmd, want, out)
			}
		}
	}

	out, err = runCLI(t, bin, "stats", "-size", "64", data)
	if err != nil {
		t.Fatalf("stats: %v\n%s", err, out)
	}
	named(t, "stats", out)
	if !strings.Contains(out, "skipped 7 entries that cannot be read as photos") || !strings.Contains(out, "  train "+filepath.Join(data, "cat", "cat.6")) {
		t.Errorf("stats: output lacks the skipped entries' count or a truncated train photo:\n%s", out)
	}
	st, err := preprocess.LoadStats(filepath.Join(data, "stats.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Photos == nil || st.Photos.Count != st.Images {
		t.Errorf("stats.json: photos %+v over %d images; want only the decoded train photos counted", st.Photos, st.Images)
	}

	// The pack's and stats.json's names taken by named pipes: the pack is
	// rebuilt over its pipe, and train computes the statistics instead.
	if err := fifo(filepath.Join(data, "pawnet-64.pack")); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, bin, "pack", "-size", "64", data)
	if err != nil || !strings.Contains(out, "not a regular file: a named pipe (FIFO); rebuilding") || !strings.Contains(out, "pack: built") {
		t.Fatalf("pack: %v\n%s", err, out)
	}
	named(t, "pack", out)
	if err := os.Remove(filepath.Join(data, "stats.json")); err != nil {
		t.Fatal(err)
	}
	if err := fifo(filepath.Join(data, "stats.json")); err != nil {
		t.Fatal(err)
	}

	runs := t.TempDir()
	out, err = runCLI(t, bin, "train", "-epochs", "1", "-batch", "16", "-runs", runs, "-name", "h", data)
	if err != nil || !strings.Contains(out, "finished after 1 epochs") {
		t.Fatalf("train: %v\n%s", err, out)
	}
	named(t, "train", out)
	if want := "stats: " + filepath.Join(data, "stats.json") + " not used: open " + filepath.Join(data, "stats.json") + ": not a regular file: a named pipe (FIFO)"; !strings.Contains(out, want) {
		t.Errorf("train: output lacks %q:\n%s", want, out)
	}

	weights := filepath.Join(runs, "h", "model.safetensors")
	out, err = runCLI(t, bin, "predict", "-weights", weights, filepath.Join(data, "cat"), filepath.Join(data, "cat.5000.jpg"))
	if err != nil {
		t.Fatalf("predict: %v\n%s", err, out)
	}
	for _, e := range []hostileEntry{flat[0], inside[0]} {
		if want := filepath.Join(data, e.path) + "\terror: not a regular file: " + e.want; !strings.Contains(out, want) {
			t.Errorf("predict: output lacks %q:\n%s", want, out)
		}
	}
	if want := filepath.Join(data, "cat", "cat.39.jpg") + "\tP(cat)="; !strings.Contains(out, want) {
		t.Errorf("predict: no prediction for the photos:\n%s", out)
	}
}
