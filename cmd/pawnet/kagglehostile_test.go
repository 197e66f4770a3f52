package main

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestHostileZip gives pack and stats a real train.zip holding good
// photos and, beside them, a damaged entry, a duplicate name, entries
// named ../ and /, and one declaring an absurd size: both commands
// finish, name each bad entry with the reason and use the rest, and
// nothing is written but the pack and stats.json beside the zip.
func TestHostileZip(t *testing.T) {
	bin := pawnet(t)
	tmp := t.TempDir()
	sample := filepath.Join(tmp, "sample")
	if out, err := runCLI(t, bin, "sample", "-out", sample); err != nil {
		t.Fatalf("sample: %v\n%s", err, out)
	}
	photo := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(sample, "train", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	add := func(h *zip.FileHeader, data []byte, raw bool) {
		var ew interface{ Write([]byte) (int, error) }
		var err error
		if raw {
			ew, err = w.CreateRaw(h)
		} else {
			ew, err = w.CreateHeader(h)
		}
		if err == nil {
			_, err = ew.Write(data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		for _, cls := range []string{"cat", "dog"} {
			n := cls + "." + strconv.Itoa(i) + ".jpg"
			add(&zip.FileHeader{Name: "train/" + n, Method: zip.Store}, photo(n), false)
		}
	}
	add(&zip.FileHeader{Name: "train/cat.damaged.jpg", Method: zip.Store}, photo("cat.30.jpg"), false)
	add(&zip.FileHeader{Name: "train/cat.0.jpg", Method: zip.Store}, photo("cat.31.jpg"), false)
	add(&zip.FileHeader{Name: "../dog.up.jpg", Method: zip.Store}, photo("dog.30.jpg"), false)
	add(&zip.FileHeader{Name: "/tmp/dog.abs.jpg", Method: zip.Store}, photo("dog.31.jpg"), false)
	add(&zip.FileHeader{Name: "train/dog.bomb.jpg", Method: zip.Deflate, CompressedSize64: 10, UncompressedSize64: 1 << 40}, make([]byte, 10), true)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	i := bytes.Index(data, []byte("train/cat.damaged.jpg")) + len("train/cat.damaged.jpg") + 100
	data[i] ^= 0xff // inside the stored photo: its CRC no longer matches
	dir := filepath.Join(tmp, "data")
	os.MkdirAll(dir, 0o755)
	file := filepath.Join(dir, "train.zip")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		args []string
		want []string
	}{
		{[]string{"pack", "-size", "32", file}, []string{
			file + "/../dog.up.jpg: an unsafe entry name", file + "//tmp/dog.abs.jpg: an unsafe entry name",
			file + "/train/cat.0.jpg: a duplicate entry name; the first one is used",
			file + "/train/dog.bomb.jpg: declares 1099511627776 bytes uncompressed, over the limit",
			"skipped 1 unreadable files:\n  " + file + "/train/cat.damaged.jpg: damaged zip entry: zip: checksum error",
			"(40 photos, 1 unreadable)"}},
		{[]string{"stats", "-size", "32", file}, []string{"checked 41 photos", "1 unreadable", "train.stats.json"}},
	} {
		out, err := runCLI(t, bin, s.args...)
		if err != nil {
			t.Fatalf("pawnet %v: %v\n%s", s.args, err, out)
		}
		for _, w := range s.want {
			if !strings.Contains(out, w) {
				t.Errorf("pawnet %v: output lacks %q:\n%s", s.args, w, out)
			}
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 {
		t.Errorf("beside the zip: %v, want it, its pack and its stats.json", ents)
	}
	if _, err := os.Stat(filepath.Join(tmp, "dog.up.jpg")); err == nil {
		t.Error("an entry was written outside the zip")
	}
}
