package browsertest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/preprocess"
	"github.com/pawnet/pawnet/trainer/internal/testdata"
	"github.com/pawnet/pawnet/trainer/model"
)

// The benchmarks print figures and assert nothing:
//
//	go test -run '^$' -bench Browser -benchtime 5x ./trainer/browsertest
//
// BenchmarkBrowserInference: the worker's time per photo (decode,
// preprocess, forward pass, as shown on the page) for the full 227-px
// AlexNet and the small config, with random weights.
// BenchmarkBrowserPageReady: from navigation start to the dashboard's
// first render and to the classifier worker being ready, with the HTTP
// cache off; the weights download is not part of it (it happens with the
// first photo).

// benchEnv is a browser and server kept across the calls Go makes to one
// benchmark function.
// lagMonitorJS (re)starts window.pawnetLag.max: the longest extra delay
// of a 10 ms timer on the page's main thread.
const lagMonitorJS = `(() => {
  if (window.pawnetLag) { window.pawnetLag.max = 0; return true; }
  window.pawnetLag = { max: 0 };
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    window.pawnetLag.max = Math.max(window.pawnetLag.max, now - last - 10);
    last = now;
  }, 10);
  return true;
})()`

type benchEnv struct {
	b    *browser
	stop func()
	srv  *testServer
	url  string
	// warm is set once the page is open and has classified a photo.
	warm bool
}

var shared struct {
	sync.Mutex
	envs  map[string]*benchEnv
	stops []func()
}

func closeShared() {
	shared.Lock()
	defer shared.Unlock()
	for _, e := range shared.envs {
		e.stop()
	}
	for _, f := range shared.stops {
		f()
	}
}

// benchWeights writes random weights for cfg, with the metadata a
// classifier needs.
func benchWeights(tb testing.TB, cfg alexnet.Config) string {
	tb.Helper()
	st, err := json.Marshal(preprocess.Stats{Mean: [3]float64{0.49, 0.45, 0.41}, Std: [3]float64{0.25, 0.24, 0.25}, Size: cfg.InputSize})
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tmpRoot, "bench-"+cfg.Name+".safetensors")
	if _, err := model.WriteWeights(path, cfg, alexnet.InitParams(cfg, 1), alexnet.Metadata{Stats: st, Classes: []string{"cat", "dog"}}); err != nil {
		tb.Fatal(err)
	}
	return path
}

// env returns the shared environment named key, making it (with the
// weights file that weights returns) on first use.
func env(tb testing.TB, key string, weights func() string) *benchEnv {
	tb.Helper()
	requireChromium(tb)
	shared.Lock()
	defer shared.Unlock()
	if e := shared.envs[key]; e != nil {
		e.b.t = tb
		return e
	}
	root := webRoot(tb)
	dir, err := os.MkdirTemp(tmpRoot, "chromium-")
	if err != nil {
		tb.Fatal(err)
	}
	b, stop := startBrowser(tb, dir)
	srv := newSharedServer(tb, root, weights())
	e := &benchEnv{b: b, stop: stop, srv: srv, url: srv.URL()}
	if shared.envs == nil {
		shared.envs = map[string]*benchEnv{}
	}
	shared.envs[key] = e
	return e
}

// newSharedServer is newServer for a server that outlives one benchmark call.
func newSharedServer(tb testing.TB, static, weights string) *testServer {
	st := &sharedTB{TB: tb}
	s := newServer(st, static, weights)
	shared.stops = append(shared.stops, st.cleanup...)
	return s
}

// sharedTB defers Cleanup functions to the end of the test binary.
type sharedTB struct {
	testing.TB
	cleanup []func()
}

// Cleanup defers f to the end of the test binary.
func (s *sharedTB) Cleanup(f func()) { s.cleanup = append(s.cleanup, f) }

// classifyOnce drops one photo under a new name and returns the worker's
// latency for it.
func classifyOnce(tb testing.TB, b *browser, photo dropFile, n int) float64 {
	tb.Helper()
	photo.Name = "bench-" + strconv.Itoa(n) + ".jpg"
	b.drop(photo)
	b.wait("the prediction", `(() => { const li = document.querySelector("#predictions li.prediction");`+
		` return !!li && li.querySelector(".pred-name").textContent === "`+photo.Name+`" && (li.dataset.state === "done" || li.dataset.state === "error"); })()`,
		5*time.Minute)
	p := b.predictions()[0]
	if p.State != "done" {
		tb.Fatalf("%s: %s", p.Name, p.Err)
	}
	ms, err := strconv.ParseFloat(p.Ms, 64)
	if err != nil {
		tb.Fatal(err)
	}
	return ms
}

var benchCount int

// BenchmarkBrowserInference reports the worker's ms per photo for the full
// and small AlexNet, and the longest stall of the page meanwhile.
func BenchmarkBrowserInference(b *testing.B) {
	photo := fileFromDisk(b, filepath.Join(testdata.SampleDir(b), "train", "cat.0.jpg"), "image/jpeg")
	for _, cfg := range []alexnet.Config{alexnet.Full(), alexnet.Small()} {
		b.Run(cfg.Name, func(b *testing.B) {
			e := env(b, "infer-"+cfg.Name, func() string { return benchWeights(b, cfg) })
			if !e.warm {
				start := time.Now()
				e.b.open(e.url)
				benchCount++
				first := classifyOnce(b, e.b, photo, benchCount) // downloads and loads the weights
				info := eval[string](e.b, `document.querySelector("#weights-status").textContent`)
				b.Logf("%s: first photo %.0f ms, page + weights download + load + first photo %.1f s; %s",
					cfg.Name, first, time.Since(start).Seconds(), info)
				e.warm = true
			}
			// Watch the page's main thread: a timer every 10 ms records
			// its longest delay, which would be the inference time if
			// inference ran on the page.
			eval[bool](e.b, lagMonitorJS)
			total := 0.0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				benchCount++
				total += classifyOnce(b, e.b, photo, benchCount)
			}
			b.StopTimer()
			b.ReportMetric(total/float64(b.N), "ms/img")
			b.ReportMetric(eval[float64](e.b, `window.pawnetLag.max`), "ms-max-page-stall")
		})
	}
}

// BenchmarkBrowserPageReady reports the time from navigation to the first
// render (ms/render) and to the classifier worker being ready (ms/ready).
func BenchmarkBrowserPageReady(b *testing.B) {
	e := env(b, "ready", func() string { return filepath.Join(tmpRoot, "no-weights") })
	if err := e.b.do(10*time.Second, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true})
		return err
	})); err != nil {
		b.Fatal(err)
	}
	var app, ready float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := e.b.do(10*time.Second, chromedp.Navigate("about:blank")); err != nil {
			b.Fatal(err)
		}
		e.b.open(e.url)
		e.b.wait("the worker", `document.querySelector("#classifier").dataset.worker === "ready"`, time.Minute)
		v := eval[[2]float64](e.b, `[Number(document.documentElement.dataset.appReadyMs), Number(document.querySelector("#classifier").dataset.workerReadyMs)]`)
		app += v[0]
		ready += max(v[0], v[1])
	}
	b.ReportMetric(app/float64(b.N), "ms/render")
	b.ReportMetric(ready/float64(b.N), "ms/ready")
}
