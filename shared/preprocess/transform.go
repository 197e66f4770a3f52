package preprocess

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/pawnet/pawnet/shared/imageio"
)

// Normalizer maps 8-bit pixels to model inputs: out = (p/255 − mean) / std
// per channel (torchvision's ToTensor then Normalize).
type Normalizer struct {
	scale, offset [3]float32
}

// NewNormalizer builds a Normalizer from validated stats.
func NewNormalizer(s Stats) (Normalizer, error) {
	if err := s.Validate(); err != nil {
		return Normalizer{}, err
	}
	var n Normalizer
	for c := 0; c < 3; c++ {
		n.scale[c] = float32(1 / (255 * s.Std[c]))
		n.offset[c] = float32(-s.Mean[c] / s.Std[c])
	}
	return n, nil
}

// Bytes normalizes HWC RGB bytes into dst (same length as pix).
func (n Normalizer) Bytes(pix []uint8, dst []float32) {
	_ = dst[len(pix)-1]
	for i := 0; i+2 < len(pix); i += 3 {
		dst[i] = float32(pix[i])*n.scale[0] + n.offset[0]
		dst[i+1] = float32(pix[i+1])*n.scale[1] + n.offset[1]
		dst[i+2] = float32(pix[i+2])*n.scale[2] + n.offset[2]
	}
}

// floats normalizes values already on the 0–255 scale, in place.
func (n Normalizer) floats(v []float32) {
	for i := 0; i+2 < len(v); i += 3 {
		v[i] = v[i]*n.scale[0] + n.offset[0]
		v[i+1] = v[i+1]*n.scale[1] + n.offset[1]
		v[i+2] = v[i+2]*n.scale[2] + n.offset[2]
	}
}

// Eval is the evaluation transform: resize to size×size (antialiased
// bilinear, aspect not kept, as torchvision's Resize((size, size))), then
// normalize. It writes size·size·3 float32 HWC values to dst, which must
// have that length.
func Eval(img *imageio.RGB, size int, n Normalizer, dst []float32) {
	if img.W != size || img.H != size {
		img = imageio.Resize(img.Image(), size, size)
	}
	n.Bytes(img.Pix, dst)
}

// EvalBytes decodes an encoded photo and applies Eval: the whole path from
// a file's bytes to a model input, shared by `pawnet predict` and the
// browser. maxPixels ≤ 0 means imageio.DefaultMaxPixels. It is EvalPhoto
// without a prescale.
func EvalBytes(data []byte, size, maxPixels int, n Normalizer) ([]float32, error) {
	x, _, err := EvalPhoto(data, size, maxPixels, n, 0)
	return x, err
}

// AugConfig holds the ranges of the train-time augmentations.
type AugConfig struct {
	FlipP      float64    // RandomHorizontalFlip probability
	Degrees    float64    // RandomRotation range ±Degrees
	Scale      [2]float64 // RandomResizedCrop area fraction range
	Ratio      [2]float64 // RandomResizedCrop aspect ratio range (w/h)
	Brightness float64    // ColorJitter brightness: factor in [1−b, 1+b]
	Contrast   float64    // ColorJitter contrast: factor in [1−c, 1+c]
	Saturation float64    // ColorJitter saturation: factor in [1−s, 1+s]
}

// DefaultAug is the seed recipe: flip p=0.5, rotation ±10°,
// RandomResizedCrop scale 0.8–1.0 ratio 3/4–4/3, ColorJitter 0.2/0.2/0.2.
func DefaultAug() AugConfig {
	return AugConfig{
		FlipP: 0.5, Degrees: 10,
		Scale: [2]float64{0.8, 1.0}, Ratio: [2]float64{3.0 / 4, 4.0 / 3},
		Brightness: 0.2, Contrast: 0.2, Saturation: 0.2,
	}
}

// CropBox is a RandomResizedCrop box in source pixels: top-left (X, Y),
// size W×H.
type CropBox struct{ X, Y, W, H int }

// Jitter op codes for Augment.Order.
const (
	JitterBrightness = iota
	JitterContrast
	JitterSaturation
)

// Augment is one sampled train transform, applied in torchvision's order:
// flip, rotate, crop-resize, color jitter, normalize.
type Augment struct {
	Flip  bool
	Angle float64 // degrees, counter-clockwise
	Crop  CropBox
	// Brightness, Contrast and Saturation are the jitter factors (1 = none),
	// applied in Order, as ColorJitter draws a random permutation.
	Brightness, Contrast, Saturation float64
	Order                            [3]int
}

// Identity is the augmentation that changes nothing on a w×h source
// resized to w×h.
func Identity(w, h int) Augment {
	return Augment{Crop: CropBox{0, 0, w, h}, Brightness: 1, Contrast: 1, Saturation: 1, Order: [3]int{0, 1, 2}}
}

// RNG returns the random source for one sample of one epoch. Augmentation
// depends only on (seed, epoch, index), never on which worker runs it.
func RNG(seed uint64, epoch, index int) *rand.Rand {
	return rand.New(rand.NewPCG(splitmix(seed), splitmix(uint64(epoch)<<32^uint64(uint32(index)))))
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// Sample draws one Augment for a w×h source image.
//
// RandomResizedCrop follows torchvision's get_params: up to 10 tries of
// area = w·h·U(scale), log-uniform aspect r in ratio, cw = round(√(area·r)),
// ch = round(√(area/r)), accepted when it fits, at a uniform position;
// otherwise a centre crop of the whole image clamped to the ratio range.
func (c AugConfig) Sample(r *rand.Rand, w, h int) Augment {
	a := Augment{Brightness: 1, Contrast: 1, Saturation: 1}
	a.Flip = r.Float64() < c.FlipP
	if c.Degrees > 0 {
		a.Angle = uniform(r, -c.Degrees, c.Degrees)
	}
	a.Crop = c.sampleCrop(r, w, h)
	if c.Brightness > 0 {
		a.Brightness = uniform(r, math.Max(0, 1-c.Brightness), 1+c.Brightness)
	}
	if c.Contrast > 0 {
		a.Contrast = uniform(r, math.Max(0, 1-c.Contrast), 1+c.Contrast)
	}
	if c.Saturation > 0 {
		a.Saturation = uniform(r, math.Max(0, 1-c.Saturation), 1+c.Saturation)
	}
	p := r.Perm(3)
	copy(a.Order[:], p)
	return a
}

func (c AugConfig) sampleCrop(r *rand.Rand, w, h int) CropBox {
	area := float64(w * h)
	lr0, lr1 := math.Log(c.Ratio[0]), math.Log(c.Ratio[1])
	for try := 0; try < 10; try++ {
		target := area * uniform(r, c.Scale[0], c.Scale[1])
		ar := math.Exp(uniform(r, lr0, lr1))
		cw := int(math.Round(math.Sqrt(target * ar)))
		ch := int(math.Round(math.Sqrt(target / ar)))
		if cw > 0 && cw <= w && ch > 0 && ch <= h {
			return CropBox{X: r.IntN(w - cw + 1), Y: r.IntN(h - ch + 1), W: cw, H: ch}
		}
	}
	in := float64(w) / float64(h)
	cw, ch := w, h
	switch {
	case in < c.Ratio[0]:
		ch = int(math.Round(float64(cw) / c.Ratio[0]))
	case in > c.Ratio[1]:
		cw = int(math.Round(float64(ch) * c.Ratio[1]))
	}
	return CropBox{X: (w - cw) / 2, Y: (h - ch) / 2, W: cw, H: ch}
}

// Apply runs the augmentation on src and writes size·size·3 normalized
// float32 HWC values to dst.
//
//   - Flip: out(x, y) = in(W−1−x, y).
//   - Rotation by θ counter-clockwise about the image centre, nearest
//     neighbour, outside filled with 0 (torchvision RandomRotation's
//     defaults): out(p) = in(c + R(θ)ᵀ(p − c)) with pixel centres at +0.5.
//   - RandomResizedCrop: the crop box of the rotated image is resized to
//     size×size bilinearly with align_corners=False: s = (u+0.5)·cw/size − 0.5,
//     clamped to the box, blending the 4 neighbours.
//   - ColorJitter, in Order, on the 0–255 scale, each result clamped:
//     brightness v·b; contrast c·v + (1−c)·mean(gray); saturation
//     s·v + (1−s)·gray, with gray = 0.299R + 0.587G + 0.114B
//     (torchvision's rgb_to_grayscale weights).
//
// Only the crop box of the flipped, rotated image is materialized (as
// uint8, stepping the inverse rotation incrementally), then resized.
func (a Augment) Apply(src *imageio.RGB, size int, n Normalizer, dst []float32) error {
	if len(dst) != size*size*3 {
		return fmt.Errorf("augment: dst has %d values, want %d", len(dst), size*size*3)
	}
	cb := a.Crop
	if cb.W <= 0 || cb.H <= 0 || cb.X < 0 || cb.Y < 0 || cb.X+cb.W > src.W || cb.Y+cb.H > src.H {
		return fmt.Errorf("augment: crop box %+v outside the %d×%d source", cb, src.W, src.H)
	}
	bufp := scratch.Get().(*[]uint8)
	defer scratch.Put(bufp)
	if cap(*bufp) < cb.W*cb.H*3 {
		*bufp = make([]uint8, cb.W*cb.H*3)
	}
	region := (*bufp)[:cb.W*cb.H*3]
	a.geometry(src, region)
	resizeBilinear(region, cb.W, cb.H, size, dst)
	for _, op := range a.Order {
		switch op {
		case JitterBrightness:
			if a.Brightness != 1 {
				blendConst(dst, float32(a.Brightness), 0)
			}
		case JitterContrast:
			if a.Contrast != 1 {
				var sum float64
				for i := 0; i+2 < len(dst); i += 3 {
					sum += float64(gray(dst[i], dst[i+1], dst[i+2]))
				}
				blendConst(dst, float32(a.Contrast), float32(sum/float64(size*size)))
			}
		case JitterSaturation:
			if a.Saturation != 1 {
				f := float32(a.Saturation)
				for i := 0; i+2 < len(dst); i += 3 {
					gr := (1 - f) * gray(dst[i], dst[i+1], dst[i+2])
					dst[i] = clamp255(f*dst[i] + gr)
					dst[i+1] = clamp255(f*dst[i+1] + gr)
					dst[i+2] = clamp255(f*dst[i+2] + gr)
				}
			}
		}
	}
	n.floats(dst)
	return nil
}

var scratch = sync.Pool{New: func() any { return new([]uint8) }}

// geometry writes the crop box of the flipped, rotated source to region
// (cb.W×cb.H RGB).
func (a Augment) geometry(src *imageio.RGB, region []uint8) {
	cb := a.Crop
	W, H := src.W, src.H
	if a.Angle == 0 {
		for y := 0; y < cb.H; y++ {
			row := src.Pix[(cb.Y+y)*W*3 : (cb.Y+y+1)*W*3]
			out := region[y*cb.W*3 : (y+1)*cb.W*3]
			if !a.Flip {
				copy(out, row[cb.X*3:(cb.X+cb.W)*3])
				continue
			}
			for x := 0; x < cb.W; x++ {
				sx := (W - 1 - (cb.X + x)) * 3
				out[x*3], out[x*3+1], out[x*3+2] = row[sx], row[sx+1], row[sx+2]
			}
		}
		return
	}
	th := a.Angle * math.Pi / 180
	cos, sin := math.Cos(th), math.Sin(th)
	cx, cy := float64(W)/2, float64(H)/2
	for y := 0; y < cb.H; y++ {
		dy := float64(cb.Y+y) + 0.5 - cy
		dx := float64(cb.X) + 0.5 - cx
		// Inverse of a counter-clockwise rotation in y-down coordinates,
		// +0.5 so that truncation rounds to the nearest pixel.
		fx := dx*cos - dy*sin + cx
		fy := dx*sin + dy*cos + cy
		out := region[y*cb.W*3 : (y+1)*cb.W*3]
		for x := 0; x < cb.W; x, fx, fy = x+1, fx+cos, fy+sin {
			if fx < 0 || fy < 0 || fx >= float64(W) || fy >= float64(H) {
				out[x*3], out[x*3+1], out[x*3+2] = 0, 0, 0
				continue
			}
			sx, sy := int(fx), int(fy)
			if a.Flip {
				sx = W - 1 - sx
			}
			i := (sy*W + sx) * 3
			out[x*3], out[x*3+1], out[x*3+2] = src.Pix[i], src.Pix[i+1], src.Pix[i+2]
		}
	}
}

// resizeBilinear scales a w×h RGB region to size×size float32 (0–255),
// align_corners=False, sampling positions clamped to the region.
func resizeBilinear(region []uint8, w, h, size int, dst []float32) {
	x0s, x1s := make([]int, size), make([]int, size)
	wxs := make([]float32, size)
	sx := float64(w) / float64(size)
	for u := 0; u < size; u++ {
		fx := clamp((float64(u)+0.5)*sx-0.5, 0, float64(w-1))
		x0 := int(fx)
		x0s[u], x1s[u], wxs[u] = x0*3, min(x0+1, w-1)*3, float32(fx-float64(x0))
	}
	sy := float64(h) / float64(size)
	for v := 0; v < size; v++ {
		fy := clamp((float64(v)+0.5)*sy-0.5, 0, float64(h-1))
		y0 := int(fy)
		y1 := min(y0+1, h-1)
		wy := float32(fy - float64(y0))
		r0 := region[y0*w*3 : (y0+1)*w*3]
		r1 := region[y1*w*3 : (y1+1)*w*3]
		out := dst[v*size*3 : (v+1)*size*3]
		for u := 0; u < size; u++ {
			a, b, wx := x0s[u], x1s[u], wxs[u]
			for c := 0; c < 3; c++ {
				p00, p01 := float32(r0[a+c]), float32(r0[b+c])
				p10, p11 := float32(r1[a+c]), float32(r1[b+c])
				top := p00 + (p01-p00)*wx
				bot := p10 + (p11-p10)*wx
				out[u*3+c] = top + (bot-top)*wy
			}
		}
	}
}

func gray(r, g, b float32) float32 { return 0.299*r + 0.587*g + 0.114*b }

func blendConst(v []float32, f, other float32) {
	add := (1 - f) * other
	for i := range v {
		v[i] = clamp255(f*v[i] + add)
	}
}

func clamp255(v float32) float32 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return v
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// Mirror returns an HWC image of size×size×3 values flipped horizontally
// (the test-time augmentation of the trainer's validation and of
// shared/classify).
func Mirror(x []float32, size int) []float32 {
	out := make([]float32, len(x))
	for y := 0; y < size; y++ {
		for u := 0; u < size; u++ {
			copy(out[(y*size+u)*3:(y*size+u)*3+3], x[(y*size+size-1-u)*3:(y*size+size-1-u)*3+3])
		}
	}
	return out
}
