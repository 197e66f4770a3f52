package alexnet

import (
	"fmt"
	"math"
	"testing"
)

// TestWinogradFilters checks the packed filter transform U = G g Gᵀ, made
// in float32, against the same product in float64, for the tiles the
// model uses and others, output channel counts that fill the packed panels
// partly (the padding rows must stay zero), and AlexNet's conv2 and conv4.
func TestWinogradFilters(t *testing.T) {
	for _, tc := range []struct{ m, r, cin, cout int }{
		{4, 3, 3, 5}, {3, 5, 2, 4}, {2, 3, 4, 9}, {4, 5, 3, 12}, {2, 2, 1, 1},
		{3, 5, 96, 256}, {4, 3, 384, 384},
	} {
		t.Run(fmt.Sprintf("F(%d,%d)_%dx%d", tc.m, tc.r, tc.cout, tc.cin), func(t *testing.T) {
			l := convLayer{cin: tc.cin, cout: tc.cout, kernel: tc.r, stride: 1, out: 13}
			rr := tc.r * tc.r
			w := randomFloats(tc.cout*tc.cin*rr, uint64(tc.cout))
			wg := newWinograd(&l, tc.m, w)
			a := wg.a
			_, g, _ := winogradMatrices(tc.m, tc.r)
			worst := 0.0
			for o := range (tc.cout + gemmMR - 1) / gemmMR * gemmMR {
				for c := range tc.cin {
					for i := range a {
						for j := range a {
							want, scale := 0.0, 0.0
							if o < tc.cout {
								for k := range tc.r {
									for q := range tc.r {
										v := g[i*tc.r+k] * float64(w[(o*tc.cin+c)*rr+k*tc.r+q]) * g[j*tc.r+q]
										want += v
										scale += math.Abs(v)
									}
								}
							}
							got := float64(wg.u[(i*a+j)*wg.uStride+(o/gemmMR)*gemmMR*tc.cin+c*gemmMR+o%gemmMR])
							if o >= tc.cout {
								if got != 0 {
									t.Fatalf("padding row %d: U[%d][%d] = %v, want 0", o, i, j, got)
								}
								continue
							}
							if d := math.Abs(got - want); d > 1e-6*scale {
								t.Fatalf("U[%d%d][%d][%d] = %.9g, float64 %.9g (Σ|terms| %.3g)", i, j, o, c, got, want, scale)
							} else if scale > 0 {
								worst = max(worst, d/scale)
							}
						}
					}
				}
			}
			t.Logf("worst |Δ| / Σ|terms|: %.2g", worst)
		})
	}
}

// TestFilterTransformAgree checks the build's filterTransform against the
// scalar one: neither fuses multiply and add, and both sum in the same
// order, so they must agree bit for bit.
func TestFilterTransformAgree(t *testing.T) {
	for _, tc := range []struct{ m, r int }{{4, 3}, {3, 5}, {2, 2}, {4, 5}} {
		a := tc.m + tc.r - 1
		_, g64, _ := winogradMatrices(tc.m, tc.r)
		g := make([]float32, len(g64))
		for i, v := range g64 {
			g[i] = float32(v)
		}
		var f, tmp, got, want [64]lanes
		for i, v := range randomFloats(tc.r*tc.r*gemmNR, uint64(a)) {
			f[i/gemmNR][i%gemmNR] = v
		}
		filterTransform(&got, &f, &tmp, g, a, tc.r)
		filterTransformScalar(&want, &f, &tmp, g, a, tc.r)
		for e := range a * a {
			for l := range gemmNR {
				if math.Float32bits(got[e][l]) != math.Float32bits(want[e][l]) {
					t.Fatalf("F(%d,%d) U[%d] lane %d: %.9g, scalar %.9g", tc.m, tc.r, e, l, got[e][l], want[e][l])
				}
			}
		}
	}
}

// BenchmarkWinogradFilters times the filter transform of Full's conv2–5
// (newWinograd: U = G g Gᵀ, packed), the part of Load that grows with the
// conv weights:
//
//	go test -run '^$' -bench WinogradFilters ./shared/alexnet/
func BenchmarkWinogradFilters(b *testing.B) {
	cfg := Full()
	side := cfg.InputSize
	for i := range NumConv {
		cin := 3
		if i > 0 {
			cin = cfg.Channels[i-1]
		}
		w := randomFloats(cfg.Channels[i]*cin*cfg.Kernels[i]*cfg.Kernels[i], uint64(i))
		l := newConvLayer(cfg, i, side, w, make([]float32, cfg.Channels[i]))
		side = l.pooled
		if l.wino == nil {
			continue
		}
		b.Run(ConvNames[i], func(b *testing.B) {
			for b.Loop() {
				newWinograd(&l, l.wino.m, w)
			}
			b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}
