package alexnet

import (
	"encoding/binary"
	"unsafe"
)

// Int8 weights. Load keeps the weights of an int8 file as they are
// stored, a view of the file's bytes with one float32 scale per output row
// (W[o][j] = q[o][j]·scale[o]), instead of expanding them to float32. The
// dense layers (for Full 54.5 M of the 58.3 M parameters: 55 MB instead of
// 218 MB) compute on them directly, so a browser worker neither allocates
// nor fills the difference at load (on a VM, first touching fresh memory
// is what costs most), and the memory-bound dense layers read a quarter of
// the bytes. The conv weights are expanded one layer at a time into one
// buffer while newModel packs or transforms them (newModel). The kernels compute Σ_j q[o][j]·x[j] in float32 (each q is
// exact in float32), then multiply the row's sum by its scale: the same
// products as the float32 kernels on dequantized weights, rounded in
// another order (within 1e-5 relative, see TestInt8DenseMatchesDequantized).

// quantized is one int8 weight tensor as an int8 file stores it.
type quantized struct {
	q     []int8    // rows × cols, row-major
	scale []float32 // one per row
}

// floatsInto expands the weights to float32 (q·scale) into buf, grown if
// needed, and returns the filled part. A 256-entry table per row maps each
// byte to its value (in wasm, about twice as fast as converting and
// multiplying each one).
func (t quantized) floatsInto(buf []float32) []float32 {
	if cap(buf) < len(t.q) {
		buf = make([]float32, len(t.q))
	}
	buf = buf[:len(t.q)]
	if len(t.scale) == 0 {
		return buf
	}
	n := len(t.q) / len(t.scale)
	var table [256]float32
	b := bytesOf(t.q)
	for r, s := range t.scale {
		dequantizeRow(buf[r*n:(r+1)*n], b[r*n:(r+1)*n], s, &table)
	}
	return buf
}

// dequantizeRow sets dst[i] = int8(src[i])·s, using table as scratch. It
// is a function of its own, called once per row, so that a wasm engine
// that optimizes functions after some calls (V8 does not replace a running
// call's baseline code) runs most rows optimized.
func dequantizeRow(dst []float32, src []byte, s float32, table *[256]float32) {
	for b := range table {
		table[b] = float32(int8(b)) * s
	}
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = table[b]
	}
}

// int8s returns b as int8 values: a view of b's memory, not a copy.
func int8s(b []byte) []int8 {
	if len(b) == 0 {
		return []int8{}
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(b))), len(b))
}

// bytesOf returns q as bytes: a view of q's memory, not a copy.
func bytesOf(q []int8) []byte {
	if len(q) == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(q))), len(q))
}

// weight returns W[o][j].
func (l *denseLayer) weight(o, j int) float32 {
	if l.q != nil {
		return float32(l.q[o*l.nin+j]) * l.scale[o]
	}
	return l.w[o*l.nin+j]
}

// axpyRow adds a·W[o][lo:hi] to y (len(y) = hi-lo).
func (l *denseLayer) axpyRow(y []float32, a float32, o, lo, hi int) {
	if l.q != nil {
		axpyInt8Kernel(y, a*l.scale[o], l.q[o*l.nin+lo:o*l.nin+hi])
		return
	}
	axpyKernel(y, a, l.w[o*l.nin+lo:o*l.nin+hi])
}

// axpy2Row is axpyRow for two outputs at once, y0 += a0·row and
// y1 += a1·row: the same results as two axpyRow calls, with the row's
// int8 weights converted once (in SIMD builds) for both.
func (l *denseLayer) axpy2Row(y0, y1 []float32, a0, a1 float32, o, lo, hi int) {
	if l.q != nil {
		s := l.scale[o]
		axpy2Int8Kernel(y0, y1, a0*s, a1*s, l.q[o*l.nin+lo:o*l.nin+hi])
		return
	}
	w := l.w[o*l.nin+lo : o*l.nin+hi]
	axpyKernel(y0, a0, w)
	axpyKernel(y1, a1, w)
}

// axpy2Int8Kernel is axpy2Int8; the wasm SIMD build replaces it at init.
var axpy2Int8Kernel = axpy2Int8

// axpy2Int8 adds a0·q to y0 and a1·q to y1, as axpyInt8Kernel does for each.
func axpy2Int8(y0, y1 []float32, a0, a1 float32, q []int8) {
	axpyInt8Kernel(y0, a0, q)
	axpyInt8Kernel(y1, a1, q)
}

// denseDot8Int8 returns Σ_j q[r·n+j]·x[j] for the eight consecutive rows
// r of length n = len(x) in q. SIMD builds replace it at init with kernels
// that sum in another order.
var denseDot8Int8 = dot8Int8

// dot8Int8 is the portable denseDot8Int8: each row's sum in order.
func dot8Int8(q []int8, x []float32) (s [8]float32) {
	n := len(x)
	q0, q1, q2, q3 := q[0*n:1*n], q[1*n:2*n], q[2*n:3*n], q[3*n:4*n]
	q4, q5, q6, q7 := q[4*n:5*n], q[5*n:6*n], q[6*n:7*n], q[7*n:8*n]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	for i, v := range x {
		s0 += float32(q0[i]) * v
		s1 += float32(q1[i]) * v
		s2 += float32(q2[i]) * v
		s3 += float32(q3[i]) * v
		s4 += float32(q4[i]) * v
		s5 += float32(q5[i]) * v
		s6 += float32(q6[i]) * v
		s7 += float32(q7[i]) * v
	}
	return [8]float32{s0, s1, s2, s3, s4, s5, s6, s7}
}

// dot1Int8 returns Σ q[j]·x[j] (len(q) ≥ len(x)).
func dot1Int8(q []int8, x []float32) float32 {
	q = q[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += float32(q[i]) * x[i]
		s1 += float32(q[i+1]) * x[i+1]
		s2 += float32(q[i+2]) * x[i+2]
		s3 += float32(q[i+3]) * x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += float32(q[i]) * x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// axpyInt8Kernel is axpyInt8; SIMD builds replace it at init.
var axpyInt8Kernel = axpyInt8

// axpyInt8 adds a·q to y (len(q) ≥ len(y)).
func axpyInt8(y []float32, a float32, q []int8) {
	q = q[:len(y)]
	for i, v := range q {
		y[i] += a * float32(v)
	}
}

// groupSumsInt8 sets sums[k] = Σ of the p int8 values q[k·p : (k+1)·p],
// for every k < len(sums), exactly. Grad-CAM's channel sums of fc6 call it
// once per row: for Full, 256 groups of p = 36 (the 6×6 pooled map).
func groupSumsInt8(sums []int32, q []int8, p int) {
	q = q[:len(sums)*p]
	k := 0
	if p%8 == 4 && p*255 < 1<<16 { // a group's biased sum fits 16 bits
		k = groupPairSums(sums, bytesOf(q), p)
	}
	for ; k < len(sums); k++ {
		var s int32
		for _, v := range q[k*p : (k+1)*p] {
			s += int32(v)
		}
		sums[k] = s
	}
}

// groupPairSums is groupSumsInt8 for p ≡ 4 (mod 8), two groups (p/4
// 8-byte words, the middle one shared) at a time, on eight bytes per
// 64-bit word: each int8 is biased to the byte q+128 (the sign bit
// flipped), adjacent bytes are added into four 16-bit lanes, the lanes of
// a group are summed with one multiplication, and the bias is taken off.
// It returns the number of groups done (an even count).
func groupPairSums(sums []int32, b []byte, p int) int {
	const (
		bias  = 0x8080808080808080
		lanes = 0x00ff00ff00ff00ff
		ones  = 0x0001000100010001
	)
	half := (p - 4) / 8 // whole words of one group
	words := p / 4      // words of a pair
	pairs := len(sums) / 2
	for j := range pairs {
		w := b[j*2*p : j*2*p+8*words]
		var a, c uint64
		for i := range half {
			x := binary.LittleEndian.Uint64(w[8*i:]) ^ bias
			a += x&lanes + x>>8&lanes
			y := binary.LittleEndian.Uint64(w[8*(half+1+i):]) ^ bias
			c += y&lanes + y>>8&lanes
		}
		x := binary.LittleEndian.Uint64(w[8*half:]) ^ bias
		x = x&lanes + x>>8&lanes
		a += x & 0xffffffff
		c += x >> 32
		sums[2*j] = int32(a*ones>>48) - int32(128*p)
		sums[2*j+1] = int32(c*ones>>48) - int32(128*p)
	}
	return 2 * pairs
}
