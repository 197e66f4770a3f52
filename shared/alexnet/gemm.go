package alexnet

import (
	"runtime"
	"sync"
	"unsafe"
)

// The convolution GEMM multiplies a packed weight matrix A (M = output
// channels, K = in·kh·kw) by a packed patch matrix B (K × N output pixels).
// A is packed in panels of gemmMR rows, B in panels of gemmNR columns, each
// panel k-major so that the micro-kernel reads both sequentially:
//
//	A panel p: a[p·MR·K + k·MR + r] = A[p·MR + r][k]
//	B panel q: b[q·NR·K + k·NR + t] = B[k][q·NR + t]
//
// Missing rows and columns at the edges are zero.
const (
	gemmMR = 2
	gemmNR = 4
)

// gemmKC is the depth of one k block. A k block of A (M × KC floats, at
// most 384 × 256 × 4 B = 384 KiB) stays in L2 while one B panel block
// (NR × KC, 4 KiB) stays in L1. Measured natively: KC = 256 is about 10%
// faster than no blocking on conv3–5 (K up to 3456); in wasm the difference
// is within noise.
const gemmKC = 256

// packA packs the row-major m×k matrix a into MR-row panels.
func packA(a []float32, m, k int) []float32 {
	panels := (m + gemmMR - 1) / gemmMR
	dst := make([]float32, panels*gemmMR*k)
	for i := 0; i < m; i++ {
		p, r := i/gemmMR, i%gemmMR
		d := dst[p*gemmMR*k:]
		for kk, v := range a[i*k : (i+1)*k] {
			d[kk*gemmMR+r] = v
		}
	}
	return dst
}

// kernel2x4 returns the 2×4 block Σ_k a[k]ᵀ·b[k] of one A panel slice a
// (2k floats) and one B panel slice b (4k floats), as c[r*4+t].
//
// Eight float32 accumulators plus six operands fit in the 16 float registers
// of both amd64 and Go's wasm backend; larger tiles spill. Pointer
// arithmetic instead of slice indexing removes the per-iteration bounds and
// slice-header updates (native: 3.8 vs 3.1 GMAC/s for the slice-walking
// form).
func kernel2x4(a, b []float32, k int) (c [8]float32) {
	if k == 0 {
		return c
	}
	_ = a[2*k-1]
	_ = b[4*k-1]
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	pa := unsafe.Pointer(unsafe.SliceData(a))
	pb := unsafe.Pointer(unsafe.SliceData(b))
	end := unsafe.Add(pa, 8*k)
	for pa != end {
		a0 := *(*float32)(pa)
		a1 := *(*float32)(unsafe.Add(pa, 4))
		b0 := *(*float32)(pb)
		b1 := *(*float32)(unsafe.Add(pb, 4))
		b2 := *(*float32)(unsafe.Add(pb, 8))
		b3 := *(*float32)(unsafe.Add(pb, 12))
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		pa = unsafe.Add(pa, 8)
		pb = unsafe.Add(pb, 16)
	}
	return [8]float32{c00, c01, c02, c03, c10, c11, c12, c13}
}

// gemmPanels computes, for the B panels q in [q0, q1),
//
//	c[i*ldc + j] = ReLU(bias[i] + Σ_k A[i][k]·B[k][j])
//
// for every row i < m and column j < n of those panels. pa and pb are packed
// as described above with depth k.
func gemmPanels(c []float32, ldc int, pa []float32, m int, pb []float32, n, k int, bias []float32, q0, q1 int) {
	rowPanels := (m + gemmMR - 1) / gemmMR
	for kb := 0; kb < k; kb += gemmKC {
		kc := min(gemmKC, k-kb)
		first, last := kb == 0, kb+kc == k
		for q := q0; q < q1; q++ {
			bp := pb[q*gemmNR*k+kb*gemmNR : q*gemmNR*k+(kb+kc)*gemmNR]
			j0 := q * gemmNR
			cols := min(gemmNR, n-j0)
			for p := 0; p < rowPanels; p++ {
				ap := pa[p*gemmMR*k+kb*gemmMR : p*gemmMR*k+(kb+kc)*gemmMR]
				acc := kernel2x4(ap, bp, kc)
				i0 := p * gemmMR
				for r := 0; r < gemmMR && i0+r < m; r++ {
					row := c[(i0+r)*ldc+j0 : (i0+r)*ldc+j0+cols]
					a := acc[r*gemmNR : r*gemmNR+cols]
					switch {
					case first && last:
						b := bias[i0+r]
						for t := range row {
							row[t] = max(a[t]+b, 0)
						}
					case first:
						copy(row, a)
					case last:
						b := bias[i0+r]
						for t := range row {
							row[t] = max(row[t]+a[t]+b, 0)
						}
					default:
						for t := range row {
							row[t] += a[t]
						}
					}
				}
			}
		}
	}
}

// workers is the number of goroutines worth splitting work over: 1 on
// js/wasm (GOMAXPROCS is 1 there), so that the wasm build never pays for
// goroutines.
func workers() int { return runtime.GOMAXPROCS(0) }

// parallel splits [0, n) into at most workers() contiguous chunks of at
// least minChunk items and runs fn on each; with one chunk it calls fn
// directly, without a goroutine.
func parallel(n, minChunk int, fn func(lo, hi int)) {
	w := min(workers(), n/max(minChunk, 1))
	if w <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := range w {
		lo, hi := i*n/w, (i+1)*n/w
		wg.Go(func() { fn(lo, hi) })
	}
	wg.Wait()
}
