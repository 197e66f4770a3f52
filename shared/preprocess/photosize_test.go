package preprocess

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/pawnet/pawnet/shared/imageio"
)

func TestNewPhotoSizes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sides []int
		want  *PhotoSizes
	}{
		{"none", nil, nil},
		{"one", []int{32}, &PhotoSizes{1, 32, 32, 32, 32, 32}},
		{"spread", []int{500, 100, 300, 200, 400, 1000, 600, 700, 800, 900, 50},
			&PhotoSizes{11, 50, 100, 500, 900, 1000}},
	} {
		got := NewPhotoSizes(tc.sides)
		if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func pngPhoto(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 5), uint8((x ^ y) * 3), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestEvalPhoto checks when a photo is first downscaled to the training
// photos' size, to what size, and that the result is that two-step resize.
func TestEvalPhoto(t *testing.T) {
	norm, err := NewNormalizer(Stats{Mean: [3]float64{0.5, 0.5, 0.5}, Std: [3]float64{0.25, 0.25, 0.25}})
	if err != nil {
		t.Fatal(err)
	}
	const size = 64
	for _, tc := range []struct {
		name          string
		w, h, typical int
		prescaled     bool
		pw, ph        int
	}{
		{"no photo sizes known", 400, 300, 0, false, 0, 0},
		{"within the factor", 64, 48, 32, false, 0, 0},
		{"landscape, much larger", 400, 300, 32, true, 32, 24},
		{"portrait, much larger", 300, 400, 32, true, 24, 32},
		{"thin", 1000, 10, 32, true, 32, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := pngPhoto(t, tc.w, tc.h)
			x, rs, err := EvalPhoto(data, size, 0, norm, tc.typical)
			if err != nil {
				t.Fatal(err)
			}
			want := Resample{Width: tc.w, Height: tc.h, Prescaled: tc.prescaled, PrescaledWidth: tc.pw, PrescaledHeight: tc.ph, Size: size}
			if rs != want {
				t.Fatalf("resample %+v, want %+v", rs, want)
			}
			img, _, _ := imageio.Decode(data, 0)
			if tc.prescaled {
				img = imageio.Resize(img, tc.pw, tc.ph).Image()
			}
			ref := make([]float32, size*size*3)
			norm.Bytes(imageio.Resize(img, size, size).Pix, ref)
			for i := range ref {
				if x[i] != ref[i] {
					t.Fatalf("value %d: %v, want %v", i, x[i], ref[i])
				}
			}
			if plain, err := EvalBytes(data, size, 0, norm); tc.typical == 0 && (err != nil || len(plain) != len(x) || plain[100] != x[100]) {
				t.Errorf("EvalBytes differs from EvalPhoto without a prescale: %v", err)
			}
		})
	}
	if _, _, err := EvalPhoto([]byte("not a photo"), size, 0, norm, 32); err == nil {
		t.Error("text accepted")
	}
}
