package dataset

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pawnet/pawnet/internal/fixtures"
)

// packTree is a class tree of n sample photos per class plus one 0-byte
// photo, scanned.
func packTree(t *testing.T, n int) *Dataset {
	t.Helper()
	root := fixtures.ClassTree(t, n)
	if err := os.WriteFile(filepath.Join(root, "cat", "empty.jpg"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ds, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// sameAsDecoded checks a cache against decoding ds's photos now.
func sameAsDecoded(t *testing.T, ds *Dataset, c *Cache, bad []BadFile, size int) {
	t.Helper()
	want, wantBad := BuildCache(ds.Items, size, 2, nil)
	if c.Len() != want.Len() || len(bad) != len(wantBad) {
		t.Fatalf("%d images and %d bad files; decoding gives %d and %d", c.Len(), len(bad), want.Len(), len(wantBad))
	}
	for i := range want.Items {
		if c.Items[i] != want.Items[i] || c.Src[i] != want.Src[i] || !bytes.Equal(c.Image(i).Pix, want.Image(i).Pix) {
			t.Fatalf("image %d (%s) differs from decoding it", i, want.Items[i].Path)
		}
	}
	for i := range wantBad {
		if bad[i].Path != wantBad[i].Path {
			t.Fatalf("bad file %d: %s, want %s", i, bad[i].Path, wantBad[i].Path)
		}
	}
}

func load(t *testing.T, ds *Dataset, size int, cacheDir string) (*Cache, []BadFile, string, string) {
	t.Helper()
	var log strings.Builder
	c, bad, path, err := LoadPack(ds, PackOptions{Size: size, Workers: 2, CacheDir: cacheDir, Log: &log})
	if err != nil {
		t.Fatalf("LoadPack: %v\n%s", err, log.String())
	}
	t.Cleanup(func() { c.Close() })
	return c, bad, path, log.String()
}

func TestPackBuildsOnceThenMaps(t *testing.T) {
	ds := packTree(t, 20)
	c, bad, path, log := load(t, ds, 32, "")
	if path != filepath.Join(ds.Root, PackName(32)) || !strings.Contains(log, "built") {
		t.Fatalf("first load: %s\n%s", path, log)
	}
	if len(bad) != 1 || !strings.HasSuffix(bad[0].Path, "empty.jpg") {
		t.Errorf("bad files %v; want empty.jpg", bad)
	}
	sameAsDecoded(t, ds, c, bad, 32)
	c2, bad2, _, log2 := load(t, ds, 32, "")
	if strings.Contains(log2, "built") || strings.Contains(log2, "rebuilding") {
		t.Errorf("second load rebuilt the pack:\n%s", log2)
	}
	sameAsDecoded(t, ds, c2, bad2, 32)
	// Another side is another pack.
	if _, _, p, log := load(t, ds, 16, ""); p != filepath.Join(ds.Root, PackName(16)) || !strings.Contains(log, "built") {
		t.Errorf("16-px pack: %s\n%s", p, log)
	}
}

// TestPackStale changes the folder in each way a user can and checks that
// the pack is refused with the reason, rebuilt, and equal to decoding the
// folder as it is now.
func TestPackStale(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		edit       func(t *testing.T, root string)
	}{
		{"a photo added", "1 photos added, 0 removed, 0 changed", func(t *testing.T, root string) {
			fixtures.Link(t, filepath.Join(root, "cat", "cat.0.jpg"), filepath.Join(root, "cat", "new.jpg"))
		}},
		{"a photo removed", "0 photos added, 1 removed, 0 changed", func(t *testing.T, root string) {
			if err := os.Remove(filepath.Join(root, "dog", "dog.3.jpg")); err != nil {
				t.Fatal(err)
			}
		}},
		{"a photo changed", "0 photos added, 0 removed, 1 changed", func(t *testing.T, root string) {
			// A new file under the old name (the tree's files are links
			// to the shared sample, which must not be written through).
			data, err := os.ReadFile(filepath.Join(root, "dog", "dog.5.jpg"))
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(root, "cat", "cat.2.jpg")
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, append(data, 0), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"a bad photo fixed", "0 photos added, 0 removed, 1 changed", func(t *testing.T, root string) {
			data, err := os.ReadFile(filepath.Join(root, "cat", "cat.1.jpg"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, "cat", "empty.jpg"), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := packTree(t, 12)
			load(t, ds, 32, "")
			tc.edit(t, ds.Root)
			ds, err := Scan(ds.Root)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := OpenPack(filepath.Join(ds.Root, PackName(32)), ds, 32, 2); !errors.Is(err, ErrPackStale) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("OpenPack: %v; want stale: %s", err, tc.want)
			}
			c, bad, _, log := load(t, ds, 32, "")
			if !strings.Contains(log, tc.want) || !strings.Contains(log, "built") {
				t.Errorf("log:\n%s", log)
			}
			sameAsDecoded(t, ds, c, bad, 32)
		})
	}
}

// TestPackDamaged damages the pack file in each way and checks that it is
// never used: refused as corrupt, rebuilt, equal to decoding.
func TestPackDamaged(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(data []byte) []byte
	}{
		{"truncated", func(d []byte) []byte { return d[:len(d)-1] }},
		{"cut inside the pixels", func(d []byte) []byte { return d[:packDataOffset+100] }},
		{"a pixel flipped", func(d []byte) []byte { d[packDataOffset+5000] ^= 1; return d }},
		{"a header byte flipped", func(d []byte) []byte { d[len(d)-10] ^= 1; return d }},
		{"no magic", func(d []byte) []byte { copy(d, "NOTAPACK"); return d }},
		{"empty", func([]byte) []byte { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := packTree(t, 10)
			_, _, path, _ := load(t, ds, 32, "")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tc.edit(data), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, _, err := OpenPack(path, ds, 32, 2); !errors.Is(err, ErrPackCorrupt) {
				t.Fatalf("OpenPack of a damaged pack: %v", err)
			}
			c, bad, _, log := load(t, ds, 32, "")
			if !strings.Contains(log, "damaged") || !strings.Contains(log, "built") {
				t.Errorf("log:\n%s", log)
			}
			sameAsDecoded(t, ds, c, bad, 32)
		})
	}
}

// TestPackFullDisk writes a pack with the process's file-size limit below
// the pack's size (as a full disk does, the kernel refuses the write): the
// error says so, nothing partial is left, and the previous pack stays.
func TestPackFullDisk(t *testing.T) {
	ds := packTree(t, 10)
	_, _, path, _ := load(t, ds, 64, "")
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	small := lim
	small.Cur = 64 << 10 // bytes; the pack is 20 × 12 KiB + its header
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &small); err != nil {
		t.Skipf("cannot lower the file-size limit: %v", err)
	}
	_, werr := WritePack(path, ds, 64, 2, "", nil)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	if werr == nil || !errors.Is(werr, syscall.EFBIG) || !strings.Contains(werr.Error(), path) {
		t.Fatalf("WritePack over the limit: %v", werr)
	}
	after, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(after, before) {
		t.Errorf("the previous pack changed (%v)", err)
	}
	entries, _ := os.ReadDir(ds.Root)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind %s", e.Name())
		}
	}
}

// TestPackReadOnlyFolder builds the pack in the cache folder when the data
// folder cannot be written, and finds it there the next time.
func TestPackReadOnlyFolder(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes into read-only folders")
	}
	ds := packTree(t, 6)
	if err := os.Chmod(ds.Root, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(ds.Root, 0o755) })
	cache := t.TempDir()
	_, _, path, log := load(t, ds, 32, cache)
	if filepath.Dir(path) != cache || !strings.Contains(log, "cannot write next to the data") {
		t.Fatalf("pack at %s\n%s", path, log)
	}
	if _, _, again, log := load(t, ds, 32, cache); again != path || strings.Contains(log, "built") {
		t.Errorf("second load: %s\n%s", again, log)
	}
	if _, err := os.Stat(filepath.Join(ds.Root, PackName(32))); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a pack appeared in the read-only folder: %v", err)
	}
}
