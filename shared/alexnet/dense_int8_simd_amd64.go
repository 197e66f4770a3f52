//go:build goexperiment.simd && amd64

package alexnet

import (
	"simd/archsimd"
	"unsafe"
)

// The int8 dense kernels with AVX2+FMA (see gemm_simd_amd64.go for the
// build): eight weights at a time are sign-extended to int32 (VPMOVSXBD)
// and converted to float32 (VCVTDQ2PS).

func init() {
	if archsimd.X86.AVX2() && archsimd.X86.FMA() {
		denseDot8Int8 = dot8Int8AVX2
		axpyInt8Kernel = axpyInt8AVX2
	}
}

// i8x8 converts the eight int8 values at p to float32. It loads sixteen
// bytes: p+16 must be within the slice.
func i8x8(p unsafe.Pointer) archsimd.Float32x8 {
	return archsimd.LoadInt8x16Array((*[16]int8)(p)).ExtendLo8ToInt32().ConvertToFloat32()
}

// dot8Int8AVX2 is denseDot8Int8 with eight partial sums per row in one
// Float32x8, with fused multiply-adds.
func dot8Int8AVX2(q []int8, x []float32) (s [8]float32) {
	n := len(x)
	_ = q[8*n-1]
	px := unsafe.Pointer(unsafe.SliceData(x))
	pq := unsafe.Pointer(unsafe.SliceData(q))
	row := uintptr(n)
	var c0, c1, c2, c3, c4, c5, c6, c7 archsimd.Float32x8
	i := 0
	// i8x8 reads sixteen bytes for eight: stop while the last row has them.
	for ; i+16 <= n; i += 8 {
		xv := f8(unsafe.Add(px, 4*i))
		qp := unsafe.Add(pq, i)
		c0 = i8x8(qp).MulAdd(xv, c0)
		c1 = i8x8(unsafe.Add(qp, row)).MulAdd(xv, c1)
		c2 = i8x8(unsafe.Add(qp, 2*row)).MulAdd(xv, c2)
		c3 = i8x8(unsafe.Add(qp, 3*row)).MulAdd(xv, c3)
		c4 = i8x8(unsafe.Add(qp, 4*row)).MulAdd(xv, c4)
		c5 = i8x8(unsafe.Add(qp, 5*row)).MulAdd(xv, c5)
		c6 = i8x8(unsafe.Add(qp, 6*row)).MulAdd(xv, c6)
		c7 = i8x8(unsafe.Add(qp, 7*row)).MulAdd(xv, c7)
	}
	for r, c := range [8]archsimd.Float32x8{c0, c1, c2, c3, c4, c5, c6, c7} {
		var v [8]float32
		c.StoreArray(&v)
		s[r] = ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]))
		for j := i; j < n; j++ {
			s[r] += float32(q[r*n+j]) * x[j]
		}
	}
	return s
}

// axpyInt8AVX2 is axpyInt8 eight values at a time, a·q + y fused.
func axpyInt8AVX2(y []float32, a float32, q []int8) {
	n := len(y)
	if n == 0 {
		return
	}
	_ = q[n-1]
	py := unsafe.Pointer(unsafe.SliceData(y))
	pq := unsafe.Pointer(unsafe.SliceData(q))
	va := archsimd.BroadcastFloat32x8(a)
	i := 0
	for ; i+16 <= n; i += 8 {
		p := unsafe.Add(py, 4*i)
		va.MulAdd(i8x8(unsafe.Add(pq, i)), f8(p)).StoreArray((*[8]float32)(p))
	}
	for ; i < n; i++ {
		y[i] += a * float32(q[i])
	}
}
