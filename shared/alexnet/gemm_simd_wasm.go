//go:build goexperiment.simd && wasm

package alexnet

import (
	"simd/archsimd"
	"unsafe"
)

// This file is built for js/wasm with GOEXPERIMENT=simd, which needs Go ≥
// 1.27 (Go 1.26 has no wasm SIMD): `go tool mage wasm` builds with
// GOTOOLCHAIN=go1.27.3. archsimd.Float32x4 compiles to wasm's v128
// instructions (v128.load, f32x4.mul, f32x4.add); the portable simd
// package is slower there, since its vector length is a run-time value.

func init() {
	gemmTile = tileWasmSIMD
	gemmTileTo = tileToWasmSIMD
	combineLanes = combineLanesWasmSIMD
	denseDot8 = dot8WasmSIMD
	simdKernels = "wasm simd128 (archsimd.Float32x4)"
}

// f4 loads four float32 values at p.
func f4(p unsafe.Pointer) archsimd.Float32x4 {
	return archsimd.LoadFloat32x4Array((*[4]float32)(p))
}

// splat loads the float32 at p into all four lanes.
func splat(p unsafe.Pointer) archsimd.Float32x4 {
	return archsimd.BroadcastFloat32x4(*(*float32)(p))
}

// tileWasmSIMD is gemmTile in wasm SIMD (tileToWasmSIMD into c).
func tileWasmSIMD(c *[gemmMR * gemmNR]float32, a, b []float32, k int) {
	tileToWasmSIMD(c[:], gemmNR, a, b, k, nil)
}

// tileToWasmSIMD is gemmTileTo in wasm SIMD: the 4×8 tile in eight
// Float32x4 accumulators (row r, columns 0–3 and 4–7), the k loop
// unrolled twice, stored straight into c's rows, with the bias and ReLU
// in vectors. With the two B vectors and one broadcast A value that is 11
// live vectors, within wasm's 16. MulAdd is
// emulated on wasm, so this multiplies and adds separately, in the same
// order as tileScalar, and adds the bias and applies ReLU as gemmPanels's
// store does (relu(v) = f32x4.max(v, 0)): the results are bit-identical.
//
// Measured in Chromium on AlexNet's conv GEMMs: 11–12 GMAC/s, against
// 2.0–2.4 for tileScalar, before the change of register use below; under
// node 20, 14–15 GMAC/s after it (9–10 before); unrolling k twice is worth
// about 30% (Go's wasm loops pay for their dispatch), four times is
// slower (13.5–14.7). Storing into C directly, instead of into a tile
// that gemmPanels copies, saves a further 15–30% of conv1's GEMM time.
func tileToWasmSIMD(c []float32, ldc int, pa, pb []float32, k int, bias []float32) {
	if len(pa) < gemmMR*k || len(pb) < gemmNR*k || len(c) < (gemmMR-1)*ldc+gemmNR || (bias != nil && len(bias) < gemmMR) {
		panic("alexnet: GEMM tile out of range")
	}
	// One variable for the broadcast A value of every row, reused, and
	// nothing else live across the loop: with a variable per row Go's
	// register allocator kept an accumulator on the stack, and the kernel
	// ran at 9–10 GMAC/s instead of 14–15 (node 20).
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x4
	var a, b0, b1 archsimd.Float32x4
	ap := unsafe.Pointer(unsafe.SliceData(pa))
	bp := unsafe.Pointer(unsafe.SliceData(pb))
	i := 0
	for ; i+2 <= k; i += 2 {
		qa := unsafe.Add(ap, 4*gemmMR*i)
		qb := unsafe.Add(bp, 4*gemmNR*i)
		b0, b1 = f4(unsafe.Add(qb, 0)), f4(unsafe.Add(qb, 16))
		a = splat(unsafe.Add(qa, 0))
		c00 = c00.Add(a.Mul(b0))
		c01 = c01.Add(a.Mul(b1))
		a = splat(unsafe.Add(qa, 4))
		c10 = c10.Add(a.Mul(b0))
		c11 = c11.Add(a.Mul(b1))
		a = splat(unsafe.Add(qa, 8))
		c20 = c20.Add(a.Mul(b0))
		c21 = c21.Add(a.Mul(b1))
		a = splat(unsafe.Add(qa, 12))
		c30 = c30.Add(a.Mul(b0))
		c31 = c31.Add(a.Mul(b1))
		b0, b1 = f4(unsafe.Add(qb, 32)), f4(unsafe.Add(qb, 48))
		a = splat(unsafe.Add(qa, 16))
		c00 = c00.Add(a.Mul(b0))
		c01 = c01.Add(a.Mul(b1))
		a = splat(unsafe.Add(qa, 20))
		c10 = c10.Add(a.Mul(b0))
		c11 = c11.Add(a.Mul(b1))
		a = splat(unsafe.Add(qa, 24))
		c20 = c20.Add(a.Mul(b0))
		c21 = c21.Add(a.Mul(b1))
		a = splat(unsafe.Add(qa, 28))
		c30 = c30.Add(a.Mul(b0))
		c31 = c31.Add(a.Mul(b1))
	}
	if i < k {
		qa := unsafe.Add(ap, 4*gemmMR*i)
		qb := unsafe.Add(bp, 4*gemmNR*i)
		b0, b1 = f4(unsafe.Add(qb, 0)), f4(unsafe.Add(qb, 16))
		a = splat(unsafe.Add(qa, 0))
		c00 = c00.Add(a.Mul(b0))
		c01 = c01.Add(a.Mul(b1))
		a = splat(unsafe.Add(qa, 4))
		c10 = c10.Add(a.Mul(b0))
		c11 = c11.Add(a.Mul(b1))
		a = splat(unsafe.Add(qa, 8))
		c20 = c20.Add(a.Mul(b0))
		c21 = c21.Add(a.Mul(b1))
		a = splat(unsafe.Add(qa, 12))
		c30 = c30.Add(a.Mul(b0))
		c31 = c31.Add(a.Mul(b1))
	}
	if bias != nil {
		var zero archsimd.Float32x4
		v := archsimd.BroadcastFloat32x4(bias[0])
		c00, c01 = c00.Add(v).Max(zero), c01.Add(v).Max(zero)
		v = archsimd.BroadcastFloat32x4(bias[1])
		c10, c11 = c10.Add(v).Max(zero), c11.Add(v).Max(zero)
		v = archsimd.BroadcastFloat32x4(bias[2])
		c20, c21 = c20.Add(v).Max(zero), c21.Add(v).Max(zero)
		v = archsimd.BroadcastFloat32x4(bias[3])
		c30, c31 = c30.Add(v).Max(zero), c31.Add(v).Max(zero)
	}
	pc := unsafe.Pointer(unsafe.SliceData(c))
	row := uintptr(4 * ldc)
	store8(pc, c00, c01)
	store8(unsafe.Add(pc, row), c10, c11)
	store8(unsafe.Add(pc, 2*row), c20, c21)
	store8(unsafe.Add(pc, 3*row), c30, c31)
}

// combineLanesWasmSIMD is combineLanes with the eight lanes in two
// Float32x4, multiplying and adding separately, as combineLanesScalar
// does: bit-identical results.
func combineLanesWasmSIMD(dst *lanes, row []term, src []lanes, stride int) {
	var s0, s1 archsimd.Float32x4
	for _, e := range row {
		x := &src[e.k*stride]
		w := archsimd.BroadcastFloat32x4(e.v)
		s0 = s0.Add(w.Mul(archsimd.LoadFloat32x4Array((*[4]float32)(x[0:4]))))
		s1 = s1.Add(w.Mul(archsimd.LoadFloat32x4Array((*[4]float32)(x[4:8]))))
	}
	s0.StoreArray((*[4]float32)(dst[0:4]))
	s1.StoreArray((*[4]float32)(dst[4:8]))
}

// dot8WasmSIMD is denseDot8 with four partial sums per row in one
// Float32x4: eight accumulators, the x vector and a loaded row vector.
func dot8WasmSIMD(w, x []float32) (s [8]float32) {
	n := len(x)
	_ = w[8*n-1]
	px := unsafe.Pointer(unsafe.SliceData(x))
	pw := unsafe.Pointer(unsafe.SliceData(w))
	row := uintptr(4 * n)
	var c0, c1, c2, c3, c4, c5, c6, c7 archsimd.Float32x4
	i := 0
	for ; i+4 <= n; i += 4 {
		xv := f4(unsafe.Add(px, 4*i))
		q := unsafe.Add(pw, 4*i)
		c0 = c0.Add(f4(q).Mul(xv))
		c1 = c1.Add(f4(unsafe.Add(q, row)).Mul(xv))
		c2 = c2.Add(f4(unsafe.Add(q, 2*row)).Mul(xv))
		c3 = c3.Add(f4(unsafe.Add(q, 3*row)).Mul(xv))
		c4 = c4.Add(f4(unsafe.Add(q, 4*row)).Mul(xv))
		c5 = c5.Add(f4(unsafe.Add(q, 5*row)).Mul(xv))
		c6 = c6.Add(f4(unsafe.Add(q, 6*row)).Mul(xv))
		c7 = c7.Add(f4(unsafe.Add(q, 7*row)).Mul(xv))
	}
	for r, c := range [8]archsimd.Float32x4{c0, c1, c2, c3, c4, c5, c6, c7} {
		var v [4]float32
		c.StoreArray(&v)
		s[r] = (v[0] + v[1]) + (v[2] + v[3])
		for j := i; j < n; j++ {
			s[r] += w[r*n+j] * x[j]
		}
	}
	return s
}
