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
// of both amd64 and Go's wasm backend; larger tiles spill. Measured on this
// project's 2-core AMD EPYC (min of several runs, full AlexNet convs):
//
//	                           amd64, 1 thread   js/wasm, node 20
//	2×4 (this kernel)          3.6 GMAC/s        2.0–2.2 GMAC/s
//	3×4                        –                 1.2–1.4 GMAC/s
//	2×4, walking slices        ~3.0 GMAC/s       within noise of this one
//
// Offsets from the base pointers instead of slice indexing remove the
// per-iteration bounds checks and slice-header updates.
func kernel2x4(a, b []float32, k int) (c [8]float32) {
	if k == 0 {
		return c
	}
	_ = a[2*k-1]
	_ = b[4*k-1]
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	pa := unsafe.Pointer(unsafe.SliceData(a))
	pb := unsafe.Pointer(unsafe.SliceData(b))
	// Offsets from the base pointers rather than advancing pointers: a
	// pointer one past the end of a slice is invalid, even transiently.
	for i := range k {
		qa := unsafe.Add(pa, 8*i)
		qb := unsafe.Add(pb, 16*i)
		a0 := *(*float32)(qa)
		a1 := *(*float32)(unsafe.Add(qa, 4))
		b0 := *(*float32)(qb)
		b1 := *(*float32)(unsafe.Add(qb, 4))
		b2 := *(*float32)(unsafe.Add(qb, 8))
		b3 := *(*float32)(unsafe.Add(qb, 12))
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
	}
	return [8]float32{c00, c01, c02, c03, c10, c11, c12, c13}
}

// gemmPanels computes, for the B panels q in [q0, q1),
//
//	c[i*ldc + j] = ReLU(bias[i] + Σ_k A[i][k]·B[k][j])
//
// for every row i < m and column j < n of those panels. pa and pb are packed
// as described above with depth k. With a nil bias it stores the plain
// sums, without bias or ReLU.
//
// There is no blocking over k: with a scalar kernel the loop is bound by
// arithmetic, not memory, and splitting k into blocks of 128–512 (so that a
// block of A stays in L2) measured 5–15% slower, both natively and in wasm,
// from the extra passes over C. One B panel (at most 4 × 3456 floats) stays
// in L1/L2 while all of A streams past it.
func gemmPanels(c []float32, ldc int, pa []float32, m int, pb []float32, n, k int, bias []float32, q0, q1 int) {
	rowPanels := (m + gemmMR - 1) / gemmMR
	for q := q0; q < q1; q++ {
		bp := pb[q*gemmNR*k : (q+1)*gemmNR*k]
		j0 := q * gemmNR
		cols := min(gemmNR, n-j0)
		for p := range rowPanels {
			acc := kernel2x4(pa[p*gemmMR*k:(p+1)*gemmMR*k], bp, k)
			i0 := p * gemmMR
			for r := 0; r < gemmMR && i0+r < m; r++ {
				row := c[(i0+r)*ldc+j0 : (i0+r)*ldc+j0+cols]
				a := acc[r*gemmNR : r*gemmNR+cols]
				if bias == nil {
					copy(row, a)
					continue
				}
				b := bias[i0+r]
				for t := range row {
					row[t] = relu(a[t] + b)
				}
			}
		}
	}
}

// relu returns max(v, 0), keeping NaN. The builtin max on floats compiles
// to a runtime call in wasm (runtime.fmax32, 2% of a forward pass); this
// inlines.
func relu(v float32) float32 {
	if v < 0 {
		return 0
	}
	return v
}

// fmax returns the larger of a and b, NaN if either is NaN; see relu.
func fmax(a, b float32) float32 {
	if a > b || a != a {
		return a
	}
	return b
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
