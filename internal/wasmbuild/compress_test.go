package wasmbuild

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCompress checks that Compress writes a .gz and a .br that decode to
// each compressible file, none for other files, no leftover temporary
// file, keeps siblings that still match, and rewrites those that no
// longer do.
func TestCompress(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	text := []byte(strings.Repeat("const pawnet = 1; // a line of script\n", 2000))
	noise := make([]byte, 64<<10)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	files := map[string][]byte{
		"app.wasm":   append(append([]byte{}, noise...), text...),
		"worker.js":  text,
		"app.css":    []byte("body { margin: 0 }\n"),
		"empty.js":   {},
		"index.html": []byte("<!doctype html>\n"),
		"notes.txt":  text,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := Compress(dir, 5, io.Discard); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		for _, enc := range Encodings {
			got, err := os.ReadFile(filepath.Join(dir, name+enc[0]))
			if !compressible(name) {
				if err == nil {
					t.Errorf("%s%s written; only %v get siblings", name, enc[0], Compressed)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			plain, err := Decode(enc[0], got)
			if err != nil {
				t.Fatalf("%s%s: %v", name, enc[0], err)
			}
			if !bytes.Equal(plain, data) {
				t.Errorf("%s%s decodes to %d bytes, not the file's %d", name, enc[0], len(plain), len(data))
			}
			if len(data) > 10000 && len(got) >= len(data)/2 {
				t.Errorf("%s%s: %d bytes from %d", name, enc[0], len(got), len(data))
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind: %s", e.Name())
		}
	}

	// A sibling that still matches is kept (and made newer than its
	// file); one whose file changed is written again.
	old := time.Now().Add(-time.Hour)
	for _, name := range []string{"worker.js.br", "app.css.br"} {
		if err := os.Chtimes(filepath.Join(dir, name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	changed := []byte("body { margin: 1px }\n")
	if err := os.WriteFile(filepath.Join(dir, "app.css"), changed, 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	if err := Compress(dir, 5, &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "kept "+filepath.Join(dir, "worker.js.br")) {
		t.Errorf("worker.js.br not kept:\n%s", log.String())
	}
	st, err := os.Stat(filepath.Join(dir, "worker.js.br"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Stat(filepath.Join(dir, "worker.js"))
	if err != nil {
		t.Fatal(err)
	}
	if st.ModTime().Before(src.ModTime()) {
		t.Errorf("kept worker.js.br is older (%v) than worker.js (%v)", st.ModTime(), src.ModTime())
	}
	for _, enc := range Encodings {
		got, err := os.ReadFile(filepath.Join(dir, "app.css"+enc[0]))
		if err != nil {
			t.Fatal(err)
		}
		if plain, err := Decode(enc[0], got); err != nil || !bytes.Equal(plain, changed) {
			t.Errorf("app.css%s after the change decodes to %q, %v; want %q", enc[0], plain, err, changed)
		}
	}
}
