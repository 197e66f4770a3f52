package alexnet

// The Winograd filter transform, done once per conv layer when the Model
// is built: U = G g Gᵀ for every (output, input) channel pair, stored as
// the packed A operands of the α² GEMMs.

// transformFilters computes U[ξν][o][c] = (G w[o][c] Gᵀ)[ξ][ν] for the OIHW
// weights w, straight into the packed A operands of the α² GEMMs (wg.u,
// zeroed), in float32 with G (α×r, row-major, float64 as made). Eight
// output channels go through the transform at once, one per lane, and each
// group of four lanes is one row quad of a packed panel:
// u[ξν·uStride + (o/MR)·MR·cin + c·MR + o%MR]. float32 instead of float64
// changes U by about 1e-7 relative (TestWinogradFilters).
func (wg *winograd) transformFilters(w []float32, g64 []float64) {
	g := make([]float32, len(g64))
	for i, v := range g64 {
		g[i] = float32(v)
	}
	blocks := (wg.cout + gemmNR - 1) / gemmNR
	parallel(blocks, 1, func(b0, b1 int) {
		var f, tmp, u [64]lanes // r² ≤ 64, α·r ≤ 64 and α² ≤ 64 (α ≤ 8)
		for blk := b0; blk < b1; blk++ {
			for c := range wg.cin {
				wg.transformFilterLanes(w, g, blk*gemmNR, c, &f, &tmp, &u)
			}
		}
	})
}

// transformFilterLanes transforms the filters of input channel c and the
// output channels o0..o0+NR-1 (those < cout) into wg.u (see
// transformFilters), with f, tmp and u as scratch. It is a function of its
// own, called once per block and channel, so that a wasm engine that
// optimizes functions after some calls (V8 does not replace a running
// call's baseline code) runs most of them optimized.
func (wg *winograd) transformFilterLanes(w, g []float32, o0, c int, f, tmp, u *[64]lanes) {
	r, a, cin, cout := wg.r, wg.a, wg.cin, wg.cout
	rr := r * r
	for l := range gemmNR { // f[k][l] = w[o0+l][c][k]
		if o := o0 + l; o < cout {
			src := w[(o*cin+c)*rr : (o*cin+c+1)*rr]
			for k, v := range src {
				f[k][l] = v
			}
		} else {
			for k := range rr {
				f[k][l] = 0
			}
		}
	}
	filterTransform(u, f, tmp, g, a, r)
	off := o0*cin + c*gemmMR   // row quad o0/MR of the packed panels
	second := o0+gemmMR < cout // the block's second row quad exists
	// Array assignments, not copy: sixteen bytes each, a call to memmove
	// would cost more than the move.
	for e := range a * a {
		dst := wg.u[e*wg.uStride+off:]
		*(*[gemmMR]float32)(dst) = *(*[gemmMR]float32)(u[e][:gemmMR])
		if second {
			*(*[gemmMR]float32)(dst[gemmMR*cin:]) = *(*[gemmMR]float32)(u[e][gemmMR:])
		}
	}
}

// filterTransform sets u[i·α+j] = (G f Gᵀ)[i][j] lane by lane, for the r×r
// filters f (one per lane) and G (α×r, row-major): tmp = G f, then
// u = tmp Gᵀ, each sum from zero in order of k (multiply, then add: never
// fused). SIMD builds replace it at init with a version that keeps the
// lanes in vector registers, with the same results.
var filterTransform = filterTransformScalar

// filterTransformScalar is the portable filterTransform.
func filterTransformScalar(u, f, tmp *[64]lanes, g []float32, a, r int) {
	for i := range a {
		gi := g[i*r : (i+1)*r]
		for q := range r { // tmp[i][q] = Σ_k G[i][k] f[k][q]
			var s lanes
			for k, gv := range gi {
				x := &f[k*r+q]
				for l := range s {
					s[l] += gv * x[l]
				}
			}
			tmp[i*r+q] = s
		}
		for j := range a { // u[i][j] = Σ_q tmp[i][q] G[j][q]
			var s lanes
			for q, gv := range g[j*r : (j+1)*r] {
				x := &tmp[i*r+q]
				for l := range s {
					s[l] += gv * x[l]
				}
			}
			u[i*a+j] = s
		}
	}
}
