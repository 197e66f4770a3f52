//go:build goexperiment.simd && wasm

package alexnet

import "simd/archsimd"

// The Winograd filter transform in wasm SIMD (see gemm_simd_wasm.go for
// the build).

func init() { filterTransform = filterTransformWasmSIMD }

// filterTransformWasmSIMD is filterTransform with the eight lanes in two
// Float32x4, multiplying and adding separately in the same order as
// filterTransformScalar: bit-identical results.
func filterTransformWasmSIMD(u, f, tmp *[64]lanes, g []float32, a, r int) {
	for i := range a {
		gi := g[i*r : (i+1)*r]
		for q := range r {
			var s0, s1 archsimd.Float32x4
			for k, gv := range gi {
				x := &f[k*r+q]
				w := archsimd.BroadcastFloat32x4(gv)
				s0 = s0.Add(w.Mul(archsimd.LoadFloat32x4Array((*[4]float32)(x[0:4]))))
				s1 = s1.Add(w.Mul(archsimd.LoadFloat32x4Array((*[4]float32)(x[4:8]))))
			}
			d := &tmp[i*r+q]
			s0.StoreArray((*[4]float32)(d[0:4]))
			s1.StoreArray((*[4]float32)(d[4:8]))
		}
		for j := range a {
			var s0, s1 archsimd.Float32x4
			for q, gv := range g[j*r : (j+1)*r] {
				x := &tmp[i*r+q]
				w := archsimd.BroadcastFloat32x4(gv)
				s0 = s0.Add(w.Mul(archsimd.LoadFloat32x4Array((*[4]float32)(x[0:4]))))
				s1 = s1.Add(w.Mul(archsimd.LoadFloat32x4Array((*[4]float32)(x[4:8]))))
			}
			d := &u[i*a+j]
			s0.StoreArray((*[4]float32)(d[0:4]))
			s1.StoreArray((*[4]float32)(d[4:8]))
		}
	}
}
