//go:build js && wasm

package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/classify"
	"github.com/pawnet/pawnet/shared/preprocess"
)

// warmUp runs the code of a photo's classification once, heatmaps
// included, on a made-up JPEG: with c, the classifier of the loaded
// weights, whose deferred transforms it builds first (Prepare); without,
// first the load of a small AlexNet (alexnet.Small with freshly
// initialized int8 weights, about fifty times smaller than the full one,
// deferred as the real weights are) and then its classifier, once before
// Prepare (the path of a first photo after a load) and then after it.
// The browser compiles a wasm function on its first call, runs it
// unoptimized at first and optimizes it in the background once it has run
// a while (the optimized code is shared by the pool's workers, which run
// the same compiled module). So the first photo after a reload took
// 500–550 ms in Chromium on our 2-core VM, against 64 ms for the next
// ones; static/worker.js warms up while the weights download, or once
// they are loaded and no photo waits.
func warmUp(c *classify.Classifier) error {
	prepareAt := 0 // the classification before which to Prepare
	if c == nil {
		var err error
		if c, err = smallClassifier(); err != nil {
			return err
		}
		prepareAt = 1
	}
	img := image.NewRGBA(image.Rect(0, 0, 160, 120))
	for y := range 120 {
		for x := range 160 {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x + y), 255})
		}
	}
	var photo bytes.Buffer
	if err := jpeg.Encode(&photo, img, nil); err != nil {
		return err
	}
	for i := range warmUps {
		if i == prepareAt {
			c.Model.Prepare()
		}
		e, err := c.Explain(photo.Bytes(), false)
		if err != nil {
			return err
		}
		if _, _, _, err = e.HeatmapPNGs(HeatSide); err != nil {
			return err
		}
	}
	return nil
}

// warmUps is how many times warmUp classifies its photo.
const warmUps = 3

// smallClassifier saves alexnet.Small with freshly initialized weights
// as an int8 weights file and loads it, as the real weights are loaded.
func smallClassifier() (*classify.Classifier, error) {
	cfg := alexnet.Small()
	stats, err := json.Marshal(preprocess.Stats{Mean: [3]float64{0.5, 0.5, 0.5}, Std: [3]float64{0.25, 0.25, 0.25}, Size: cfg.InputSize})
	if err != nil {
		return nil, err
	}
	var file bytes.Buffer
	meta := alexnet.Metadata{Classes: []string{"cat", "dog"}, Stats: stats}
	if err := alexnet.SaveVariant(&file, cfg, alexnet.InitParams(cfg, 1), meta, alexnet.Int8); err != nil {
		return nil, err
	}
	m, err := alexnet.LoadDeferred(file.Bytes())
	if err != nil {
		return nil, err
	}
	return classify.New(m)
}
