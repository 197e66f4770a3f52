package predict

import (
	"bytes"
	"image/png"
	"testing"
)

func TestReliabilityBinsAndPNG(t *testing.T) {
	pred := map[int]float64{1: 0.05, 2: 0.95, 3: 0.9, 4: 0.42, 9: 0.5}
	labels := map[int]float64{1: 0, 2: 1, 3: 0, 4: 1, 5: 1} // 5 has no prediction, 9 no label
	bins := ReliabilityBins(pred, labels, 10)
	want := map[int]struct {
		n    int
		freq float64
	}{0: {1, 0}, 4: {1, 1}, 9: {2, 0.5}}
	for i, b := range bins {
		if w := want[i]; b.Count != w.n || b.Frequency != w.freq {
			t.Errorf("bin %d: %+v, want %d photos, %.1f dogs", i, b, w.n, w.freq)
		}
	}
	data, err := ReliabilityPNG(bins, "test")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	// The bar of bin 9 (half dogs) is drawn: a non-white pixel inside it.
	b := img.Bounds()
	if b.Dx() != 480 || b.Dy() != 480 {
		t.Fatalf("image %v", b)
	}
	r, g, bl, _ := img.At(56+387, 36+388-97).RGBA()
	if r == 0xffff && g == 0xffff && bl == 0xffff {
		t.Error("bin 9's bar is not drawn")
	}
}
