package dataset

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pawnet/pawnet/internal/fixtures"
)

// hostile is one entry a data folder must not trip over: what makes it
// (in dir, named name) and what the scan's reason says about it.
type hostile struct {
	name string
	make func(t *testing.T, dir, name string)
	want string // in the reason; "" = read as a photo
}

func mkfifo(t *testing.T, dir, name string) {
	if err := syscall.Mkfifo(filepath.Join(dir, name), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(target string) func(t *testing.T, dir, name string) {
	return func(t *testing.T, dir, name string) {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// socket binds a Unix socket at dir/name (the path must stay under the
// 108 bytes of sun_path; t.TempDir's are).
func socket(t *testing.T, dir, name string) {
	l, err := net.Listen("unix", filepath.Join(dir, name))
	if err != nil {
		t.Skipf("cannot bind a Unix socket: %v", err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	t.Cleanup(func() { l.Close() })
}

// hostileEntries are the entries every scan must name and skip (or, for
// the symlink to a photo, read).
func hostileEntries(t *testing.T) []hostile {
	photo, err := filepath.Abs(filepath.Join(fixtures.SampleDir(t), "train", "cat.0.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	return []hostile{
		{"cat.5000.jpg", mkfifo, "a named pipe (FIFO)"},
		{"cat.5001.jpg", socket, "a socket"},
		{"cat.5002.jpg", symlink("no-such-photo.jpg"), "a dangling symlink to no-such-photo.jpg"},
		{"cat.5003.jpg", symlink("cat.5003.jpg"), "a symlink loop"},
		{"cat.5004.jpg", symlink("/dev/zero"), "a symlink to a device"},
		{"cat.5005.jpg", symlink("cat.5000.jpg"), "a symlink to a named pipe (FIFO)"},
		{"more", symlink("."), "a symlink to a folder (not followed)"},
		{"cat.5006.jpg", symlink(photo), ""},
	}
}

// hostileTree is a class tree of n sample photos per class with every
// hostile entry added to cat/; it returns the tree and the entries.
func hostileTree(t *testing.T, n int) (string, []hostile) {
	root := fixtures.ClassTree(t, n)
	entries := hostileEntries(t)
	for _, h := range entries {
		h.make(t, filepath.Join(root, "cat"), h.name)
	}
	return root, entries
}

// within fails the test when f has not returned after a minute: a read
// that blocks on an entry must become a failure, not a hung test.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("%s did not return within a minute (blocked on an entry?)", what)
	}
}

// TestScanSkipsHostileEntries puts a named pipe, a socket, dangling,
// looping and device symlinks, a symlink to a folder and one to a photo
// in a class folder: the scan names each with its reason and keeps only
// the photo link, and every reader of the items finishes.
func TestScanSkipsHostileEntries(t *testing.T) {
	const n = 8
	root, entries := hostileTree(t, n)
	ds, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, s := range ds.Skipped {
		if !errors.Is(s.Err, ErrNotRegular) {
			t.Errorf("%s: reason %v does not wrap ErrNotRegular", s.Path, s.Err)
		}
		reasons[filepath.Base(s.Path)] = s.Err.Error()
	}
	for _, h := range entries {
		got, skipped := reasons[h.name]
		switch {
		case h.want == "" && skipped:
			t.Errorf("%s: skipped (%s), want it read", h.name, got)
		case h.want != "" && !strings.Contains(got, h.want):
			t.Errorf("%s: reason %q, want %q", h.name, got, h.want)
		}
	}
	if len(ds.Items) != 2*n+1 || len(ds.Skipped) != len(entries)-1 {
		t.Fatalf("%d items, skipped %v; want %d items and %d skipped", len(ds.Items), ds.Skipped, 2*n+1, len(entries)-1)
	}

	// Every reader of the items: decoding, statistics, photo sizes and the
	// pack (built, then opened).
	within(t, "BuildCache", func() {
		if c, bad := BuildCache(ds.Items, 32, 2, nil); c.Len() != 2*n+1 || len(bad) != 0 {
			t.Errorf("cache of %d, bad %v", c.Len(), bad)
		}
	})
	within(t, "ComputeStats", func() {
		if _, bad, err := ComputeStats(ds.Items, nil, 32, 2, nil); err != nil || len(bad) != 0 {
			t.Errorf("stats: %v, bad %v", err, bad)
		}
	})
	within(t, "PhotoSizes", func() {
		if p := PhotoSizes(ds.Items, 2); p == nil || p.Count != 2*n+1 {
			t.Errorf("photo sizes: %+v", p)
		}
	})
	within(t, "LoadPack", func() {
		for range 2 {
			c, bad, _, log := load(t, ds, 32, "")
			if c.Len() != 2*n+1 || len(bad) != 0 {
				t.Errorf("pack of %d, bad %v\n%s", c.Len(), bad, log)
			}
		}
	})
}

// TestOpenRegularRefusesWhatIsNotAFile opens each kind of entry directly,
// as a reader does when an entry changed after the scan: only regular
// files (and links to them) open, nothing blocks.
func TestOpenRegularRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	for _, h := range hostileEntries(t) {
		h.make(t, dir, h.name)
		if h.name == "more" {
			continue // a folder: refused by the read, not by the open
		}
		t.Run(h.name, func(t *testing.T) {
			within(t, "ReadRegular", func() {
				data, err := ReadRegular(filepath.Join(dir, h.name))
				switch {
				case h.want == "" && (err != nil || len(data) == 0):
					t.Errorf("read %d bytes, %v; want the photo", len(data), err)
				case h.want != "" && err == nil:
					t.Errorf("read %d bytes; want it refused (%s)", len(data), h.want)
				}
			})
		})
	}
}

// TestSeparateLeavesHostileEntries runs separate on a Kaggle folder with
// hostile cat.N/dog.N entries: they stay where they are, named with the
// reason; an absolute symlink to a photo moves, a relative one that would
// break in the class folder stays.
func TestSeparateLeavesHostileEntries(t *testing.T) {
	dir := kaggleTrain(t, 5)
	entries := hostileEntries(t)
	for _, h := range entries {
		h.make(t, dir, h.name)
	}
	other := filepath.Join(filepath.Dir(dir), "other")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	fixtures.Link(t, filepath.Join(dir, "dog.0.jpg"), filepath.Join(other, "d.jpg"))
	symlink(filepath.Join("..", "other", "d.jpg"))(t, dir, "dog.5007.jpg")
	var rep *SeparateReport
	within(t, "Separate", func() {
		var err error
		if rep, err = Separate(dir, false); err != nil {
			t.Error(err)
		}
	})
	if rep == nil {
		t.FailNow()
	}
	reasons := map[string]string{}
	for _, s := range rep.Skipped {
		reasons[filepath.Base(s.Path)] = s.Err.Error()
		if _, err := os.Lstat(s.Path); err != nil {
			t.Errorf("%s was not left in place: %v", s.Path, err)
		}
	}
	for _, h := range append(entries, hostile{"dog.5007.jpg", nil, "a relative symlink to ../other/d.jpg that would not resolve from dog/"}) {
		if h.name == "more" {
			continue // not a cat.N/dog.N name: Other
		}
		if got := reasons[h.name]; h.want != "" && !strings.Contains(got, h.want) {
			t.Errorf("%s: reason %q, want %q", h.name, got, h.want)
		}
	}
	if rep.Moved["cat"] != 6 || rep.Moved["dog"] != 5 || len(rep.Skipped) != 7 {
		t.Errorf("moved %v, skipped %v; want 6 cats (one a link), 5 dogs and 7 skipped", rep.Moved, rep.Skipped)
	}
	if err := Classify(filepath.Join(dir, "cat", "cat.5006.jpg"), nil); err != nil {
		t.Errorf("the moved link to a photo: %v", err)
	}
	// Scan then agrees: the class folders hold the moved photos, the
	// entries left at the top are named too.
	ds, err := Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Items) != 11 || len(ds.Skipped) != 7 {
		t.Errorf("scan after separate: %d items, skipped %v", len(ds.Items), ds.Skipped)
	}
}

// TestPackAndStatsThatAreNotFiles puts named pipes where a data folder's
// pack and stats.json go: the pack is refused as damaged and rebuilt over
// the pipe, and the statistics are refused; nothing blocks.
func TestPackAndStatsThatAreNotFiles(t *testing.T) {
	ds, err := Scan(fixtures.ClassTree(t, 6))
	if err != nil {
		t.Fatal(err)
	}
	pack := PackPaths(ds.Root, 32, "")[0]
	mkfifo(t, filepath.Dir(pack), filepath.Base(pack))
	mkfifo(t, ds.Root, "stats.json")
	within(t, "LoadPack", func() {
		c, _, path, log := load(t, ds, 32, "")
		if path != pack || c.Len() != 12 || !strings.Contains(log, "not a regular file: a named pipe (FIFO); rebuilding") {
			t.Errorf("pack %s of %d photos\n%s", path, c.Len(), log)
		}
		if err := Classify(pack, nil); err != nil {
			t.Errorf("the new pack: %v", err)
		}
	})
	within(t, "LoadStats", func() {
		if _, err := LoadStats(filepath.Join(ds.Root, "stats.json")); !errors.Is(err, ErrNotRegular) {
			t.Errorf("LoadStats of a named pipe: %v", err)
		}
	})
}
