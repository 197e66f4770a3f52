package alexnet

// denseLayer is a fully connected layer: out = W·x + b, W row-major
// [nout][nin] exactly as stored in the weights file (PyTorch layout): w,
// or for an int8 file q and its per-row scale (dense_int8.go; w is then
// nil).
type denseLayer struct {
	nin, nout int
	w, bias   []float32
	q         []int8
	scale     []float32
	relu      bool
}

// denseRowBlock is how many output rows the dot-product kernel computes at
// once: each input value is loaded once per block, and the eight
// independent sums hide the floating-point add latency.
const denseRowBlock = 8

// forwardRows computes rows [o0, o1) of the layer for the n inputs xs
// (n×nin) into outs (n×nout). The weights of one row block stay in cache
// while every input is multiplied by them, so a batch reads the weights
// from memory once.
func (l *denseLayer) forwardRows(outs, xs []float32, n, o0, o1 int) {
	if l.q != nil {
		denseRows(l, l.q, l.scale, denseDot8Int8, dot1Int8, outs, xs, n, o0, o1)
		return
	}
	denseRows(l, l.w, nil, denseDot8, dot1, outs, xs, n, o0, o1)
}

// denseRows is forwardRows for the weights w (float32, or int8 with the
// row scales scale; nil for none) and their dot-product kernels: output
// row o is act(dot(w[o], x)·scale[o] + bias[o]).
func denseRows[W float32 | int8](l *denseLayer, w []W, scale []float32,
	dot8 func([]W, []float32) [8]float32, dot1 func([]W, []float32) float32,
	outs, xs []float32, n, o0, o1 int) {
	nin, nout := l.nin, l.nout
	scaled := func(s float32, o int) float32 {
		if scale != nil {
			s *= scale[o]
		}
		return s + l.bias[o]
	}
	o := o0
	for ; o+denseRowBlock <= o1; o += denseRowBlock {
		rows := w[o*nin : (o+denseRowBlock)*nin]
		for img := 0; img < n; img++ {
			s := dot8(rows, xs[img*nin:(img+1)*nin])
			out := outs[img*nout+o : img*nout+o+denseRowBlock]
			for r := range out {
				out[r] = l.act(scaled(s[r], o+r))
			}
		}
	}
	for ; o < o1; o++ {
		row := w[o*nin : (o+1)*nin]
		for img := 0; img < n; img++ {
			outs[img*nout+o] = l.act(scaled(dot1(row, xs[img*nin:(img+1)*nin]), o))
		}
	}
}

func (l *denseLayer) act(v float32) float32 {
	if l.relu {
		return relu(v)
	}
	return v
}

// denseDot8 returns the dot products of x with the eight consecutive rows
// of length len(x) in w. SIMD builds replace it at init with kernels that
// sum in another order (four or eight partial sums per row), so their
// results differ from dot8's in rounding only.
var denseDot8 = dot8

// dot8 is the portable denseDot8: each row's sum in order.
func dot8(w, x []float32) (s [8]float32) {
	n := len(x)
	w0, w1, w2, w3 := w[0*n:1*n], w[1*n:2*n], w[2*n:3*n], w[3*n:4*n]
	w4, w5, w6, w7 := w[4*n:5*n], w[5*n:6*n], w[6*n:7*n], w[7*n:8*n]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	for i, v := range x {
		s0 += w0[i] * v
		s1 += w1[i] * v
		s2 += w2[i] * v
		s3 += w3[i] * v
		s4 += w4[i] * v
		s5 += w5[i] * v
		s6 += w6[i] * v
		s7 += w7[i] * v
	}
	return [8]float32{s0, s1, s2, s3, s4, s5, s6, s7}
}

// dot1 returns w·x (len(w) ≥ len(x)).
func dot1(w, x []float32) float32 {
	w = w[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += w[i] * x[i]
		s1 += w[i+1] * x[i+1]
		s2 += w[i+2] * x[i+2]
		s3 += w[i+3] * x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += w[i] * x[i]
	}
	return (s0 + s1) + (s2 + s3)
}
