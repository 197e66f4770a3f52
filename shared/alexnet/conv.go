package alexnet

import "unsafe"

// convLayer is one convolution (+ bias + ReLU, + optional max-pool) with its
// weights packed for gemmPanels. Activations are single images in
// PyTorch's (C, H, W) layout, so a conv output is the GEMM result itself
// and the last feature map is already flattened in classifier.1's order.
type convLayer struct {
	cin, cout       int
	kernel, stride  int
	pad             int
	in, out, pooled int // spatial sides: input, conv output, after pool (= out without pool)
	pool            bool
	k, n, panels    int       // GEMM depth, columns, column panels
	wPacked, bias   []float32 // im2col path: packed weights
	wino            *winograd // Winograd path, when it pays (then wPacked is nil)
	winoM           int       // the Winograd tile deferred to prepare (0: none)
}

// deferWinograd lists the kernel sizes whose Winograd filter transform a
// deferred build (newConvLayerDeferred) leaves for later: the 3×3 layers,
// whose transformed weights (F(4×4, 3×3): 36 values per 9) are 50 MB for
// Full. The 5×5 conv2's are 5 MB (49 per 25), and its first passes on
// im2col would cost more than its transform: under node, conv2 takes 116 ms
// on im2col and 37 on Winograd, conv3–5 136 and 60.
var deferWinograd = map[int]bool{3: true}

func newConvLayer(cfg Config, i, in int, w, bias []float32) convLayer {
	return newConvLayerDeferred(cfg, i, in, w, bias, false)
}

// newConvLayerDeferred is newConvLayer; with deferred set, a layer that
// would use Winograd with a kernel deferWinograd lists starts on im2col +
// GEMM instead, and prepare switches it.
func newConvLayerDeferred(cfg Config, i, in int, w, bias []float32, deferred bool) convLayer {
	cin := 3
	if i > 0 {
		cin = cfg.Channels[i-1]
	}
	l := convLayer{
		cin: cin, cout: cfg.Channels[i],
		kernel: cfg.Kernels[i], stride: cfg.Strides[i], pad: cfg.Pads[i],
		in: in, pool: PoolAfter(i),
	}
	l.out = convOut(in, l.kernel, l.stride, l.pad)
	l.pooled = l.out
	if l.pool {
		l.pooled = convOut(l.out, PoolWindow, PoolStride, 0)
	}
	l.k = cin * l.kernel * l.kernel
	l.n = l.out * l.out
	l.panels = (l.n + gemmNR - 1) / gemmNR
	l.bias = bias
	if m, ok := winogradTile[l.kernel]; ok && l.stride == 1 && m+l.kernel-1 <= 8 {
		// Use Winograd when it saves at least a fifth of the multiplications.
		a, tiles := m+l.kernel-1, (l.out+m-1)/m
		if 10*a*a*tiles*tiles < 8*l.kernel*l.kernel*l.n {
			if !deferred || !deferWinograd[l.kernel] {
				l.wino = newWinograd(&l, m, w)
				return l
			}
			l.winoM = m
		}
	}
	l.wPacked = packA(w, l.cout, l.k)
	return l
}

// prepare switches a layer whose Winograd transform was deferred to it,
// with the layer's OIHW weights w, and drops its packed weights.
func (l *convLayer) prepare(w []float32) {
	l.wino = newWinograd(l, l.winoM, w)
	l.wPacked, l.winoM = nil, 0
}

// colSize is the number of scratch floats forward needs: the packed patch
// matrix, or the Winograd buffers.
func (l *convLayer) colSize() int {
	if l.wino != nil {
		return l.wino.scratchSize()
	}
	return l.panels * gemmNR * l.k
}

// forward computes the conv + bias + ReLU of in (cin×in×in) into out
// (cout×out×out), using col (colSize floats) for the patches. It splits the
// column panels over goroutines when par is set.
func (l *convLayer) forward(out, in, col []float32, par bool) {
	if l.wino != nil {
		l.wino.forward(out, in, l.bias, col, l.in, l.pad, l.out, par)
		return
	}
	run := func(q0, q1 int) {
		l.im2col(col, in, q0, q1)
		gemmPanels(out, l.n, l.wPacked, l.cout, col, l.n, l.k, l.bias, q0, q1)
	}
	if par {
		parallel(l.panels, 8, run)
	} else {
		run(0, l.panels)
	}
}

// im2col writes the patch-matrix panels q0..q1-1 of in into col:
// B[(c·kh + ky)·kw + kx][oy·out + ox] = in[c][oy·s+ky-p][ox·s+kx-p], zero
// outside the image, packed in gemmNR-column panels (see gemm.go).
func (l *convLayer) im2col(col, in []float32, q0, q1 int) {
	side, ks, s, p := l.in, l.kernel, l.stride, l.pad
	plane := side * side
	for q := q0; q < q1; q++ {
		dst := col[q*gemmNR*l.k : (q+1)*gemmNR*l.k]
		// Top-left input corner of each of the panel's output pixels.
		var iy0, ix0 [gemmNR]int
		var valid [gemmNR]bool
		inside := true
		for t := range gemmNR {
			j := q*gemmNR + t
			if j >= l.n {
				inside = false
				continue
			}
			valid[t] = true
			iy0[t] = (j/l.out)*s - p
			ix0[t] = (j%l.out)*s - p
			if iy0[t] < 0 || ix0[t] < 0 || iy0[t]+ks > side || ix0[t]+ks > side {
				inside = false
			}
		}
		if inside {
			l.im2colInside(dst, in, &iy0, &ix0)
			continue
		}
		d := 0
		for c := 0; c < l.cin; c++ {
			ch := in[c*plane : (c+1)*plane]
			for ky := 0; ky < ks; ky++ {
				for kx := 0; kx < ks; kx++ {
					for t := range gemmNR {
						y, x := iy0[t]+ky, ix0[t]+kx
						v := float32(0)
						if valid[t] && y >= 0 && y < side && x >= 0 && x < side {
							v = ch[y*side+x]
						}
						dst[d+t] = v
					}
					d += gemmNR
				}
			}
		}
	}
}

// im2colInside is im2col's fast path for a panel whose every window lies
// inside the image (top-left corners iy0, ix0): for each input row of the
// windows it writes the panel's k-major rows in order, reading each of the
// eight windows through its own pointer. The windows lie inside in, so
// the reads need no bounds checks, and in wasm those checks and the
// stride-8 scattered writes made it twice as slow.
func (l *convLayer) im2colInside(dst, in []float32, iy0, ix0 *[gemmNR]int) {
	side, ks := l.in, l.kernel
	plane := side * side
	_ = in[l.cin*plane-1]
	var base [gemmNR]unsafe.Pointer
	for t := range gemmNR {
		i := iy0[t]*side + ix0[t]
		_ = in[(l.cin-1)*plane+i+(ks-1)*side+ks-1] // the window's last pixel
		base[t] = unsafe.Pointer(&in[i])
	}
	j := 0
	for c := 0; c < l.cin; c++ {
		for ky := 0; ky < ks; ky++ {
			off := uintptr(4 * (c*plane + ky*side))
			p0, p1, p2, p3 := unsafe.Add(base[0], off), unsafe.Add(base[1], off), unsafe.Add(base[2], off), unsafe.Add(base[3], off)
			p4, p5, p6, p7 := unsafe.Add(base[4], off), unsafe.Add(base[5], off), unsafe.Add(base[6], off), unsafe.Add(base[7], off)
			for kx := uintptr(0); kx < uintptr(ks); kx++ {
				x := 4 * kx
				d := (*[gemmNR]float32)(dst[j:])
				d[0] = *(*float32)(unsafe.Add(p0, x))
				d[1] = *(*float32)(unsafe.Add(p1, x))
				d[2] = *(*float32)(unsafe.Add(p2, x))
				d[3] = *(*float32)(unsafe.Add(p3, x))
				d[4] = *(*float32)(unsafe.Add(p4, x))
				d[5] = *(*float32)(unsafe.Add(p5, x))
				d[6] = *(*float32)(unsafe.Add(p6, x))
				d[7] = *(*float32)(unsafe.Add(p7, x))
				j += gemmNR
			}
		}
	}
}

// maxPool computes the 3×3 stride-2 max-pool (no padding) of in (c×side×side)
// into out (c×o×o, o = (side-3)/2+1).
func maxPool(out, in []float32, c, side int) {
	o := convOut(side, PoolWindow, PoolStride, 0)
	for ch := 0; ch < c; ch++ {
		src := in[ch*side*side : (ch+1)*side*side]
		dst := out[ch*o*o : (ch+1)*o*o]
		for oy := 0; oy < o; oy++ {
			poolRow(dst[oy*o:(oy+1)*o], src[2*oy*side:(2*oy+3)*side], side)
		}
	}
}

// poolRow computes one output row d of the max-pool from the three input
// rows it covers (rows: 3·side floats); wasm SIMD builds replace it at
// init. The maximum of the same values is the same in any order, so every
// version gives the same result, but for the sign of zero and NaN payloads,
// which ReLU's outputs (the pool's inputs) do not have: relu maps -0 to +0.
var poolRow = poolRowScalar

func poolRowScalar(d, rows []float32, side int) {
	r0, r1, r2 := rows[:side], rows[side:2*side], rows[2*side:3*side]
	for ox := range d {
		x := 2 * ox
		m := fmax(fmax(r0[x], r0[x+1]), r0[x+2])
		m = fmax(m, fmax(fmax(r1[x], r1[x+1]), r1[x+2]))
		m = fmax(m, fmax(fmax(r2[x], r2[x+1]), r2[x+2]))
		d[ox] = m
	}
}
