//go:build goexperiment.simd && wasm

package alexnet

import (
	"simd/archsimd"
	"unsafe"
)

// The int8 dense kernels in wasm SIMD (see gemm_simd_wasm.go for the
// build): sixteen weights are one v128 load, sign-extended to int16
// (i16x8.extend_low/high_i8x16_s), to int32, and converted to float32
// (f32x4.convert_i32x4_s).

func init() {
	denseDot8Int8 = dot8Int8WasmSIMD
	axpyInt8Kernel = axpyInt8WasmSIMD
	axpy2Int8Kernel = axpy2Int8WasmSIMD
}

// i8x16 loads sixteen int8 values at p.
func i8x16(p unsafe.Pointer) archsimd.Int8x16 {
	return archsimd.LoadInt8x16Array((*[16]int8)(p))
}

// int8Floats converts sixteen int8 values to four Float32x4.
func int8Floats(v archsimd.Int8x16) (f0, f1, f2, f3 archsimd.Float32x4) {
	lo, hi := v.ExtendLo8ToInt16(), v.ExtendHi8ToInt16()
	return lo.ExtendLo4ToInt32().ConvertToFloat32(), lo.ExtendHi4ToInt32().ConvertToFloat32(),
		hi.ExtendLo4ToInt32().ConvertToFloat32(), hi.ExtendHi4ToInt32().ConvertToFloat32()
}

// dot16Int8 returns the four partial sums of the sixteen int8 weights at p
// times the sixteen inputs x0..x3.
func dot16Int8(p unsafe.Pointer, x0, x1, x2, x3 archsimd.Float32x4) archsimd.Float32x4 {
	f0, f1, f2, f3 := int8Floats(i8x16(p))
	return f0.Mul(x0).Add(f1.Mul(x1)).Add(f2.Mul(x2).Add(f3.Mul(x3)))
}

// dot8Int8WasmSIMD is denseDot8Int8 with four partial sums per row in one
// Float32x4, sixteen inputs per step: eight accumulators, the four input
// vectors, and one row's converted weights at a time.
func dot8Int8WasmSIMD(q []int8, x []float32) (s [8]float32) {
	n := len(x)
	_ = q[8*n-1]
	px := unsafe.Pointer(unsafe.SliceData(x))
	pq := unsafe.Pointer(unsafe.SliceData(q))
	row := uintptr(n)
	var c0, c1, c2, c3, c4, c5, c6, c7 archsimd.Float32x4
	i := 0
	for ; i+16 <= n; i += 16 {
		xp := unsafe.Add(px, 4*i)
		x0, x1, x2, x3 := f4(xp), f4(unsafe.Add(xp, 16)), f4(unsafe.Add(xp, 32)), f4(unsafe.Add(xp, 48))
		qp := unsafe.Add(pq, i)
		c0 = c0.Add(dot16Int8(qp, x0, x1, x2, x3))
		c1 = c1.Add(dot16Int8(unsafe.Add(qp, row), x0, x1, x2, x3))
		c2 = c2.Add(dot16Int8(unsafe.Add(qp, 2*row), x0, x1, x2, x3))
		c3 = c3.Add(dot16Int8(unsafe.Add(qp, 3*row), x0, x1, x2, x3))
		c4 = c4.Add(dot16Int8(unsafe.Add(qp, 4*row), x0, x1, x2, x3))
		c5 = c5.Add(dot16Int8(unsafe.Add(qp, 5*row), x0, x1, x2, x3))
		c6 = c6.Add(dot16Int8(unsafe.Add(qp, 6*row), x0, x1, x2, x3))
		c7 = c7.Add(dot16Int8(unsafe.Add(qp, 7*row), x0, x1, x2, x3))
	}
	for r, c := range [8]archsimd.Float32x4{c0, c1, c2, c3, c4, c5, c6, c7} {
		var v [4]float32
		c.StoreArray(&v)
		s[r] = (v[0] + v[1]) + (v[2] + v[3])
		for j := i; j < n; j++ {
			s[r] += float32(q[r*n+j]) * x[j]
		}
	}
	return s
}

// axpyInt8WasmSIMD is axpyInt8 sixteen values at a time, multiplying and
// adding separately, as axpyInt8 does: bit-identical results.
func axpyInt8WasmSIMD(y []float32, a float32, q []int8) {
	n := len(y)
	if n == 0 {
		return
	}
	_ = q[n-1]
	py := unsafe.Pointer(unsafe.SliceData(y))
	pq := unsafe.Pointer(unsafe.SliceData(q))
	va := archsimd.BroadcastFloat32x4(a)
	i := 0
	for ; i+16 <= n; i += 16 {
		p := unsafe.Add(py, 4*i)
		f0, f1, f2, f3 := int8Floats(i8x16(unsafe.Add(pq, i)))
		f4(p).Add(va.Mul(f0)).StoreArray((*[4]float32)(p))
		f4(unsafe.Add(p, 16)).Add(va.Mul(f1)).StoreArray((*[4]float32)(unsafe.Add(p, 16)))
		f4(unsafe.Add(p, 32)).Add(va.Mul(f2)).StoreArray((*[4]float32)(unsafe.Add(p, 32)))
		f4(unsafe.Add(p, 48)).Add(va.Mul(f3)).StoreArray((*[4]float32)(unsafe.Add(p, 48)))
	}
	for ; i < n; i++ {
		y[i] += a * float32(q[i])
	}
}

// axpy2Int8WasmSIMD is axpy2Int8 with each sixteen weights converted once
// for both outputs: bit-identical to two axpyInt8WasmSIMD calls.
func axpy2Int8WasmSIMD(y0, y1 []float32, a0, a1 float32, q []int8) {
	n := len(y0)
	if n == 0 {
		return
	}
	_, _ = q[n-1], y1[n-1]
	p0 := unsafe.Pointer(unsafe.SliceData(y0))
	p1 := unsafe.Pointer(unsafe.SliceData(y1))
	pq := unsafe.Pointer(unsafe.SliceData(q))
	va0, va1 := archsimd.BroadcastFloat32x4(a0), archsimd.BroadcastFloat32x4(a1)
	i := 0
	for ; i+16 <= n; i += 16 {
		f0, f1, f2, f3 := int8Floats(i8x16(unsafe.Add(pq, i)))
		for k, f := range [4]archsimd.Float32x4{f0, f1, f2, f3} {
			o := uintptr(4*i + 16*k)
			a, b := unsafe.Add(p0, o), unsafe.Add(p1, o)
			f4(a).Add(va0.Mul(f)).StoreArray((*[4]float32)(a))
			f4(b).Add(va1.Mul(f)).StoreArray((*[4]float32)(b))
		}
	}
	for ; i < n; i++ {
		v := float32(q[i])
		y0[i] += a0 * v
		y1[i] += a1 * v
	}
}
