package browsertest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pawnet/pawnet/internal/wasmbuild"
)

// repoRoot is the module root, relative to this package.
const repoRoot = "../.."

var tmpRoot string // removed when the tests end

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pawnet-browsertest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tmpRoot = dir
	code := m.Run()
	closeShared()
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// chromiumPath is the browser the tests drive.
func chromiumPath() string {
	if p := os.Getenv("PAWNET_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// requireChromium skips the test when Chromium is missing, or fails it
// under CI.
func requireChromium(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(chromiumPath()); err == nil {
		return
	}
	if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
		t.Fatalf("%s not found, and $CI is set: install it (apt-get install -y chromium)", chromiumPath())
	}
	t.Skipf("browser tests skipped: %s not found (apt-get install -y chromium, or set $PAWNET_CHROMIUM)", chromiumPath())
}

var site struct {
	once sync.Once
	dir  string
	err  error
}

// webRoot returns a folder laid out like static/ after `go tool mage wasm`:
// the files of static/ plus freshly built app.wasm and worker.wasm and
// Go's wasm_exec.js.
func webRoot(t testing.TB) string {
	t.Helper()
	site.once.Do(func() { site.dir, site.err = buildSite() })
	if site.err != nil {
		t.Fatalf("building the web root: %v", site.err)
	}
	return site.dir
}

func buildSite() (string, error) {
	dir := filepath.Join(tmpRoot, "static")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	static := filepath.Join(repoRoot, "static")
	entries, err := os.ReadDir(static)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasSuffix(name, ".wasm") || name == "wasm_exec.js" {
			continue
		}
		if err := copyFile(filepath.Join(dir, name), filepath.Join(static, name)); err != nil {
			return "", err
		}
	}
	// The same toolchain, environment and flags as `go tool mage wasm`,
	// so the build cache is shared with it. The compressed siblings take
	// brotli's release level only for benchmarks (measured, about 40 s of
	// CPU for the two wasm files); tests take a quick level.
	level := testBrotliLevel
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
		level = wasmbuild.BrotliLevel
	}
	return dir, wasmbuild.BuildLevel(repoRoot, dir, level, io.Discard)
}

// testBrotliLevel is the brotli level of the tests' web root (about 1 s
// for app.wasm; 2.13 MB where the release level gives 1.81 MB).
const testBrotliLevel = 5

func copyFile(dst, src string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

// artifactsDir is where screenshots go.
func artifactsDir() string {
	if d := os.Getenv("PAWNET_ARTIFACTS"); d != "" {
		return d
	}
	return filepath.Join(repoRoot, "artifacts")
}

// browser is one headless Chromium with one tab.
type browser struct {
	t   testing.TB
	ctx context.Context // the tab, without a deadline

	mu      sync.Mutex
	console []string
}

// startBrowser starts Chromium with a fresh profile in dir; stop ends it.
func startBrowser(t testing.TB, dir string) (b *browser, stop func()) {
	t.Helper()
	requireChromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1440, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		cancelTab()
		cancelAlloc()
		t.Fatalf("starting %s: %v", chromiumPath(), err)
	}
	b = &browser{t: t, ctx: ctx}
	cctx, stopConsole := context.WithCancel(ctx)
	go func() {
		for m, err := range chromedp.Console(cctx) {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, fmt.Sprintf("[%s] %s", m.Type, m.Text))
			b.mu.Unlock()
		}
	}()
	return b, func() {
		stopConsole()
		cancelTab()
		cancelAlloc()
	}
}

// newBrowser starts Chromium for one test. When the test fails, a
// full-page screenshot is saved and the page's console is logged.
func newBrowser(t testing.TB) *browser {
	t.Helper()
	b, stop := startBrowser(t, t.TempDir())
	t.Cleanup(stop)
	t.Cleanup(func() { // runs first
		if !t.Failed() {
			return
		}
		b.t = t // subtests may have borrowed the browser
		b.screenshot(strings.ReplaceAll(t.Name(), "/", "_") + "-failure")
		b.mu.Lock()
		defer b.mu.Unlock()
		if len(b.console) > 0 {
			t.Logf("page console:\n%s", strings.Join(b.console, "\n"))
		}
	})
	return b
}

// screenshot saves a full-page PNG as <artifacts>/<name>.png.
func (b *browser) screenshot(name string) string {
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	if err := os.MkdirAll(artifactsDir(), 0o755); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	path := filepath.Join(artifactsDir(), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	abs, _ := filepath.Abs(path)
	b.t.Logf("screenshot: %s", abs)
	return abs
}

// run runs actions with a deadline.
func (b *browser) do(timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// open loads url and waits until the dashboard has rendered.
func (b *browser) open(url string) {
	b.t.Helper()
	if err := b.do(30*time.Second, chromedp.Navigate(url)); err != nil {
		b.t.Fatalf("navigate %s: %v", url, err)
	}
	b.wait("the dashboard to render", `!!document.querySelector("#app") && document.documentElement.hasAttribute("data-app-ready-ms")`, 30*time.Second)
}

// reload reloads the page and waits until the dashboard has rendered.
func (b *browser) reload() {
	b.t.Helper()
	if err := b.do(30*time.Second, chromedp.Reload()); err != nil {
		b.t.Fatalf("reload: %v", err)
	}
	b.wait("the dashboard to render", `!!document.querySelector("#app") && document.documentElement.hasAttribute("data-app-ready-ms")`, 30*time.Second)
}

// wait polls a JavaScript boolean expression until it is true.
func (b *browser) wait(what, expr string, timeout time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout+5*time.Second)
	defer cancel()
	for try := 0; ; try++ {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
		if err != nil && try < 5 && strings.Contains(err.Error(), "Cannot find context with specified id") {
			// Just after a navigation chromedp may still hold the old
			// page's execution context; try again in the new one.
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if err != nil {
			b.t.Fatalf("waiting for %s (%s): %v", what, expr, err)
		}
		return
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) into T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	return evalTimeout[T](b, expr, 30*time.Second)
}

// evalTimeout is eval with a deadline.
func evalTimeout[T any](b *browser, expr string, timeout time.Duration) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", firstLine(expr), err)
	}
	return v
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	if len(s) > 200 {
		s = s[:200] + " …"
	}
	return s
}

// dropFile is a file to drop on the page: Data, or Size zero bytes.
type dropFile struct {
	Name string `json:"name"`
	Type string `json:"type"`
	B64  string `json:"b64,omitempty"`
	Size int    `json:"size,omitempty"`
}

func fileFromDisk(t testing.TB, path, typ string) dropFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fileFromBytes(filepath.Base(path), typ, data)
}

func fileFromBytes(name, typ string, data []byte) dropFile {
	return dropFile{Name: name, Type: typ, B64: base64.StdEncoding.EncodeToString(data)}
}

// fileJS is a JavaScript function that makes a File of a dropFile: its
// base64 bytes, name and type.
const fileJS = `(p) => new File([Uint8Array.from(atob(p.b64), (c) => c.charCodeAt(0))], p.name, { type: p.type })`

// dropJS dispatches dragenter, dragover and drop on #dropzone with a
// DataTransfer carrying File objects built from the given bytes, as a
// user's drag and drop would.
const dropJS = `(files) => {
  const dt = new DataTransfer();
  for (const f of files) {
    let bytes;
    if (f.b64) {
      const bin = atob(f.b64);
      bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    } else {
      bytes = new Uint8Array(f.size);
    }
    dt.items.add(new File([bytes], f.name, { type: f.type }));
  }
  const zone = document.querySelector("#dropzone");
  for (const type of ["dragenter", "dragover", "drop"]) {
    zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
  }
  return dt.files.length;
}`

// drop drops files on the drop zone.
func (b *browser) drop(files ...dropFile) {
	b.t.Helper()
	arg, err := json.Marshal(files)
	if err != nil {
		b.t.Fatal(err)
	}
	if n := eval[int](b, "("+dropJS+")("+string(arg)+")"); n != len(files) {
		b.t.Fatalf("dropped %d files, want %d", n, len(files))
	}
}
