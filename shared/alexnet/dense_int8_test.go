package alexnet

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

// randomInt8s returns n int8 values in [-127, 127].
func randomInt8s(n int, seed uint64) []int8 {
	rng := rand.New(rand.NewPCG(seed, 4))
	q := make([]int8, n)
	for i := range q {
		q[i] = int8(rng.IntN(255) - 127)
	}
	return q
}

// TestInt8KernelsAgree checks this build's int8 dense kernels against the
// scalar ones for lengths around the vector widths and the dense layers'
// own: the dot products within 1e-5 of Σ|q·x| (the SIMD kernels sum in
// another order), axpy within 1e-6 relative (FMA rounds once).
func TestInt8KernelsAgree(t *testing.T) {
	t.Logf("kernels: %s", Kernels())
	for _, n := range []int{1, 3, 8, 15, 16, 17, 23, 24, 31, 32, 33, 100, 4096, 9216} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			q := randomInt8s(8*n, uint64(n))
			x := randomFloats(n, uint64(n+1))
			got, want := denseDot8Int8(q, x), dot8Int8(q, x)
			for r := range got {
				scale := float32(0)
				for i := range n {
					scale += float32(math.Abs(float64(float32(q[r*n+i]) * x[i])))
				}
				if d := math.Abs(float64(got[r] - want[r])); d > 1e-5*float64(scale) {
					t.Errorf("dot row %d: %.9g, scalar %.9g (|Δ| %.3g, Σ|q·x| %.3g)", r, got[r], want[r], d, scale)
				}
			}
			y0 := randomFloats(n, uint64(n+2))
			y1 := append([]float32(nil), y0...)
			axpyInt8(y0, 0.0123, q)
			axpyInt8Kernel(y1, 0.0123, q)
			for i := range y0 {
				if d := math.Abs(float64(y0[i] - y1[i])); d > 1e-6*(1+math.Abs(float64(y0[i]))) {
					t.Fatalf("axpy element %d: kernel %v, scalar %v", i, y1[i], y0[i])
				}
			}
			// axpy2 equals two calls of this build's axpy exactly.
			z0, z1 := randomFloats(n, uint64(n+3)), randomFloats(n, uint64(n+4))
			w0, w1 := append([]float32(nil), z0...), append([]float32(nil), z1...)
			axpyInt8Kernel(z0, 0.0123, q)
			axpyInt8Kernel(z1, -0.071, q)
			axpy2Int8Kernel(w0, w1, 0.0123, -0.071, q)
			if !slices.Equal(z0, w0) || !slices.Equal(z1, w1) {
				t.Fatalf("axpy2 differs from two axpy calls")
			}
		})
	}
}

// TestGroupSumsInt8 checks the exact channel sums against a plain loop,
// on random values and on the extremes -128 and 127.
func TestGroupSumsInt8(t *testing.T) {
	for _, tc := range []struct{ groups, p int }{{1, 1}, {3, 7}, {256, 36}, {9, 4}, {5, 33}, {7, 12}, {4, 252}, {3, 260}} {
		n := tc.groups*tc.p + 5
		lowest, highest := make([]int8, n), make([]int8, n)
		for i := range n {
			lowest[i], highest[i] = -128, 127
		}
		for _, q := range [][]int8{randomInt8s(n, uint64(tc.p)), lowest, highest} {
			got := make([]int32, tc.groups)
			groupSumsInt8(got, q, tc.p)
			for k := range got {
				var want int32
				for _, v := range q[k*tc.p : (k+1)*tc.p] {
					want += int32(v)
				}
				if got[k] != want {
					t.Fatalf("groups %d × %d: sum %d = %d, want %d", tc.groups, tc.p, k, got[k], want)
				}
			}
		}
	}
}

// int8Model returns a Model whose dense layers run on the int8
// quantization of params' dense weights, and the same weights dequantized
// (Params) in a Model with float32 dense weights. A built-in configuration
// goes through an int8 file and Load (file is the file); any other is
// quantized in memory (file is nil).
func int8Model(t testing.TB, cfg Config, params map[string][]float32) (direct, dequantized *Model, file []byte) {
	t.Helper()
	var err error
	if _, known := ByName(cfg.Name); known == nil {
		var buf bytes.Buffer
		if err := SaveVariant(&buf, cfg, params, Metadata{}, Int8); err != nil {
			t.Fatal(err)
		}
		file = buf.Bytes()
		direct, err = Load(file)
	} else {
		floats := maps.Clone(params)
		quant := make(map[string]quantized)
		for _, name := range append(ConvNames[:], DenseNames[:]...) {
			w := params[name+".weight"]
			q, scale := Quantize(w, len(params[name+".bias"]))
			quant[name+".weight"] = quantized{q: q, scale: scale}
			delete(floats, name+".weight")
		}
		direct, err = newModel(cfg, floats, quant, Metadata{})
	}
	if err != nil {
		t.Fatal(err)
	}
	dequantized, err = NewModel(cfg, direct.Params(), Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	return direct, dequantized, file
}

// relErr returns max |got − want| / max |want|.
func relErr(got, want []float32) float64 {
	scale, worst := 0.0, 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	if scale == 0 {
		scale = 1
	}
	for i := range want {
		worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
	}
	return worst / scale
}

// TestInt8DenseMatchesDequantized loads int8 files and checks that the
// dense layers run on the file's int8 bytes (no copy) and give the logits,
// Grad-CAM channel weights and maps of the same weights dequantized to
// float32, within 1e-5 relative; and that Params expands them exactly as
// dequantization does.
func TestInt8DenseMatchesDequantized(t *testing.T) {
	cfgs := append([]Config{}, tinyConfigs...)
	cfgs = append(cfgs, Small())
	if !testing.Short() {
		cfgs = append(cfgs, Full())
	}
	for i, cfg := range cfgs {
		t.Run(cfg.Name, func(t *testing.T) {
			params := InitParams(cfg, uint64(20+i))
			randomBiases(cfg, params, uint64(20+i))
			direct, deq, file := int8Model(t, cfg, params)
			lo := uintptr(unsafe.Pointer(unsafe.SliceData(file)))
			for j := range direct.dense {
				l := &direct.dense[j]
				if l.q == nil || l.w != nil {
					t.Fatalf("%s: dense layer %d is not int8", cfg.Name, j)
				}
				if p := uintptr(unsafe.Pointer(unsafe.SliceData(l.q))); file != nil && (p < lo || p >= lo+uintptr(len(file))) {
					t.Errorf("dense layer %d: int8 weights are a copy, not a view of the file", j)
				}
				w := deq.dense[j].w
				for o := range l.nout {
					for _, k := range []int{0, l.nin / 2, l.nin - 1} {
						if got := l.weight(o, k); got != w[o*l.nin+k] {
							t.Fatalf("dense %d weight(%d,%d) = %v, dequantized %v", j, o, k, got, w[o*l.nin+k])
						}
					}
				}
			}
			n := 3
			if cfg.Name == "full" {
				n = 1
			}
			x := randomInput(cfg, n, uint64(40+i))
			got, err := direct.Forward(x, n)
			if err != nil {
				t.Fatal(err)
			}
			want, err := deq.Forward(x, n)
			if err != nil {
				t.Fatal(err)
			}
			if e := relErr(got, want); !(e <= 1e-5) {
				t.Errorf("logits %v, dequantized %v: relative error %.3g", got, want, e)
			}
			one := x[:cfg.InputSize*cfg.InputSize*3]
			classes := []int{0, cfg.Classes - 1}
			camGot, err := direct.GradCAM(one, classes...)
			if err != nil {
				t.Fatal(err)
			}
			camWant, err := deq.GradCAM(one, classes...)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range classes {
				if e := relErr(camGot.Weights[c], camWant.Weights[c]); !(e <= 1e-5) {
					t.Errorf("class %d: α relative error %.3g", c, e)
				}
				if e := relErr(camGot.Maps[c], camWant.Maps[c]); !(e <= 1e-4) {
					t.Errorf("class %d: map error %.3g", c, e)
				}
				_, _, gGot, err := direct.LastConvGradient(one, c)
				if err != nil {
					t.Fatal(err)
				}
				_, _, gWant, _ := deq.LastConvGradient(one, c)
				if e := relErr(gGot, gWant); !(e <= 1e-5) {
					t.Errorf("class %d: last conv gradient relative error %.3g", c, e)
				}
			}
		})
	}
}

// BenchmarkDenseFull times Full's three dense layers on one image on the
// calling goroutine, with float32 weights (as an fp32 or fp16 file gives)
// and with int8 weights (an int8 file): ms per layer, and GB/s of weights
// read. Natively:
//
//	go test -run '^$' -bench DenseFull ./shared/alexnet/
//
// and in wasm (node):
//
//	GOOS=js GOARCH=wasm GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd go test \
//	    -exec="$(GOTOOLCHAIN=go1.27.3 go env GOROOT)/lib/wasm/go_js_wasm_exec" \
//	    -run '^$' -bench DenseFull ./shared/alexnet/
func BenchmarkDenseFull(b *testing.B) {
	cfg := Full()
	ins := []int{cfg.FlatFeatures(), cfg.Dense, cfg.Dense}
	outs := []int{cfg.Dense, cfg.Dense, cfg.Classes}
	for i, name := range []string{"fc6", "fc7", "fc8"} {
		w := randomFloats(ins[i]*outs[i], uint64(i))
		q, scale := Quantize(w, outs[i])
		bias := make([]float32, outs[i])
		layers := []struct {
			kind  string
			l     denseLayer
			bytes int
		}{
			{"f32", denseLayer{nin: ins[i], nout: outs[i], w: w, bias: bias, relu: i < 2}, 4 * len(w)},
			{"int8", denseLayer{nin: ins[i], nout: outs[i], q: q, scale: scale, bias: bias, relu: i < 2}, len(q)},
		}
		for _, tc := range layers {
			b.Run(name+"/"+tc.kind, func(b *testing.B) {
				x := randomFloats(ins[i], 9)
				out := make([]float32, outs[i])
				for b.Loop() {
					tc.l.forwardRows(out, x, 1, 0, outs[i])
				}
				s := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(s*1e3, "ms")
				b.ReportMetric(float64(tc.bytes)/s/1e9, "GB/s")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
