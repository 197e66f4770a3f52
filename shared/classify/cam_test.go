package classify

import (
	"bytes"
	"image/png"
	"math"
	"slices"
	"testing"

	"github.com/pawnet/pawnet/shared/explain"
)

// TestExplain checks that Explain gives Classify's prediction (the same
// forward pass) with a map per class, the photo's size, heatmap PNGs of
// its aspect that decode to Heatmap's pixels, and a decode error for a
// file that is not a photo.
func TestExplain(t *testing.T) {
	c, err := classifier(t, true)
	if err != nil {
		t.Fatal(err)
	}
	data := photo(t)
	// Explain gives Classify's probabilities, with a temperature and TTA too
	// (TTA's average is summed in another order: within 1e-6).
	c.Temperature = 1.7
	for _, tta := range []bool{true, false} {
		want, err := c.Classify(data, tta)
		if err != nil {
			t.Fatal(err)
		}
		e, err := c.Explain(data, tta)
		if err != nil {
			t.Fatal(err)
		}
		close := len(e.Probs) == len(want.Probs)
		for i := range want.Probs {
			close = close && math.Abs(float64(e.Probs[i]-want.Probs[i])) <= 1e-6
		}
		if !close || (!tta && !slices.Equal(e.Probs, want.Probs)) || e.Best != want.Best || e.Label != want.Label || e.Resample != want.Resample {
			t.Errorf("tta %v: Explain %v %d %q, Classify %v %d %q", tta, e.Probs, e.Best, e.Label, want.Probs, want.Best, want.Label)
		}
	}
	c.Temperature = 0
	e, err := c.Explain(data, false)
	if err != nil {
		t.Fatal(err)
	}
	if e.Width != 48 || e.Height != 40 || e.Side != 3 || len(e.Maps) != 2 {
		t.Fatalf("photo %d×%d, %d maps of side %d; want 48×40, 2 of side 3", e.Width, e.Height, len(e.Maps), e.Side)
	}
	pngs, w, h, err := e.HeatmapPNGs(96)
	if err != nil || w != 96 || h != 80 || len(pngs) != 2 {
		t.Fatalf("HeatmapPNGs: %d PNGs of %d×%d, %v; want 2 of 96×80", len(pngs), w, h, err)
	}
	for class, b := range pngs {
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		ref, err := explain.Heatmap(e.Maps[class], e.Side, w, h)
		if err != nil {
			t.Fatal(err)
		}
		r0, g0, b0, _ := img.At(10, 70).RGBA()
		r1, g1, b1, _ := ref.At(10, 70).RGBA()
		if r0 != r1 || g0 != g1 || b0 != b1 {
			t.Errorf("class %d: PNG pixel differs from Heatmap's", class)
		}
	}
	if _, err := c.Explain([]byte("not a photo"), false); err == nil {
		t.Error("Explain accepted a text file")
	}
	for _, tc := range []struct{ w, h, side, ww, wh int }{
		{500, 375, 256, 256, 192}, {375, 500, 256, 192, 256}, {32, 32, 256, 256, 256}, {300, 1, 100, 100, 1}, {40, 30, 0, 40, 30},
	} {
		if w, h := Fit(tc.w, tc.h, tc.side); w != tc.ww || h != tc.wh {
			t.Errorf("Fit(%d, %d, %d) = %d×%d, want %d×%d", tc.w, tc.h, tc.side, w, h, tc.ww, tc.wh)
		}
	}
}
