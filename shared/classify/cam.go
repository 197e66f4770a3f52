package classify

import (
	"fmt"
	"image"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/explain"
	"github.com/pawnet/pawnet/shared/imageio"
	"github.com/pawnet/pawnet/shared/preprocess"
)

// Explanation is a photo's prediction with the Grad-CAM map of every class,
// all from one forward pass.
type Explanation struct {
	Prediction
	// Side is the side of the maps (the last conv map's: 13 for Full, 3 for
	// Small).
	Side int
	// Maps holds each class's Side×Side map, values 0..1.
	Maps [][]float32
	// Width and Height are the photo's size, EXIF orientation applied.
	Width, Height int
}

// Explain classifies one photo as Classify does (the same eval
// transform and temperature) and computes the Grad-CAM map of each class
// from the same forward pass. With tta the probabilities also average
// those of the photo's mirror (one more forward pass); the maps stay
// those of the photo itself. A photo that cannot be decoded returns its
// error.
func (c *Classifier) Explain(data []byte, tta bool) (Explanation, error) {
	x, rs, err := c.tensor(data)
	if err != nil {
		return Explanation{}, err
	}
	all := make([]int, c.Model.Config().Classes)
	for i := range all {
		all[i] = i
	}
	cam, err := c.Model.GradCAM(x, all...)
	if err != nil {
		return Explanation{}, err
	}
	probs := alexnet.TemperedProbabilities(cam.Logits, c.Temperature)
	if tta {
		logits, err := c.Model.Forward(preprocess.Mirror(x, c.Size), 1)
		if err != nil {
			return Explanation{}, err
		}
		for i, p := range alexnet.TemperedProbabilities(logits, c.Temperature) {
			probs[i] = (probs[i] + p) / 2
		}
	}
	best := alexnet.Argmax(probs)
	return Explanation{
		Prediction: Prediction{Probs: probs, Best: best, Label: c.Classes[best], Resample: rs},
		Side:       cam.Side,
		Maps:       cam.Maps,
		Width:      rs.Width,
		Height:     rs.Height,
	}, nil
}

// Fit returns w×h scaled so that the longer side is side pixels (at least
// 1 pixel each way); side ≤ 0 returns w×h.
func Fit(w, h, side int) (int, int) {
	if side <= 0 || max(w, h) == side {
		return w, h
	}
	if w >= h {
		return side, max(1, h*side/w)
	}
	return max(1, w*side/h), side
}

// HeatmapPNGs returns every class's heatmap as a PNG of the photo's aspect,
// its longer side side pixels, and that size: what the browser overlays
// on the photo (uncompressed PNGs: they stay in the browser's memory).
func (e Explanation) HeatmapPNGs(side int) (pngs [][]byte, w, h int, err error) {
	w, h = Fit(e.Width, e.Height, side)
	for class := range e.Maps {
		img, err := e.Heatmap(class, w, h)
		if err != nil {
			return nil, 0, 0, err
		}
		b, err := explain.EncodePNGFast(img)
		if err != nil {
			return nil, 0, 0, err
		}
		pngs = append(pngs, b)
	}
	return pngs, w, h, nil
}

// Heatmap returns class's map coloured and upsampled to w×h (see
// explain.Heatmap).
func (e Explanation) Heatmap(class, w, h int) (*image.RGBA, error) {
	if class < 0 || class >= len(e.Maps) {
		return nil, fmt.Errorf("classify: class %d out of [0,%d)", class, len(e.Maps))
	}
	return explain.Heatmap(e.Maps[class], e.Side, w, h)
}

// Overlay decodes the photo (EXIF orientation applied), resizes it so its
// longer side is side pixels (0 keeps its size), and blends class's
// heatmap over it at the given opacity.
func (c *Classifier) Overlay(data []byte, e Explanation, class, side int, opacity float64) (*image.RGBA, error) {
	img, _, err := imageio.Decode(data, c.MaxPixels)
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	w, h := Fit(b.Dx(), b.Dy(), side)
	if w != b.Dx() || h != b.Dy() {
		img = imageio.Resize(img, w, h).Image()
	}
	heat, err := e.Heatmap(class, w, h)
	if err != nil {
		return nil, err
	}
	return explain.Overlay(img, heat, opacity)
}
