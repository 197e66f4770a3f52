package alexnet

import (
	"bytes"
	"runtime"
	"sync"
	"testing"
	"time"
)

// fullInt8File is a Full weights file (random weights, random biases) in
// the int8 variant, 58 MB, made once per test binary.
var fullInt8File = sync.OnceValues(func() ([]byte, error) {
	cfg := Full()
	params := InitParams(cfg, 1)
	randomBiases(cfg, params, 1)
	var buf bytes.Buffer
	if err := SaveVariant(&buf, cfg, params, Metadata{Classes: []string{"cat", "dog"}}, Int8); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
})

// BenchmarkLoadFullInt8 measures what a browser worker does with the
// cached int8 weights before its first answer: Load of the 58 MB file
// (ms-load), then the first Forward (ms-first-forward) and the first
// GradCAM (ms-first-gradcam, which computes fc6's channel sums). It splits
// ms-load into decode (parsing and validating the file, expanding what
// stays float32: ms-decode) and building the Model (the conv weights'
// Winograd transform and packing: ms-model), and reports the bytes Load
// allocates (MB-alloc: what the heap grows by, the file aside) and holds
// (MB-live, the file aside), per Model. Natively:
//
//	go test -run '^$' -bench LoadFullInt8 -benchtime 3x ./shared/alexnet/
//
// and in wasm (node; what Chromium's worker runs):
//
//	GOOS=js GOARCH=wasm GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd go test \
//	    -exec="$(GOTOOLCHAIN=go1.27.3 go env GOROOT)/lib/wasm/go_js_wasm_exec" \
//	    -run '^$' -bench LoadFullInt8 -benchtime 3x ./shared/alexnet/
func BenchmarkLoadFullInt8(b *testing.B) {
	data, err := fullInt8File()
	if err != nil {
		b.Fatal(err)
	}
	x := randomInput(Full(), 1, 2)
	var decodeT, modelT, fwdT, camT time.Duration
	var alloc, live uint64
	b.ResetTimer()
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		t0 := time.Now()
		d, err := decode(data)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		m, err := newModel(d.cfg, d.params, d.quant, d.meta)
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		runtime.ReadMemStats(&after)
		alloc += after.TotalAlloc - before.TotalAlloc
		if _, err := m.Forward(x, 1); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		if _, err := m.GradCAM(x); err != nil {
			b.Fatal(err)
		}
		t4 := time.Now()
		runtime.GC()
		runtime.ReadMemStats(&after)
		live += after.HeapAlloc - before.HeapAlloc
		runtime.KeepAlive(m)
		decodeT += t1.Sub(t0)
		modelT += t2.Sub(t1)
		fwdT += t3.Sub(t2)
		camT += t4.Sub(t3)
	}
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return d.Seconds() * 1e3 / n }
	b.ReportMetric(ms(decodeT+modelT), "ms-load")
	b.ReportMetric(ms(decodeT), "ms-decode")
	b.ReportMetric(ms(modelT), "ms-model")
	b.ReportMetric(ms(fwdT), "ms-first-forward")
	b.ReportMetric(ms(camT), "ms-first-gradcam")
	b.ReportMetric(float64(alloc)/n/1e6, "MB-alloc")
	b.ReportMetric(float64(live)/n/1e6, "MB-live")
	b.ReportMetric(0, "ns/op")
}
