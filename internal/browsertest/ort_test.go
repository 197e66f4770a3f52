package browsertest

import (
	"archive/tar"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pawnet/pawnet/internal/fixtures"
	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/trainer/onnx"
	"github.com/pawnet/pawnet/trainer/sample"
)

// ortSpec is the ONNX Runtime Web release the peer benchmark runs, fetched
// with npm pack into the cache (sample.DefaultCacheDir).
const (
	ortSpec    = "onnxruntime-web@1.30.0"
	ortTarball = "onnxruntime-web-1.30.0.tgz"
)

// ortFiles are the files of the package's dist/ the page needs: the wasm
// backend's script and its SIMD (and threads) wasm build.
var ortFiles = []string{"ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"}

// ortPage runs the ONNX model at model.onnx with ONNX Runtime Web's wasm
// backend: pawnetORT(threads, b64, n, size, reps) creates the session with
// that many threads (the first call of the page decides: the backend
// starts once), runs the base64 float32 NCHW input once for its logits,
// then times reps more runs (after one warm-up).
const ortPage = `<!doctype html><meta charset="utf-8"><title>ort</title>
<script src="ort.wasm.min.js"></script>
<script>
window.pawnetORT = async (threads, b64, n, size, reps) => {
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = location.origin + "/";
  const session = await ort.InferenceSession.create("model.onnx", { executionProviders: ["wasm"] });
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const input = new ort.Tensor("float32", new Float32Array(bytes.buffer), [n, 3, size, size]);
  const first = await session.run({ input });
  const logits = Array.from(first.logits.data);
  await session.run({ input });
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await session.run({ input });
  const ms = (performance.now() - t0) / reps / n;
  return { logits, ms, isolated: self.crossOriginIsolated, threads: ort.env.wasm.numThreads };
};
</script>`

var ortSite struct {
	once sync.Once
	dir  string
	err  error
}

// ortRoot returns a folder with ortFiles and ort.html.
func ortRoot(tb testing.TB) string {
	tb.Helper()
	ortSite.once.Do(func() {
		ortSite.dir, ortSite.err = func() (string, error) {
			tgz, err := sample.FetchNPM(sample.DefaultCacheDir(), ortSpec, ortTarball, io.Discard)
			if err != nil {
				return "", err
			}
			dir := filepath.Join(tmpRoot, "ort")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return "", err
			}
			f, err := os.Open(tgz)
			if err != nil {
				return "", err
			}
			defer f.Close()
			gz, err := gzip.NewReader(f)
			if err != nil {
				return "", err
			}
			tr := tar.NewReader(gz)
			for {
				h, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					return "", err
				}
				name := strings.TrimPrefix(h.Name, "package/dist/")
				for _, want := range ortFiles {
					if name == want {
						data, err := io.ReadAll(tr)
						if err != nil {
							return "", err
						}
						if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
							return "", err
						}
					}
				}
			}
			for _, want := range ortFiles {
				if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
					return "", err
				}
			}
			return dir, os.WriteFile(filepath.Join(dir, "ort.html"), []byte(ortPage), 0o644)
		}()
	})
	if ortSite.err != nil {
		tb.Fatalf("onnxruntime-web: %v", ortSite.err)
	}
	return ortSite.dir
}

// ortServer serves ortRoot and the ONNX model at /model.onnx, cross-origin
// isolated (COOP and COEP headers), which ONNX Runtime Web's threads need.
func ortServer(tb testing.TB, model string) string {
	tb.Helper()
	files := http.FileServer(http.Dir(ortRoot(tb)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cross-Origin-Opener-Policy", "same-origin")
		w.Header().Set("Cross-Origin-Embedder-Policy", "require-corp")
		if r.URL.Path == "/model.onnx" {
			http.ServeFile(w, r, model)
			return
		}
		files.ServeHTTP(w, r)
	}))
	if st, ok := tb.(*sharedTB); ok {
		st.Cleanup(srv.Close)
	} else {
		tb.Cleanup(srv.Close)
	}
	return srv.URL
}

// ortResult is what pawnetORT returns.
type ortResult struct {
	Logits   []float64 `json:"logits"`
	Ms       float64   `json:"ms"`
	Isolated bool      `json:"isolated"`
	Threads  int       `json:"threads"`
}

// runORT loads the ORT page afresh (the thread count is fixed per page)
// and runs x (NHWC, n images) converted to NCHW.
func runORT(tb testing.TB, b *browser, url string, threads int, x []float32, n, size, reps int) ortResult {
	tb.Helper()
	if err := b.do(30*time.Second, chromedp.Navigate(url+"/ort.html")); err != nil {
		tb.Fatalf("navigate: %v", err)
	}
	b.wait("ONNX Runtime Web", `typeof window.pawnetORT === "function" && typeof ort === "object"`, time.Minute)
	raw := make([]byte, 4*len(x))
	plane := size * size
	for img := range n {
		for p := range plane {
			for c := range 3 {
				v := x[img*plane*3+p*3+c]
				binary.LittleEndian.PutUint32(raw[4*(img*plane*3+c*plane+p):], math.Float32bits(v))
			}
		}
	}
	arg := base64.StdEncoding.EncodeToString(raw)
	return evalTimeout[ortResult](b, `pawnetORT(`+strconv.Itoa(threads)+`, "`+arg+`", `+strconv.Itoa(n)+`, `+strconv.Itoa(size)+`, `+strconv.Itoa(reps)+`)`, 5*time.Minute)
}

// writeONNX writes the ONNX export of the weights file at path.
func writeONNX(tb testing.TB, path string) (string, *alexnet.Model) {
	tb.Helper()
	m, err := alexnet.LoadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	out := filepath.Join(tmpRoot, filepath.Base(path)+".onnx")
	f, err := os.Create(out)
	if err != nil {
		tb.Fatal(err)
	}
	if err := onnx.Write(f, m.Config(), m.Params()); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return out, m
}

// TestONNXExportInORT runs the ONNX export of a trained run's weights in
// ONNX Runtime Web (wasm, one thread) in Chromium on two real sample
// photos: its logits equal pawnet's native forward pass on the same
// tensors within 1e-4 of the largest, so the export is the same network.
func TestONNXExportInORT(t *testing.T) {
	b := newBrowser(t)
	r := finishedRun(t)
	model, m := writeONNX(t, r.weights)
	url := ortServer(t, model)
	c := nativeClassifier(t, r.weights)
	var x []float32
	for _, name := range []string{"cat.854.jpg", "dog.854.jpg"} {
		data, err := os.ReadFile(filepath.Join(fixtures.SampleDir(t), "train", name))
		if err != nil {
			t.Fatal(err)
		}
		v, err := c.Tensor(data)
		if err != nil {
			t.Fatal(err)
		}
		x = append(x, v...)
	}
	want, err := m.Forward(x, 2)
	if err != nil {
		t.Fatal(err)
	}
	got := runORT(t, b, url, 1, x, 2, m.Config().InputSize, 1)
	if len(got.Logits) != len(want) {
		t.Fatalf("ORT gave %d logits, want %d", len(got.Logits), len(want))
	}
	scale := 1.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	worst := 0.0
	for i := range want {
		worst = math.Max(worst, math.Abs(got.Logits[i]-float64(want[i])))
	}
	if worst > 1e-4*scale {
		t.Errorf("ORT logits %v, pawnet %v: max |Δ| %.3g", got.Logits, want, worst)
	}
	t.Logf("ORT logits %v, pawnet %v, max |Δ| %.2g", got.Logits, want, worst)
}

// BenchmarkBrowserORT runs the full AlexNet, exported to ONNX from the
// same random weights the other browser benchmarks use, in ONNX Runtime
// Web 1.30 (wasm backend, SIMD) in the same headless Chromium, with one
// thread and with two (cross-origin isolated), and reports its ms/photo at
// batch 1 and that divided by pawnet's single-worker ms/photo (≥ 1: pawnet
// is at least as fast; run it with BenchmarkBrowserInference, which
// measures pawnet in the same run, e.g. -bench Browser). pawnet's figure
// includes decoding and resizing the photo and both classes' Grad-CAM;
// ORT's is the forward pass. ort/pawnet-forward compares forward pass with
// forward pass: ORT's against the pawnet worker's (BenchmarkBrowserGradCAM's
// ms-forward, when it ran before in the same run).
func BenchmarkBrowserORT(b *testing.B) {
	cfg := alexnet.Full()
	model, m := writeONNX(b, benchWeights(b, cfg))
	e := env(b, "ort", func() string { return benchWeights(b, cfg) })
	url := ortServer(&sharedTB{TB: b}, model)
	x := make([]float32, cfg.InputSize*cfg.InputSize*3)
	for i := range x {
		x[i] = float32(math.Sin(float64(i) * 0.001))
	}
	want, err := m.Forward(x, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, threads := range []int{1, 2} {
		b.Run(strconv.Itoa(threads)+"thread", func(b *testing.B) {
			reps := max(b.N, 3)
			got := runORT(b, e.b, url, threads, x, 1, cfg.InputSize, reps)
			if threads > 1 && !got.Isolated {
				b.Fatal("the ORT page is not cross-origin isolated: no threads")
			}
			worst := 0.0
			for i := range want {
				worst = math.Max(worst, math.Abs(got.Logits[i]-float64(want[i])))
			}
			b.ReportMetric(got.Ms, "ort-ms/img")
			if ours, ok := oneWorkerMs[cfg.Name]; ok {
				b.ReportMetric(got.Ms/ours, "ort/pawnet")
			}
			if ours, ok := forwardMs[cfg.Name]; ok {
				b.ReportMetric(got.Ms/ours, "ort/pawnet-forward")
			}
			b.Logf("ORT %d thread(s) (isolated %v): %.1f ms/photo; logits %v vs pawnet %v (max |Δ| %.2g)", threads, got.Isolated, got.Ms, got.Logits, want, worst)
		})
	}
}
