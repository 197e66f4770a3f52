package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/pawnet/pawnet/internal/fixtures"
	"github.com/pawnet/pawnet/trainer/server"
)

// link is an emulated network link between the browser and the server
// (Chromium's Network.emulateNetworkConditionsByRule): a download and
// upload rate and a latency added to each request; loopback (zero
// values) emulates nothing.
type link struct {
	name    string
	mbit    float64 // Mbit/s each way
	latency float64 // ms
}

// links are the links the network benchmarks measure.
var links = []link{{"loopback", 0, 0}, {"100mbit-20ms", 100, 20}, {"20mbit-40ms", 20, 40}}

// marksJS runs in every new document of a browser (page's
// addScriptToEvaluateOnNewDocument): it records in window.pawnetMarks the
// performance.now() at which each stage of the page's start was first
// seen, from a MutationObserver (so within the task that made it):
// frame, index.html's frame; render, the dashboard's first render; run,
// the finished run shown; worker, the classifier worker ready; photo, a
// first photo classified.
const marksJS = `(() => {
  const m = window.pawnetMarks = {};
  const checks = {
    frame: () => !!document.querySelector(".boot-frame .dropzone"),
    render: () => document.documentElement.hasAttribute("data-app-ready-ms"),
    run: () => { const s = document.querySelector("#status"); return !!s && s.dataset.status === "finished"; },
    worker: () => { const c = document.querySelector("#classifier"); return !!c && c.dataset.worker === "ready"; },
    photo: () => !!document.querySelector('#predictions li.prediction[data-state="done"]'),
  };
  const look = () => {
    const now = performance.now();
    for (const k in checks) if (!(k in m) && checks[k]()) m[k] = now;
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, attributes: true });
})()`

// netBrowser starts Chromium with a fresh profile (an empty HTTP cache and
// Origin Private File System), emulating l, with marksJS in every page.
func netBrowser(tb testing.TB, l link) (*browser, func()) {
	tb.Helper()
	dir, err := os.MkdirTemp(tmpRoot, "chromium-net-")
	if err != nil {
		tb.Fatal(err)
	}
	b, stop := startBrowser(tb, dir)
	if err := b.do(10*time.Second, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		if l.mbit > 0 {
			rate := l.mbit * 1e6 / 8
			if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
				MatchedNetworkConditions: []*network.Conditions{{Latency: l.latency, DownloadThroughput: rate, UploadThroughput: rate}},
			}); err != nil {
				return err
			}
		}
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: marksJS})
		return err
	})); err != nil {
		stop()
		tb.Fatal(err)
	}
	return b, func() { stop(); os.RemoveAll(dir) }
}

// marks waits until the page has reached every stage named (see
// marksJS) and returns the time of each, ms from the navigation.
func (b *browser) marks(stages ...string) map[string]float64 {
	b.t.Helper()
	var cond []string
	for _, s := range stages {
		cond = append(cond, `"`+s+`" in (window.pawnetMarks || {})`)
	}
	b.wait(strings.Join(stages, ", "), strings.Join(cond, " && "), 2*time.Minute)
	return eval[map[string]float64](b, `(() => { const m = Object.assign({}, window.pawnetMarks);`+
		` const p = performance.getEntriesByName("first-contentful-paint")[0]; if (p) m.fcp = p.startTime; return m; })()`)
}

// staticEntry is a resource timing entry of the page's: a file the page
// loaded, with its sizes on the wire and decoded.
type staticEntry struct {
	Name     string  `json:"name"`
	Transfer float64 `json:"transferSize"`
	Encoded  float64 `json:"encodedBodySize"`
	Decoded  float64 `json:"decodedBodySize"`
}

// staticEntriesJS lists the page's resource timing entries for .wasm,
// .js and .css files.
const staticEntriesJS = `performance.getEntriesByType("resource")
  .filter((e) => /\.(wasm|js|css)(\?|$)/.test(new URL(e.name).pathname + "?"))
  .map((e) => ({ name: e.name, transferSize: e.transferSize, encodedBodySize: e.encodedBodySize, decodedBodySize: e.decodedBodySize }))`

// openRun starts a server on the finished run's history and weights, as
// `pawnet serve -run` does, for static with opts.
func openRun(tb testing.TB, r *trainedRun, opts server.Options) *testServer {
	tb.Helper()
	opts.WeightsPath = r.weights
	srv := newServerWith(tb, opts)
	srv.loadHistory(tb, r.metrics)
	return srv
}

// TestPageFrame checks that index.html paints the page's frame (header,
// run list, drop zone) before the dashboard's wasm runs, by blocking
// app.wasm: the frame shows, with the error in its status; and that the
// dashboard's first render replaces it.
func TestPageFrame(t *testing.T) {
	b := newBrowser(t)
	srv := openRun(t, finishedRun(t), server.Options{StaticDir: webRoot(t)})
	if err := b.do(10*time.Second, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: []*network.BlockPattern{{URLPattern: "*://*:*/app.wasm*", Block: true}}})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	if err := b.do(30*time.Second, chromedp.Navigate(srv.URL())); err != nil {
		t.Fatal(err)
	}
	b.wait("the error", `document.querySelector(".boot-status").classList.contains("error")`, 30*time.Second)
	for _, sel := range []string{".boot-frame .topbar .brand-name", ".boot-frame .runs", ".boot-frame .dropzone"} {
		if h := eval[float64](b, `document.querySelector("`+sel+`").getBoundingClientRect().height`); h <= 0 {
			t.Errorf("%s is not shown (height %v)", sel, h)
		}
	}
	if msg := eval[string](b, `document.querySelector(".boot-status").textContent`); !strings.Contains(msg, "Could not start the dashboard") {
		t.Errorf("status %q, want the start error", msg)
	}
	b.screenshot("page-frame")
	if err := b.do(10*time.Second, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	b.open(srv.URL())
	b.wait("the run", `document.querySelector("#status").dataset.status === "finished"`, 30*time.Second)
	if n := eval[int](b, `document.querySelectorAll(".boot-frame, .topbar").length`); n != 1 {
		t.Errorf("%d frames and headers after the first render, want the dashboard's one header", n)
	}
}

// TestWarmReload checks, in a real Chromium, that the page gets its wasm
// compressed (fewer bytes on the wire than decoded) under versioned URLs,
// and that a reload takes every wasm, script and stylesheet of the page
// from the browser's cache without a request (transferSize 0; a
// revalidation would transfer its headers).
func TestWarmReload(t *testing.T) {
	srv := openRun(t, finishedRun(t), server.Options{StaticDir: webRoot(t)})
	b, stop := netBrowser(t, link{})
	defer stop()
	if err := b.do(30*time.Second, chromedp.Navigate(srv.URL())); err != nil {
		t.Fatal(err)
	}
	b.marks("run", "worker")
	cold := eval[[]staticEntry](b, staticEntriesJS)
	seen := map[string]bool{}
	for _, e := range cold {
		base := filepath.Base(strings.SplitN(e.Name, "?", 2)[0])
		seen[base] = true
		if !strings.Contains(e.Name, "?v=") {
			t.Errorf("%s: not a versioned URL", e.Name)
		}
		if strings.HasSuffix(base, ".wasm") && !(e.Encoded > 0 && e.Encoded < e.Decoded/2) {
			t.Errorf("%s: %.0f bytes on the wire for %.0f decoded, want compressed", e.Name, e.Encoded, e.Decoded)
		}
	}
	for _, name := range []string{"app.wasm", "worker.wasm", "worker.js", "wasm_exec.js", "app.css"} {
		if !seen[name] {
			t.Errorf("the page did not load %s: %v", name, cold)
		}
	}
	b.reload()
	b.marks("run", "worker")
	warm := eval[[]staticEntry](b, staticEntriesJS)
	if len(warm) < len(cold) {
		t.Errorf("the reload loaded %d files, the first load %d", len(warm), len(cold))
	}
	for _, e := range warm {
		if e.Transfer != 0 {
			t.Errorf("reload: %s transferred %.0f bytes, want it from the cache", e.Name, e.Transfer)
		}
	}
}

// webRootBefore is the web root as the server served it before issue 35:
// the same wasm and scripts, with the index.html of then
// (testdata/index-before-35.html) and no compressed siblings.
func webRootBefore(tb testing.TB) string {
	tb.Helper()
	root := webRoot(tb)
	dir := filepath.Join(tmpRoot, "static-before-35")
	if _, err := os.Stat(dir); err == nil {
		return dir
	}
	tmp, err := os.MkdirTemp(tmpRoot, "static-before-")
	if err != nil {
		tb.Fatal(err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasSuffix(name, ".gz") || strings.HasSuffix(name, ".br") || name == "index.html" {
			continue
		}
		if err := copyFile(filepath.Join(tmp, name), filepath.Join(root, name)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := copyFile(filepath.Join(tmp, "index.html"), filepath.Join("testdata", "index-before-35.html")); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// BenchmarkNetworkDashboard measures the dashboard's start over emulated
// links (loopback, 100 Mbit/s with 20 ms, 20 Mbit/s with 40 ms), on a
// server of a finished small-model run (its int8 weights, 0.55 MB), as
// served now (compressed copies, versioned and cached assets, the frame
// in index.html, the downloads started together) and as before issue 35
// (server.Options.PlainStatic and the index.html of then: the metrics
// prefixed before-), alternately in each iteration, so that both see
// the same load. Each opens the page in a fresh profile (empty cache)
// and reports, in ms from the navigation: ms-fcp (first contentful
// paint), ms-render (the dashboard's first render), ms-run (the finished
// run shown), ms-worker (the classifier worker ready) and ms-ready (both
// of the last two); then reloads it: ms-warm-ready, the same with the
// browser's cache, and warm-requests, the page's wasm/js/css files that
// went to the network (a revalidation counts); then, in another fresh
// profile, drops a photo as soon as the dashboard has rendered:
// ms-first-photo, from the drop to its result. before/pawnet-ready and
// before/pawnet-photo are before's figure over the new one.
//
//	go test -run '^$' -bench NetworkDashboard -benchtime 3x -timeout 30m ./internal/browsertest/
func BenchmarkNetworkDashboard(b *testing.B) {
	r := finishedRun(b)
	photo := fileFromDisk(b, filepath.Join(fixtures.SampleDir(b), "train", "cat.0.jpg"), "image/jpeg")
	servers := map[string]*testServer{
		"before-": openRun(b, r, server.Options{StaticDir: webRootBefore(b), PlainStatic: true}),
		"":        openRun(b, r, server.Options{StaticDir: webRoot(b)}),
	}
	for _, l := range links {
		b.Run(l.name, func(b *testing.B) {
			sum := map[string]float64{}
			for i := 0; i < b.N; i++ {
				for _, mode := range []string{"before-", ""} {
					for k, v := range netStart(b, l, servers[mode].URL(), photo) {
						sum[mode+k] += v
					}
				}
			}
			for k, v := range sum {
				b.ReportMetric(v/float64(b.N), k)
			}
			b.ReportMetric(sum["before-ms-ready"]/sum["ms-ready"], "before/pawnet-ready")
			b.ReportMetric(sum["before-ms-first-photo"]/sum["ms-first-photo"], "before/pawnet-photo")
		})
	}
}

// netStart measures one start of the page at url over l (see
// BenchmarkNetworkDashboard) and returns its figures by unit.
func netStart(tb testing.TB, l link, url string, photo dropFile) map[string]float64 {
	tb.Helper()
	out := map[string]float64{}
	br, stop := netBrowser(tb, l)
	if err := br.do(time.Minute, chromedp.Navigate(url)); err != nil {
		tb.Fatal(err)
	}
	m := br.marks("render", "run", "worker")
	out["ms-fcp"], out["ms-render"], out["ms-run"], out["ms-worker"] = m["fcp"], m["render"], m["run"], m["worker"]
	out["ms-ready"] = max(m["run"], m["worker"])
	if err := br.do(time.Minute, chromedp.Reload()); err != nil {
		tb.Fatal(err)
	}
	m = br.marks("render", "run", "worker")
	out["ms-warm-ready"] = max(m["run"], m["worker"])
	out["warm-requests"] = 0
	for _, e := range eval[[]staticEntry](br, staticEntriesJS) {
		if e.Transfer > 0 {
			out["warm-requests"]++
		}
	}
	stop()

	br, stop = netBrowser(tb, l)
	defer stop()
	if err := br.do(time.Minute, chromedp.Navigate(url)); err != nil {
		tb.Fatal(err)
	}
	br.marks("render")
	benchCount++
	photo.Name = "net-" + strconv.Itoa(benchCount) + ".jpg"
	at := eval[float64](br, `performance.now()`)
	br.drop(photo)
	out["ms-first-photo"] = br.marks("photo")["photo"] - at
	return out
}
