// Package explain draws what shared/alexnet can say about a network: a
// Grad-CAM map as a coloured heatmap the size of the photo (optionally
// blended over it), and the first conv layer's learned filters as a grid of
// RGB tiles. It is pure Go with the standard image types, so `pawnet
// predict -cam`, `pawnet filters`, the trainer and the browser draw the
// same pixels.
package explain

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"sync"
)

// Turbo returns the colour of v (clamped to 0..1) on Google's Turbo
// colormap, a perceptually ordered rainbow from dark blue (0) to dark red
// (1), by its published polynomial approximation (Mikhailov 2019). It is
// continuous in v, so a tiny change of v changes the colour by a tiny
// amount.
func Turbo(v float64) color.RGBA {
	x := math.Min(math.Max(v, 0), 1)
	r := 0.13572138 + x*(4.61539260+x*(-42.66032258+x*(132.13108234+x*(-152.94239396+x*59.28637943))))
	g := 0.09140261 + x*(2.19418839+x*(4.84296658+x*(-14.18503333+x*(4.27729857+x*2.82956604))))
	b := 0.10667330 + x*(12.64194608+x*(-60.58204836+x*(110.36276771+x*(-89.90310912+x*27.34824973))))
	return color.RGBA{R: unit8(r), G: unit8(g), B: unit8(b), A: 255}
}

// unit8 maps 0..1 (clamped) to 0..255, rounding to nearest.
func unit8(v float64) uint8 {
	return uint8(math.Min(math.Max(v, 0), 1)*255 + 0.5)
}

// Upsample resizes a side×side map (row-major) to w×h by bilinear
// interpolation with pixel centres aligned (as PIL's and OpenCV's resize:
// output pixel X samples the map at (X+0.5)·side/w − 0.5, clamped to the
// border).
func Upsample(m []float32, side, w, h int) []float32 {
	out := make([]float32, w*h)
	xs := axis(side, w)
	ys := axis(side, h)
	for y, sy := range ys {
		r0, r1 := m[sy.i0*side:(sy.i0+1)*side], m[sy.i1*side:(sy.i1+1)*side]
		for x, sx := range xs {
			top := float64(r0[sx.i0])*(1-sx.f) + float64(r0[sx.i1])*sx.f
			bot := float64(r1[sx.i0])*(1-sx.f) + float64(r1[sx.i1])*sx.f
			out[y*w+x] = float32(top*(1-sy.f) + bot*sy.f)
		}
	}
	return out
}

type sample struct {
	i0, i1 int
	f      float64
}

// axis returns, for each of n output positions, the two source indices of
// a side-long axis and the weight of the second.
func axis(side, n int) []sample {
	s := make([]sample, n)
	for i := range s {
		p := (float64(i)+0.5)*float64(side)/float64(n) - 0.5
		p = math.Min(math.Max(p, 0), float64(side-1))
		i0 := int(p)
		i1 := min(i0+1, side-1)
		s[i] = sample{i0, i1, p - float64(i0)}
	}
	return s
}

// Heatmap returns a side×side Grad-CAM map (values 0..1) upsampled
// bilinearly to w×h and coloured with Turbo (through a table of
// turboLevels entries), fully opaque.
func Heatmap(m []float32, side, w, h int) (*image.RGBA, error) {
	if side <= 0 || len(m) != side*side {
		return nil, fmt.Errorf("explain: a %d×%d map needs %d values, got %d", side, side, side*side, len(m))
	}
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("explain: heatmap size %d×%d", w, h)
	}
	up := Upsample(m, side, w, h)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	lut := turboTable()
	pix := img.Pix[:4*len(up)]
	for i, v := range up {
		c := lut[int(min(max(v, 0), 1)*(turboLevels-1)+0.5)]
		p := pix[4*i : 4*i+4 : 4*i+4]
		p[0], p[1], p[2], p[3] = c.R, c.G, c.B, 255
	}
	return img, nil
}

// turboLevels is the size of Heatmap's Turbo table: fine enough that two
// neighbouring entries differ by at most one level per channel, so the
// table is within about one level of Turbo itself.
const turboLevels = 4096

// turboTable is Turbo at the levels i/(turboLevels−1): Heatmap looks a
// pixel's colour up instead of evaluating three polynomials.
var turboTable = sync.OnceValue(func() *[turboLevels]color.RGBA {
	var t [turboLevels]color.RGBA
	for i := range t {
		t[i] = Turbo(float64(i) / (turboLevels - 1))
	}
	return &t
})

// Overlay returns photo with heat blended over it at the given opacity
// (0: the photo, 1: the heatmap): each channel is
// round((1−opacity)·photo + opacity·heat). heat must have photo's size.
func Overlay(photo image.Image, heat *image.RGBA, opacity float64) (*image.RGBA, error) {
	b := photo.Bounds()
	if b.Dx() != heat.Rect.Dx() || b.Dy() != heat.Rect.Dy() {
		return nil, fmt.Errorf("explain: heatmap %v does not match the photo's %v", heat.Rect.Size(), b.Size())
	}
	a := math.Min(math.Max(opacity, 0), 1)
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := range b.Dy() {
		for x := range b.Dx() {
			r, g, bl, _ := photo.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := out.PixOffset(x, y)
			h := heat.Pix[heat.PixOffset(x, y):]
			for c, v := range [3]uint32{r >> 8, g >> 8, bl >> 8} {
				out.Pix[i+c] = uint8((1-a)*float64(v) + a*float64(h[c]) + 0.5)
			}
			out.Pix[i+3] = 255
		}
	}
	return out, nil
}

// EncodePNG encodes an image as PNG with the default compression.
func EncodePNG(img image.Image) ([]byte, error) { return encodePNG(img, png.DefaultCompression) }

// EncodePNGFast encodes an image as PNG without compression: for images
// that stay in memory (the browser worker's heatmaps), about 10× faster
// and 4× larger than EncodePNG's for a heatmap.
func EncodePNGFast(img image.Image) ([]byte, error) { return encodePNG(img, png.NoCompression) }

func encodePNG(img image.Image, level png.CompressionLevel) ([]byte, error) {
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: level}).Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
