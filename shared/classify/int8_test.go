package classify

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/preprocess"
)

// TestInt8DirectOnSamplePhotos classifies real sample photos with an int8
// weights file, whose dense layers run on the int8 values (what a browser
// worker loads), and with the same weights dequantized into an fp32 file:
// the logits agree within 1e-5 of max(1, the largest |logit|) (2e-5 with
// the scalar kernels, whose one float32 sum per row of fc6's 9216 terms
// rounds more), the probabilities within 1e-5, the labels, and the
// Grad-CAM maps of the predicted class within 1e-4. It needs the sample (PAWNET_SAMPLE_DIR, set by the mage test
// target); -short runs Small only.
func TestInt8DirectOnSamplePhotos(t *testing.T) {
	dir := os.Getenv("PAWNET_SAMPLE_DIR")
	if dir == "" {
		t.Skip("PAWNET_SAMPLE_DIR not set (go tool mage test sets it)")
	}
	var photos [][]byte
	for _, name := range []string{"1.jpg", "2.jpg", "3.jpg", "10.jpg", "17.jpg", "42.jpg", "100.jpg", "150.jpg"} {
		data, err := os.ReadFile(filepath.Join(dir, "test", name))
		if err != nil {
			t.Fatal(err)
		}
		photos = append(photos, data)
	}
	tol := 1e-5
	if alexnet.Kernels() == "scalar" {
		tol = 2e-5
	}
	cfgs := []alexnet.Config{alexnet.Small()}
	if !testing.Short() {
		cfgs = append(cfgs, alexnet.Full())
	}
	for i, cfg := range cfgs {
		t.Run(cfg.Name, func(t *testing.T) {
			stats, _ := json.Marshal(preprocess.Stats{Mean: [3]float64{0.49, 0.45, 0.41}, Std: [3]float64{0.25, 0.24, 0.25}, Size: cfg.InputSize})
			meta := alexnet.Metadata{Classes: []string{"cat", "dog"}, Stats: stats}
			load := func(params map[string][]float32, v alexnet.Variant) *Classifier {
				c, err := New(savedModel(t, cfg, params, meta, v))
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			direct := load(alexnet.InitParams(cfg, uint64(30+i)), alexnet.Int8)
			deq := load(direct.Model.Params(), alexnet.F32)
			worst := 0.0
			if cfg.Name == "full" {
				photos = photos[:4] // 58 M parameters: enough to see the rounding
			}
			for j, photo := range photos {
				x, err := direct.Tensor(photo)
				if err != nil {
					t.Fatal(err)
				}
				got, err := direct.Model.Forward(x, 1)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := deq.Model.Forward(x, 1)
				scale, d := 1.0, 0.0
				for c := range want {
					scale = math.Max(scale, math.Abs(float64(want[c])))
					d = math.Max(d, math.Abs(float64(got[c]-want[c])))
				}
				worst = math.Max(worst, d)
				if !(d <= tol*scale) {
					t.Errorf("photo %d: logits %v, dequantized %v", j, got, want)
				}
				eg, err := direct.Explain(photo, false)
				if err != nil {
					t.Fatal(err)
				}
				ew, _ := deq.Explain(photo, false)
				if eg.Label != ew.Label {
					t.Errorf("photo %d: label %s, dequantized %s", j, eg.Label, ew.Label)
				}
				for c := range ew.Probs {
					if math.Abs(float64(eg.Probs[c]-ew.Probs[c])) > 1e-5 {
						t.Errorf("photo %d: P %v, dequantized %v", j, eg.Probs, ew.Probs)
					}
				}
				mg, mw := eg.Maps[eg.Best], ew.Maps[ew.Best]
				for p := range mw {
					if math.Abs(float64(mg[p]-mw[p])) > 1e-4 {
						t.Errorf("photo %d: Grad-CAM map differs at %d: %v, dequantized %v", j, p, mg[p], mw[p])
						break
					}
				}
			}
			t.Logf("%s (%s kernels): %d sample photos, worst logit |Δ|: %.2g", cfg.Name, alexnet.Kernels(), len(photos), worst)
		})
	}
}
