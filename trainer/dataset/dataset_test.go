package dataset

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pawnet/pawnet/internal/fixtures"
	"github.com/pawnet/pawnet/shared/imageio"
	"github.com/pawnet/pawnet/shared/preprocess"
)

// kaggleTrain makes a temp copy of n photos per class in Kaggle's flat
// train/ layout (cat.N.jpg, dog.N.jpg).
func kaggleTrain(t *testing.T, n int) string {
	src := filepath.Join(fixtures.SampleDir(t), "train")
	dst := t.TempDir()
	for _, cls := range []string{"cat", "dog"} {
		for i := 0; i < n; i++ {
			name := cls + "." + strconv.Itoa(i) + ".jpg"
			fixtures.Link(t, filepath.Join(src, name), filepath.Join(dst, name))
		}
	}
	return dst
}

func countFiles(t *testing.T, dir string) int {
	n := 0
	filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func TestSeparateIsIdempotentAndLosesNothing(t *testing.T) {
	dir := kaggleTrain(t, 30)
	// Odd cases: upper-case extension, a png, a non-photo file, a folder,
	// and a planted collision (dog.5.jpg already in dog/ with other content).
	os.Rename(filepath.Join(dir, "cat.1.jpg"), filepath.Join(dir, "CAT.1.JPG"))
	os.Rename(filepath.Join(dir, "dog.2.jpg"), filepath.Join(dir, "dog.2.png"))
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("keep me"), 0o644)
	os.WriteFile(filepath.Join(dir, "cat.txt"), []byte("not a photo"), 0o644)
	os.MkdirAll(filepath.Join(dir, "extra"), 0o755)
	os.MkdirAll(filepath.Join(dir, "dog"), 0o755)
	os.WriteFile(filepath.Join(dir, "dog", "dog.5.jpg"), []byte("already here"), 0o644)
	before := countFiles(t, dir)

	dry, err := Separate(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if countFiles(t, dir) != before || dry.Moved["cat"] != 30 || dry.Moved["dog"] != 29 {
		t.Fatalf("dry run changed files or miscounted: %+v", dry)
	}
	rep, err := Separate(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Moved["cat"] != 30 || rep.Moved["dog"] != 29 || len(rep.Collisions) != 1 || len(rep.Failures) != 0 {
		t.Fatalf("first run: %+v", rep)
	}
	if c := rep.Collisions[0]; filepath.Base(c.Src) != "dog.5.jpg" {
		t.Errorf("collision %+v, want dog.5.jpg", c)
	}
	if got := strings.Join(rep.Other, ","); got != "cat.txt,extra/,notes.txt" {
		t.Errorf("other = %s", got)
	}
	if after := countFiles(t, dir); after != before {
		t.Fatalf("%d files before, %d after", before, after)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "dog", "dog.5.jpg")); string(data) != "already here" {
		t.Error("collision overwrote the existing file")
	}
	if _, err := os.Stat(filepath.Join(dir, "dog.5.jpg")); err != nil {
		t.Error("colliding file was not left in place")
	}
	if _, err := os.Stat(filepath.Join(dir, "cat", "CAT.1.JPG")); err != nil {
		t.Error("upper-case CAT.1.JPG not moved into cat/")
	}
	again, err := Separate(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if again.Moved["cat"]+again.Moved["dog"] != 0 || again.InPlace["cat"] != 30 || again.InPlace["dog"] != 30 || len(again.Collisions) != 1 {
		t.Fatalf("second run is not a no-op: %+v", again)
	}
	if countFiles(t, dir) != before {
		t.Fatal("second run changed the file count")
	}
}

func TestScanLayouts(t *testing.T) {
	cases := []struct {
		name    string
		classes []string
		want    []string
	}{
		{"separated", []string{"cat", "dog"}, []string{"cat", "dog"}},
		{"PetImages", []string{"Dog", "Cat"}, []string{"Cat", "Dog"}},
	}
	src := fixtures.ClassTree(t, 10)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			for _, cls := range c.classes {
				from := filepath.Join(src, strings.ToLower(cls))
				os.MkdirAll(filepath.Join(root, cls), 0o755)
				ents, _ := os.ReadDir(from)
				for _, e := range ents {
					fixtures.Link(t, filepath.Join(from, e.Name()), filepath.Join(root, cls, e.Name()))
				}
			}
			os.WriteFile(filepath.Join(root, c.classes[0], "Thumbs.db"), []byte("x"), 0o644)
			ds, err := Scan(root)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(ds.Classes, ",") != strings.Join(c.want, ",") || len(ds.Items) != 20 || len(ds.Ignored) != 1 {
				t.Fatalf("classes %v, %d items, ignored %v", ds.Classes, len(ds.Items), ds.Ignored)
			}
			for _, it := range ds.Items {
				want := 0
				if strings.Contains(strings.ToLower(it.Path), "/dog/") {
					want = 1
				}
				if it.Label != want {
					t.Fatalf("%s has label %d, want %d", it.Path, it.Label, want)
				}
			}
		})
	}
	if _, err := Scan(kaggleTrain(t, 3)); err == nil || !strings.Contains(err.Error(), "pawnet separate") {
		t.Errorf("unsplit folder: err = %v, want advice to run separate", err)
	}
}

func TestSplitSeededStratified(t *testing.T) {
	ds, err := Scan(fixtures.ClassTree(t, 0))
	if err != nil {
		t.Fatal(err)
	}
	tr, va := Split(ds.Items, 1, 0.2)
	tr2, va2 := Split(ds.Items, 1, 0.2)
	_, va3 := Split(ds.Items, 2, 0.2)
	if len(tr) != 1440 || len(va) != 360 {
		t.Fatalf("split %d/%d, want 1440/360", len(tr), len(va))
	}
	perClass := [2]int{}
	seen := map[string]bool{}
	for i := range va {
		perClass[va[i].Label]++
		seen[va[i].Path] = true
		if va[i] != va2[i] {
			t.Fatal("same seed gave another split")
		}
	}
	for i := range tr {
		if seen[tr[i].Path] || tr[i] != tr2[i] {
			t.Fatal("train and validation overlap, or the split is not reproducible")
		}
	}
	if perClass != [2]int{180, 180} {
		t.Errorf("validation per class %v, want 180/180", perClass)
	}
	diff := 0
	for i := range va {
		if va[i] != va3[i] {
			diff++
		}
	}
	if diff == 0 {
		t.Error("another seed gave the same split")
	}
}

// bombPNG is a PNG header declaring 50000×50000 RGB pixels, with a valid
// IHDR checksum and no image data.
func bombPNG() []byte {
	chunk := []byte("IHDR\x00\x00\xc3\x50\x00\x00\xc3\x50\x08\x02\x00\x00\x00")
	b := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0d"), chunk...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(chunk))
}

// badFiles writes one file of each broken kind into dir.
func badFiles(t *testing.T, dir string) []string {
	good, err := os.ReadFile(filepath.Join(fixtures.SampleDir(t), "train", "cat.0.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"empty.jpg":     nil,
		"truncated.jpg": good[:len(good)/2],
		"text.jpg":      []byte("hello, I am not a JPEG"),
		"bomb.png":      bombPNG(),
	}
	var names []string
	for n, d := range files {
		if err := os.WriteFile(filepath.Join(dir, n), d, 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

func TestScanWithBadFilesFinishes(t *testing.T) {
	root := fixtures.ClassTree(t, 20)
	bad := badFiles(t, filepath.Join(root, "cat"))
	ds, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	cache, skipped := BuildCache(ds.Items, 32, 2, nil)
	if cache.Len() != 40 || len(skipped) != len(bad) {
		t.Fatalf("cached %d, skipped %v; want 40 cached and %d skipped", cache.Len(), skipped, len(bad))
	}
	for _, s := range skipped {
		if s.Err == nil || s.Err.Error() == "" || !strings.HasPrefix(s.String(), s.Path) {
			t.Errorf("bad file without a reason: %+v", s)
		}
	}
	reasons := map[string]string{}
	for _, s := range skipped {
		reasons[filepath.Base(s.Path)] = s.Err.Error()
	}
	for name, want := range map[string]string{"empty.jpg": "0 bytes", "truncated.jpg": "truncated", "text.jpg": "not a supported image", "bomb.png": "over the 40.0 MP limit"} {
		if !strings.Contains(reasons[name], want) {
			t.Errorf("%s: reason %q, want it to mention %q", name, reasons[name], want)
		}
	}
	// The cache keeps only good photos, in order, each identical to a direct decode.
	for i := 0; i < cache.Len(); i += 7 {
		data, _ := os.ReadFile(cache.Items[i].Path)
		img, _, err := imageio.DecodeRGB(data, 32, 32, 0)
		if err != nil {
			t.Fatal(err)
		}
		if string(img.Pix) != string(cache.Image(i).Pix) {
			t.Fatalf("cache image %d differs from a direct decode", i)
		}
	}
}

func TestStatsMatchDirectComputation(t *testing.T) {
	ds, err := Scan(fixtures.ClassTree(t, 100))
	if err != nil {
		t.Fatal(err)
	}
	const size = 64
	st, bad, err := ComputeStats(ds.Items, nil, size, 2, nil)
	if err != nil || len(bad) != 0 {
		t.Fatal(err, bad)
	}
	// Two-pass float64 over every pixel.
	var vals [3][]float64
	for _, it := range ds.Items {
		data, _ := os.ReadFile(it.Path)
		img, _, err := imageio.DecodeRGB(data, size, size, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range img.Pix {
			vals[i%3] = append(vals[i%3], float64(p)/255)
		}
	}
	for c := 0; c < 3; c++ {
		var mean, v float64
		for _, x := range vals[c] {
			mean += x
		}
		mean /= float64(len(vals[c]))
		for _, x := range vals[c] {
			v += (x - mean) * (x - mean)
		}
		std := math.Sqrt(v / float64(len(vals[c])))
		if math.Abs(st.Mean[c]-mean) > 1e-6 || math.Abs(st.Std[c]-std) > 1e-6 {
			t.Errorf("channel %d: mean %v std %v, direct %v %v", c, st.Mean[c], st.Std[c], mean, std)
		}
	}
	if st.Images != 200 || st.Pixels != 200*size*size {
		t.Errorf("counted %d images, %d pixels", st.Images, st.Pixels)
	}
}

func TestComputeStatsChecksOtherItems(t *testing.T) {
	ds, err := Scan(fixtures.ClassTree(t, 20))
	if err != nil {
		t.Fatal(err)
	}
	train, good := ds.Items[:30], ds.Items[30:]
	badDir := t.TempDir()
	names := badFiles(t, badDir)
	slices.Sort(names)
	var bad []Item
	for _, n := range names {
		bad = append(bad, Item{Photo: OnDisk(filepath.Join(badDir, n))})
	}
	const size = 32
	want, _, err := ComputeStats(train, nil, size, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want.Images != len(train) {
		t.Fatalf("train-only stats counted %d images, want %d", want.Images, len(train))
	}
	cat := func(parts ...[]Item) []Item { return slices.Concat(parts...) }
	paths := func(items []Item) []string {
		var p []string
		for _, it := range items {
			p = append(p, it.Path)
		}
		return p
	}
	cases := []struct {
		name         string
		train, check []Item
		wantBad      []string
	}{
		{"no check", train, nil, nil},
		{"good check", train, good, nil},
		{"bad files in check", train, cat(good[:5], bad[:2], good[5:]), paths(bad[:2])},
		{"bad files in both", cat(bad[2:3], train, bad[3:]), cat(good, bad[:2]), paths(cat(bad[2:], bad[:2]))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var calls atomic.Int64
			st, gotBad, err := ComputeStats(c.train, c.check, size, 2, func() { calls.Add(1) })
			if err != nil {
				t.Fatal(err)
			}
			if st != want {
				t.Errorf("stats %+v, want the train-only %+v", st, want)
			}
			var got []string
			for _, b := range gotBad {
				got = append(got, b.Path)
			}
			if !slices.Equal(got, c.wantBad) {
				t.Errorf("bad files %q, want %q", got, c.wantBad)
			}
			if n := int(calls.Load()); n != len(c.train)+len(c.check) {
				t.Errorf("progress called %d times for %d files", n, len(c.train)+len(c.check))
			}
		})
	}
}

func TestLoaderDeterministicAcrossWorkers(t *testing.T) {
	ds, err := Scan(fixtures.ClassTree(t, 40))
	if err != nil {
		t.Fatal(err)
	}
	cache, _ := BuildCache(ds.Items, 64, 2, nil)
	norm, err := preprocess.NewNormalizer(preprocess.Stats{Mean: [3]float64{0.5, 0.5, 0.5}, Std: [3]float64{0.25, 0.25, 0.25}})
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, cache.Len())
	for i := range idx {
		idx[i] = i
	}
	aug := preprocess.DefaultAug()
	epoch := func(workers, ep, from int) []Batch {
		l := &Loader{Cache: cache, Indices: idx, Size: 64, BatchSize: 16, Norm: norm, Aug: &aug, Shuffle: true, Seed: 9, Workers: workers, Prefetch: 2}
		var out []Batch
		for b := range l.Epoch(context.Background(), ep, from) {
			out = append(out, b)
		}
		return out
	}
	one, four := epoch(1, 1, 0), epoch(4, 1, 0)
	if len(one) != 5 || one[4].N != 80-64 {
		t.Fatalf("%d batches, last of %d; want 5 with 16 in the last", len(one), one[len(one)-1].N)
	}
	seen := map[int]bool{}
	for b := range one {
		if one[b].Number != b || four[b].Number != b {
			t.Fatal("batches out of order")
		}
		for k := range one[b].X {
			if one[b].X[k] != four[b].X[k] {
				t.Fatalf("batch %d differs between 1 and 4 workers", b)
			}
		}
		for k, i := range one[b].Index {
			seen[i] = true
			if one[b].Y[k] != int32(cache.Items[i].Label) {
				t.Fatal("label does not match the image")
			}
		}
	}
	if len(seen) != 80 {
		t.Errorf("epoch covered %d distinct images, want 80", len(seen))
	}
	resumed := epoch(2, 1, 3)
	if len(resumed) != 2 || resumed[0].Number != 3 || resumed[0].X[0] != one[3].X[0] {
		t.Error("starting at batch 3 does not give the same batches 3 and 4")
	}
	other := epoch(2, 2, 0)
	if other[0].Index[0] == one[0].Index[0] && other[0].X[0] == one[0].X[0] {
		t.Error("epoch 2 has the same first sample and tensor as epoch 1")
	}
	// Cancelling stops the stream.
	ctx, cancel := context.WithCancel(context.Background())
	l := &Loader{Cache: cache, Indices: idx, Size: 64, BatchSize: 4, Norm: norm, Workers: 2, Prefetch: 1}
	ch := l.Epoch(ctx, 0, 0)
	<-ch
	cancel()
	for range ch {
	}
}
