package alexnet

// Winograd minimal filtering F(m×m, r×r) for stride-1 convolutions (Lavin &
// Gray, "Fast Algorithms for Convolutional Neural Networks", 2015). Each
// output tile of m×m pixels is computed from an α×α input tile, α = m+r-1:
//
//	Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//
// Summed over input channels this becomes α² independent GEMMs
// (out channels × in channels) × (in channels × tiles), which reuse the
// packed 2×4 kernel of gemm.go. Per output pixel that is α²/m² instead of r²
// multiply-adds: for AlexNet's 5×5 conv2 with F(2×2, 5×5) 9 instead of 25,
// for the 3×3 conv3–5 with F(4×4, 3×3) 2.25 instead of 9 (less the padding
// of 13×13 maps to 16×16).
//
// The transforms are built at init by Toom–Cook interpolation on the
// points 0, ±1, ±2, ±1/2 (then ∞), in float64; the filter transform G g Gᵀ
// is applied once, when the Model is built.

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
	wg.mStride = l.cout * wg.tiles

	// U[ξν][o][c] = (G w[o][c] Gᵀ)[ξ][ν], in float64, then packed per ξν.
	u := make([][]float32, a*a)
	for i := range u {
		u[i] = make([]float32, l.cout*l.cin)
	}
	tmp := make([]float64, a*r)
	for o := range l.cout {
		for c := range l.cin {
			f := w[(o*l.cin+c)*r*r : (o*l.cin+c+1)*r*r]
			for i := range a { // tmp = G f  (a×r)
				for j := range r {
					s := 0.0
					for k := range r {
						s += g[i*r+k] * float64(f[k*r+j])
					}
					tmp[i*r+j] = s
				}
			}
			for i := range a { // U = tmp Gᵀ  (a×a)
				for j := range a {
					s := 0.0
					for k := range r {
						s += tmp[i*r+k] * g[j*r+k]
					}
					u[i*a+j][o*l.cin+c] = float32(s)
				}
			}
		}
	}
	for _, ui := range u {
		wg.u = append(wg.u, packA(ui, l.cout, l.cin)...)
	}
	wg.uStride = len(wg.u) / (a * a)
	return wg
}

// scratchSize is the number of floats forward needs: the transformed input
// V and the GEMM outputs M.
func (wg *winograd) scratchSize() int { return wg.a * wg.a * (wg.vStride + wg.mStride) }

// forward computes the conv + bias + ReLU of in (cin × side × side, stride
// 1, padding pad) into out (cout × o × o), using buf (scratchSize floats).
func (wg *winograd) forward(out, in, bias, buf []float32, side, pad, o int, par bool) {
	a, aa := wg.a, wg.a*wg.a
	v := buf[:aa*wg.vStride]
	mm := buf[aa*wg.vStride : aa*(wg.vStride+wg.mStride)]
	run := func(n, minChunk int, fn func(lo, hi int)) {
		if par {
			parallel(n, minChunk, fn)
		} else {
			fn(0, n)
		}
	}

	// V[ξν] = Bᵀ d B for every channel and tile, stored as the packed B
	// operand of GEMM ξν: v[ξν·vStride + (t/4)·cin·4 + c·4 + t%4].
	run(wg.cin, 8, func(c0, c1 int) {
		var d, tmp [64]float32 // a ≤ 8
		for c := c0; c < c1; c++ {
			ch := in[c*side*side : (c+1)*side*side]
			for t := range wg.tiles {
				y0 := (t/wg.tileSide)*wg.m - pad
				x0 := (t%wg.tileSide)*wg.m - pad
				for i := range a {
					y := y0 + i
					row := d[i*a : (i+1)*a]
					if y < 0 || y >= side {
						clear(row)
						continue
					}
					src := ch[y*side : (y+1)*side]
					for j := range row {
						if x := x0 + j; x >= 0 && x < side {
							row[j] = src[x]
						} else {
							row[j] = 0
						}
					}
				}
				base := (t/gemmNR)*gemmNR*wg.cin + c*gemmNR + t%gemmNR
				wg.transformIn(v[base:], d[:aa], tmp[:aa])
			}
		}
	})

	// M[ξν] = U[ξν] · V[ξν]: cout × tiles each.
	run(aa, 1, func(e0, e1 int) {
		for e := e0; e < e1; e++ {
			gemmPanels(mm[e*wg.mStride:(e+1)*wg.mStride], wg.tiles,
				wg.u[e*wg.uStride:(e+1)*wg.uStride], wg.cout,
				v[e*wg.vStride:(e+1)*wg.vStride], wg.tiles, wg.cin, nil, 0, wg.panels)
		}
	})

	// Y = Aᵀ M A + bias, ReLU, cropped to o × o.
	run(wg.cout, 8, func(k0, k1 int) {
		var mt [64]float32
		var tmp [64]float32
		m := wg.m
		for k := k0; k < k1; k++ {
			dst := out[k*o*o : (k+1)*o*o]
			b := bias[k]
			for t := range wg.tiles {
				for e := range aa {
					mt[e] = mm[e*wg.mStride+k*wg.tiles+t]
				}
				wg.transformOut(mt[:aa], tmp[:m*a])
				y0 := (t / wg.tileSide) * m
				x0 := (t % wg.tileSide) * m
				for i := 0; i < m && y0+i < o; i++ {
					for j := 0; j < m && x0+j < o; j++ {
						dst[(y0+i)*o+x0+j] = relu(mt[i*m+j] + b)
					}
				}
			}
		}
	})
}

// transformIn computes Bᵀ d B of the a×a tile d and stores element e
// (row-major) at v[e·vStride]; tmp is a×a scratch.
func (wg *winograd) transformIn(v, d, tmp []float32) {
	a := wg.a
	for i, row := range wg.bt { // tmp = Bᵀ d
		out := tmp[i*a : (i+1)*a]
		clear(out)
		for _, e := range row {
			src := d[e.k*a : (e.k+1)*a]
			for j := range out {
				out[j] += e.v * src[j]
			}
		}
	}
	for i := range a { // tmp B
		src := tmp[i*a : (i+1)*a]
		for j, row := range wg.bt {
			s := float32(0)
			for _, e := range row {
				s += src[e.k] * e.v
			}
			v[(i*a+j)*wg.vStride] = s
		}
	}
}

// transformOut replaces the a×a tile mt by the m×m tile Aᵀ mt A (stored in
// its first m² values); tmp is m×a scratch.
func (wg *winograd) transformOut(mt, tmp []float32) {
	a, m := wg.a, wg.m
	for i, row := range wg.at { // tmp = Aᵀ mt  (m×a)
		out := tmp[i*a : (i+1)*a]
		clear(out)
		for _, e := range row {
			src := mt[e.k*a : (e.k+1)*a]
			for j := range out {
				out[j] += e.v * src[j]
			}
		}
	}
	for i := range m { // mt = tmp A  (m×m)
		src := tmp[i*a : (i+1)*a]
		for j, row := range wg.at {
			s := float32(0)
			for _, e := range row {
				s += src[e.k] * e.v
			}
			mt[i*m+j] = s
		}
	}
}
