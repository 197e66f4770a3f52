package wasmbuild

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/andybalholm/brotli"

	"github.com/pawnet/pawnet/trainer/fsutil"
)

// BrotliLevel is the brotli quality of `go tool mage wasm`: the best (11).
// Measured on app.wasm (9.2 MB) on 2 cores: quality 11 gives 1.81 MB in
// about 23 s, quality 9 2.07 MB in 1.6 s, gzip -9 2.51 MB in 0.9 s.
const BrotliLevel = brotli.BestCompression

// Compressed lists the extensions of the static files that get compressed
// siblings. index.html is not among them: the server rewrites it per
// request (versioned asset URLs, trainer/server), and it is small.
var Compressed = []string{".wasm", ".js", ".css", ".json", ".svg"}

// Encodings are the compressed siblings written beside each file: its
// name plus the suffix, and the Content-Encoding the server names.
var Encodings = [][2]string{{".br", "br"}, {".gz", "gzip"}}

// Compress writes NAME.gz (gzip -9) and NAME.br (brotli at level)
// beside each file of dir (not its subfolders) whose extension is in
// Compressed, in parallel, each through a temporary file and a rename so
// that a reader never sees half a file. A sibling that already decodes to
// the file's bytes is kept (its modification time is set to now, so that
// the server does not take it for stale): a rebuild that changed nothing
// costs a decode, not a compression. It prints one line per file to log.
func Compress(dir string, level int, log io.Writer) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, e := range entries {
		if !e.Type().IsRegular() || !compressible(e.Name()) {
			continue
		}
		for _, enc := range Encodings {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				path := filepath.Join(dir, e.Name())
				n, kept, err := compressFile(path, enc[0], level)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, fmt.Errorf("compressing %s: %w", path, err))
					return
				}
				what := "wrote"
				if kept {
					what = "kept"
				}
				fmt.Fprintf(log, "%s %s%s (%d bytes, %.1f s)\n", what, path, enc[0], n, time.Since(start).Seconds())
			}()
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// compressible reports whether a file named name gets compressed siblings.
func compressible(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	for _, ext := range Compressed {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// compressFile writes path+suffix (".gz" or ".br"), or keeps it when it
// decodes to path's bytes; it returns the sibling's size.
func compressFile(path, suffix string, level int) (size int64, kept bool, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false, err
	}
	out := path + suffix
	if old, err := os.ReadFile(out); err == nil {
		if same, _ := Decode(suffix, old); same != nil && bytes.Equal(same, data) {
			now := time.Now()
			return int64(len(old)), true, os.Chtimes(out, now, now)
		}
	}
	err = fsutil.WriteAtomic(out, func(f *os.File) error {
		var w io.WriteCloser
		switch suffix {
		case ".gz":
			gz, err := gzip.NewWriterLevel(f, gzip.BestCompression)
			if err != nil {
				return err
			}
			w = gz
		case ".br":
			w = brotli.NewWriterLevel(f, level)
		default:
			return fmt.Errorf("unknown encoding %q", suffix)
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		size, err = f.Seek(0, io.SeekCurrent)
		return err
	})
	return size, false, err
}

// Decode decodes the bytes of a sibling with the given suffix (".gz" or
// ".br").
func Decode(suffix string, data []byte) ([]byte, error) {
	var r io.Reader
	switch suffix {
	case ".gz":
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		r = zr
	case ".br":
		r = brotli.NewReader(bytes.NewReader(data))
	default:
		return nil, fmt.Errorf("unknown encoding %q", suffix)
	}
	return io.ReadAll(r)
}
