//go:build goexperiment.simd && amd64

package alexnet

import (
	"simd/archsimd"
	"unsafe"
)

// This file is built natively on amd64 with GOEXPERIMENT=simd (the
// magefile's native builds; Go 1.27's archsimd takes array pointers in the
// *Array loads and stores). The kernels use AVX2 and FMA, checked at init:
// without them the scalar kernels stay.

func init() {
	if !archsimd.X86.AVX2() || !archsimd.X86.FMA() {
		return
	}
	gemmTile = tileAVX2
	gemmWide = wideAVX2
	combineLanes = combineLanesAVX2
	denseDot8 = dot8AVX2
	simdKernels = "amd64 AVX2+FMA (archsimd.Float32x8)"
	simdExact = false // fused multiply-adds round once, not twice
}

// f8 loads eight float32 values at p.
func f8(p unsafe.Pointer) archsimd.Float32x8 {
	return archsimd.LoadFloat32x8Array((*[8]float32)(p))
}

// splat8 loads the float32 at p into all eight lanes.
func splat8(p unsafe.Pointer) archsimd.Float32x8 {
	return archsimd.BroadcastFloat32x8(*(*float32)(p))
}

// tileAVX2 is gemmTile with one Float32x8 accumulator per row of the tile.
func tileAVX2(c *[gemmMR * gemmNR]float32, a, b []float32, k int) {
	if k == 0 {
		*c = [gemmMR * gemmNR]float32{}
		return
	}
	_ = a[gemmMR*k-1]
	_ = b[gemmNR*k-1]
	pa := unsafe.Pointer(unsafe.SliceData(a))
	pb := unsafe.Pointer(unsafe.SliceData(b))
	var c0, c1, c2, c3 archsimd.Float32x8
	for i := range k {
		qa := unsafe.Add(pa, 4*gemmMR*i)
		b0 := f8(unsafe.Add(pb, 4*gemmNR*i))
		c0 = splat8(qa).MulAdd(b0, c0)
		c1 = splat8(unsafe.Add(qa, 4)).MulAdd(b0, c1)
		c2 = splat8(unsafe.Add(qa, 8)).MulAdd(b0, c2)
		c3 = splat8(unsafe.Add(qa, 12)).MulAdd(b0, c3)
	}
	c0.StoreArray((*[8]float32)(c[0:8]))
	c1.StoreArray((*[8]float32)(c[8:16]))
	c2.StoreArray((*[8]float32)(c[16:24]))
	c3.StoreArray((*[8]float32)(c[24:32]))
}

// wideAVX2 is gemmWide for two B panels: 4 rows × 16 columns in eight
// Float32x8 accumulators.
func wideAVX2(c *[gemmWideNB][gemmMR * gemmNR]float32, a, b []float32, k int) {
	if k == 0 {
		*c = [gemmWideNB][gemmMR * gemmNR]float32{}
		return
	}
	_ = a[gemmMR*k-1]
	_ = b[gemmWideNB*gemmNR*k-1]
	pa := unsafe.Pointer(unsafe.SliceData(a))
	pb0 := unsafe.Pointer(unsafe.SliceData(b))
	pb1 := unsafe.Add(pb0, 4*gemmNR*k)
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x8
	i := 0
	for ; i+2 <= k; i += 2 {
		qa := unsafe.Add(pa, 4*gemmMR*i)
		off := 4 * gemmNR * i
		b0 := f8(unsafe.Add(pb0, off))
		b1 := f8(unsafe.Add(pb1, off))
		a0 := splat8(qa)
		c00 = a0.MulAdd(b0, c00)
		c01 = a0.MulAdd(b1, c01)
		a1 := splat8(unsafe.Add(qa, 4))
		c10 = a1.MulAdd(b0, c10)
		c11 = a1.MulAdd(b1, c11)
		a2 := splat8(unsafe.Add(qa, 8))
		c20 = a2.MulAdd(b0, c20)
		c21 = a2.MulAdd(b1, c21)
		a3 := splat8(unsafe.Add(qa, 12))
		c30 = a3.MulAdd(b0, c30)
		c31 = a3.MulAdd(b1, c31)
		qa = unsafe.Add(qa, 4*gemmMR)
		off += 4 * gemmNR
		b0 = f8(unsafe.Add(pb0, off))
		b1 = f8(unsafe.Add(pb1, off))
		a0 = splat8(qa)
		c00 = a0.MulAdd(b0, c00)
		c01 = a0.MulAdd(b1, c01)
		a1 = splat8(unsafe.Add(qa, 4))
		c10 = a1.MulAdd(b0, c10)
		c11 = a1.MulAdd(b1, c11)
		a2 = splat8(unsafe.Add(qa, 8))
		c20 = a2.MulAdd(b0, c20)
		c21 = a2.MulAdd(b1, c21)
		a3 = splat8(unsafe.Add(qa, 12))
		c30 = a3.MulAdd(b0, c30)
		c31 = a3.MulAdd(b1, c31)
	}
	if i < k {
		qa := unsafe.Add(pa, 4*gemmMR*i)
		off := 4 * gemmNR * i
		b0 := f8(unsafe.Add(pb0, off))
		b1 := f8(unsafe.Add(pb1, off))
		a0 := splat8(qa)
		c00 = a0.MulAdd(b0, c00)
		c01 = a0.MulAdd(b1, c01)
		a1 := splat8(unsafe.Add(qa, 4))
		c10 = a1.MulAdd(b0, c10)
		c11 = a1.MulAdd(b1, c11)
		a2 := splat8(unsafe.Add(qa, 8))
		c20 = a2.MulAdd(b0, c20)
		c21 = a2.MulAdd(b1, c21)
		a3 := splat8(unsafe.Add(qa, 12))
		c30 = a3.MulAdd(b0, c30)
		c31 = a3.MulAdd(b1, c31)
	}
	for j, row := range [gemmWideNB][gemmMR]archsimd.Float32x8{{c00, c10, c20, c30}, {c01, c11, c21, c31}} {
		for r, v := range row {
			v.StoreArray((*[8]float32)(c[j][r*gemmNR : (r+1)*gemmNR]))
		}
	}
}

// combineLanesAVX2 is combineLanes with the eight lanes in one Float32x8,
// multiplying and adding separately, as combineLanesScalar does: the same
// results.
func combineLanesAVX2(dst *lanes, row []term, src []lanes, stride int) {
	var s archsimd.Float32x8
	for _, e := range row {
		x := archsimd.LoadFloat32x8Array(&src[e.k*stride])
		s = s.Add(archsimd.BroadcastFloat32x8(e.v).Mul(x))
	}
	s.StoreArray(dst)
}

// dot8AVX2 is denseDot8 with eight partial sums per row in one Float32x8,
// with fused multiply-adds.
func dot8AVX2(w, x []float32) (s [8]float32) {
	n := len(x)
	_ = w[8*n-1]
	px := unsafe.Pointer(unsafe.SliceData(x))
	pw := unsafe.Pointer(unsafe.SliceData(w))
	row := uintptr(4 * n)
	var c0, c1, c2, c3, c4, c5, c6, c7 archsimd.Float32x8
	i := 0
	for ; i+8 <= n; i += 8 {
		xv := f8(unsafe.Add(px, 4*i))
		q := unsafe.Add(pw, 4*i)
		c0 = f8(q).MulAdd(xv, c0)
		c1 = f8(unsafe.Add(q, row)).MulAdd(xv, c1)
		c2 = f8(unsafe.Add(q, 2*row)).MulAdd(xv, c2)
		c3 = f8(unsafe.Add(q, 3*row)).MulAdd(xv, c3)
		c4 = f8(unsafe.Add(q, 4*row)).MulAdd(xv, c4)
		c5 = f8(unsafe.Add(q, 5*row)).MulAdd(xv, c5)
		c6 = f8(unsafe.Add(q, 6*row)).MulAdd(xv, c6)
		c7 = f8(unsafe.Add(q, 7*row)).MulAdd(xv, c7)
	}
	for r, c := range [8]archsimd.Float32x8{c0, c1, c2, c3, c4, c5, c6, c7} {
		var v [8]float32
		c.StoreArray(&v)
		s[r] = ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]))
		for j := i; j < n; j++ {
			s[r] += w[r*n+j] * x[j]
		}
	}
	return s
}
