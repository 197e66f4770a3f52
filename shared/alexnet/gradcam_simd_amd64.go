//go:build goexperiment.simd && amd64

package alexnet

import (
	"simd/archsimd"
	"unsafe"
)

// Grad-CAM's axpy with AVX2+FMA (see gemm_simd_amd64.go for the build).

func init() {
	if archsimd.X86.AVX2() && archsimd.X86.FMA() {
		axpyKernel = axpyAVX2
	}
}

// axpyAVX2 is axpy sixteen floats at a time, a·x + y fused.
func axpyAVX2(y []float32, a float32, x []float32) {
	n := len(y)
	if n == 0 {
		return
	}
	_ = x[n-1]
	py := unsafe.Pointer(unsafe.SliceData(y))
	px := unsafe.Pointer(unsafe.SliceData(x))
	va := archsimd.BroadcastFloat32x8(a)
	i := 0
	for ; i+16 <= n; i += 16 {
		q, r := unsafe.Add(py, 4*i), unsafe.Add(px, 4*i)
		y0 := va.MulAdd(f8(r), f8(q))
		y1 := va.MulAdd(f8(unsafe.Add(r, 32)), f8(unsafe.Add(q, 32)))
		y0.StoreArray((*[8]float32)(q))
		y1.StoreArray((*[8]float32)(unsafe.Add(q, 32)))
	}
	for ; i < n; i++ {
		y[i] += a * x[i]
	}
}
