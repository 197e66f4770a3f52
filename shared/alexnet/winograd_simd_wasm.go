//go:build goexperiment.simd && wasm

package alexnet

import (
	"simd/archsimd"
	"unsafe"
)

// The Winograd transforms in wasm SIMD (see gemm_simd_wasm.go for the
// build). transformIn and transformOut call combineLanes once per tile
// element, through a function value; in Go's wasm each call costs more
// than the few vector operations it does. These do a whole transform in
// one function, each element's sum in two Float32x4 (the panel's eight
// lanes), multiplying and adding separately in the order of the terms, as
// combineLanesScalar does: the results are bit-identical to the portable
// transforms.

func init() {
	winoIn = transformInWasmSIMD
	winoOut = transformOutWasmSIMD
}

// combine8 returns Σ_e e.v · x_e over the terms of row, lane by lane, from
// zero, where x_e is the eight floats at base + e.k·stride bytes.
func combine8(row []term, base unsafe.Pointer, stride uintptr) (s0, s1 archsimd.Float32x4) {
	for _, e := range row {
		x := unsafe.Add(base, uintptr(e.k)*stride)
		w := archsimd.BroadcastFloat32x4(e.v)
		s0 = s0.Add(w.Mul(f4(x)))
		s1 = s1.Add(w.Mul(f4(unsafe.Add(x, 16))))
	}
	return s0, s1
}

// store8 stores s0, s1 as eight floats at p.
func store8(p unsafe.Pointer, s0, s1 archsimd.Float32x4) {
	s0.StoreArray((*[4]float32)(p))
	s1.StoreArray((*[4]float32)(unsafe.Add(p, 16)))
}

// transformInWasmSIMD is transformIn (winoIn).
func transformInWasmSIMD(wg *winograd, v []float32, d, tmp *[64]lanes) {
	a := wg.a
	_ = v[(a*a-1)*wg.vStride+gemmNR-1]
	pv := unsafe.Pointer(unsafe.SliceData(v))
	pd := unsafe.Pointer(d)
	pt := unsafe.Pointer(tmp)
	const lane = unsafe.Sizeof(lanes{})
	col := uintptr(a) * lane
	for i, row := range wg.bt { // tmp = Bᵀ d
		for j := range a {
			s0, s1 := combine8(row, unsafe.Add(pd, uintptr(j)*lane), col)
			store8(unsafe.Add(pt, uintptr(i*a+j)*lane), s0, s1)
		}
	}
	for i := range a { // tmp B
		src := unsafe.Add(pt, uintptr(i*a)*lane)
		for j, row := range wg.bt {
			s0, s1 := combine8(row, src, lane)
			store8(unsafe.Add(pv, uintptr((i*a+j)*wg.vStride)*4), s0, s1)
		}
	}
}

// transformOutWasmSIMD is transformOutBias (winoOut).
func transformOutWasmSIMD(wg *winograd, mt *[64]lanes, m []float32, b float32, tmp *[64]lanes) {
	a, mo := wg.a, wg.m
	_ = m[(a*a-1)*wg.mStride+gemmNR-1]
	pm := unsafe.Pointer(unsafe.SliceData(m))
	pt := unsafe.Pointer(tmp)
	pmt := unsafe.Pointer(mt)
	const lane = unsafe.Sizeof(lanes{})
	// Copy the a² elements (each in another GEMM output) first: the first
	// pass reads each of them m times, and for conv2 the outputs (4.4 MB)
	// do not stay in cache.
	elem := uintptr(4 * wg.mStride)
	for e := range a * a {
		x := unsafe.Add(pm, uintptr(e)*elem)
		store8(unsafe.Add(pmt, uintptr(e)*lane), f4(x), f4(unsafe.Add(x, 16)))
	}
	for i, row := range wg.at { // tmp = Aᵀ M  (m×a)
		for j := range a {
			s0, s1 := combine8(row, unsafe.Add(pmt, uintptr(j)*lane), uintptr(a)*lane)
			store8(unsafe.Add(pt, uintptr(i*a+j)*lane), s0, s1)
		}
	}
	vb := archsimd.BroadcastFloat32x4(b)
	var zero archsimd.Float32x4
	for i := range mo { // mt = ReLU(tmp A + b)  (m×m)
		src := unsafe.Add(pt, uintptr(i*a)*lane)
		for j, row := range wg.at {
			s0, s1 := combine8(row, src, lane)
			store8(unsafe.Add(pmt, uintptr(i*mo+j)*lane), s0.Add(vb).Max(zero), s1.Add(vb).Max(zero))
		}
	}
}
