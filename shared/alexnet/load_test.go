package alexnet

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// fullInt8File is a Full weights file in the int8 variant (58 MB), made
// once per test binary. Its weights are random int8 values with He-scaled
// row scales, written straight into the file's buffer, so that the memory
// the process has touched before Load is about the file's, as in a browser
// worker: the header is laid out with the int8 tensors as views of one
// buffer that is never written (fresh memory, which costs nothing until
// touched).
var fullInt8File = sync.OnceValues(func() ([]byte, error) {
	cfg := Full()
	rng := rand.New(rand.NewPCG(1, 5))
	var tensors []tensorData
	largest := 0
	for _, p := range cfg.Params() {
		largest = max(largest, p.Size())
	}
	placeholder := make([]byte, largest)
	for _, p := range cfg.Params() {
		if len(p.Shape) == 1 {
			b := make([]float32, p.Shape[0])
			for i := range b {
				b[i] = float32(rng.NormFloat64() * 0.1)
			}
			tensors = append(tensors, tensorData{name: p.Name, dtype: "F32", shape: p.Shape, f32: b})
			continue
		}
		scale := make([]float32, p.Shape[0])
		for i := range scale {
			scale[i] = float32(math.Sqrt(2/float64(p.Size()/p.Shape[0])) / 73) // uniform q: std 73
		}
		tensors = append(tensors,
			tensorData{name: p.Name, dtype: "I8", shape: p.Shape, raw: placeholder[:p.Size()]},
			tensorData{name: p.Name + ScaleSuffix, dtype: "F32", shape: p.Shape[:1], f32: scale})
	}
	header, err := encodeHeader(cfg, Metadata{Classes: []string{"cat", "dog"}}, Int8, tensors)
	if err != nil {
		return nil, err
	}
	size := 8 + len(header)
	for _, t := range tensors {
		size += t.size()
	}
	file := make([]byte, 0, size)
	file = binary.LittleEndian.AppendUint64(file, uint64(len(header)))
	file = append(file, header...)
	for _, t := range tensors {
		if t.dtype == "I8" {
			for range t.size() {
				file = append(file, byte(int8(rng.IntN(255)-127)))
			}
			continue
		}
		for _, f := range t.f32 {
			file = binary.LittleEndian.AppendUint32(file, math.Float32bits(f))
		}
	}
	return file, nil
})

// BenchmarkLoadFullInt8 measures what a browser worker does with the
// cached int8 weights before its first answer: Load of the 58 MB file
// (ms-load), then the first Forward (ms-first-forward) and the first
// GradCAM (ms-first-gradcam, which computes fc6's channel sums). It splits
// ms-load into decode (parsing and validating the file, expanding what
// stays float32: ms-decode) and building the Model (the conv weights'
// Winograd transform and packing: ms-model), and reports the bytes Load
// allocates (MB-alloc: what the heap grows by, the file aside) and holds
// (MB-live, the file aside, with the scratch buffers of the first passes),
// per Model. The first run in a process is the one a browser worker sees
// (its heap grows, its code is not yet optimized), so -benchtime 1x gives
// that cold figure, a larger count the warm one. Natively:
//
//	go test -run '^$' -bench LoadFullInt8 -benchtime 1x ./shared/alexnet/
//
// and in wasm (node; what Chromium's worker runs):
//
//	GOOS=js GOARCH=wasm GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd go test \
//	    -exec="$(GOTOOLCHAIN=go1.27.3 go env GOROOT)/lib/wasm/go_js_wasm_exec" \
//	    -run '^$' -bench LoadFullInt8 -benchtime 1x ./shared/alexnet/
func BenchmarkLoadFullInt8(b *testing.B) { benchLoadFullInt8(b, false) }

// BenchmarkLoadDeferredFullInt8 is BenchmarkLoadFullInt8 for
// LoadDeferred, as the browser's worker loads: its first Forward and
// GradCAM run conv3–5 on im2col + GEMM. It also reports the Prepare that
// follows them (ms-prepare) and the next Forward (ms-prepared-forward).
// Run it in a process of its own, -benchtime 1x, for the cold figures:
//
//	go test -run '^$' -bench LoadDeferredFullInt8 -benchtime 1x ./shared/alexnet/
//
// (and in wasm under node as above).
func BenchmarkLoadDeferredFullInt8(b *testing.B) { benchLoadFullInt8(b, true) }

func benchLoadFullInt8(b *testing.B, deferred bool) {
	data, err := fullInt8File()
	if err != nil {
		b.Fatal(err)
	}
	x := randomInput(Full(), 1, 2)
	var decodeT, modelT, fwdT, camT, prepT, fwd2T time.Duration
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
		m, err := newModelDeferred(d.cfg, d.params, d.quant, d.meta, deferred)
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
		if deferred {
			m.Prepare()
			t5 := time.Now()
			if _, err := m.Forward(x, 1); err != nil {
				b.Fatal(err)
			}
			prepT += t5.Sub(t4)
			fwd2T += time.Since(t5)
		}
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
	if deferred {
		b.ReportMetric(ms(prepT), "ms-prepare")
		b.ReportMetric(ms(fwd2T), "ms-prepared-forward")
	}
	b.ReportMetric(float64(alloc)/n/1e6, "MB-alloc")
	b.ReportMetric(float64(live)/n/1e6, "MB-live")
	b.ReportMetric(0, "ns/op")
}

// TestLoadDeferred checks that LoadDeferred leaves the Winograd transforms
// of the 3×3 conv layers for Prepare, that its passes before Prepare give
// Load's logits and Grad-CAM maps within float32 rounding (im2col + GEMM
// sums in another order), and that after Prepare they are Load's exactly.
func TestLoadDeferred(t *testing.T) {
	small := func(v Variant) func() ([]byte, error) {
		return func() ([]byte, error) {
			var buf bytes.Buffer
			err := SaveVariant(&buf, Small(), InitParams(Small(), 3), testMeta, v)
			return buf.Bytes(), err
		}
	}
	for _, tc := range []struct {
		name     string
		cfg      Config
		file     func() ([]byte, error)
		deferred int // conv layers left for Prepare
	}{
		{"full-int8", Full(), fullInt8File, 3},
		{"small-fp32", Small(), small(F32), 3},
		{"small-int8", Small(), small(Int8), 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := tc.file()
			if err != nil {
				t.Fatal(err)
			}
			eager, err := Load(data)
			if err != nil {
				t.Fatal(err)
			}
			lazy, err := LoadDeferred(data)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for i := range lazy.conv {
				l, e := &lazy.conv[i], &eager.conv[i]
				if l.winoM != 0 {
					n++
					if l.wino != nil || l.wPacked == nil || e.wino == nil || l.kernel != 3 {
						t.Errorf("conv%d deferred: wino %v, packed %v; Load's wino %v, kernel %d", i+1, l.wino != nil, l.wPacked != nil, e.wino != nil, l.kernel)
					}
				} else if (l.wino == nil) != (e.wino == nil) {
					t.Errorf("conv%d: Winograd %v, Load's %v", i+1, l.wino != nil, e.wino != nil)
				}
			}
			if n != tc.deferred || lazy.Prepared() != (n == 0) {
				t.Fatalf("%d layers deferred, Prepared %v; want %d", n, lazy.Prepared(), tc.deferred)
			}
			x := randomInput(tc.cfg, 2, 7)
			want, err := eager.Forward(x, 2)
			if err != nil {
				t.Fatal(err)
			}
			x1 := x[:len(x)/2]
			wantCAM, err := eager.GradCAM(x1, 0, 1)
			if err != nil {
				t.Fatal(err)
			}
			check := func(stage string, exact bool) {
				t.Helper()
				got, err := lazy.Forward(x, 2)
				if err != nil {
					t.Fatal(err)
				}
				cam, err := lazy.GradCAM(x1, 0, 1)
				if err != nil {
					t.Fatal(err)
				}
				tol := 1e-4
				if exact {
					tol = 0
				}
				if e := relErr(got, want); e > tol {
					t.Errorf("%s: logits differ by %.2g relative, want ≤ %g", stage, e, tol)
				}
				for c := range 2 {
					if e := relErr(cam.Maps[c], wantCAM.Maps[c]); e > 10*tol {
						t.Errorf("%s: class %d map differs by %.2g relative, want ≤ %g", stage, c, e, 10*tol)
					}
				}
			}
			check("before Prepare", n == 0)
			lazy.Prepare()
			if !lazy.Prepared() {
				t.Fatal("not Prepared after Prepare")
			}
			check("after Prepare", true)
			lazy.Prepare() // nothing left: no change
			check("after a second Prepare", true)
		})
	}
}
