package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixture is a real PyTorch state dict (torchvision's AlexNet at reduced
// widths) served under a published-style name carrying its hash prefix.
const fixture = "../testdata/alexnet_tiny.pth"

// fixtureFiles reads the fixture and returns it with a Files table that
// names it "tiny": alexnet_tiny-HASH8.pth, HASH8 its real SHA-256 prefix.
func fixtureFiles(t *testing.T) ([]byte, map[string]string) {
	t.Helper()
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return data, map[string]string{"tiny": "alexnet_tiny-" + hex.EncodeToString(sum[:])[:8] + ".pth"}
}

// request is what the test server saw of one request and answered.
type request struct {
	path, rangeHeader string
	status            int
}

// server is a loopback HTTP server whose handler serve answers the n-th
// request (from 0); it records every request and the status it was sent.
type server struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []request
}

type handler = func(n int, w http.ResponseWriter, r *http.Request)

func newServer(t *testing.T, serve handler) *server {
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		n := len(s.reqs)
		s.reqs = append(s.reqs, request{path: r.URL.Path, rangeHeader: r.Header.Get("Range")})
		s.mu.Unlock()
		serve(n, &statusWriter{w, s, n}, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// statusWriter records the status of request n as it is sent.
type statusWriter struct {
	http.ResponseWriter
	s *server
	n int
}

func (w *statusWriter) WriteHeader(code int) {
	w.s.mu.Lock()
	if w.s.reqs[w.n].status == 0 {
		w.s.reqs[w.n].status = code
	}
	w.s.mu.Unlock()
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK) // as net/http does on a first Write; a repeat is ignored
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() { w.ResponseWriter.(http.Flusher).Flush() }

func (s *server) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.reqs...)
}

// serveFile serves data with Range support (206 for a Range request), as
// download.pytorch.org does.
func serveFile(data []byte) handler {
	return func(_ int, w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}
}

// TestFetch fetches the fixture from a loopback server in each of the
// ways a download goes, and checks the cache folder afterwards: the file
// byte for byte and no .part after a success; nothing cached, and the
// .part as stated, after a failure.
func TestFetch(t *testing.T) {
	data, files := fixtureFiles(t)
	file := files["tiny"]
	half := len(data) / 2
	corrupt := bytes.Clone(data)
	corrupt[len(corrupt)/3] ^= 0x40
	// cut sends the response headers for the whole file and its first
	// half, then drops the connection.
	cut := func(w http.ResponseWriter) {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:half])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	// stall waits until the client gives up.
	stall := func(r *http.Request) { <-r.Context().Done() }

	for _, tc := range []struct {
		name  string
		part  []byte // a .part left by an earlier download (nil: none)
		serve handler
		// want is the requests' Range headers and statuses; a Range
		// "bytes=?-" is checked to start inside the file.
		want     []request
		wantErr  []string // "" when the fetch succeeds
		keepPart bool     // a failure keeps the .part to resume
	}{
		{name: "first fetch", serve: serveFile(data),
			want: []request{{status: 200}}},
		{name: "resumed after a cut connection",
			serve: func(n int, w http.ResponseWriter, r *http.Request) {
				if n == 0 {
					cut(w)
				}
				serveFile(data)(n, w, r)
			},
			want: []request{{status: 200}, {rangeHeader: "bytes=?-", status: 206}}},
		{name: "resumed from an earlier run's .part", part: data[:1000], serve: serveFile(data),
			want: []request{{rangeHeader: "bytes=1000-", status: 206}}},
		{name: "server ignores Range", part: []byte("not the start of the file"),
			serve: func(_ int, w http.ResponseWriter, r *http.Request) {
				w.Write(data) // 200 with the whole file, whatever the Range
			},
			want: []request{{rangeHeader: "bytes=25-", status: 200}}},
		{name: "part already whole", part: data, serve: serveFile(data),
			want: []request{{rangeHeader: "bytes=" + strconv.Itoa(len(data)) + "-", status: 416}}},
		{name: "corrupted byte", serve: serveFile(corrupt),
			want:    []request{{status: 200}},
			wantErr: []string{"SHA-256", "not " + file[len("alexnet_tiny-"):len("alexnet_tiny-")+8], "deleted", ".part"}},
		{name: "not found",
			serve:   func(_ int, w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
			want:    []request{{status: 404}},
			wantErr: []string{"404 Not Found", "/models/" + file, "copy it to", filepath.Join("cache", file), EnvURL}},
		{name: "stall before the headers",
			serve:   func(_ int, w http.ResponseWriter, r *http.Request) { stall(r) },
			want:    []request{{}},
			wantErr: []string{"no response for 200ms", "/models/" + file, "copy it to"}},
		{name: "stall in the body",
			serve: func(_ int, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(len(data)))
				w.Write(data[:half])
				w.(http.Flusher).Flush()
				stall(r)
			},
			want:     []request{{status: 200}},
			wantErr:  []string{"no data for 200ms", "kept in", "run again to resume"},
			keepPart: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.serve)
			dir := filepath.Join(t.TempDir(), "cache")
			dest := filepath.Join(dir, file)
			if tc.part != nil {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(dest+".part", tc.part, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var log bytes.Buffer
			h := &Hub{Dir: dir, BaseURL: srv.URL + "/models", Files: files, IdleTimeout: 200 * time.Millisecond, Log: &log}
			// A hang becomes a failure: the test's own deadline is far
			// beyond the idle timeout.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			path, err := h.Resolve(ctx, "torchvision:tiny")
			if ctx.Err() != nil {
				t.Errorf("Resolve ran into the test's 20 s deadline: %v", err)
			}

			reqs := srv.requests()
			if len(reqs) != len(tc.want) {
				t.Fatalf("%d requests %+v, want %d %+v (err %v)", len(reqs), reqs, len(tc.want), tc.want, err)
			}
			for i, r := range reqs {
				w := tc.want[i]
				if r.path != "/models/"+file || r.status != w.status || !rangeMatches(r.rangeHeader, w.rangeHeader, len(data)) {
					t.Errorf("request %d: %+v, want %+v", i, r, w)
				}
			}
			_, partErr := os.Stat(dest + ".part")
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Resolve: %v\nlog:\n%s", err, log.String())
				}
				if path != dest {
					t.Errorf("path %s, want %s", path, dest)
				}
				if got, _ := os.ReadFile(dest); !bytes.Equal(got, data) {
					t.Errorf("cached file differs from the served one (%d bytes, want %d)", len(got), len(data))
				}
				if !os.IsNotExist(partErr) {
					t.Errorf(".part left behind: %v", partErr)
				}
				if !strings.Contains(log.String(), "weights: "+dest) {
					t.Errorf("log does not name the file:\n%s", log.String())
				}
				return
			}
			if err == nil {
				t.Fatalf("Resolve succeeded, want an error saying %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if _, err := os.Stat(dest); !os.IsNotExist(err) {
				t.Errorf("a file was cached: %v", err)
			}
			if tc.keepPart != (partErr == nil) {
				t.Errorf(".part exists: %v, want %v", partErr == nil, tc.keepPart)
			}
		})
	}
}

// rangeMatches compares a request's Range header with a want where
// "bytes=?-" stands for any start inside the file.
func rangeMatches(got, want string, size int) bool {
	if want != "bytes=?-" {
		return got == want
	}
	m := regexp.MustCompile(`^bytes=(\d+)-$`).FindStringSubmatch(got)
	if m == nil {
		return false
	}
	n, _ := strconv.Atoi(m[1])
	return n > 0 && n < size
}

// TestCacheHit checks that a cached file is used without a request, and
// that a file placed in the cache by hand is checked: a wrong one is
// refused, kept, and named.
func TestCacheHit(t *testing.T) {
	data, files := fixtureFiles(t)
	srv := newServer(t, serveFile(data))
	dir := t.TempDir()
	h := &Hub{Dir: dir, BaseURL: srv.URL, Files: files}
	first, err := h.Resolve(context.Background(), "torchvision:tiny")
	if err != nil {
		t.Fatal(err)
	}
	srv.Close() // a request now would fail
	second, err := h.Resolve(context.Background(), "torchvision:tiny")
	if err != nil || second != first {
		t.Fatalf("second Resolve: %q, %v; want %q from the cache", second, err, first)
	}
	if n := len(srv.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}

	// By hand: the right bytes are used, others refused and kept.
	if err := os.WriteFile(first, data[:100], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = h.Resolve(context.Background(), "torchvision:tiny")
	if err == nil || !strings.Contains(err.Error(), first) || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("a wrong cached file: %v, want an error naming it", err)
	}
	if got, _ := os.ReadFile(first); len(got) != 100 {
		t.Errorf("the wrong cached file was changed (%d bytes)", len(got))
	}
}

// TestOffline checks that an unreachable address gives an error naming
// the address and the cache path, with how to place the file by hand.
func TestOffline(t *testing.T) {
	_, files := fixtureFiles(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there now: connection refused
	dir := t.TempDir()
	h := &Hub{Dir: dir, BaseURL: base, Files: files}
	_, err := h.Resolve(context.Background(), "torchvision:tiny")
	if err == nil {
		t.Fatal("Resolve succeeded with no server")
	}
	for _, w := range []string{base + "/" + files["tiny"], filepath.Join(dir, files["tiny"]), "by hand", "-init", EnvURL, EnvDir} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the cache folder holds %v after a failed download", entries)
	}
}

// TestResolveSpecs checks what Resolve does with specs that are not
// fetched: paths pass through, unknown names are refused with the known
// ones.
func TestResolveSpecs(t *testing.T) {
	h := &Hub{Dir: t.TempDir(), BaseURL: "http://127.0.0.1:1"}
	for _, tc := range []struct {
		spec, want, wantErr string
	}{
		{"alexnet.pth", "alexnet.pth", ""},
		{"runs/x/model.safetensors", "runs/x/model.safetensors", ""},
		{"torchvision:vgg16", "", "unknown weights torchvision:vgg16 (known: torchvision:alexnet)"},
		{"torchvision:", "", "unknown weights torchvision: (known: torchvision:alexnet)"},
	} {
		got, err := h.Resolve(context.Background(), tc.spec)
		if got != tc.want || (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("Resolve(%q) = %q, %v; want %q, %q", tc.spec, got, err, tc.want, tc.wantErr)
		}
	}
}

// TestTorchvisionNames checks the name table against torchvision's
// published names: NAME-…-HASH8.pth, the prefix 8 lowercase hex digits,
// and AlexNet's file exactly as torchvision/models/alexnet.py names it.
func TestTorchvisionNames(t *testing.T) {
	if got := Torchvision["alexnet"]; got != "alexnet-owt-7be5be79.pth" {
		t.Errorf("alexnet: %q, want torchvision's alexnet-owt-7be5be79.pth", got)
	}
	pattern := regexp.MustCompile(`^([a-z0-9_]+)(-[a-z0-9_]+)*-([0-9a-f]{8})\.pth$`)
	for name, file := range Torchvision {
		m := pattern.FindStringSubmatch(file)
		if m == nil || m[1] != name {
			t.Errorf("%s: file %q is not %s-…-HASH8.pth", name, file, name)
			continue
		}
		if p, err := HashPrefix(file); err != nil || p != m[3] || len(p) != 8 {
			t.Errorf("HashPrefix(%q) = %q, %v; want %q", file, p, err, m[3])
		}
	}
}

func TestHashPrefix(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"alexnet-owt-7be5be79.pth", "7be5be79"},
		{"resnet18-f37072fd.pth", "f37072fd"},
		{"efficientnet_b0_rwightman-7f5810bc.pth", "7f5810bc"},
		{"vit_b_16_swag-9ac1b537.pth", "9ac1b537"},
		{"alexnet.pth", ""},
		{"alexnet-owt.pth", ""},
		{"alexnet-7BE5BE79.pth", ""}, // torchvision's prefixes are lowercase
		{"alexnet-7be5be7.pth", ""},  // 7 digits check too little
	} {
		got, err := HashPrefix(tc.file)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("HashPrefix(%q) = %q, %v; want %q", tc.file, got, err, tc.want)
		}
	}
}

// TestDefaultDir checks the cache folder's precedence: PAWNET_WEIGHTS_DIR,
// then PAWNET_CACHE/weights, then the user cache folder.
func TestDefaultDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	t.Setenv("HOME", "/home/u")
	for _, tc := range []struct{ dir, cache, want string }{
		{"/w", "/c", "/w"},
		{"", "/c", "/c/weights"},
		{"", "", "/xdg/pawnet/weights"},
	} {
		t.Setenv(EnvDir, tc.dir)
		t.Setenv("PAWNET_CACHE", tc.cache)
		if got := DefaultDir(); got != tc.want {
			t.Errorf("%s=%q PAWNET_CACHE=%q: %s, want %s", EnvDir, tc.dir, tc.cache, got, tc.want)
		}
	}
	t.Setenv(EnvURL, "http://mirror.example/m/")
	if h := Default(nil); h.BaseURL != "http://mirror.example/m/" || h.Dir != "/xdg/pawnet/weights" {
		t.Errorf("Default: %+v", h)
	}
}
