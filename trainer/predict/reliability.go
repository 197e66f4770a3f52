package predict

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"sort"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/pawnet/pawnet/shared/metrics"
)

// ReliabilityBins bins a submission's P(dog) against the labels (label >
// 0.5 counts as dog) into n bins; ids without a prediction are left out.
func ReliabilityBins(pred, labels map[int]float64, n int) []metrics.ReliabilityBin {
	ids := make([]int, 0, len(labels))
	for id := range labels {
		if _, ok := pred[id]; ok {
			ids = append(ids, id)
		}
	}
	sort.Ints(ids)
	p := make([]float64, len(ids))
	y := make([]int, len(ids))
	for i, id := range ids {
		p[i] = pred[id]
		if labels[id] > 0.5 {
			y[i] = 1
		}
	}
	return metrics.Reliability(p, y, n)
}

// ReliabilityPNG draws a reliability diagram: per bin, a bar up to the
// fraction of dogs and a dot at (mean predicted P(dog), that fraction),
// the diagonal of perfect calibration, the photo count of each bin and
// the expected calibration error in the title.
func ReliabilityPNG(bins []metrics.ReliabilityBin, title string) ([]byte, error) {
	const w, h, left, right, top, bottom = 480, 480, 56, 16, 36, 56
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill := func(r image.Rectangle, c color.Color) {
		r = r.Intersect(img.Bounds())
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				img.Set(x, y, c)
			}
		}
	}
	fill(img.Bounds(), color.White)
	pw, ph := w-left-right, h-top-bottom
	px := func(v float64) int { return left + int(v*float64(pw)+0.5) }
	py := func(v float64) int { return top + ph - int(v*float64(ph)+0.5) }
	text := func(x, y int, s string) {
		d := font.Drawer{Dst: img, Src: image.NewUniform(color.Black), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
		d.DrawString(s)
	}
	bar := color.RGBA{120, 160, 220, 255}
	for _, b := range bins {
		if b.Count == 0 {
			continue
		}
		fill(image.Rect(px(b.Lo)+2, py(b.Frequency), px(b.Hi)-1, py(0)), bar)
		text(px(b.Lo)+4, py(0)+26, fmt.Sprint(b.Count))
	}
	for i := 0; i <= pw; i++ { // the diagonal, dashed
		if (i/6)%2 == 0 {
			v := float64(i) / float64(pw)
			fill(image.Rect(px(v), py(v), px(v)+1, py(v)+1), color.Gray{110})
		}
	}
	for _, b := range bins {
		if b.Count > 0 {
			x, y := px(b.Confidence), py(b.Frequency)
			fill(image.Rect(x-3, y-3, x+4, y+4), color.RGBA{200, 40, 40, 255})
		}
	}
	fill(image.Rect(left, py(0), left+pw+1, py(0)+1), color.Black)
	fill(image.Rect(left, top, left+1, py(0)+1), color.Black)
	for _, v := range []float64{0, 0.5, 1} {
		fill(image.Rect(px(v), py(0), px(v)+1, py(0)+5), color.Black)
		fill(image.Rect(left-5, py(v), left, py(v)+1), color.Black)
		text(px(v)-10, py(0)+16, fmt.Sprintf("%.1f", v))
		text(left-30, py(v)+4, fmt.Sprintf("%.1f", v))
	}
	text(left, 16, title)
	text(left, 30, fmt.Sprintf("ECE %.4f; bars: fraction of dogs, dots: mean P(dog)", metrics.ExpectedCalibrationError(bins)))
	text(left+pw/2-70, h-8, "predicted P(dog); counts per bin")
	text(4, top-8, "dogs")
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
