//go:build js && wasm

// Command worker is worker.wasm, the dashboard's classifier: a small Go
// WASM build that runs in each classifier Web Worker (static/infer.js) of
// the pool (static/worker.js), so inference never blocks the page. It exposes synchronous functions on the worker's global
// object: pawnet.load(Uint8Array), or pawnet.alloc(n) then
// pawnet.loadAllocated() for weights the JavaScript side reads straight
// into the buffer alloc returns (its address in the instance's memory),
// and pawnet.classify(Uint8Array), whose results are wasm/protocol's
// WeightsInfo and Result; the pool owns the weights download and the
// cache.
// Both wrap shared/classify, so the browser's answers equal `pawnet predict`.
// classify also returns each class's Grad-CAM heatmap (classify.Explain,
// from the same forward pass) as a PNG of the photo's aspect, HeatSide
// pixels on its longer side.
//
// Teaching a new last layer on the user's photos (shared/teach, as `pawnet
// teach` does; see teach_wasm.go): pawnet.features(Uint8Array) gives a
// photo's penultimate features, pawnet.teach(...) fits a head on them,
// pawnet.setHead(w, b, report) makes classify use it (useHead switches
// between it and the weights' own head) and pawnet.exportTaught() writes
// the taught weights file.
package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"syscall/js"
	"time"
	"unsafe"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/classify"
	"github.com/pawnet/pawnet/shared/teach"
	"github.com/pawnet/pawnet/wasm/protocol"
)

// HeatSide is the longer side of the heatmap PNGs, in pixels: enough for
// the page's larger view.
const HeatSide = 256

// heads holds the loaded weights' classifier and, once a head was taught
// or restored, the classifier with that head (which shares the weights'
// layers), and which of the two classify uses.
type heads struct {
	base   *classify.Classifier
	taught *classify.Classifier // nil: none
	head   *teach.Head
	use    bool // classify with taught
}

// current is the classifier classify uses (nil before a load).
func (h *heads) current() *classify.Classifier {
	if h.use && h.taught != nil {
		return h.taught
	}
	return h.base
}

func main() {
	var hs heads
	var lastPhoto []byte // for camBench
	var allocated []byte // for loadAllocated
	api := js.Global().Get("Object").New()
	load := func(data []byte, start time.Time) (res any) {
		defer recoverTo(&res)
		// Deferred: conv3–5's Winograd transforms wait for prepare, which
		// static/worker.js asks for once no photo waits, so that the first
		// photo after a load need not wait for them.
		m, err := alexnet.LoadDeferred(data)
		if err != nil {
			return errResult(err)
		}
		cl, err := classify.New(m)
		if err != nil {
			return errResult(err)
		}
		// New weights drop the taught head: static/worker.js sets it
		// again, when it fits them.
		hs = heads{base: cl}
		// The weights are most of the heap (about 300 MB for Full), and
		// with the default GOGC of 100 the heap grows to twice that before
		// its next collection, each photo's buffers in memory never used
		// before. In wasm that growth is slow (memory.grow): under node,
		// BenchmarkExplainStages' resize took 19 ms instead of 2, Explain
		// 101 ms instead of 63. Collecting the load's garbage now, and
		// then whenever the heap is 10% past what is live, keeps the
		// photos in memory already grown, for a collection every few
		// photos (about 6 ms each for Full).
		runtime.GC()
		debug.SetGCPercent(10)
		cfg, meta := m.Config(), m.Metadata()
		return toJS(protocol.WeightsInfo{
			Config: cfg.Name, InputSize: cfg.InputSize, Params: float64(cfg.NumParams()),
			Classes: cl.Classes, BestEpoch: meta.BestEpoch, ValAcc: meta.ValAcc,
			Variant: string(meta.Variant), Kernels: alexnet.Kernels(), Dense: cfg.Dense,
			Bytes: float64(len(data)), LoadMs: ms(start),
		})
	}
	api.Set("load", js.FuncOf(func(_ js.Value, args []js.Value) any {
		start := time.Now()
		return load(bytesOf(args[0]), start)
	}))
	// alloc(n) allocates an n-byte buffer for loadAllocated and returns its
	// address in the instance's memory (Go's heap does not move).
	api.Set("alloc", js.FuncOf(func(_ js.Value, args []js.Value) any {
		allocated = make([]byte, args[0].Int())
		if len(allocated) == 0 {
			return 0
		}
		return float64(uintptr(unsafe.Pointer(unsafe.SliceData(allocated))))
	}))
	api.Set("loadAllocated", js.FuncOf(func(_ js.Value, _ []js.Value) any {
		data := allocated
		allocated = nil
		return load(data, time.Now())
	}))
	api.Set("classify", js.FuncOf(func(_ js.Value, args []js.Value) (res any) {
		defer recoverTo(&res)
		c := hs.current()
		if c == nil {
			return errResult(fmt.Errorf("no weights loaded"))
		}
		start := time.Now()
		photo := bytesOf(args[0])
		tta := len(args) > 1 && args[1].Truthy() // optional: average with the mirror
		e, err := c.Explain(photo, tta)
		if err != nil {
			return errResult(err)
		}
		lastPhoto = photo
		r := protocol.Result{Best: e.Best, Label: e.Label, Ms: ms(start), TTA: tta, Resample: e.Resample.String(),
			Temperature: c.Temperature, Classes: c.Classes, Taught: c != hs.base}
		for _, v := range e.Probs {
			r.Probs = append(r.Probs, float64(v))
		}
		pngs, w, h, err := e.HeatmapPNGs(HeatSide)
		if err != nil {
			r.HeatError = err.Error()
			return toJS(r)
		}
		r.HeatW, r.HeatH, r.CamSide, r.TotalMs = w, h, e.Side, ms(start)
		obj := toJS(r)
		heat := js.Global().Get("Array").New(len(pngs))
		for i, b := range pngs {
			u := js.Global().Get("Uint8Array").New(len(b))
			js.CopyBytesToJS(u, b)
			heat.SetIndex(i, u)
		}
		obj.Set("heat", heat)
		return obj
	}))
	// camBench(n) times n plain forward passes and n Grad-CAMs (forward
	// pass + map of the predicted class) of the last photo classified,
	// interleaved, and returns the median ms of each: Grad-CAM's
	// overhead in the browser (BenchmarkBrowserGradCAM). It also returns
	// the median ms of n decodes + eval transforms of the photo
	// (tensorMs) and of n whole Explains (explainMs, what classify's ms
	// times), timed after them.
	api.Set("camBench", js.FuncOf(func(_ js.Value, args []js.Value) (res any) {
		defer recoverTo(&res)
		c := hs.current()
		if c == nil || lastPhoto == nil {
			return errResult(fmt.Errorf("classify a photo first"))
		}
		x, err := c.Tensor(lastPhoto)
		if err != nil {
			return errResult(err)
		}
		n := max(args[0].Int(), 1)
		fwd, cam := make([]float64, n), make([]float64, n)
		for i := range n {
			// Alternate which goes first, so that neither always finds the
			// caches the other left.
			for j := range 2 {
				t0 := time.Now()
				if (i+j)%2 == 0 {
					if _, err := c.Model.Forward(x, 1); err != nil {
						return errResult(err)
					}
					fwd[i] = time.Since(t0).Seconds() * 1e3
				} else {
					if _, err := c.Model.GradCAM(x); err != nil {
						return errResult(err)
					}
					cam[i] = time.Since(t0).Seconds() * 1e3
				}
			}
		}
		tensor, explain := make([]float64, n), make([]float64, n)
		for i := range n {
			t0 := time.Now()
			if _, err := c.Tensor(lastPhoto); err != nil {
				return errResult(err)
			}
			t1 := time.Now()
			if _, err := c.Explain(lastPhoto, false); err != nil {
				return errResult(err)
			}
			tensor[i], explain[i] = t1.Sub(t0).Seconds()*1e3, time.Since(t1).Seconds()*1e3
		}
		return map[string]any{"forwardMs": median(fwd), "camMs": median(cam), "tensorMs": median(tensor), "explainMs": median(explain), "n": n}
	}))
	// prepare() builds the Winograd transforms the load deferred
	// (alexnet.Model.Prepare) and returns {ms} or {error}.
	api.Set("prepare", js.FuncOf(func(_ js.Value, _ []js.Value) (res any) {
		defer recoverTo(&res)
		if hs.base == nil {
			return errResult(fmt.Errorf("no weights loaded"))
		}
		start := time.Now()
		hs.prepare()
		return map[string]any{"ms": ms(start)}
	}))
	// warmUp() runs the code of a load and of a photo's classification
	// once (see warmUp) and returns {ms, prepared} (prepared: the loaded
	// weights' transforms are built) or {error}.
	api.Set("warmUp", js.FuncOf(func(_ js.Value, _ []js.Value) (res any) {
		defer recoverTo(&res)
		start := time.Now()
		if err := warmUp(hs.base); err != nil {
			return errResult(err)
		}
		hs.prepare() // a no-op unless a head was set before the warm-up
		return map[string]any{"ms": ms(start), "prepared": hs.base != nil && hs.base.Model.Prepared()}
	}))
	teachAPI(api, &hs)
	js.Global().Set("pawnet", api)
	js.Global().Call("pawnetReady")
	select {}
}

func bytesOf(v js.Value) []byte {
	b := make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(b, v)
	return b
}

// median returns the median of v (which it sorts).
func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func ms(start time.Time) float64 { return float64(time.Since(start).Microseconds()) / 1000 }

func errResult(err error) map[string]any { return map[string]any{"error": err.Error()} }

// toJS is v (a wasm/protocol message) as the JavaScript object its JSON
// makes.
func toJS(v any) js.Value {
	data, err := json.Marshal(v)
	if err != nil {
		return js.ValueOf(errResult(err))
	}
	return js.Global().Get("JSON").Call("parse", string(data))
}

// recoverTo turns a panic into an error result, so one bad photo cannot
// take the worker down.
func recoverTo(res *any) {
	if p := recover(); p != nil {
		*res = errResult(fmt.Errorf("internal error: %v", p))
	}
}
