package train

import (
	"encoding/base64"
	"fmt"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/explain"
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/shared/preprocess"
)

// addHeat gives each misclassified sample the Grad-CAM heatmap of the
// class it was taken for, with the weights of the epoch that made the
// mistake, at its thumbnail's size. The trainer draws them, not the page:
// the page holds only the exported (best) weights, and the gallery shows
// any epoch's mistakes, which only that epoch's weights explain.
func (r *Run) addHeat(samples []metrics.Sample) error {
	if len(samples) == 0 {
		return nil
	}
	m, err := alexnet.NewModel(r.cfg.Model, r.m.ExportParams(), alexnet.Metadata{})
	if err != nil {
		return err
	}
	size := r.cfg.Model.InputSize
	x := make([]float32, size*size*3)
	for i := range samples {
		s := &samples[i]
		img := r.cache.Image(s.Index)
		preprocess.Eval(img, size, r.norm, x)
		cam, err := m.GradCAM(x)
		if err != nil {
			return err
		}
		w, h := thumbSize(img)
		heat, err := explain.Heatmap(cam.Maps[alexnet.Argmax(cam.Logits)], cam.Side, w, h)
		if err != nil {
			return err
		}
		b, err := explain.EncodePNG(heat)
		if err != nil {
			return err
		}
		s.Heat = base64.StdEncoding.EncodeToString(b)
	}
	return nil
}

// emitFilters sends the conv1 filters of params as a Filters message for
// epoch (0: the initialization).
func (r *Run) emitFilters(epoch int, params map[string][]float32) {
	cfg := r.cfg.Model
	img, g, err := explain.Filters(params[alexnet.ConvNames[0]+".weight"], cfg.Channels[0], cfg.Kernels[0], 1)
	var b []byte
	if err == nil {
		b, err = explain.EncodePNG(img)
	}
	if err == nil {
		r.emit.Emit(&metrics.Filters{Epoch: epoch, PNG: base64.StdEncoding.EncodeToString(b), Grid: g, Norm: explain.FilterNorm})
		return
	}
	fmt.Fprintf(r.opts.Log, "conv1 filters of epoch %d not sent: %v\n", epoch, err)
}
