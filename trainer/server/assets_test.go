package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pawnet/pawnet/internal/wasmbuild"
)

// fetchRaw GETs path from s with the given request headers, without the
// Go client's own Accept-Encoding and transparent decoding.
func fetchRaw(t *testing.T, s *Server, path string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+s.Addr().String()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func contentHash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])[:hashLen]
}

// assetSite writes a static folder built as the wasm build leaves it
// (files plus their .gz and .br, wasmbuild.Compress), with a stale
// sibling, a sibling that is a folder and one that is a symlink out of
// the folder; it returns the folder and the files' contents.
func assetSite(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	static := filepath.Join(dir, "static")
	if err := os.Mkdir(static, 0o755); err != nil {
		t.Fatal(err)
	}
	wasm := make([]byte, 0, 200<<10)
	for i := 0; len(wasm) < 200<<10; i++ {
		wasm = append(wasm, byte(i), byte(i>>8), byte(i*7), 0, 0, 0, 1, 2)
	}
	files := map[string][]byte{
		"index.html": []byte(`<!doctype html><link rel="stylesheet" href="app.css"><script src="wasm_exec.js"></script>` +
			`<script>fetch("app.wasm"); new Worker("worker.js"); fetch("missing.wasm")</script>`),
		"app.wasm":     wasm,
		"worker.js":    []byte(strings.Repeat("self.onmessage = () => {};\n", 500)),
		"wasm_exec.js": []byte(strings.Repeat("// Go's wasm_exec.js\n", 300)),
		"app.css":      []byte(strings.Repeat("body { margin: 0 }\n", 300)),
		"style.css":    []byte(strings.Repeat(".fresh { color: red }\n", 300)),
		"evil.js":      []byte(strings.Repeat("// evil.js\n", 300)),
		"dir.js":       []byte(strings.Repeat("// dir.js\n", 300)),
		"data.bin":     []byte("\x00\x01raw bytes"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(static, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := wasmbuild.Compress(static, 5, io.Discard); err != nil {
		t.Fatal(err)
	}
	// style.css changed after the build: its siblings are stale (older).
	old := time.Now().Add(-time.Hour)
	for _, sfx := range []string{".gz", ".br"} {
		if err := os.Chtimes(filepath.Join(static, "style.css"+sfx), old, old); err != nil {
			t.Fatal(err)
		}
	}
	// evil.js.gz leads out of the folder; dir.js.br is a folder.
	secret := filepath.Join(dir, "secret.gz")
	if err := os.WriteFile(secret, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(static, "evil.js.gz")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(static, "evil.js.gz")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(static, "dir.js.br")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(static, "dir.js.br"), 0o755); err != nil {
		t.Fatal(err)
	}
	return static, files
}

// TestStaticAssets checks the static files' answers on a real server:
// the encoding picked from Accept-Encoding (q-values, "*", fallbacks to
// the plain file without it, for a range, for a stale, missing or unsafe
// sibling), that the compressed bytes decode to the file, Content-Type,
// Vary, Cache-Control (immutable only under the current versioned URL),
// strong ETags per encoding and their 304, and index.html's versioned
// URLs.
func TestStaticAssets(t *testing.T) {
	static, files := assetSite(t)
	s := start(t, nil, Options{StaticDir: static})
	wasmV := "?v=" + contentHash(files["app.wasm"])
	all := "gzip, deflate, br, zstd" // Chromium's
	for _, tc := range []struct {
		name, path, accept, rng string
		code                    int
		encoding                string // Content-Encoding
		ctype                   string
		cache                   string
		body                    []byte // the plain bytes (after decoding)
	}{
		{"browser", "/app.wasm", all, "", 200, "br", "application/wasm", "no-cache", files["app.wasm"]},
		{"versioned", "/app.wasm" + wasmV, all, "", 200, "br", "application/wasm", ImmutableCache, files["app.wasm"]},
		{"old version", "/app.wasm?v=0123456789abcdef", all, "", 200, "br", "application/wasm", "no-cache", files["app.wasm"]},
		{"gzip only", "/app.wasm", "gzip", "", 200, "gzip", "application/wasm", "no-cache", files["app.wasm"]},
		{"x-gzip", "/app.wasm", "x-gzip", "", 200, "gzip", "application/wasm", "no-cache", files["app.wasm"]},
		{"gzip preferred by q", "/app.wasm", "br;q=0.5, gzip;q=0.8", "", 200, "gzip", "application/wasm", "no-cache", files["app.wasm"]},
		{"br refused, star", "/app.wasm", "br;q=0, *", "", 200, "gzip", "application/wasm", "no-cache", files["app.wasm"]},
		{"star", "/app.wasm", "*;q=0.1", "", 200, "br", "application/wasm", "no-cache", files["app.wasm"]},
		{"malformed q", "/app.wasm", "br;q=abc, GZIP;Q=1", "", 200, "gzip", "application/wasm", "no-cache", files["app.wasm"]},
		{"no Accept-Encoding", "/app.wasm", "", "", 200, "", "application/wasm", "no-cache", files["app.wasm"]},
		{"identity", "/app.wasm", "identity", "", 200, "", "application/wasm", "no-cache", files["app.wasm"]},
		{"both refused", "/app.wasm", "gzip;q=0, br;q=0", "", 200, "", "application/wasm", "no-cache", files["app.wasm"]},
		{"range", "/app.wasm", all, "bytes=1000-1999", 206, "", "application/wasm", "no-cache", files["app.wasm"][1000:2000]},
		{"range, versioned", "/app.wasm" + wasmV, all, "bytes=-10", 206, "", "application/wasm", ImmutableCache, files["app.wasm"][len(files["app.wasm"])-10:]},
		{"script", "/worker.js", all, "", 200, "br", "text/javascript; charset=utf-8", "no-cache", files["worker.js"]},
		{"stylesheet gzip", "/app.css", "gzip", "", 200, "gzip", "text/css; charset=utf-8", "no-cache", files["app.css"]},
		{"stale siblings", "/style.css", all, "", 200, "", "text/css; charset=utf-8", "no-cache", files["style.css"]},
		{"sibling out of the folder", "/evil.js", "gzip", "", 200, "", "text/javascript; charset=utf-8", "no-cache", files["evil.js"]},
		{"sibling is a folder", "/dir.js", "br", "", 200, "", "text/javascript; charset=utf-8", "no-cache", files["dir.js"]},
		{"sibling is a folder, gzip next", "/dir.js", "br, gzip", "", 200, "gzip", "text/javascript; charset=utf-8", "no-cache", files["dir.js"]},
		{"no siblings", "/data.bin", all, "", 200, "", "", "no-cache", files["data.bin"]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{"Accept-Encoding": tc.accept}
			if tc.rng != "" {
				h["Range"] = tc.rng
			}
			resp, body := fetchRaw(t, s, tc.path, h)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.code)
			}
			hd := resp.Header
			if got := hd.Get("Content-Encoding"); got != tc.encoding {
				t.Errorf("Content-Encoding %q, want %q", got, tc.encoding)
			}
			if tc.ctype != "" && hd.Get("Content-Type") != tc.ctype {
				t.Errorf("Content-Type %q, want %q", hd.Get("Content-Type"), tc.ctype)
			}
			if got := hd.Get("Vary"); got != "Accept-Encoding" {
				t.Errorf("Vary %q, want Accept-Encoding", got)
			}
			if got := hd.Get("Cache-Control"); got != tc.cache {
				t.Errorf("Cache-Control %q, want %q", got, tc.cache)
			}
			plain := body
			if tc.encoding != "" {
				var err error
				if plain, err = wasmbuild.Decode(map[string]string{"br": ".br", "gzip": ".gz"}[tc.encoding], body); err != nil {
					t.Fatalf("decoding %s: %v", tc.encoding, err)
				}
				if len(body) >= len(plain) {
					t.Errorf("%s body %d bytes for %d plain", tc.encoding, len(body), len(plain))
				}
			}
			if !bytes.Equal(plain, tc.body) {
				t.Fatalf("body decodes to %d bytes, want the file's %d", len(plain), len(tc.body))
			}
			if bytes.Contains(body, []byte("secret")) {
				t.Error("served a file from outside the static folder")
			}
			// A strong ETag of the content and its encoding, and 304 for it.
			tag := `"` + contentHash(files[strings.TrimPrefix(strings.SplitN(tc.path, "?", 2)[0], "/")])
			if tc.encoding != "" {
				tag += "-" + tc.encoding
			}
			tag += `"`
			if got := hd.Get("ETag"); got != tag {
				t.Fatalf("ETag %s, want %s", got, tag)
			}
			if tc.rng == "" {
				h["If-None-Match"] = tag
				resp, body := fetchRaw(t, s, tc.path, h)
				if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
					t.Errorf("If-None-Match %s: %d with %d bytes, want 304", tag, resp.StatusCode, len(body))
				}
				h["If-None-Match"] = `"0123456789abcdef"`
				if resp, _ := fetchRaw(t, s, tc.path, h); resp.StatusCode != 200 {
					t.Errorf("If-None-Match another tag: %d, want 200", resp.StatusCode)
				}
			}
		})
	}
}

// TestStaticPage checks that index.html names its assets by versioned
// URLs (a missing file keeps its plain name), is revalidated (no-cache,
// an ETag of its bytes, 304), and that a changed asset gets a new URL
// and a changed ETag for the page, while the compressed siblings it no
// longer matches are not served.
func TestStaticPage(t *testing.T) {
	static, files := assetSite(t)
	s := start(t, nil, Options{StaticDir: static})
	resp, body := fetchRaw(t, s, "/", map[string]string{"Accept-Encoding": "gzip, br"})
	want := strings.NewReplacer(
		`"app.css"`, `"app.css?v=`+contentHash(files["app.css"])+`"`,
		`"wasm_exec.js"`, `"wasm_exec.js?v=`+contentHash(files["wasm_exec.js"])+`"`,
		`"app.wasm"`, `"app.wasm?v=`+contentHash(files["app.wasm"])+`"`,
		`"worker.js"`, `"worker.js?v=`+contentHash(files["worker.js"])+`"`,
	).Replace(string(files["index.html"]))
	if resp.StatusCode != 200 || string(body) != want {
		t.Fatalf("GET /: %d\n%s\nwant\n%s", resp.StatusCode, body, want)
	}
	for k, v := range map[string]string{"Cache-Control": "no-cache", "Content-Encoding": "", "Last-Modified": "", "Content-Type": "text/html; charset=utf-8", "ETag": `"` + contentHash(body) + `"`} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("GET /: %s %q, want %q", k, got, v)
		}
	}
	tag := resp.Header.Get("ETag")
	if r, _ := fetchRaw(t, s, "/", map[string]string{"If-None-Match": tag}); r.StatusCode != http.StatusNotModified {
		t.Errorf("GET / If-None-Match: %d, want 304", r.StatusCode)
	}

	// A new build of app.wasm: a new URL, a new page ETag; its old
	// siblings are stale until the build compresses it again.
	changed := append([]byte("new build "), files["app.wasm"]...)
	time.Sleep(10 * time.Millisecond) // a later modification time than the siblings'
	if err := os.WriteFile(filepath.Join(static, "app.wasm"), changed, 0o644); err != nil {
		t.Fatal(err)
	}
	resp, body = fetchRaw(t, s, "/", map[string]string{"If-None-Match": tag})
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"app.wasm?v=`+contentHash(changed)+`"`) {
		t.Fatalf("GET / after app.wasm changed: %d\n%s", resp.StatusCode, body)
	}
	resp, body = fetchRaw(t, s, "/app.wasm?v="+contentHash(changed), map[string]string{"Accept-Encoding": "br, gzip"})
	if resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, changed) || resp.Header.Get("Cache-Control") != ImmutableCache {
		t.Errorf("new app.wasm: Content-Encoding %q, Cache-Control %q, %d bytes; want the plain new file, immutable",
			resp.Header.Get("Content-Encoding"), resp.Header.Get("Cache-Control"), len(body))
	}
	if err := os.Remove(filepath.Join(static, "dir.js.br")); err != nil { // a folder Compress cannot replace
		t.Fatal(err)
	}
	if err := wasmbuild.Compress(static, 5, io.Discard); err != nil {
		t.Fatal(err)
	}
	resp, body = fetchRaw(t, s, "/app.wasm", map[string]string{"Accept-Encoding": "br, gzip"})
	if plain, err := wasmbuild.Decode(".br", body); resp.Header.Get("Content-Encoding") != "br" || err != nil || !bytes.Equal(plain, changed) {
		t.Errorf("recompressed app.wasm: Content-Encoding %q, decoded %d bytes (%v), want br of %d", resp.Header.Get("Content-Encoding"), len(plain), err, len(changed))
	}
}

// TestPlainStatic checks Options.PlainStatic, the server as it was:
// the files as they are, with Last-Modified and no cache policy.
func TestPlainStatic(t *testing.T) {
	static, files := assetSite(t)
	s := start(t, nil, Options{StaticDir: static, PlainStatic: true})
	for _, name := range []string{"index.html", "app.wasm", "worker.js"} {
		resp, body := fetchRaw(t, s, "/"+name, map[string]string{"Accept-Encoding": "gzip, deflate, br, zstd"})
		if resp.StatusCode != 200 || !bytes.Equal(body, files[name]) {
			t.Errorf("%s: %d, %d bytes, want the file's %d", name, resp.StatusCode, len(body), len(files[name]))
		}
		for _, k := range []string{"Content-Encoding", "Cache-Control", "ETag", "Vary"} {
			if v := resp.Header.Get(k); v != "" {
				t.Errorf("%s: %s %q, want none", name, k, v)
			}
		}
		if resp.Header.Get("Last-Modified") == "" {
			t.Errorf("%s: no Last-Modified", name)
		}
	}
}

// TestAcceptedEncodings checks the parsing of Accept-Encoding.
func TestAcceptedEncodings(t *testing.T) {
	for header, want := range map[string]string{
		"":                           "",
		"gzip, deflate, br, zstd":    "br gzip",
		"gzip;q=1.0, br;q=0.9":       "gzip br",
		"br;q=0":                     "",
		"*":                          "br gzip",
		"*;q=0, gzip":                "gzip",
		"identity;q=1, *;q=0":        "",
		"br;q=1.5, gzip":             "gzip",
		" BR ; q=0.2 , gzip;q=0.1 ":  "br gzip",
		"deflate, compress":          "",
		",,;q=1":                     "",
		"x-gzip;q=0.5, br;q=0.4":     "gzip br",
		"gzip; level=9; q=0.3, br":   "br gzip",
		"gzip;q=0.001, br;q=0.00001": "gzip br",
	} {
		if got := strings.Join(acceptedEncodings(header), " "); got != want {
			t.Errorf("Accept-Encoding %q: %q, want %q", header, got, want)
		}
	}
}
