package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"testing"
)

// gradient is a 40×30 test photo with distinct colours everywhere.
func gradient() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for y := 0; y < 30; y++ {
		for x := 0; x < 40; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 6), uint8(y * 8), uint8(255 - x*3), 255})
		}
	}
	return img
}

func encode(t testing.TB, f func(*bytes.Buffer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngHeader returns a PNG signature and an IHDR chunk declaring w×h 8-bit
// RGB, with a valid CRC and no image data: a decompression-bomb header.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // bit depth 8, colour type RGB
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDecodeFormatsAndBadFiles(t *testing.T) {
	src := gradient()
	jpg := encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, src, &jpeg.Options{Quality: 95}) })
	gray := image.NewGray(src.Bounds())
	deep := image.NewRGBA64(src.Bounds())
	pal := image.NewPaletted(src.Bounds(), palette.Plan9)
	for y := 0; y < 30; y++ {
		for x := 0; x < 40; x++ {
			gray.Set(x, y, src.At(x, y))
			deep.Set(x, y, src.At(x, y))
			pal.Set(x, y, src.At(x, y))
		}
	}
	cases := []struct {
		name   string
		data   []byte
		format string
		err    error // nil: decodes
		w, h   int
	}{
		{"jpeg", jpg, "jpeg", nil, 40, 30},
		{"png", encode(t, func(b *bytes.Buffer) error { return png.Encode(b, src) }), "png", nil, 40, 30},
		{"grayscale png", encode(t, func(b *bytes.Buffer) error { return png.Encode(b, gray) }), "png", nil, 40, 30},
		{"grayscale jpeg", encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, gray, nil) }), "jpeg", nil, 40, 30},
		{"16-bit png", encode(t, func(b *bytes.Buffer) error { return png.Encode(b, deep) }), "png", nil, 40, 30},
		{"gif", encode(t, func(b *bytes.Buffer) error { return gif.Encode(b, pal, nil) }), "gif", nil, 40, 30},
		{"cmyk jpeg", fixture(t, "cmyk.jpg"), "jpeg", nil, 64, 64},
		{"webp", fixture(t, "cat0.webp"), "webp", nil, 64, 64},
		{"0-byte", nil, "", ErrEmpty, 0, 0},
		{"truncated jpeg", jpg[:len(jpg)/2], "jpeg", ErrCorrupt, 0, 0},
		{"text named .jpg", []byte("this is a text file, not a photo\n"), "", ErrFormat, 0, 0},
		{"bomb header 50000×50000", pngHeader(50000, 50000), "png", ErrTooLarge, 0, 0},
		{"png header only", pngHeader(40, 30), "png", ErrCorrupt, 0, 0},
		{"pdf (unsupported)", []byte("%PDF-1.4\n1 0 obj\n"), "", ErrFormat, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img, info, err := DecodeRGB(c.data, 16, 12, 0)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err = %v, want %v", err, c.err)
				}
				if err.Error() == "" {
					t.Fatal("empty error message")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != c.format || info.Width != c.w || info.Height != c.h {
				t.Errorf("info %+v, want %s %d×%d", info, c.format, c.w, c.h)
			}
			if img.W != 16 || img.H != 12 || len(img.Pix) != 16*12*3 {
				t.Fatalf("got %d×%d with %d bytes, want 16×12 RGB", img.W, img.H, len(img.Pix))
			}
			var sum int
			for _, p := range img.Pix {
				sum += int(p)
			}
			if sum == 0 {
				t.Error("decoded image is all black")
			}
		})
	}
}

func TestColorConversionsAgree(t *testing.T) {
	// A grayscale PNG and a 16-bit PNG of the same picture decode to the
	// same 8-bit RGB as the 8-bit original converted the standard way.
	src := gradient()
	deep := image.NewRGBA64(src.Bounds())
	for y := 0; y < 30; y++ {
		for x := 0; x < 40; x++ {
			deep.Set(x, y, src.At(x, y))
		}
	}
	a, _, err := DecodeRGB(encode(t, func(b *bytes.Buffer) error { return png.Encode(b, src) }), 40, 30, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := DecodeRGB(encode(t, func(b *bytes.Buffer) error { return png.Encode(b, deep) }), 40, 30, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Pix, b.Pix) {
		t.Error("16-bit PNG does not decode to the same 8-bit RGB as its 8-bit original")
	}
	for i := 0; i < 3; i++ {
		if a.Pix[i] != src.Pix[i] {
			t.Fatalf("pixel 0 = %v, want %v", a.Pix[:3], src.Pix[:3])
		}
	}
	gray := image.NewGray(src.Bounds())
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i)
	}
	g, _, err := DecodeRGB(encode(t, func(b *bytes.Buffer) error { return png.Encode(b, gray) }), 40, 30, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range gray.Pix {
		if g.Pix[3*i] != v || g.Pix[3*i+1] != v || g.Pix[3*i+2] != v {
			t.Fatalf("gray pixel %d = %v, want %d in all channels", i, g.Pix[3*i:3*i+3], v)
		}
	}
}

func TestExifOrientationIsApplied(t *testing.T) {
	img, info, err := Decode(fixture(t, "orient6.jpg"), 0)
	if err != nil {
		t.Fatal(err)
	}
	// The header says 48×32; shown upright (rotated 90° clockwise) it is 32×48.
	if b := img.Bounds(); b.Dx() != 32 || b.Dy() != 48 || info.Width != 48 {
		t.Fatalf("decoded %v (header %d×%d), want 32×48 upright", b, info.Width, info.Height)
	}
	top, _, _, _ := img.At(16, 5).RGBA()
	_, _, bottom, _ := img.At(16, 42).RGBA()
	if top < 0xc000 || bottom < 0xc000 {
		t.Errorf("want red on top and blue at the bottom; top R=%x bottom B=%x", top, bottom)
	}
}

func TestPixelLimit(t *testing.T) {
	jpg := encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, gradient(), nil) })
	if _, err := Inspect(jpg, 40*30); err != nil {
		t.Errorf("exactly at the limit: %v", err)
	}
	if _, err := Inspect(jpg, 40*30-1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("one pixel over the limit: err = %v, want ErrTooLarge", err)
	}
}
