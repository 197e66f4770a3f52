package classify

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"testing"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/preprocess"
)

func classifier(t *testing.T, withStats bool) (*Classifier, error) {
	t.Helper()
	cfg := alexnet.Small()
	meta := alexnet.Metadata{Classes: []string{"cat", "dog"}}
	if withStats {
		meta.Stats, _ = json.Marshal(preprocess.Stats{Mean: [3]float64{0.5, 0.45, 0.4}, Std: [3]float64{0.25, 0.24, 0.25}, Size: 227})
	}
	return New(savedModel(t, cfg, alexnet.InitParams(cfg, 1), meta, alexnet.F32))
}

// savedModel saves params as a weights file of variant v and loads it.
func savedModel(t *testing.T, cfg alexnet.Config, params map[string][]float32, meta alexnet.Metadata, v alexnet.Variant) *alexnet.Model {
	t.Helper()
	var buf bytes.Buffer
	if err := alexnet.SaveVariant(&buf, cfg, params, meta, v); err != nil {
		t.Fatal(err)
	}
	m, err := alexnet.Load(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// photo is an asymmetric test picture, so its mirror differs.
func photo(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 48, 40))
	for y := 0; y < 40; y++ {
		for x := 0; x < 48; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 5), uint8(y * 6), uint8(200 - x*4), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestClassify(t *testing.T) {
	c, err := classifier(t, true)
	if err != nil {
		t.Fatal(err)
	}
	data := photo(t)
	plain, err := c.Classify(data, false)
	if err != nil {
		t.Fatal(err)
	}
	tta, err := c.Classify(data, true)
	if err != nil {
		t.Fatal(err)
	}
	// TTA is the mean of the photo and its mirror.
	x, _ := c.Tensor(data)
	logits, _ := c.Model.Forward(preprocess.Mirror(x, c.Size), 1)
	m := alexnet.Probabilities(logits)
	for i, p := range []Prediction{plain, tta} {
		if s := p.Probs[0] + p.Probs[1]; math.Abs(float64(s)-1) > 1e-6 || p.Label != c.Classes[p.Best] {
			t.Errorf("prediction %d: %+v", i, p)
		}
	}
	for k := range m {
		if want := (plain.Probs[k] + m[k]) / 2; math.Abs(float64(tta.Probs[k]-want)) > 1e-6 {
			t.Errorf("tta P[%d] = %v, want %v", k, tta.Probs[k], want)
		}
	}
	// A temperature divides the logits before the softmax, in both paths.
	cal := *c
	cal.Temperature = 2.5
	for _, withTTA := range []bool{false, true} {
		got, err := cal.Classify(data, withTTA)
		if err != nil {
			t.Fatal(err)
		}
		lp, _ := c.Model.Forward(x, 1)
		want := alexnet.TemperedProbabilities(lp, 2.5)
		if withTTA {
			wm := alexnet.TemperedProbabilities(logits, 2.5)
			for k := range want {
				want[k] = (want[k] + wm[k]) / 2
			}
		}
		for k := range want {
			if math.Abs(float64(got.Probs[k]-want[k])) > 1e-6 {
				t.Errorf("tta %v, temperature 2.5: P[%d] = %v, want %v", withTTA, k, got.Probs[k], want[k])
			}
		}
		if got.Best != map[bool]Prediction{false: plain, true: tta}[withTTA].Best {
			t.Errorf("tta %v: the temperature changed the predicted class", withTTA)
		}
	}
	if _, err := c.Classify([]byte("not a photo"), false); err == nil {
		t.Error("text accepted as a photo")
	}
	if _, err := classifier(t, false); err == nil {
		t.Error("weights without stats accepted")
	}
}

// TestClassifyBatch checks that a batch, with undecodable photos among
// good ones, gives each photo what Classify gives it alone.
func TestClassifyBatch(t *testing.T) {
	c, err := classifier(t, true)
	if err != nil {
		t.Fatal(err)
	}
	good := photo(t)
	bad := []byte("not a photo")
	for _, tc := range []struct {
		name   string
		photos [][]byte
		tta    bool
	}{
		{"empty", nil, false},
		{"one", [][]byte{good}, false},
		{"mixed", [][]byte{good, bad, good, bad}, false},
		{"mixed-tta", [][]byte{bad, good, good}, true},
		{"all-bad", [][]byte{bad, bad}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			preds, errs := c.ClassifyBatch(tc.photos, tc.tta)
			if len(preds) != len(tc.photos) || len(errs) != len(tc.photos) {
				t.Fatalf("%d predictions and %d errors for %d photos", len(preds), len(errs), len(tc.photos))
			}
			for i, data := range tc.photos {
				want, wantErr := c.Classify(data, tc.tta)
				if (errs[i] == nil) != (wantErr == nil) {
					t.Fatalf("photo %d: error %v, alone %v", i, errs[i], wantErr)
				}
				if wantErr != nil {
					continue
				}
				for k := range want.Probs {
					if d := math.Abs(float64(preds[i].Probs[k] - want.Probs[k])); d > 1e-6 {
						t.Errorf("photo %d: P[%d] = %v, alone %v", i, k, preds[i].Probs[k], want.Probs[k])
					}
				}
				if preds[i].Label != want.Label {
					t.Errorf("photo %d: %s, alone %s", i, preds[i].Label, want.Label)
				}
			}
		})
	}
}

// TestNewTakesTheTemperature checks that a classifier applies the
// temperature its weights file records, and the training photos' size:
// the 48×40 test photo is over twice their 16 px median, so it is first
// downscaled to 16×13, and the prediction says so.
func TestNewTakesTheTemperature(t *testing.T) {
	cfg := alexnet.Small()
	meta := alexnet.Metadata{Classes: []string{"cat", "dog"}, Temperature: 1.625}
	meta.Stats, _ = json.Marshal(preprocess.Stats{Mean: [3]float64{0.5, 0.45, 0.4}, Std: [3]float64{0.25, 0.24, 0.25}, Size: 227,
		Photos: preprocess.NewPhotoSizes([]int{16, 16, 20})})
	c, err := New(savedModel(t, cfg, alexnet.InitParams(cfg, 1), meta, alexnet.F32))
	if err != nil {
		t.Fatal(err)
	}
	if c.Temperature != 1.625 || c.TypicalSide != 16 {
		t.Errorf("classifier temperature %v, typical side %d; want 1.625, 16", c.Temperature, c.TypicalSide)
	}
	p, err := c.Classify(photo(t), true)
	if err != nil {
		t.Fatal(err)
	}
	want := preprocess.Resample{Width: 48, Height: 40, Prescaled: true, PrescaledWidth: 16, PrescaledHeight: 13, Size: 64}
	if p.Resample != want {
		t.Errorf("resample %+v, want %+v", p.Resample, want)
	}
}
