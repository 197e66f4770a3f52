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
// Missing rows and columns at the edges are zero. Every build uses this one
// layout; what differs is the micro-kernel that multiplies one A panel by
// one B panel (or, natively, by several B panels side by side):
//
//   - tileScalar (this file), the portable kernel: a 4×8 tile computed as
//     four 2×4 register blocks, the most a scalar tile can hold in the 16
//     float registers of Go's wasm and amd64 backends without spilling;
//   - with GOEXPERIMENT=simd on js/wasm (Go ≥ 1.27), tileToWasmSIMD
//     (gemm_simd_wasm.go): the same 4×8 tile in eight archsimd.Float32x4
//     accumulators, bit-identical to tileScalar, stored straight into C
//     with the bias and ReLU (gemmTileTo) when the tile is whole;
//   - with GOEXPERIMENT=simd on amd64 with AVX2 and FMA, the
//     kernels of gemm_simd_amd64.go: 4 rows × 2 B panels in eight
//     Float32x8 accumulators with fused multiply-adds (within 1e-5
//     relative of the scalar sums, not bit-identical).
const (
	gemmMR = 4
	gemmNR = 8
)

// simdKernels names the SIMD micro-kernels this build uses ("" for the
// portable scalar ones); simdExact reports whether they give bit-identical
// results to the scalar ones (no fused multiply-add). SIMD builds set both
// at init.
var (
	simdKernels string
	simdExact   = true
)

// Kernels describes the matrix kernels this build runs: "scalar", or the
// SIMD instruction set and vector type, e.g. "wasm simd128
// (archsimd.Float32x4)".
func Kernels() string {
	if simdKernels == "" {
		return "scalar"
	}
	return simdKernels
}

// gemmTile is the micro-kernel for one A panel slice a (MR·k floats) and
// one B panel slice b (NR·k floats): c[r·NR + t] = Σ_k a[k·MR+r]·b[k·NR+t].
// SIMD builds replace it at init.
var gemmTile = tileScalar

// gemmWide, when a SIMD build sets it, computes gemmWideNB B panels at once:
// b holds them back to back (panel j at b[j·NR·k:]) and c[j] receives the
// tile of panel j, as gemmTile would.
var gemmWide func(c *[gemmWideNB][gemmMR * gemmNR]float32, a, b []float32, k int)

// gemmWideNB is the number of B panels gemmWide handles at once.
const gemmWideNB = 2

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

// tileScalar is the portable micro-kernel (see gemmTile). It computes the
// 4×8 tile as four 2×4 blocks, each summed over the whole of k in order, so
// every output is the same left-to-right sum of products as the SIMD tile
// kernel without fused multiply-add.
func tileScalar(c *[gemmMR * gemmNR]float32, a, b []float32, k int) {
	for r := 0; r < gemmMR; r += 2 {
		for t := 0; t < gemmNR; t += 4 {
			blk := kernel2x4(a, b, k, r, t)
			copy(c[r*gemmNR+t:r*gemmNR+t+4], blk[:4])
			copy(c[(r+1)*gemmNR+t:(r+1)*gemmNR+t+4], blk[4:])
		}
	}
}

// kernel2x4 returns the 2×4 block of rows r, r+1 and columns t..t+3 of the
// product of one A panel slice a (MR·k floats) and one B panel slice b
// (NR·k floats), as c[i*4+j].
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
func kernel2x4(a, b []float32, k, r, t int) (c [8]float32) {
	if k == 0 {
		return c
	}
	_ = a[gemmMR*(k-1)+r+1]
	_ = b[gemmNR*(k-1)+t+3]
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	pa := unsafe.Add(unsafe.Pointer(unsafe.SliceData(a)), 4*r)
	pb := unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), 4*t)
	// Offsets from the base pointers rather than advancing pointers: a
	// pointer one past the end of a slice is invalid, even transiently.
	for i := range k {
		qa := unsafe.Add(pa, 4*gemmMR*i)
		qb := unsafe.Add(pb, 4*gemmNR*i)
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
// from the extra passes over C. The B panels of one step (at most 3 × 8 ×
// 3456 floats) stay in L1/L2 while all of A streams past them.
func gemmPanels(c []float32, ldc int, pa []float32, m int, pb []float32, n, k int, bias []float32, q0, q1 int) {
	rowPanels := (m + gemmMR - 1) / gemmMR
	store := func(acc *[gemmMR * gemmNR]float32, p, q int) {
		i0, j0 := p*gemmMR, q*gemmNR
		cols := min(gemmNR, n-j0)
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
	q := q0
	if gemmWide != nil {
		var wide [gemmWideNB][gemmMR * gemmNR]float32
		for ; q+gemmWideNB <= q1; q += gemmWideNB {
			bp := pb[q*gemmNR*k : (q+gemmWideNB)*gemmNR*k]
			for p := range rowPanels {
				gemmWide(&wide, pa[p*gemmMR*k:(p+1)*gemmMR*k], bp, k)
				for j := range wide {
					store(&wide[j], p, q+j)
				}
			}
		}
	}
	var acc [gemmMR * gemmNR]float32
	for ; q < q1; q++ {
		bp := pb[q*gemmNR*k : (q+1)*gemmNR*k]
		j0 := q * gemmNR
		for p := range rowPanels {
			ap := pa[p*gemmMR*k : (p+1)*gemmMR*k]
			if i0 := p * gemmMR; gemmTileTo != nil && j0+gemmNR <= n && i0+gemmMR <= m {
				var b []float32
				if bias != nil {
					b = bias[i0 : i0+gemmMR]
				}
				gemmTileTo(c[i0*ldc+j0:], ldc, ap, bp, k, b)
				continue
			}
			gemmTile(&acc, ap, bp, k)
			store(&acc, p, q)
		}
	}
}

// gemmTileTo, when a SIMD build sets it, is gemmTile for a whole tile of
// C: it stores row r of the tile at c[r·ldc:], each value v as
// relu(v + bias[r]) (as gemmPanels's store does) when bias is not nil.
var gemmTileTo func(c []float32, ldc int, a, b []float32, k int, bias []float32)

// relu returns max(v, 0), keeping NaN; -0 gives +0, as wasm's f32x4.max
// (v, 0) and archsimd's Max do, so that SIMD versions are bit-identical.
// The builtin max on floats compiles to a runtime call in wasm
// (runtime.fmax32, 2% of a forward pass); this inlines.
func relu(v float32) float32 {
	if v <= 0 {
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
