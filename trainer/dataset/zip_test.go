package dataset

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pawnet/pawnet/internal/fixtures"
	"github.com/pawnet/pawnet/trainer/sample"
)

// competitionZip writes the sample in Kaggle's download layout (a real
// zip holding train.zip, test.zip and sample_submission.csv) into a temp
// folder, the inner zips stored with method.
func competitionZip(t *testing.T, method uint16) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), sample.CompetitionName)
	if _, _, err := sample.CompetitionZip(fixtures.SampleDir(t), out, method); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestZipReadsLikeTheFolder: the outer zip (inner zips stored or
// deflated) and train.zip alone give the photos and labels of the
// separated folder, and the pack built from the zip holds the same pixels
// as the folder's, is written beside the zip and is current next time.
func TestZipReadsLikeTheFolder(t *testing.T) {
	folder, err := Scan(fixtures.ClassTree(t, 0))
	if err != nil {
		t.Fatal(err)
	}
	fc, fbad, _, err := LoadPack(folder, PackOptions{Size: 32})
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	stored := competitionZip(t, zip.Store)
	trainOnly := filepath.Join(t.TempDir(), "train.zip")
	if err := copyEntry(stored, "train.zip", trainOnly); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, file, root string }{
		{"outer, stored", stored, stored + "/train.zip"},
		{"outer, deflated", competitionZip(t, zip.Deflate), ""},
		{"train.zip", trainOnly, trainOnly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := Scan(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if tc.root != "" && ds.Root != tc.root {
				t.Errorf("root %s, want %s", ds.Root, tc.root)
			}
			if !slices.Equal(ds.Classes, folder.Classes) || !slices.Equal(ds.Counts(), folder.Counts()) || len(ds.Skipped) != 0 {
				t.Fatalf("zip: %v %v skipped %v; folder: %v %v", ds.Classes, ds.Counts(), ds.Skipped, folder.Classes, folder.Counts())
			}
			c, bad, path, err := LoadPack(ds, PackOptions{Size: 32})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if filepath.Dir(path) != filepath.Dir(tc.file) || len(bad) != len(fbad) || c.Len() != fc.Len() {
				t.Fatalf("pack %s: %d photos, %d bad; folder %d, %d", path, c.Len(), len(bad), fc.Len(), len(fbad))
			}
			for i := range c.Len() {
				if filepath.Base(c.Items[i].Path) != filepath.Base(fc.Items[i].Path) || !bytes.Equal(c.Image(i).Pix, fc.Image(i).Pix) {
					t.Fatalf("photo %d: %s differs from the folder's %s", i, c.Items[i].Path, fc.Items[i].Path)
				}
			}
			if names, _ := os.ReadDir(filepath.Dir(tc.file)); len(names) != 2 {
				t.Errorf("beside the zip: %v, want the zip and its pack (nothing inflated left behind)", names)
			}
			again, err := Scan(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			var log strings.Builder
			c2, _, path2, err := LoadPack(again, PackOptions{Size: 32, Log: &log, Progress: func(int) func() { t.Error("rebuilt a current pack"); return nil }})
			if err != nil {
				t.Fatal(err)
			}
			c2.Close()
			if path2 != path {
				t.Errorf("second load used %s, first %s (%s)", path2, path, log.String())
			}
		})
	}
}

// copyEntry writes the outer zip's entry name to dst.
func copyEntry(zipFile, name, dst string) error {
	r, err := zip.OpenReader(zipFile)
	if err != nil {
		return err
	}
	defer r.Close()
	for _, e := range r.File {
		if e.Name == name {
			data, err := readEntry(e, MaxNestedBytes)
			if err != nil {
				return err
			}
			return os.WriteFile(dst, data, 0o644)
		}
	}
	return os.ErrNotExist
}

// entry is one entry of a hand-made zip: data deflated, or, with raw, the
// given compressed bytes under the given header.
type entry struct {
	name string
	data []byte
	raw  *zip.FileHeader
}

func writeZip(t *testing.T, path string, entries []entry) {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, e := range entries {
		if e.raw != nil {
			ew, err := w.CreateRaw(e.raw)
			if err == nil {
				_, err = ew.Write(e.data)
			}
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		ew, err := w.Create(e.name)
		if err == nil {
			_, err = ew.Write(e.data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func deflate(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.BestCompression)
	fw.Write(data)
	fw.Close()
	return b.Bytes()
}

// TestHostileZips: bad zips and bad entries are named and skipped, the
// rest used; a zip that cannot be read at all is a clear error; nothing is
// ever written beside the zip but the pack.
func TestHostileZips(t *testing.T) {
	src := filepath.Join(fixtures.SampleDir(t), "train")
	photo := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := []entry{}
	for _, n := range []string{"cat.1.jpg", "cat.2.jpg", "dog.1.jpg", "dog.2.jpg"} {
		good = append(good, entry{name: "train/" + n, data: photo(n)})
	}
	zeros := make([]byte, 200<<20) // inflates from about 200 KB
	bomb := deflate(t, zeros)
	cat3 := photo("cat.3.jpg")
	for _, tc := range []struct {
		name    string
		extra   []entry
		damage  func(b []byte) []byte
		wantErr error  // Scan's error
		skipped string // in Skipped, the entry and reason
		bad     string // among the pack's bad files
	}{
		{name: "good"},
		{name: "truncated", damage: func(b []byte) []byte { return b[:len(b)*2/3] }, wantErr: ErrZip},
		{name: "not a zip", damage: func(b []byte) []byte { return []byte("<html>login page</html>") }, wantErr: ErrZip},
		{name: "damaged entry", extra: []entry{{name: "train/cat.3.jpg", data: cat3}},
			damage: func(b []byte) []byte {
				i := bytes.Index(b, []byte("train/cat.3.jpg")) + len("train/cat.3.jpg") + 40 // inside its data
				b[i] ^= 0xff
				return b
			}, bad: "cat.3.jpg"},
		{name: "declared bomb", extra: []entry{{data: bomb, raw: &zip.FileHeader{Name: "train/dog.9.jpg", Method: zip.Deflate,
			CRC32: crc32.ChecksumIEEE(zeros), CompressedSize64: uint64(len(bomb)), UncompressedSize64: uint64(len(zeros))}}},
			skipped: "dog.9.jpg: declares 209715200 bytes uncompressed, over the limit"},
		{name: "ratio", extra: []entry{{name: "train/cat.8.jpg", data: make([]byte, 10<<20)}},
			skipped: "cat.8.jpg: declares 10485760 bytes from"},
		{name: "actual bomb", extra: []entry{{data: bomb, raw: &zip.FileHeader{Name: "train/dog.9.jpg", Method: zip.Deflate,
			CRC32: 1, CompressedSize64: uint64(len(bomb)), UncompressedSize64: 1000}}},
			bad: "dog.9.jpg"},
		{name: "duplicate", extra: []entry{{name: "train/cat.1.jpg", data: []byte("second copy")}},
			skipped: "cat.1.jpg: a duplicate entry name"},
		{name: "dot-dot", extra: []entry{{name: "../cat.7.jpg", data: cat3}, {name: "/tmp/dog.7.jpg", data: cat3}},
			skipped: "../cat.7.jpg: an unsafe entry name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "train.zip")
			writeZip(t, file, append(slices.Clone(good), tc.extra...))
			if tc.damage != nil {
				b, _ := os.ReadFile(file)
				os.WriteFile(file, tc.damage(b), 0o644)
			}
			ds, err := Scan(file)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), file) {
					t.Fatalf("Scan: %v, want %v naming the file", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.skipped != "" && !strings.Contains(skippedText(ds.Skipped), tc.skipped) {
				t.Errorf("skipped %v, want %q", ds.Skipped, tc.skipped)
			}
			if tc.skipped == "" && len(ds.Skipped) > 0 {
				t.Errorf("skipped %v", ds.Skipped)
			}
			c, bad, _, err := LoadPack(ds, PackOptions{Size: 32})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tc.bad != "" && (len(bad) != 1 || !strings.HasSuffix(bad[0].Path, tc.bad)) {
				t.Errorf("bad %v, want %s", bad, tc.bad)
			}
			if tc.bad == "" && len(bad) > 0 {
				t.Errorf("bad %v", bad)
			}
			if c.Len() < 4 {
				t.Errorf("%d photos used, want the 4 good ones at least", c.Len())
			}
			names, _ := os.ReadDir(dir)
			if len(names) != 2 { // the zip and its pack
				t.Errorf("the zip's folder holds %d entries, want the zip and its pack", len(names))
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "cat.7.jpg")); err == nil {
				t.Error("an entry was written outside the zip")
			}
		})
	}
}

func skippedText(b []BadFile) string {
	var s strings.Builder
	for _, x := range b {
		s.WriteString(x.String() + "\n")
	}
	return s.String()
}

// TestZipFolders: a zip holding train/ and test/ folders instead of
// nested zips gives each command its part, whichever is opened first.
func TestZipFolders(t *testing.T) {
	src := filepath.Join(fixtures.SampleDir(t), "train")
	var entries []entry
	for _, n := range []string{"cat.1.jpg", "dog.1.jpg", "cat.2.jpg"} {
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, entry{name: "train/" + n, data: b}, entry{name: "test/" + strings.TrimPrefix(n, "cat."), data: b})
	}
	file := filepath.Join(t.TempDir(), "x.zip")
	writeZip(t, file, entries)
	for _, order := range [][]string{{"test", "train"}, {"train", "test"}} {
		for _, part := range order {
			z, err := OpenZip(file, part)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]int{"train": 3, "test": 3}[part]
			if len(z.Photos) != want || !strings.HasPrefix(z.Photos[0], part+"/") {
				t.Fatalf("%s (after %v): photos %v", part, order, z.Photos)
			}
			z.Close()
		}
	}
	ds, err := Scan(file)
	if err != nil || len(ds.Items) != 3 || ds.Root != file {
		t.Fatalf("Scan: %v, %v", ds, err)
	}
}

// TestSideFile: stats.json and packs go in a folder, or beside a zip,
// named after it and its nested zip.
func TestSideFile(t *testing.T) {
	dir := t.TempDir()
	writeZip(t, filepath.Join(dir, "k.ZIP"), nil)
	os.MkdirAll(filepath.Join(dir, "f.zip"), 0o755) // a folder named like a zip
	for _, tc := range []struct{ root, want string }{
		{"plain", "plain/stats.json"},
		{"f.zip", "f.zip/stats.json"},
		{"k.ZIP", "k.stats.json"},
		{"k.ZIP/train.zip", "k.train.stats.json"},
		{"k.ZIP/data/test.zip", "k.data_test.stats.json"},
	} {
		if got := SideFile(filepath.Join(dir, tc.root), "stats.json"); got != filepath.Join(dir, tc.want) {
			t.Errorf("SideFile(%s) = %s, want %s", tc.root, got, tc.want)
		}
	}
}
