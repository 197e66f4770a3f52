package explain

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
)

func TestTurboEnds(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want color.RGBA
	}{
		// The polynomial's ends: dark blue at 0, dark red at 1; clamped.
		{0, color.RGBA{35, 23, 27, 255}},
		{-1, color.RGBA{35, 23, 27, 255}},
		{1, color.RGBA{144, 13, 0, 255}},
		{2, color.RGBA{144, 13, 0, 255}},
	} {
		if got := Turbo(tc.v); got != tc.want {
			t.Errorf("Turbo(%v) = %v, want %v", tc.v, got, tc.want)
		}
	}
	// Continuous: a tiny step in v never moves a channel by more than 1.
	prev := Turbo(0)
	for i := 1; i <= 10000; i++ {
		c := Turbo(float64(i) / 10000)
		for _, d := range []int{int(c.R) - int(prev.R), int(c.G) - int(prev.G), int(c.B) - int(prev.B)} {
			if d > 1 || d < -1 {
				t.Fatalf("Turbo jumps by %d at %v", d, float64(i)/10000)
			}
		}
		prev = c
	}
}

func TestUpsample(t *testing.T) {
	m := []float32{0, 1, 2, 3} // 2×2
	for _, tc := range []struct {
		w, h int
		want []float32
	}{
		{2, 2, []float32{0, 1, 2, 3}},
		{4, 1, []float32{1, 1.25, 1.75, 2}},
		{1, 1, []float32{1.5}},
	} {
		got := Upsample(m, 2, tc.w, tc.h)
		for i := range got {
			if d := got[i] - tc.want[i]; d > 1e-6 || d < -1e-6 {
				t.Errorf("%d×%d: %v, want %v", tc.w, tc.h, got, tc.want)
				break
			}
		}
	}
}

func TestHeatmapAndOverlay(t *testing.T) {
	heat, err := Heatmap([]float32{0, 1, 0, 1}, 2, 4, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got := heat.RGBAAt(0, 0); got != Turbo(0) {
		t.Errorf("corner (0,0) %v, want Turbo(0) %v", got, Turbo(0))
	}
	if got := heat.RGBAAt(3, 3); got != Turbo(1) {
		t.Errorf("corner (3,3) %v, want Turbo(1) %v", got, Turbo(1))
	}
	// Inside, each pixel is within a level of Turbo at its upsampled value.
	up := Upsample([]float32{0, 1, 0, 1}, 2, 4, 4)
	for y := range 4 {
		for x := range 4 {
			got, want := heat.RGBAAt(x, y), Turbo(float64(up[y*4+x]))
			for c, d := range [3]int{int(got.R) - int(want.R), int(got.G) - int(want.G), int(got.B) - int(want.B)} {
				if d < -1 || d > 1 {
					t.Errorf("pixel (%d,%d) channel %d: %v, Turbo(%v) %v", x, y, c, got, up[y*4+x], want)
				}
			}
		}
	}
	// Neighbouring entries of the table differ by at most one level.
	lut := turboTable()
	for i := 1; i < turboLevels; i++ {
		a, b := lut[i-1], lut[i]
		for _, d := range [3]int{int(a.R) - int(b.R), int(a.G) - int(b.G), int(a.B) - int(b.B)} {
			if d < -1 || d > 1 {
				t.Fatalf("table entries %d and %d: %v, %v", i-1, i, a, b)
			}
		}
	}
	if _, err := Heatmap([]float32{0, 1}, 2, 4, 4); err == nil {
		t.Error("a 2-value map accepted as 2×2")
	}
	// Both encoders write the same pixels.
	for _, enc := range []func(image.Image) ([]byte, error){EncodePNG, EncodePNGFast} {
		b, err := enc(heat)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		for y := range 4 {
			for x := range 4 {
				if got := color.RGBAModel.Convert(img.At(x, y)); got != heat.RGBAAt(x, y) {
					t.Fatalf("PNG pixel (%d,%d) %v, want %v", x, y, got, heat.RGBAAt(x, y))
				}
			}
		}
	}
	o, err := Overlay(image.NewRGBA(image.Rect(0, 0, 4, 4)), heat, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	h := heat.RGBAAt(3, 3)
	if got := o.RGBAAt(3, 3); got.R != uint8(float64(h.R)/2+0.5) || got.A != 255 {
		t.Errorf("overlay on black at 0.5: %v, heat %v", got, h)
	}
	if _, err := Overlay(image.NewRGBA(image.Rect(0, 0, 3, 4)), heat, 0.5); err == nil {
		t.Error("overlay of mismatched sizes accepted")
	}
}

func TestFilters(t *testing.T) {
	// Two 2×2 RGB filters: the first ramps 0..11, the second is flat.
	w := make([]float32, 2*3*4)
	for i := range 12 {
		w[i] = float32(i)
	}
	for i := 12; i < 24; i++ {
		w[i] = 7
	}
	img, g, err := Filters(w, 2, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if g.Count != 2 || g.Cols != 2 || g.Rows != 1 || g.Tile != 6 || g.Gap != 1 || img.Bounds().Size() != g.Size() {
		t.Fatalf("grid %+v, image %v", g, img.Bounds())
	}
	// Filter 0, pixel (0,0): R = w[0] = 0 → 0, G = w[4] = 4 → 93, B = w[8] = 8 → 185.
	if got := img.RGBAAt(1, 1); got != (color.RGBA{0, 93, 185, 255}) {
		t.Errorf("filter 0 pixel (0,0): %v", got)
	}
	// Its last pixel (1,1): w[3], w[7], w[11] → 23, 162, 255, magnified 3×.
	if got := img.RGBAAt(1+5, 1+5); got != (color.RGBA{70, 162, 255, 255}) {
		t.Errorf("filter 0 pixel (1,1): %v", got)
	}
	if got := img.RGBAAt(g.Origin(1).X, g.Origin(1).Y); got != (color.RGBA{128, 128, 128, 255}) {
		t.Errorf("flat filter: %v, want mid-grey", got)
	}
	if got := img.RGBAAt(0, 0); got != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("gap: %v, want white", got)
	}
	for _, n := range []int{96, 24} {
		_, g, err := Filters(make([]float32, n*3*121), n, 11, 1)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d filters: %d×%d", n, g.Cols, g.Rows)
	}
	if _, _, err := Filters(w[:5], 2, 2, 1); err == nil {
		t.Error("short weights accepted")
	}
}
