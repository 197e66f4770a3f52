package alexnet

import "fmt"

// Grad-CAM (Selvaraju et al. 2017) for any Config: which parts of the last
// conv layer's map made a class's logit high.
//
// The target is the last conv's output A (after ReLU, before its pool),
// C×H×W (256×13×13 for Full, 64×3×3 for Small). The gradient of the class
// logit y_c with respect to A is the backward pass of the network's head in
// eval mode (no dropout): through fc8, the ReLU masks of fc7 and fc6, fc6,
// and the last max-pool, which routes each pooled gradient to the first
// maximum of its 3×3 window (LastConvGradient computes exactly that).
// Grad-CAM needs only its spatial mean per channel,
//
//	α_k = 1/(H·W) Σ_{y,x} ∂y_c/∂A[k,y,x],
//
// and the map is ReLU(Σ_k α_k A_k), scaled to 0..1 by its min and max.
//
// Routing preserves sums (each pooled gradient lands on exactly one
// position of its channel), so Σ_{y,x} ∂y_c/∂A[k,y,x] = Σ_p ∂y_c/∂F[k,p],
// where F is the pooled map that fc6 reads. With g = ∂y_c/∂(fc6 output)
// (the ReLU-masked fc7ᵀ·fc8 row), Σ_p ∂y_c/∂F[k,p] = Σ_o g_o · S[k,o],
// S[k,o] = Σ_p W6[o, k·P + p]: fc6's weights summed over each channel's
// pooled positions. GradCAM precomputes S once per Model (C×Dense floats,
// 4 MB for Full), so a map costs one read of fc7's active rows and
// C·Dense multiply-adds, instead of a second read of fc6's 151 MB. A test
// checks both paths against GoMLX's autodiff.

// activations holds what Grad-CAM keeps from one image's forward pass.
type activations struct {
	last   []float32 // last conv output, C×H×W, after ReLU, before its pool
	h1, h2 []float32 // fc6 and fc7 outputs, after ReLU
}

// CAM is the Grad-CAM result for one image.
type CAM struct {
	// Logits are the image's Classes logits, from the same forward pass.
	Logits []float32
	// Side is the side of the last conv map (13 for Full, 3 for Small).
	Side int
	// Maps holds, per class index, its Side×Side map (row-major, 0..1), or
	// nil for a class that was not asked for.
	Maps [][]float32
	// Weights holds, per class asked for, α: the channel weights (the
	// spatial mean of the class logit's gradient per channel).
	Weights [][]float32
}

func (m *Model) lastConv() *convLayer { return &m.conv[NumConv-1] }

func (m *Model) newActivations() *activations {
	l := m.lastConv()
	return &activations{
		last: make([]float32, l.cout*l.out*l.out),
		h1:   make([]float32, m.cfg.Dense),
		h2:   make([]float32, m.cfg.Dense),
	}
}

// checkCAM validates one image and the classes asked for. Every valid
// Config has a last conv map of at least 3×3 (its pool needs one), and
// every Model has all the layers, so nothing else can stop a map.
func (m *Model) checkCAM(x []float32, classes []int) error {
	if per := m.cfg.InputSize * m.cfg.InputSize * 3; len(x) != per {
		return fmt.Errorf("alexnet: Grad-CAM takes one %d×%d×3 image (%d floats), got %d floats", m.cfg.InputSize, m.cfg.InputSize, per, len(x))
	}
	for _, c := range classes {
		if c < 0 || c >= m.cfg.Classes {
			return fmt.Errorf("alexnet: Grad-CAM class %d out of [0,%d)", c, m.cfg.Classes)
		}
	}
	return nil
}

// GradCAM runs the forward pass on one normalized NHWC image and returns
// its logits with the Grad-CAM map of each class in classes (of the
// predicted class when classes is empty), all from that one forward pass.
func (m *Model) GradCAM(x []float32, classes ...int) (*CAM, error) {
	if err := m.checkCAM(x, classes); err != nil {
		return nil, err
	}
	act := m.newActivations()
	logits, err := m.forward(x, 1, act)
	if err != nil {
		return nil, err
	}
	return m.explain(act, logits, classes), nil
}

// explain is GradCAM's part after the forward pass: the maps of classes
// (the predicted one when empty) from the kept activations.
func (m *Model) explain(act *activations, logits []float32, classes []int) *CAM {
	if len(classes) == 0 {
		classes = []int{Argmax(logits)}
	}
	g1 := m.headGradients(act, classes)
	l := m.lastConv()
	// α for every class at once: the channel sums as a dense layer (C
	// outputs) applied to the classes' gradients, with the dense kernels.
	sums := m.channelSums()
	d := m.cfg.Dense
	xs := make([]float32, len(classes)*d)
	for i := range classes {
		copy(xs[i*d:], g1[i])
	}
	alphas := make([]float32, len(classes)*l.cout)
	parallel(l.cout, 64, func(lo, hi int) { sums.forwardRows(alphas, xs, len(classes), lo, hi) })
	inv := 1 / float32(l.out*l.out)
	cam := &CAM{Logits: logits, Side: l.out, Maps: make([][]float32, m.cfg.Classes), Weights: make([][]float32, m.cfg.Classes)}
	for i, c := range classes {
		alpha := alphas[i*l.cout : (i+1)*l.cout]
		for k := range alpha {
			alpha[k] *= inv
		}
		cam.Weights[c] = alpha
		cam.Maps[c] = CAMMap(act.last, alpha, l.out)
	}
	return cam
}

// CAMMap combines activations act (C×side×side) with channel weights alpha:
// ReLU(Σ_k alpha_k act_k), then scaled to 0..1 by its min and max (all
// zeros when the map is flat).
func CAMMap(act, alpha []float32, side int) []float32 {
	plane := side * side
	out := make([]float32, plane)
	for k, a := range alpha {
		if a == 0 {
			continue
		}
		for p, v := range act[k*plane : (k+1)*plane] {
			out[p] += a * v
		}
	}
	lo, hi := float32(0), float32(0)
	for p, v := range out {
		v = relu(v)
		out[p] = v
		if p == 0 || v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	if hi <= lo {
		clear(out)
		return out
	}
	for p, v := range out {
		out[p] = (v - lo) / (hi - lo)
	}
	return out
}

// headGradients returns, per class, ∂logit/∂(fc6 output) given the kept
// activations: fc8's row of the class, masked by fc7's ReLU, through fc7ᵀ,
// masked by fc6's ReLU. One pass over fc7's active rows serves all classes.
func (m *Model) headGradients(act *activations, classes []int) [][]float32 {
	d := m.cfg.Dense
	fc7, fc8 := &m.dense[1], &m.dense[2]
	out := make([][]float32, len(classes))
	for i := range out {
		out[i] = make([]float32, d)
	}
	parallel(d, 512, func(lo, hi int) {
		coef := make([]float32, len(classes))
		for o, h := range act.h2 {
			if h <= 0 {
				continue
			}
			for i, c := range classes {
				coef[i] = fc8.weight(c, o)
			}
			i := 0
			for ; i+2 <= len(classes); i += 2 { // the row read once for two classes
				fc7.axpy2Row(out[i][lo:hi], out[i+1][lo:hi], coef[i], coef[i+1], o, lo, hi)
			}
			if i < len(classes) {
				fc7.axpyRow(out[i][lo:hi], coef[i], o, lo, hi)
			}
		}
		for i := range classes {
			g := out[i]
			for j := lo; j < hi; j++ {
				if act.h1[j] <= 0 {
					g[j] = 0
				}
			}
		}
	})
	return out
}

// axpyKernel is axpy; SIMD builds replace it at init with kernels that
// differ from it in rounding only (fused multiply-adds).
var axpyKernel = axpy

// axpy adds a·x to y (len(x) ≥ len(y)).
func axpy(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	for i, v := range x {
		y[i] += a * v
	}
}

// channelSums returns S (C×Dense, channel-major) as a dense layer without
// bias or ReLU: S[k,o] is the sum of fc6's weights of output o over channel
// k's positions of the pooled map. It is computed on first use and kept.
// With int8 weights each sum is exact in integers, times the row's scale.
func (m *Model) channelSums() *denseLayer {
	m.sumsOnce.Do(func() {
		c := m.cfg.Channels[NumConv-1]
		d := m.cfg.Dense
		flat := m.cfg.FlatFeatures()
		p := flat / c
		fc6 := &m.dense[0]
		w6 := fc6.w
		s := make([]float32, c*d)
		parallel(d, 64, func(lo, hi int) {
			if fc6.q != nil {
				sums := make([]int32, c)
				for o := lo; o < hi; o++ {
					groupSumsInt8(sums, fc6.q[o*flat:(o+1)*flat], p)
					for k, v := range sums {
						s[k*d+o] = float32(v) * fc6.scale[o]
					}
				}
				return
			}
			for o := lo; o < hi; o++ {
				row := w6[o*flat : (o+1)*flat]
				for k := range c {
					var sum float32
					for _, v := range row[k*p : (k+1)*p] {
						sum += v
					}
					s[k*d+o] = sum
				}
			}
		})
		m.sums = &denseLayer{nin: d, nout: c, w: s, bias: make([]float32, c)}
	})
	return m.sums
}

// LastConvGradient runs one normalized NHWC image forward and back and
// returns its logits, the last conv's output A (C×H×W, after ReLU, before
// its pool) and ∂logits[class]/∂A (C×H×W): the head's backward pass in eval
// mode through fc8, fc7 and fc6 with their ReLU masks, then the max-pool,
// each pooled gradient routed to the first maximum of its window (row-major
// order, as GoMLX's Max gradient does). GradCAM needs only the spatial sums
// of this gradient and gets them without it; this is the full gradient,
// for checking against autodiff.
func (m *Model) LastConvGradient(x []float32, class int) (logits, act, grad []float32, err error) {
	if err := m.checkCAM(x, []int{class}); err != nil {
		return nil, nil, nil, err
	}
	a := m.newActivations()
	logits, err = m.forward(x, 1, a)
	if err != nil {
		return nil, nil, nil, err
	}
	g1 := m.headGradients(a, []int{class})[0]
	flat := m.cfg.FlatFeatures()
	df := make([]float32, flat)
	for o, g := range g1 {
		if g != 0 {
			m.dense[0].axpyRow(df, g, o, 0, flat)
		}
	}
	l := m.lastConv()
	if !l.pool {
		return logits, a.last, df, nil
	}
	side, po := l.out, l.pooled
	grad = make([]float32, len(a.last))
	for k := range l.cout {
		ch := a.last[k*side*side : (k+1)*side*side]
		gch := grad[k*side*side : (k+1)*side*side]
		for py := range po {
			for px := range po {
				best := (2*py)*side + 2*px
				for dy := range PoolWindow {
					for dx := range PoolWindow {
						if i := (PoolStride*py+dy)*side + PoolStride*px + dx; ch[i] > ch[best] {
							best = i
						}
					}
				}
				gch[best] += df[(k*po+py)*po+px]
			}
		}
	}
	return logits, a.last, grad, nil
}
