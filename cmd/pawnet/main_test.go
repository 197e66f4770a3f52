package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pawnet/pawnet/shared/preprocess"
	"github.com/pawnet/pawnet/trainer/dataset"
)

// pawnet builds the CLI once per test binary.
func pawnet(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pawnet")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func TestSampleSeparateStats(t *testing.T) {
	bin := pawnet(t)
	dir := filepath.Join(t.TempDir(), "sample")
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"sample", "-out", dir}, "wrote 1800 train photos"},
		{[]string{"sample", "-out", dir}, "already complete"},
		{[]string{"separate", "-dry-run", filepath.Join(dir, "train")}, "would move 900 cat and 900 dog files"},
		{[]string{"separate", filepath.Join(dir, "train")}, "moved 900 cat and 900 dog files"},
		{[]string{"separate", filepath.Join(dir, "train")}, "moved 0 cat and 0 dog files; already in place: 900 cat, 900 dog"},
		{[]string{"stats", "-size", "64", filepath.Join(dir, "train")}, "checked 1800 photos (1440 train, 360 val), 0 unreadable"},
		{[]string{"stats", "-size", "64", filepath.Join(dir, "train")}, "over 1440 images"},
	}
	for _, s := range steps {
		out, err := exec.Command(bin, s.args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), s.want) {
			t.Fatalf("pawnet %v: %v\n%s\nwant %q", s.args, err, out, s.want)
		}
	}
	st, err := preprocess.LoadStats(filepath.Join(dir, "train", "stats.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size != 64 || st.Images != 1440 || st.ValFraction != 0.2 {
		t.Errorf("stats.json: %+v", st)
	}
	// One unreadable photo in each split: stats lists both with their split
	// and counts only the good train photos.
	ds, err := dataset.Scan(filepath.Join(dir, "train"))
	if err != nil {
		t.Fatal(err)
	}
	train, val := dataset.Split(ds.Items, 1, 0.2)
	for _, p := range []string{train[0].Path, val[0].Path} {
		// A new file, not a write through a possible hard link to the cache.
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("not a photo"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(bin, "stats", "-size", "64", "-o", filepath.Join(t.TempDir(), "stats.json"), filepath.Join(dir, "train")).CombinedOutput()
	if err != nil {
		t.Fatalf("stats with bad files: %v\n%s", err, out)
	}
	for _, want := range []string{"skipped 2 unreadable files:\n", "\n  train " + train[0].Path + ": ", "\n  val   " + val[0].Path + ": ",
		"checked 1800 photos (1440 train, 360 val), 2 unreadable", "over 1439 images"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("stats with bad files: output lacks %q:\n%s", want, out)
		}
	}

	// Wrong usage and a missing folder give clear, non-zero exits.
	for _, args := range [][]string{{"nope"}, {"separate"}, {"stats", filepath.Join(dir, "missing")}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err == nil || len(out) == 0 {
			t.Errorf("pawnet %v: exit 0 or no message", args)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "test_labels.csv")); err != nil {
		t.Error(err)
	}
}
