//go:build goexperiment.simd && wasm

package alexnet

import (
	"simd/archsimd"
	"unsafe"
)

// Grad-CAM's axpy in wasm SIMD (see gemm_simd_wasm.go for the build).

func init() { axpyKernel = axpyWasmSIMD }

// axpyWasmSIMD is axpy eight floats at a time (two Float32x4), multiplying
// and adding separately as axpy does: the results are bit-identical to it.
func axpyWasmSIMD(y []float32, a float32, x []float32) {
	n := len(y)
	if n == 0 {
		return
	}
	_ = x[n-1]
	py := unsafe.Pointer(unsafe.SliceData(y))
	px := unsafe.Pointer(unsafe.SliceData(x))
	va := archsimd.BroadcastFloat32x4(a)
	i := 0
	for ; i+8 <= n; i += 8 {
		q, r := unsafe.Add(py, 4*i), unsafe.Add(px, 4*i)
		y0 := f4(q).Add(va.Mul(f4(r)))
		y1 := f4(unsafe.Add(q, 16)).Add(va.Mul(f4(unsafe.Add(r, 16))))
		y0.StoreArray((*[4]float32)(q))
		y1.StoreArray((*[4]float32)(unsafe.Add(q, 16)))
	}
	for ; i < n; i++ {
		y[i] += a * x[i]
	}
}
