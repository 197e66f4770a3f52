// Static assets over a real network: compressed siblings, content hashes,
// versioned URLs and their cache policy.

package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ImmutableCache is the Cache-Control of a static file requested under
// its versioned URL (NAME?v=HASH, HASH its content's): a changed file
// gets a new URL, so this one may be kept for a year without asking.
const ImmutableCache = "public, max-age=31536000, immutable"

// siblings are the compressed siblings the server looks for, by
// Content-Encoding: NAME.br and NAME.gz, written by the wasm build
// (internal/wasmbuild.Compress).
var siblings = map[string]string{"br": ".br", "gzip": ".gz"}

// assetCache holds the content hash of each static file served, by name,
// valid while the file's size and modification time stay the same.
type assetCache struct {
	mu   sync.Mutex
	sums map[string]assetSum
}

type assetSum struct {
	size int64
	mod  time.Time
	sum  string
}

// hashLen is the length of a content hash, hexadecimal: the first 64 bits
// of its SHA-256.
const hashLen = 16

// hash returns the content hash of the static file name, whose open file
// is f with stat st (f is read through and put back at its start when the
// hash is not cached).
func (c *assetCache) hash(name string, f io.ReadSeeker, st fs.FileInfo) (string, error) {
	c.mu.Lock()
	a, ok := c.sums[name]
	c.mu.Unlock()
	if ok && a.size == st.Size() && a.mod.Equal(st.ModTime()) {
		return a.sum, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))[:hashLen]
	c.mu.Lock()
	if c.sums == nil {
		c.sums = map[string]assetSum{}
	}
	c.sums[name] = assetSum{size: st.Size(), mod: st.ModTime(), sum: sum}
	c.mu.Unlock()
	return sum, nil
}

// hashOf returns the content hash of the regular file name in root, or
// "" when there is none.
func (c *assetCache) hashOf(root *os.Root, name string) string {
	f, err := root.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return ""
	}
	sum, _ := c.hash(name, f, st)
	return sum
}

// assetRef matches a quoted file name with the extension of an asset in
// an HTML page: "app.wasm", "worker.js", "app.css".
var assetRef = regexp.MustCompile(`"([A-Za-z0-9_][A-Za-z0-9_.-]*\.(?:wasm|js|css|json|svg))"`)

// maxPage is the largest HTML page rewritten (larger ones are served as
// they are).
const maxPage = 1 << 20

// versionPage returns the HTML page name (open as f) with each quoted
// name of a file beside it ("app.wasm") replaced by its versioned URL
// ("app.wasm?v=HASH"), so that the page's assets may be cached for good.
func (c *assetCache) versionPage(root *os.Root, name string, f io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, maxPage+1))
	if err != nil || len(data) > maxPage {
		return nil, err
	}
	dir := path.Dir(name)
	return assetRef.ReplaceAllFunc(data, func(m []byte) []byte {
		ref := string(m[1 : len(m)-1])
		sum := c.hashOf(root, path.Join(dir, ref))
		if sum == "" {
			return m
		}
		return []byte(`"` + ref + "?v=" + sum + `"`)
	}), nil
}

// serveAsset serves the static file name, open as f with stat st, from
// root:
//
//   - an HTML page with its assets' URLs versioned (versionPage), never
//     compressed, revalidated on each load (Cache-Control: no-cache) with
//     an ETag of its bytes;
//   - any other file with a strong ETag of its content (and of its
//     encoding), cached for good (ImmutableCache) when it was asked for
//     under its current versioned URL, else revalidated on each use;
//   - as its compressed sibling NAME.br or NAME.gz when the request
//     accepts that encoding (Accept-Encoding, with q-values; brotli first
//     when both are as welcome), the sibling is a regular file and is
//     not older than the file (else it is stale), and the request is not
//     for a range (ranges are served from the plain file).
//
// Every non-HTML answer says Vary: Accept-Encoding.
func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request, root *os.Root, name string, f *os.File, st fs.FileInfo) {
	h := w.Header()
	ext := path.Ext(name)
	if ext == ".html" || ext == ".htm" {
		page, err := s.assets.versionPage(root, name, f)
		if err != nil {
			http.Error(w, "cannot read "+path.Base(name), http.StatusInternalServerError)
			return
		}
		if page == nil { // too large to rewrite
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				http.Error(w, "cannot read "+path.Base(name), http.StatusInternalServerError)
				return
			}
			http.ServeContent(w, r, path.Base(name), st.ModTime(), f)
			return
		}
		sum := sha256.Sum256(page)
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", `"`+hex.EncodeToString(sum[:])[:hashLen]+`"`)
		// No Last-Modified: the page changes with its assets, not with its
		// own file; the ETag says when.
		http.ServeContent(w, r, path.Base(name), time.Time{}, bytes.NewReader(page))
		return
	}
	sum, err := s.assets.hash(name, f, st)
	if err != nil {
		http.Error(w, "cannot read "+path.Base(name), http.StatusInternalServerError)
		return
	}
	if r.URL.Query().Get("v") == sum {
		h.Set("Cache-Control", ImmutableCache)
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Add("Vary", "Accept-Encoding")
	ctype := mime.TypeByExtension(ext)
	var content io.ReadSeeker = f
	tag := sum
	if r.Header.Get("Range") == "" {
		for _, enc := range acceptedEncodings(r.Header.Get("Accept-Encoding")) {
			sf := openSibling(root, name+siblings[enc], st)
			if sf == nil {
				continue
			}
			defer sf.Close()
			content, tag = sf, sum+"-"+enc
			h.Set("Content-Encoding", enc)
			if ctype == "" {
				ctype = "application/octet-stream" // not sniffed from compressed bytes
			}
			break
		}
	}
	if ctype != "" {
		h.Set("Content-Type", ctype)
	}
	h.Set("ETag", `"`+tag+`"`)
	http.ServeContent(w, r, path.Base(name), st.ModTime(), content)
}

// openSibling opens the compressed sibling name of the file with stat
// plain, or returns nil when it is missing, not a regular file, or older
// than the file (stale: the file was changed after the build).
func openSibling(root *os.Root, name string, plain fs.FileInfo) *os.File {
	f, err := root.Open(name)
	if err != nil {
		return nil
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.ModTime().Before(plain.ModTime()) {
		f.Close()
		return nil
	}
	return f
}

// acceptedEncodings returns the encodings among siblings' that an
// Accept-Encoding header accepts (q > 0, by name or through "*"), the most
// welcome first; brotli before gzip when their q-values are equal.
func acceptedEncodings(header string) []string {
	q := map[string]float64{}
	star := -1.0
	for _, part := range strings.Split(header, ",") {
		token, params, _ := strings.Cut(part, ";")
		token = strings.ToLower(strings.TrimSpace(token))
		if token == "" {
			continue
		}
		v := 1.0
		for _, p := range strings.Split(params, ";") {
			k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || strings.ToLower(strings.TrimSpace(k)) != "q" {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil || f < 0 || f > 1 {
				f = 0 // a malformed weight: not accepted
			}
			v = f
		}
		if token == "*" {
			star = v
		} else if token == "x-gzip" {
			q["gzip"] = max(q["gzip"], v)
		} else {
			q[token] = v
		}
	}
	var out []string
	weight := map[string]float64{}
	for _, enc := range []string{"br", "gzip"} {
		v, ok := q[enc]
		if !ok {
			v = star
		}
		if v > 0 {
			out = append(out, enc)
			weight[enc] = v
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return weight[out[i]] > weight[out[j]] })
	return out
}
