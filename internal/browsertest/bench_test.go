package browsertest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/pawnet/pawnet/internal/fixtures"
	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/shared/preprocess"
	"github.com/pawnet/pawnet/trainer/model"
)

// The benchmarks print figures and assert nothing:
//
//	go test -run '^$' -bench Browser -benchtime 5x ./internal/browsertest
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
  if (window.pawnetRenderStats) for (const k in window.pawnetRenderStats) window.pawnetRenderStats[k] = 0;
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

// reportRenderStats reports the longest Vugu build and DOM render of the
// page's render loop since lagMonitorJS last ran (window.pawnetRenderStats,
// wasm/app/renderstats_wasm.go): the part of ms-max-page-stall that is the
// page re-rendering.
func reportRenderStats(b *testing.B, br *browser) {
	b.ReportMetric(eval[float64](br, `window.pawnetRenderStats.build`), "ms-max-build")
	b.ReportMetric(eval[float64](br, `window.pawnetRenderStats.render`), "ms-max-render")
}

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

// benchWeights writes random weights for cfg (and their variants), with
// the metadata a classifier needs.
func benchWeights(tb testing.TB, cfg alexnet.Config) string {
	tb.Helper()
	st, err := json.Marshal(preprocess.Stats{Mean: [3]float64{0.49, 0.45, 0.41}, Std: [3]float64{0.25, 0.24, 0.25}, Size: cfg.InputSize})
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tmpRoot, "bench-"+cfg.Name+".safetensors")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if _, err := model.WriteWeights(path, cfg, alexnet.InitParams(cfg, 1), alexnet.Metadata{Stats: st, Classes: []string{"cat", "dog"}}); err != nil {
		tb.Fatal(err)
	}
	return path
}

// announceExport sends the page a run_start and an export checkpoint, as a
// training run would, so that the page knows the run and the export
// version (the key of the weights it caches).
func announceExport(srv *testServer, cfg alexnet.Config) {
	srv.Emit(&metrics.RunStart{RunID: "bench-" + cfg.Name, Model: cfg, Classes: []string{"cat", "dog"}, Epochs: 1}, nil)
	srv.Emit(&metrics.Checkpoint{Epoch: 1, Kind: metrics.KindExport}, nil)
}

// historyJS is true once the page has the announced run and export.
const historyJS = `!!document.querySelector("#app") && Number(document.querySelector("#app").dataset.lastSeq) >= 2`

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

// oneWorkerMs holds BenchmarkBrowserInference's single-worker ms/img per
// config (the worker's time per photo, for BenchmarkBrowserORT), and
// oneWorkerBatchMs the wall time per photo of poolBatch photos dropped at
// once on that one worker, for the pool's speedup.
var oneWorkerMs, oneWorkerBatchMs = map[string]float64{}, map[string]float64{}

// forwardMs holds BenchmarkBrowserGradCAM's plain forward pass in the
// worker per config, for BenchmarkBrowserORT's forward-to-forward ratio.
var forwardMs = map[string]float64{}

// poolBatch is how many photos the throughput benchmarks drop at once.
const poolBatch = 8

// BenchmarkBrowserInference reports, for the full and small AlexNet, the
// worker's ms per photo with one classifier worker (?workers=1), the
// longest stall of the page meanwhile, and the wall time per photo of
// eight photos dropped at once, on that worker (batch8-ms/img) and on the
// pool of two workers (pool2's ms/img), with the pool's speedup
// (x-one-worker: the ratio of the two wall times).
func BenchmarkBrowserInference(b *testing.B) {
	photo := fileFromDisk(b, filepath.Join(fixtures.SampleDir(b), "train", "cat.0.jpg"), "image/jpeg")
	for _, cfg := range []alexnet.Config{alexnet.Full(), alexnet.Small()} {
		b.Run(cfg.Name, func(b *testing.B) {
			e := env(b, "infer-"+cfg.Name, func() string { return benchWeights(b, cfg) })
			if !e.warm {
				announceExport(e.srv, cfg)
				start := time.Now()
				e.b.open(e.url + "/?workers=1")
				e.b.wait("the run", historyJS, 30*time.Second)
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
			oneWorkerMs[cfg.Name] = total / float64(b.N)
			b.ReportMetric(total/float64(b.N), "ms/img")
			b.ReportMetric(eval[float64](e.b, `window.pawnetLag.max`), "ms-max-page-stall")
			reportRenderStats(b, e.b)
			// The same eight photos at once as pool2 drops, on this one
			// worker: the pool's speedup is the ratio of the two.
			var wall time.Duration
			for i := 0; i < b.N; i++ {
				wall += classifyBatch(b, e.b, photo, poolBatch)
			}
			oneWorkerBatchMs[cfg.Name] = wall.Seconds() * 1e3 / float64(b.N*poolBatch)
			b.ReportMetric(oneWorkerBatchMs[cfg.Name], "batch8-ms/img")
		})
		b.Run(cfg.Name+"/pool2", func(b *testing.B) {
			e := env(b, "pool-"+cfg.Name, func() string { return benchWeights(b, cfg) })
			if !e.warm {
				announceExport(e.srv, cfg)
				e.b.open(e.url + "/?workers=2")
				e.b.wait("the run", historyJS, 30*time.Second)
				benchCount++
				classifyOnce(b, e.b, photo, benchCount)
				// The second worker loads the weights after the first.
				e.b.wait("two workers", `document.querySelector("#weights-status").textContent.includes("2 workers")`, 5*time.Minute)
				e.warm = true
			}
			eval[bool](e.b, lagMonitorJS)
			var wall time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				wall += classifyBatch(b, e.b, photo, poolBatch)
			}
			b.StopTimer()
			ms := wall.Seconds() * 1e3 / float64(b.N*poolBatch)
			b.ReportMetric(ms, "ms/img")
			if one, ok := oneWorkerBatchMs[cfg.Name]; ok {
				b.ReportMetric(one/ms, "x-one-worker")
			}
			b.ReportMetric(eval[float64](e.b, `window.pawnetLag.max`), "ms-max-page-stall")
			reportRenderStats(b, e.b)
		})
	}
}

// workerPoolJS starts static/worker.js on its own (no dashboard) with the
// given pool size, classifies the photo once (loading the weights) and
// waits until every pool worker holds them, then posts n copies at once,
// reps times, and returns the wall time per photo and the workers' mean
// ms per photo of each rep.
const workerPoolJS = `(async (photo, n, workers, reps) => {
  const file = (` + fileJS + `)(photo);
  const w = new Worker("worker.js?workers=" + workers);
  let id = 0, ready = 0;
  const run = (k) => new Promise((resolve, reject) => {
    let left = k; const ms = [];
    w.onmessage = (e) => {
      const d = e.data;
      if (d.type === "weights" && d.info) ready = d.info.workers;
      if (d.type === "fatal") reject(new Error(d.message));
      if (d.type !== "result") return;
      if (d.error) reject(new Error(d.error));
      ms.push(d.ms);
      if (--left === 0) resolve(ms);
    };
    for (let i = 0; i < k; i++) w.postMessage({ type: "classify", id: ++id, file, version: 0, run: "" });
  });
  await run(1);
  while (ready < workers) await run(1);
  await run(2 * workers); // warm up every worker
  const out = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const ms = await run(n);
    out.push([(performance.now() - t0) / n, ms.reduce((a, b) => a + b, 0) / n]);
  }
  w.terminate();
  return out;
})`

// BenchmarkBrowserWorkerPool classifies eight photos at once on
// static/worker.js's pool without the dashboard (the worker on its own,
// in the same headless Chromium), with one worker and with two: the wall
// time per photo, the workers' own ms per photo, and the pool's speedup.
// Against BenchmarkBrowserInference's figures it shows what the page costs.
func BenchmarkBrowserWorkerPool(b *testing.B) {
	cfg := alexnet.Full()
	photo := fileFromDisk(b, filepath.Join(fixtures.SampleDir(b), "train", "cat.0.jpg"), "image/jpeg")
	arg, err := json.Marshal(photo)
	if err != nil {
		b.Fatal(err)
	}
	e := env(b, "workerpool", func() string { return benchWeights(b, cfg) })
	if !e.warm {
		// A page of the server's origin without the dashboard.
		if err := e.b.do(30*time.Second, chromedp.Navigate(e.url+"/app.css")); err != nil {
			b.Fatal(err)
		}
		e.warm = true
	}
	one := 0.0
	for _, workers := range []int{1, 2} {
		b.Run(strconv.Itoa(workers)+"worker", func(b *testing.B) {
			r := evalTimeout[[][2]float64](e.b, workerPoolJS+`(`+string(arg)+`, `+strconv.Itoa(poolBatch)+`, `+strconv.Itoa(workers)+`, `+strconv.Itoa(b.N)+`)`, 10*time.Minute)
			var wall, ms float64
			for _, x := range r {
				wall += x[0] / float64(len(r))
				ms += x[1] / float64(len(r))
			}
			b.ReportMetric(wall, "ms/img")
			b.ReportMetric(ms, "worker-ms/img")
			if workers == 1 {
				one = wall
			} else if one > 0 {
				b.ReportMetric(one/wall, "x-one-worker")
			}
		})
	}
}

// classifyBatch drops n copies of photo under new names at once and
// returns the wall time until all are classified.
func classifyBatch(tb testing.TB, b *browser, photo dropFile, n int) time.Duration {
	tb.Helper()
	var drops []dropFile
	var names []string
	for range n {
		benchCount++
		p := photo
		p.Name = "bench-" + strconv.Itoa(benchCount) + ".jpg"
		drops = append(drops, p)
		names = append(names, `"`+p.Name+`"`)
	}
	start := time.Now()
	b.drop(drops...)
	b.wait("the batch", `(() => { const want = new Set([`+strings.Join(names, ",")+`]);`+
		` const done = [...document.querySelectorAll("#predictions li.prediction")].filter((li) =>`+
		` want.has(li.querySelector(".pred-name").textContent) && li.dataset.state === "done");`+
		` return done.length === want.size; })()`, 5*time.Minute)
	return time.Since(start)
}

// BenchmarkBrowserReload reports the time from a reload of the page to the
// first classified photo with the weights in the browser's cache (the full
// AlexNet, int8): the page renders, learns the run and export from /ws,
// the worker reads the weights from the Origin Private File System and
// loads them, and classifies the photo the test drops as soon as the page
// has rendered. ms-read and ms-load are the part of it the classifier
// worker spent reading the cached file and in Go's load, ms-first-photo
// the worker's time for that photo. ms-first-photo-warmed is the worker's
// time for the first photo dropped after another reload once the worker
// has warmed its code up (data-warm on #weights), as a user who takes a
// moment to pick a photo sees it. ms-first-touch/MB is this machine's
// cost of touching fresh memory (page faults), measured natively in the
// same run: a reload fills the 58 MB weights file and the transformed
// conv weights into the worker's fresh memory. It fails if the server sent
// the weights more than once.
func BenchmarkBrowserReload(b *testing.B) {
	cfg := alexnet.Full()
	photo := fileFromDisk(b, filepath.Join(fixtures.SampleDir(b), "train", "dog.0.jpg"), "image/jpeg")
	e := env(b, "reload-"+cfg.Name, func() string { return benchWeights(b, cfg) })
	if !e.warm {
		announceExport(e.srv, cfg)
		e.b.open(e.url + "/?workers=1")
		e.b.wait("the run", historyJS, 30*time.Second)
		benchCount++
		classifyOnce(b, e.b, photo, benchCount) // downloads and caches the weights
		e.warm = true
	}
	var total, read, load, first, warmed float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.b.reload()
		e.b.wait("the run", historyJS, 30*time.Second)
		benchCount++
		first += classifyOnce(b, e.b, photo, benchCount)
		// performance.now() counts from the navigation.
		total += eval[float64](e.b, `performance.now()`)
		v := eval[[2]float64](e.b, `[Number(document.querySelector("#weights").dataset.readMs), Number(document.querySelector("#weights").dataset.loadMs)]`)
		read += v[0]
		load += v[1]
		b.StopTimer()
		e.b.reload()
		e.b.wait("the warm-up", `document.querySelector("#weights").hasAttribute("data-warm")`, time.Minute)
		benchCount++
		warmed += classifyOnce(b, e.b, photo, benchCount)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(read/float64(b.N), "ms-read")
	b.ReportMetric(load/float64(b.N), "ms-load")
	b.ReportMetric(first/float64(b.N), "ms-first-photo")
	b.ReportMetric(warmed/float64(b.N), "ms-first-photo-warmed")
	info := eval[string](e.b, `document.querySelector("#weights-status").textContent`)
	if !strings.Contains(info, "cached") {
		b.Errorf("weights after the reload: %q, want cached", info)
	}
	if d := e.srv.downloads(); len(d) != 1 {
		b.Errorf("weights downloads %v, want one", d)
	}
	b.ReportMetric(total/float64(b.N), "ms-reload-to-result")
	if v, err := firstTouchMsPerMB(64 << 20); err == nil {
		b.ReportMetric(v, "ms-first-touch/MB")
	}
	b.Logf("%s", info)
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

// camBenchJS starts (once per page) a static/worker.js with one classifier
// worker, classifies the photo (which loads the server's weights), then
// has the worker time n plain forward passes and n Grad-CAMs of it,
// alternating (wasm/worker's camBench), and returns their median ms.
const camBenchJS = `(async (photo, n) => {
  if (!window.pawnetCamWorker) {
    const w = new Worker("worker.js?workers=1");
    const file = (` + fileJS + `)(photo);
    const r = await new Promise((resolve, reject) => {
      w.onmessage = (e) => {
        if (e.data.type === "fatal") reject(new Error(e.data.message));
        if (e.data.type === "result") resolve(e.data);
      };
      w.postMessage({ type: "classify", id: 1, file, version: 0, run: "" });
    });
    if (r.error) throw new Error(r.error);
    window.pawnetCamWorker = w;
  }
  const w = window.pawnetCamWorker;
  const b = await new Promise((resolve) => {
    w.onmessage = (e) => { if (e.data.type === "bench") resolve(e.data); };
    w.postMessage({ type: "bench", id: 2, n });
  });
  if (b.error) throw new Error(b.error);
  return b;
})`

// BenchmarkBrowserGradCAM reports Grad-CAM's cost in the browser's worker
// (wasm SIMD kernels, int8 download expanded to float32), for the full and
// small AlexNet with random weights: ms-forward (a plain forward pass of a
// sample photo), ms-gradcam (the forward pass with the predicted class's
// map) and overhead-%, the medians of 20·b.N of each, measured
// alternately in the same worker; then ms-tensor (decode + eval
// transform of the photo, classify's Tensor) and ms-explain (the whole
// classify.Explain with both classes' maps: what the page's ms per photo
// times, less the copy of the photo's bytes). The native figures are
// BenchmarkGradCAM in shared/alexnet, the stages in wasm under node
// BenchmarkExplainStages in shared/classify.
func BenchmarkBrowserGradCAM(b *testing.B) {
	photo := fileFromDisk(b, filepath.Join(fixtures.SampleDir(b), "train", "cat.0.jpg"), "image/jpeg")
	arg, err := json.Marshal(photo)
	if err != nil {
		b.Fatal(err)
	}
	for _, cfg := range []alexnet.Config{alexnet.Full(), alexnet.Small()} {
		b.Run(cfg.Name, func(b *testing.B) {
			e := env(b, "cam-"+cfg.Name, func() string { return benchWeights(b, cfg) })
			if !e.warm {
				e.b.open(e.url)
				evalTimeout[struct{}](e.b, camBenchJS+`(`+string(arg)+`, 1)`, 5*time.Minute) // load, warm up
				e.warm = true
			}
			b.ResetTimer()
			r := evalTimeout[struct {
				ForwardMs float64 `json:"forwardMs"`
				CamMs     float64 `json:"camMs"`
				TensorMs  float64 `json:"tensorMs"`
				ExplainMs float64 `json:"explainMs"`
			}](e.b, camBenchJS+`(`+string(arg)+`, `+strconv.Itoa(20*b.N)+`)`, 10*time.Minute)
			b.StopTimer()
			forwardMs[cfg.Name] = r.ForwardMs
			b.ReportMetric(r.ForwardMs, "ms-forward")
			b.ReportMetric(r.CamMs, "ms-gradcam")
			b.ReportMetric(100*(r.CamMs-r.ForwardMs)/r.ForwardMs, "overhead-%")
			b.ReportMetric(r.TensorMs, "ms-tensor")
			b.ReportMetric(r.ExplainMs, "ms-explain")
		})
	}
}
