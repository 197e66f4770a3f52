package alexnet

import "unsafe"

// Winograd minimal filtering F(m×m, r×r) for stride-1 convolutions (Lavin &
// Gray, "Fast Algorithms for Convolutional Neural Networks", 2015). Each
// output tile of m×m pixels is computed from an α×α input tile, α = m+r-1:
//
//	Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//
// Summed over input channels this becomes α² independent GEMMs
// (out channels × in channels) × (in channels × tiles), which reuse the
// packed GEMM of gemm.go. Per output pixel that is α²/m² instead of r²
// multiply-adds: for AlexNet's 5×5 conv2 with F(2×2, 5×5) 9 instead of 25,
// for the 3×3 conv3–5 with F(4×4, 3×3) 2.25 instead of 9 (less the padding
// of 13×13 maps to 16×16).
//
// The transforms are built at init by Toom–Cook interpolation on the
// points 0, ±1, ±2, ±1/2 (then ∞), in float64; the filter transform G g Gᵀ
// is applied once, when the Model is built, in float32 (winograd_filters.go).

// winogradTile maps a kernel size r to the output tile m used for it; a
// kernel that is not listed, or a stride other than 1, uses im2col + GEMM,
// as does a layer where the tiles would save less than a fifth of the
// multiplications. Tests change it to cover both paths.
//
// Larger tiles need fewer multiplications but lose float32 accuracy and
// waste more work at the map edges. Conv time in ms for Full, min of 5
// runs, js/wasm under node 20 (amd64, one thread):
//
//	                         conv2        conv3+4+5
//	im2col + GEMM            201 (116)    235 (136)
//	F(2×2,5×5), F(4×4,3×3)   132 (61)     125 (60)
//	F(3×3,5×5), F(4×4,3×3)    86 (37)     125 (60)
//
// F(3×3,3×3), F(5×5,3×3) and F(4×4,5×5) measured within noise of these
// or slower in wasm; F(4×4,5×5) needs α = 8 and loses a further digit.
var winogradTile = map[int]int{3: 4, 5: 3}

// winogradPoints are the interpolation points, in order of use.
var winogradPoints = []float64{0, 1, -1, 2, -2, 0.5, -0.5, 3, -3}

// winograd holds the transforms of one layer.
type winograd struct {
	m, r, a   int       // output tile, kernel, input tile (a = m+r-1)
	at        [][]term  // nonzero terms of each row of Aᵀ (m rows)
	bt        [][]term  // nonzero terms of each row of Bᵀ (a rows)
	tileSide  int       // tiles per side of the output
	tiles     int       // tileSide²
	panels    int       // GEMM column panels of the tiles
	u         []float32 // G g Gᵀ per (ξ,ν): a² packed A matrices (cout × cin)
	uStride   int       // floats per packed U matrix
	vStride   int       // floats per packed V matrix (cin × tiles)
	mStride   int       // floats per GEMM output (cout × tiles)
	cin, cout int
}

// term is one nonzero coefficient of a transform matrix row: about a third
// of the entries of Aᵀ and Bᵀ are zero, and skipping them matters because
// the transforms run at a fraction of the GEMM kernel's speed.
type term struct {
	k int
	v float32
}

// sparseRows returns the nonzero terms of each row of the rows×cols matrix x.
func sparseRows(x []float64, rows, cols int) [][]term {
	out := make([][]term, rows)
	for i := range rows {
		for k := range cols {
			if v := x[i*cols+k]; v != 0 {
				out[i] = append(out[i], term{k, float32(v)})
			}
		}
	}
	return out
}

// winogradMatrices returns Aᵀ (m×α), G (α×r) and Bᵀ (α×α) of F(m, r),
// row-major. For the finite points p_k (k < α-1) and the point at ∞:
//
//	Aᵀ[i][k] = p_k^i,                       Aᵀ[i][∞] = [i = m-1]
//	G[k][j]  = p_k^j / Π_{l≠k}(p_k - p_l),   G[∞][j]  = [j = r-1]
//	Bᵀ[k][t] = coefficient of x^t in Π_{l≠k}(x - p_l)
//	Bᵀ[∞][t] = coefficient of x^t in Π_l(x - p_l)
//
// which is the transpose of Toom–Cook linear convolution of a length-m
// and a length-r sequence with Lagrange interpolation.
func winogradMatrices(m, r int) (at, g, bt []float64) {
	a := m + r - 1
	p := winogradPoints[:a-1]
	at = make([]float64, m*a)
	g = make([]float64, a*r)
	bt = make([]float64, a*a)
	for k := 0; k < a-1; k++ {
		pow := 1.0
		for i := range m {
			at[i*a+k] = pow
			pow *= p[k]
		}
		norm := 1.0
		for l := range p {
			if l != k {
				norm *= p[k] - p[l]
			}
		}
		pow = 1
		for j := range r {
			g[k*r+j] = pow / norm
			pow *= p[k]
		}
		copy(bt[k*a:(k+1)*a], polyFromRoots(p, k, a))
	}
	at[(m-1)*a+a-1] = 1
	g[(a-1)*r+r-1] = 1
	copy(bt[(a-1)*a:], polyFromRoots(p, -1, a))
	return at, g, bt
}

// polyFromRoots returns the n coefficients (constant first) of
// Π_{l≠skip}(x - roots[l]).
func polyFromRoots(roots []float64, skip, n int) []float64 {
	c := make([]float64, n)
	c[0] = 1
	deg := 0
	for l, root := range roots {
		if l == skip {
			continue
		}
		deg++
		for t := deg; t > 0; t-- {
			c[t] = c[t-1] - root*c[t]
		}
		c[0] *= -root
	}
	return c
}

// newWinograd prepares layer l for F(m×m, r×r) with the OIHW weights w.
func newWinograd(l *convLayer, m int, w []float32) *winograd {
	r := l.kernel
	a := m + r - 1
	at, g, bt := winogradMatrices(m, r)
	wg := &winograd{m: m, r: r, a: a, cin: l.cin, cout: l.cout}
	wg.at = sparseRows(at, m, a)
	wg.bt = sparseRows(bt, a, a)
	wg.tileSide = (l.out + m - 1) / m
	wg.tiles = wg.tileSide * wg.tileSide
	wg.panels = (wg.tiles + gemmNR - 1) / gemmNR
	wg.vStride = wg.panels * gemmNR * l.cin
	wg.mStride = l.cout * wg.panels * gemmNR

	wg.uStride = (l.cout + gemmMR - 1) / gemmMR * gemmMR * l.cin
	wg.u = make([]float32, a*a*wg.uStride)
	wg.transformFilters(w, g)
	return wg
}

// scratchSize is the number of floats forward needs: the transformed input
// V, and the GEMM outputs M, which first hold the zero-padded input.
func (wg *winograd) scratchSize() int {
	return wg.a*wg.a*wg.vStride + max(wg.a*wg.a*wg.mStride, wg.cin*wg.paddedSide()*wg.paddedSide())
}

// paddedSide is the side of the zero-padded input that the tiles cover.
func (wg *winograd) paddedSide() int { return (wg.tileSide-1)*wg.m + wg.a }

// lanes holds one value per tile of a GEMM column panel: the transforms
// work on the gemmNR tiles of a panel at once, lane by lane, so that they
// read and write the packed GEMM operands gemmNR floats at a time (and SIMD
// builds do each lane operation in one or two vector instructions).
type lanes = [gemmNR]float32

// forward computes the conv + bias + ReLU of in (cin × side × side, stride
// 1, padding pad) into out (cout × o × o), using buf (scratchSize floats).
// With par set it splits each of its three steps over goroutines.
func (wg *winograd) forward(out, in, bias, buf []float32, side, pad, o int, par bool) {
	run := func(n, minChunk int, fn func(lo, hi int)) {
		if par {
			parallel(n, minChunk, fn)
		} else {
			fn(0, n)
		}
	}
	v, mm := wg.buffers(buf)
	wg.transformInput(v, wg.padded(buf), in, side, pad, run)
	wg.multiply(mm, v, run)
	wg.transformOutput(out, mm, bias, o, run)
}

// runner runs fn over [0, n), whole or split into chunks of at least
// minChunk.
type runner func(n, minChunk int, fn func(lo, hi int))

// buffers splits buf into the transformed input V and the GEMM outputs M.
func (wg *winograd) buffers(buf []float32) (v, mm []float32) {
	aa := wg.a * wg.a
	return buf[:aa*wg.vStride], buf[aa*wg.vStride : aa*(wg.vStride+wg.mStride)]
}

// padded returns the part of buf (after V, over M) that holds the
// zero-padded input during transformInput: cin × paddedSide².
func (wg *winograd) padded(buf []float32) []float32 {
	ps := wg.paddedSide()
	off := wg.a * wg.a * wg.vStride
	return buf[off : off+wg.cin*ps*ps]
}

// transformInput computes V[ξν] = Bᵀ d B for every channel and tile of in,
// stored as the packed B operand of GEMM ξν:
// v[ξν·vStride + (t/NR)·cin·NR + c·NR + t%NR]. It first copies in, zero-
// padded, into padded (cin × paddedSide², see padded), so that every tile
// lies inside it.
func (wg *winograd) transformInput(v, padded, in []float32, side, pad int, run runner) {
	ps := wg.paddedSide()
	run(wg.cin, 8, func(c0, c1 int) {
		for c := c0; c < c1; c++ {
			dst := padded[c*ps*ps : (c+1)*ps*ps]
			clear(dst)
			for y := max(0, -pad); y < side && y+pad < ps; y++ {
				row := dst[(y+pad)*ps : (y+pad+1)*ps]
				x0 := max(0, -pad)
				w := min(side, ps-pad) - x0
				if w > 0 {
					copy(row[x0+pad:x0+pad+w], in[c*side*side+y*side+x0:])
				}
			}
		}
	})
	run(wg.panels, 1, func(p0, p1 int) {
		var d, tmp [64]lanes // a ≤ 8
		for p := p0; p < p1; p++ {
			var base [gemmNR]int // each lane's tile corner in a padded channel
			for l := range base {
				if t := p*gemmNR + l; t < wg.tiles { // lanes past the last tile repeat tile 0: their columns are never read
					base[l] = (t/wg.tileSide)*wg.m*ps + (t%wg.tileSide)*wg.m
				}
			}
			for c := range wg.cin {
				wg.gatherTiles(&d, padded[c*ps*ps:(c+1)*ps*ps], ps, &base)
				winoIn(wg, v[p*gemmNR*wg.cin+c*gemmNR:], &d, &tmp)
			}
		}
	})
}

// multiply computes M[ξν] = U[ξν] · V[ξν]: cout × (panels·NR) each, the
// columns past the last tile zero.
func (wg *winograd) multiply(mm, v []float32, run runner) {
	cols := wg.panels * gemmNR
	run(wg.a*wg.a, 1, func(e0, e1 int) {
		for e := e0; e < e1; e++ {
			gemmPanels(mm[e*wg.mStride:(e+1)*wg.mStride], cols,
				wg.u[e*wg.uStride:(e+1)*wg.uStride], wg.cout,
				v[e*wg.vStride:(e+1)*wg.vStride], cols, wg.cin, nil, 0, wg.panels)
		}
	})
}

// transformOutput computes Y = Aᵀ M A + bias, ReLU, cropped to o × o, into
// out (cout × o × o). Each output channel's tiles go first into a plane of
// whole tiles (tileSide·m square, in cache), without bounds checks or
// edge cases, which is then cropped into out.
func (wg *winograd) transformOutput(out, mm, bias []float32, o int, run runner) {
	cols := wg.panels * gemmNR
	ps := wg.tileSide * wg.m
	run(wg.cout, 8, func(k0, k1 int) {
		var mt [64]lanes
		var tmp [64]lanes
		plane := make([]float32, ps*ps)
		for k := k0; k < k1; k++ {
			for p := range wg.panels {
				winoOut(wg, &mt, mm[k*cols+p*gemmNR:], bias[k], &tmp)
				wg.scatterTiles(plane, ps, &mt, p)
			}
			dst := out[k*o*o : (k+1)*o*o]
			for y := range o {
				copy(dst[y*o:(y+1)*o], plane[y*ps:])
			}
		}
	})
}

// scatterTiles writes the m×m output tiles of column panel p, mt[i·m +
// j][l] for the tile of lane l, into plane (ps × ps, ps = tileSide·m), each
// lane through its own pointer: every tile lies inside plane.
func (wg *winograd) scatterTiles(plane []float32, ps int, mt *[64]lanes, p int) {
	m := wg.m
	n := min(gemmNR, wg.tiles-p*gemmNR)
	for l := range n {
		t := p*gemmNR + l
		b := (t/wg.tileSide)*m*ps + (t%wg.tileSide)*m
		_ = plane[b+(m-1)*ps+m-1] // the tile's last pixel
		q := unsafe.Pointer(&plane[b])
		for i := range m {
			r := unsafe.Add(q, 4*i*ps)
			for j := range m {
				*(*float32)(unsafe.Add(r, 4*j)) = mt[i*m+j][l]
			}
		}
	}
}

// winoIn is transformIn and winoOut is transformOutBias, the per-panel
// transforms; wasm SIMD builds replace them at init with versions that do
// a whole transform in vector registers, without a call per element, and
// give the same results.
var (
	winoIn  = (*winograd).transformIn
	winoOut = (*winograd).transformOutBias
)

// transformOutBias sets mt's first m² entries to Aᵀ M A + b, ReLU, of
// the a×a tiles M of one column panel of the GEMM outputs, element e (row-
// major) at m[e·mStride:] (NR lanes); tmp is scratch.
func (wg *winograd) transformOutBias(mt *[64]lanes, m []float32, b float32, tmp *[64]lanes) {
	for e := range wg.a * wg.a {
		mt[e] = lanes(m[e*wg.mStride:])
	}
	wg.transformOut(mt, tmp)
	for e := range wg.m * wg.m {
		for l, v := range mt[e] {
			mt[e][l] = relu(v + b)
		}
	}
}

// gatherTiles sets d[i·a + j][l] to ch[base[l] + i·ps + j], pixel (i, j)
// of the tile of lane l in the padded channel ch (ps × ps), element by
// element, each lane read through its own pointer: no bounds checks (the
// tiles lie inside ch), and d written in order.
func (wg *winograd) gatherTiles(d *[64]lanes, ch []float32, ps int, base *[gemmNR]int) {
	a := wg.a
	var p [gemmNR]unsafe.Pointer
	for l, b := range base {
		_ = ch[b+(a-1)*ps+a-1] // the tile's last pixel
		p[l] = unsafe.Pointer(&ch[b])
	}
	for i := range a {
		for j := range a {
			off := uintptr(4 * (i*ps + j))
			e := &d[i*a+j]
			e[0] = *(*float32)(unsafe.Add(p[0], off))
			e[1] = *(*float32)(unsafe.Add(p[1], off))
			e[2] = *(*float32)(unsafe.Add(p[2], off))
			e[3] = *(*float32)(unsafe.Add(p[3], off))
			e[4] = *(*float32)(unsafe.Add(p[4], off))
			e[5] = *(*float32)(unsafe.Add(p[5], off))
			e[6] = *(*float32)(unsafe.Add(p[6], off))
			e[7] = *(*float32)(unsafe.Add(p[7], off))
		}
	}
}

// transformIn computes Bᵀ d B of the a×a tiles d (one per lane) and stores
// element e (row-major) at v[e·vStride:], NR lanes; tmp is scratch.
func (wg *winograd) transformIn(v []float32, d, tmp *[64]lanes) {
	a := wg.a
	for i, row := range wg.bt { // tmp = Bᵀ d
		for j := range a {
			combineLanes(&tmp[i*a+j], row, d[j:], a)
		}
	}
	for i := range a { // tmp B
		for j, row := range wg.bt {
			// Straight into v: a local passed to combineLanes (a function
			// value) would escape, one allocation per call.
			combineLanes((*lanes)(v[(i*a+j)*wg.vStride:]), row, tmp[i*a:], 1)
		}
	}
}

// transformOut replaces the a×a tiles mt (one per lane) by the m×m tiles
// Aᵀ mt A (stored in its first m² entries); tmp is scratch.
func (wg *winograd) transformOut(mt, tmp *[64]lanes) {
	a, m := wg.a, wg.m
	for i, row := range wg.at { // tmp = Aᵀ mt  (m×a)
		for j := range a {
			combineLanes(&tmp[i*a+j], row, mt[j:], a)
		}
	}
	for i := range m { // mt = tmp A  (m×m)
		for j, row := range wg.at {
			combineLanes(&mt[i*m+j], row, tmp[i*a:], 1)
		}
	}
}

// combineLanes sets dst to Σ_e e.v · src[e.k·stride] over the terms of row,
// lane by lane, summing in the order of the terms from zero (multiply, then
// add: never fused). It is the one operation of the Winograd transforms;
// SIMD builds replace it at init with a version that keeps dst in vector
// registers, with the same results.
var combineLanes = combineLanesScalar

// combineLanesScalar is the portable combineLanes.
func combineLanesScalar(dst *lanes, row []term, src []lanes, stride int) {
	var s lanes
	for _, e := range row {
		x := &src[e.k*stride]
		for l := range s {
			s[l] += e.v * x[l]
		}
	}
	*dst = s
}
