//go:build goexperiment.simd && wasm

package alexnet

import "unsafe"

// The max-pool in wasm SIMD (see gemm_simd_wasm.go for the build).

func init() { poolRow = poolRowWasmSIMD }

// poolRowMax is the widest input row poolRowWasmSIMD handles (Full's
// conv1 output is 55 wide); wider rows take the scalar path.
const poolRowMax = 256

// poolRowWasmSIMD is poolRow: the maximum of the three rows, four columns
// at a time, then of each three neighbouring columns of that, four at a
// time, and every second of those is the output (wasm SIMD has no
// deinterleaving shuffle in archsimd).
func poolRowWasmSIMD(d, rows []float32, side int) {
	if side > poolRowMax {
		poolRowScalar(d, rows, side)
		return
	}
	var t, u [poolRowMax]float32
	_ = rows[3*side-1]
	p := unsafe.Pointer(unsafe.SliceData(rows))
	row := uintptr(4 * side)
	pt := unsafe.Pointer(&t)
	x := 0
	for ; x+4 <= side; x += 4 {
		q := unsafe.Add(p, 4*x)
		f4(q).Max(f4(unsafe.Add(q, row))).Max(f4(unsafe.Add(q, 2*row))).StoreArray((*[4]float32)(unsafe.Add(pt, 4*x)))
	}
	for ; x < side; x++ {
		t[x] = fmax(fmax(rows[x], rows[side+x]), rows[2*side+x])
	}
	n := side - 2
	pu := unsafe.Pointer(&u)
	x = 0
	for ; x+4 <= n; x += 4 {
		q := unsafe.Add(pt, 4*x)
		f4(q).Max(f4(unsafe.Add(q, 4))).Max(f4(unsafe.Add(q, 8))).StoreArray((*[4]float32)(unsafe.Add(pu, 4*x)))
	}
	for ; x < n; x++ {
		u[x] = fmax(fmax(t[x], t[x+1]), t[x+2])
	}
	for ox := range d {
		d[ox] = u[2*ox]
	}
}
