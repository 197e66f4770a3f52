package alexnet

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
)

// Variant is how an exported weights file stores the weight tensors. Each
// variant is a standard safetensors file with the same tensor names and
// shapes; biases are always float32. Load reads all three: an fp16 file is
// expanded to float32 at load; an int8 file's weights stay int8, the dense
// layers computing on them directly (dense_int8.go).
//
// Measured on the full AlexNet (58.3 M parameters): F32 233 MB, F16 117 MB,
// Int8 58 MB.
type Variant string

// The variants, most exact first.
const (
	// F32 stores every tensor as float32 ("F32"), as Save does.
	F32 Variant = "fp32"
	// F16 stores the weights as IEEE half floats ("F16"), rounded to
	// nearest even.
	F16 Variant = "fp16"
	// Int8 stores each weight tensor as int8 ("I8") with one float32
	// scale per output channel (row 0 of the PyTorch shape) in a tensor
	// named NAME_scale of shape [out]: symmetric, w ≈ q·scale with scale =
	// max|w|/127 over the channel and q = round(w/scale) in [-127, 127].
	Int8 Variant = "int8"
)

// Variants lists the variants, most exact first.
var Variants = []Variant{F32, F16, Int8}

// ScaleSuffix ends the name of the per-channel scale tensor of an int8
// weight tensor: "features.0.weight" has "features.0.weight_scale".
const ScaleSuffix = "_scale"

// ParseVariant returns the variant named s ("fp32", "fp16", "int8").
func ParseVariant(s string) (Variant, error) {
	for _, v := range Variants {
		if string(v) == s {
			return v, nil
		}
	}
	return "", fmt.Errorf("alexnet: unknown weights variant %q (want fp32, fp16 or int8)", s)
}

// dtypeSize is the size in bytes of one element of each safetensors dtype
// this package writes.
var dtypeSize = map[string]int{"F32": 4, "F16": 2, "I8": 1}

// tensorDtype is the dtype of parameter p in a file of variant v.
func tensorDtype(v Variant, p ParamSpec) string {
	if len(p.Shape) < 2 {
		return "F32" // biases
	}
	switch v {
	case F16:
		return "F16"
	case Int8:
		return "I8"
	}
	return "F32"
}

// tensorData is one tensor as SaveVariant writes it.
type tensorData struct {
	name  string
	dtype string
	shape []int
	f32   []float32 // F32 data
	raw   []byte    // F16 or I8 data
}

func (t tensorData) size() int {
	if t.dtype == "F32" {
		return 4 * len(t.f32)
	}
	return len(t.raw)
}

func (t tensorData) write(w io.Writer) error {
	if t.dtype == "F32" {
		return writeFloats(w, t.f32)
	}
	_, err := w.Write(t.raw)
	return err
}

// encodeTensors lists the tensors of a file of variant v, in Params()
// order, each int8 tensor followed by its scales.
func encodeTensors(cfg Config, params map[string][]float32, v Variant) ([]tensorData, error) {
	if _, err := ParseVariant(string(v)); err != nil {
		return nil, err
	}
	var out []tensorData
	for _, p := range cfg.Params() {
		t := tensorData{name: p.Name, dtype: tensorDtype(v, p), shape: p.Shape}
		w := params[p.Name]
		switch t.dtype {
		case "F32":
			t.f32 = w
		case "F16":
			t.raw = make([]byte, 2*len(w))
			for i, f := range w {
				binary.LittleEndian.PutUint16(t.raw[2*i:], Float32ToHalf(f))
			}
		case "I8":
			q, scales := Quantize(w, p.Shape[0])
			t.raw = make([]byte, len(q))
			for i, x := range q {
				t.raw[i] = byte(x)
			}
			out = append(out, t)
			t = tensorData{name: p.Name + ScaleSuffix, dtype: "F32", shape: p.Shape[:1], f32: scales}
		}
		out = append(out, t)
	}
	return out, nil
}

// Quantize quantizes w, rows rows of equal length (output channels),
// symmetrically per row: scale[r] = max|w[r]|/127 and q = round(w/scale),
// ties away from zero, in [-127, 127]. A row of zeros gets scale 0.
// Non-finite weights are not expected (training would have failed); a NaN
// becomes 0.
func Quantize(w []float32, rows int) (q []int8, scale []float32) {
	q = make([]int8, len(w))
	scale = make([]float32, rows)
	if rows == 0 {
		return q, scale
	}
	n := len(w) / rows
	for r := range rows {
		row := w[r*n : (r+1)*n]
		hi := float32(0)
		for _, v := range row {
			hi = max(hi, float32(math.Abs(float64(v))))
		}
		if hi == 0 || math.IsInf(float64(hi), 0) {
			continue
		}
		s := hi / 127
		scale[r] = s
		for i, v := range row {
			x := math.Round(float64(v / s))
			q[r*n+i] = int8(max(-127, min(127, x)))
		}
	}
	return q, scale
}

// halfTable maps every half float to its float32 value (256 KB, made on
// first use).
var halfTable = sync.OnceValue(func() *[1 << 16]float32 {
	t := new([1 << 16]float32)
	for h := range t {
		t[h] = HalfToFloat32(uint16(h))
	}
	return t
})

// halfFloats decodes little-endian IEEE half floats into float32.
func halfFloats(b []byte) []float32 {
	t := halfTable()
	out := make([]float32, len(b)/2)
	for i := range out {
		out[i] = t[binary.LittleEndian.Uint16(b[2*i:])]
	}
	return out
}

// Float32ToHalf rounds f to the nearest IEEE 754 half float (ties to even);
// values beyond the half range become ±Inf, NaN stays NaN.
func Float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	man := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp > 127+15: // overflow
		return sign | 0x7c00
	case exp >= 127-14: // normal half
		h := uint32(exp-127+15)<<10 | man>>13
		rest := man & 0x1fff
		if rest > 0x1000 || (rest == 0x1000 && h&1 == 1) {
			h++ // may carry into the exponent, up to Inf: correct
		}
		return sign | uint16(h)
	case exp >= 127-25: // subnormal half
		man |= 0x800000
		shift := uint(126 - 14 - exp + 13 + 1)
		h := man >> shift
		rest := man & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rest > half || (rest == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	return sign // underflow to ±0
}

// HalfToFloat32 returns the float32 value of an IEEE 754 half float.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
	case man == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: normalize.
	e := uint32(127 - 15 + 1)
	for man&0x400 == 0 {
		man <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (man&0x3ff)<<13)
}

// VariantPath returns the file name of variant v of the weights file path:
// "model.safetensors" → "model.int8.safetensors"; F32 is path itself.
func VariantPath(path string, v Variant) string {
	if v == F32 {
		return path
	}
	return strings.TrimSuffix(path, ".safetensors") + "." + string(v) + ".safetensors"
}
