package predict

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/classify"
	"github.com/pawnet/pawnet/shared/explain"
	"github.com/pawnet/pawnet/trainer/dataset"
	"github.com/pawnet/pawnet/trainer/fsutil"
)

// CAMName is the name of a photo's Grad-CAM overlay: its base name without
// the extension, then ".cam.png" (cat.1.jpg → cat.1.cam.png).
func CAMName(path string) string {
	base := filepath.Base(path)
	return strings.TrimSuffix(base, filepath.Ext(base)) + ".cam.png"
}

// CAM classifies one photo (a file, or a photo in a zip) with
// classify.Explain (one forward pass, no test-time augmentation) and
// writes into dir, atomically, the Grad-CAM heatmap of its predicted
// class blended over the photo (resized so its longer side is side
// pixels; 0 keeps its size) at the given opacity, as CAMName(p.Path). It
// returns the prediction and the overlay's path; a file that cannot be
// read or decoded gets its error in the Result and no overlay.
func CAM(c *classify.Classifier, p dataset.Photo, dir string, side int, opacity float64) (Result, string) {
	r := Result{Path: p.Path}
	data, err := p.Read()
	if err != nil {
		r.Err = err
		return r, ""
	}
	e, err := c.Explain(data, false)
	if err != nil {
		r.Err = err
		return r, ""
	}
	r.Prediction = e.Prediction
	img, err := c.Overlay(data, e, e.Best, side, opacity)
	if err != nil {
		r.Err = fmt.Errorf("cam overlay: %w", err)
		return r, ""
	}
	out := filepath.Join(dir, CAMName(p.Path))
	png, err := explain.EncodePNG(img)
	if err == nil {
		err = fsutil.WriteFileAtomic(out, png)
	}
	if err != nil {
		r.Err = fmt.Errorf("cam overlay: %w", err)
		return r, ""
	}
	return r, out
}

// FiltersPNG draws the first conv layer's filters of m as a PNG grid (see
// explain.Filters), each tile magnified scale times.
func FiltersPNG(m *alexnet.Model, scale int) ([]byte, explain.Grid, error) {
	cfg := m.Config()
	w := m.Param(alexnet.ConvNames[0] + ".weight")
	img, g, err := explain.Filters(w, cfg.Channels[0], cfg.Kernels[0], scale)
	if err != nil {
		return nil, g, err
	}
	png, err := explain.EncodePNG(img)
	return png, g, err
}
