package alexnet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// randomFloats returns n values from a normal distribution.
func randomFloats(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 3))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// agree reports whether got matches want, the scalar kernels' result:
// exactly when the build's SIMD kernels are exact, else within 1e-5 of
// the magnitude scale (Σ|a·b| of that output).
func agree(got, want, scale float32) bool {
	if simdExact {
		return math.Float32bits(got) == math.Float32bits(want)
	}
	return math.Abs(float64(got-want)) <= 1e-5*float64(scale)
}

// TestGemmKernelsAgree runs this build's GEMM (its SIMD micro-kernels
// when built with GOEXPERIMENT=simd) and the scalar one on the same packed
// operands, for the shapes of AlexNet's layers and the edge cases of the
// packing, and checks that they agree: bit for bit where the build's
// kernels are exact (wasm SIMD, scalar), within 1e-5 relative with fused
// multiply-add (amd64).
func TestGemmKernelsAgree(t *testing.T) {
	t.Logf("kernels: %s (exact: %v)", Kernels(), simdExact)
	cases := []struct{ m, n, k int }{
		{1, 1, 1},
		{4, 8, 0},
		{4, 8, 1},
		{4, 8, 2},
		{3, 5, 7},
		{5, 9, 3},
		{8, 24, 16},
		{9, 25, 17},
		{13, 77, 31},
		{96, 3025, 363},  // conv1 im2col, Full (part of the columns below)
		{256, 81, 96},    // conv2 Winograd F(3,5) per element
		{384, 16, 256},   // conv3 Winograd F(4,3) per element
		{64, 50, 3 * 25}, // odd sizes of Small
	}
	for i, tc := range cases {
		t.Run(fmt.Sprintf("m%d_n%d_k%d", tc.m, tc.n, tc.k), func(t *testing.T) {
			n := tc.n
			if n > 600 {
				n = 600 // enough columns for every code path, faster
			}
			a := randomFloats(tc.m*tc.k, uint64(i))
			bm := randomFloats(tc.k*n, uint64(100+i))
			pa := packA(a, tc.m, tc.k)
			panels := (n + gemmNR - 1) / gemmNR
			pb := make([]float32, panels*gemmNR*tc.k)
			for kk := range tc.k {
				for j := range n {
					pb[(j/gemmNR)*gemmNR*tc.k+kk*gemmNR+j%gemmNR] = bm[kk*n+j]
				}
			}
			bias := randomFloats(tc.m, uint64(200+i))
			for _, withBias := range []bool{false, true} {
				b := bias
				if !withBias {
					b = nil
				}
				got := make([]float32, tc.m*n)
				gemmPanels(got, n, pa, tc.m, pb, n, tc.k, b, 0, panels)
				want := make([]float32, tc.m*n)
				withScalarKernels(func() { gemmPanels(want, n, pa, tc.m, pb, n, tc.k, b, 0, panels) })
				bad := 0
				for r := range tc.m {
					for j := range n {
						scale := float32(0)
						for kk := range tc.k {
							scale += float32(math.Abs(float64(a[r*tc.k+kk] * bm[kk*n+j])))
						}
						if b != nil {
							scale += float32(math.Abs(float64(b[r])))
						}
						g, w := got[r*n+j], want[r*n+j]
						if !agree(g, w, scale) {
							if bad++; bad <= 5 {
								t.Errorf("bias %v: c[%d][%d] = %.9g, scalar %.9g", withBias, r, j, g, w)
							}
						}
					}
				}
			}
		})
	}
}

// withScalarKernels runs f with the portable kernels in place of the
// build's SIMD ones.
func withScalarKernels(f func()) {
	tile, wide, combine, dense := gemmTile, gemmWide, combineLanes, denseDot8
	to, in, out, pool := gemmTileTo, winoIn, winoOut, poolRow
	gemmTile, gemmWide, combineLanes, denseDot8 = tileScalar, nil, combineLanesScalar, dot8
	gemmTileTo, winoIn, winoOut, poolRow = nil, (*winograd).transformIn, (*winograd).transformOutBias, poolRowScalar
	defer func() {
		gemmTile, gemmWide, combineLanes, denseDot8 = tile, wide, combine, dense
		gemmTileTo, winoIn, winoOut, poolRow = to, in, out, pool
	}()
	f()
}

// TestCombineLanesAgree checks the build's combineLanes (the Winograd
// transforms' one operation) against the scalar one: it never fuses, so
// the two must agree bit for bit on every build.
func TestCombineLanesAgree(t *testing.T) {
	src := make([]lanes, 64)
	for i, v := range randomFloats(64*gemmNR, 5) {
		src[i/gemmNR][i%gemmNR] = v
	}
	for _, tc := range []struct {
		name   string
		row    []term
		stride int
	}{
		{"empty", nil, 1},
		{"one", []term{{3, 0.5}}, 1},
		{"F(4,3) Bᵀ row", []term{{0, 4}, {2, -5}, {4, 1}}, 6},
		{"seven", []term{{0, 1}, {1, -2.5}, {2, 0.25}, {3, 3}, {4, -1}, {5, 0.125}, {6, 7}}, 7},
		{"stride 8", []term{{1, 1.5}, {6, -0.75}}, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got, want lanes
			combineLanes(&got, tc.row, src, tc.stride)
			combineLanesScalar(&want, tc.row, src, tc.stride)
			for l := range got {
				if math.Float32bits(got[l]) != math.Float32bits(want[l]) {
					t.Errorf("lane %d: %.9g, scalar %.9g", l, got[l], want[l])
				}
			}
		})
	}
}

// TestDenseKernelsAgree checks the build's denseDot8 against the scalar
// one, within 1e-5 of Σ|w·x| (the SIMD kernels sum in another order), for
// lengths around the vector widths and the dense layers' own.
func TestDenseKernelsAgree(t *testing.T) {
	for _, n := range []int{1, 3, 4, 7, 8, 9, 17, 100, 512, 4096, 9216} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			w := randomFloats(8*n, uint64(n))
			x := randomFloats(n, uint64(n+1))
			got, want := denseDot8(w, x), dot8(w, x)
			for r := range got {
				scale := float32(0)
				for i := range n {
					scale += float32(math.Abs(float64(w[r*n+i] * x[i])))
				}
				if d := math.Abs(float64(got[r] - want[r])); d > 1e-5*float64(scale) {
					t.Errorf("row %d: %.9g, scalar %.9g (|Δ| %.3g, Σ|w·x| %.3g)", r, got[r], want[r], d, scale)
				}
			}
		})
	}
}

// TestForwardKernelsAgree runs whole forward passes with the build's
// kernels and with the scalar ones: the logits agree within 1e-5 of the
// largest (the dense layers' SIMD kernels sum in another order).
func TestForwardKernelsAgree(t *testing.T) {
	for i, cfg := range []Config{tinyConfigs[1], Small()} {
		t.Run(cfg.Name, func(t *testing.T) {
			params := InitParams(cfg, uint64(i))
			randomBiases(cfg, params, uint64(i))
			m, err := NewModel(cfg, params, Metadata{})
			if err != nil {
				t.Fatal(err)
			}
			x := randomInput(cfg, 2, uint64(50+i))
			got, err := m.Forward(x, 2)
			if err != nil {
				t.Fatal(err)
			}
			var want []float32
			withScalarKernels(func() { want, err = m.Forward(x, 2) })
			if err != nil {
				t.Fatal(err)
			}
			scale := float32(1)
			for _, v := range want {
				scale = max(scale, float32(math.Abs(float64(v))))
			}
			for j := range got {
				if d := math.Abs(float64(got[j] - want[j])); d > 1e-5*float64(scale) {
					t.Errorf("logit %d: %.9g, scalar kernels %.9g", j, got[j], want[j])
				}
			}
		})
	}
}

// BenchmarkGemm reports the GEMM's speed in GMAC/s on one goroutine for the
// shapes of Full's layers (conv1 by im2col, conv2 and conv4 per Winograd
// element), with this build's kernels and with the scalar ones:
//
//	go test -run '^$' -bench Gemm ./shared/alexnet
func BenchmarkGemm(b *testing.B) {
	shapes := []struct {
		name    string
		m, n, k int
	}{
		{"conv1", 96, 3025, 363},
		{"conv2-wino", 256, 88, 96},
		{"conv4-wino", 384, 16, 384},
	}
	for _, sh := range shapes {
		a := randomFloats(sh.m*sh.k, 1)
		pa := packA(a, sh.m, sh.k)
		panels := (sh.n + gemmNR - 1) / gemmNR
		pb := randomFloats(panels*gemmNR*sh.k, 2)
		c := make([]float32, sh.m*sh.n)
		for _, kind := range []string{"build", "scalar"} {
			b.Run(sh.name+"/"+kind, func(b *testing.B) {
				run := func() { gemmPanels(c, sh.n, pa, sh.m, pb, sh.n, sh.k, nil, 0, panels) }
				if kind == "scalar" {
					withScalarKernels(func() { benchLoop(b, run) })
				} else {
					benchLoop(b, run)
				}
				b.ReportMetric(float64(sh.m*sh.n*sh.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}

func benchLoop(b *testing.B, f func()) {
	for b.Loop() {
		f()
	}
}

// TestConvKernelsAgree runs each conv layer of Full and Small (conv1 by
// im2col + GEMM, the others by Winograd, each with its pool) with this
// build's kernels and with the portable ones, on random weights and
// inputs: bit for bit where the build's kernels are exact (wasm SIMD:
// GEMM, transforms, im2col, ReLU and max-pool), else (fused multiply-adds)
// within 1e-5 of the layer's largest output.
func TestConvKernelsAgree(t *testing.T) {
	for _, cfg := range []Config{Full(), Small()} {
		side := cfg.InputSize
		for i := range NumConv {
			l := newConvLayerRandom(cfg, i, side, uint64(10*i+1))
			side = l.pooled
			t.Run(fmt.Sprintf("%s/conv%d", cfg.Name, i+1), func(t *testing.T) {
				in := randomFloats(l.cin*l.in*l.in, uint64(20*i+3))
				run := func() []float32 {
					col := make([]float32, l.colSize())
					out := make([]float32, l.cout*l.out*l.out)
					l.forward(out, in, col, false)
					if !l.pool {
						return out
					}
					pooled := make([]float32, l.cout*l.pooled*l.pooled)
					maxPool(pooled, out, l.cout, l.out)
					return append(out, pooled...)
				}
				got := run()
				var want []float32
				withScalarKernels(func() { want = run() })
				scale := float32(0)
				for _, v := range want {
					scale = max(scale, float32(math.Abs(float64(v))))
				}
				bad := 0
				for j := range want {
					if !agree(got[j], want[j], scale) {
						if bad++; bad <= 5 {
							t.Errorf("output %d: %.9g, portable kernels %.9g", j, got[j], want[j])
						}
					}
				}
			})
		}
	}
}

// newConvLayerRandom builds conv layer i of cfg, on an input of side
// pixels, with random weights and biases.
func newConvLayerRandom(cfg Config, i, side int, seed uint64) *convLayer {
	cin := 3
	if i > 0 {
		cin = cfg.Channels[i-1]
	}
	k := cfg.Kernels[i]
	w := randomFloats(cfg.Channels[i]*cin*k*k, seed)
	for j := range w {
		w[j] *= float32(math.Sqrt(2 / float64(cin*k*k)))
	}
	bias := randomFloats(cfg.Channels[i], seed+1)
	l := newConvLayer(cfg, i, side, w, bias)
	return &l
}

// TestMaxPoolAgree checks the build's max-pool against the portable one on
// random values (negative ones too, no -0) for sides around the vector
// width and AlexNet's own.
func TestMaxPoolAgree(t *testing.T) {
	for _, side := range []int{3, 4, 5, 6, 7, 8, 9, 13, 27, 55, 257, 300} {
		o := convOut(side, PoolWindow, PoolStride, 0)
		in := randomFloats(2*side*side, uint64(side))
		got, want := make([]float32, 2*o*o), make([]float32, 2*o*o)
		maxPool(got, in, 2, side)
		p := poolRow
		poolRow = poolRowScalar
		maxPool(want, in, 2, side)
		poolRow = p
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Errorf("side %d: output %d is %.9g, portable %.9g", side, i, got[i], want[i])
			}
		}
	}
}
