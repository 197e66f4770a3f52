package imageio

import (
	"bytes"
	"errors"
	"image"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// fuzzMaxPixels is the pixel limit of FuzzDecode: small, so that the
// fuzzer spends its time on parsing rather than on big pixel buffers.
const fuzzMaxPixels = 1 << 16

// fuzzOutW and fuzzOutH are the size FuzzDecode resizes to.
const fuzzOutW, fuzzOutH = 7, 5

// fuzzAllocBudget bounds what one decode may allocate: a few times the
// pixel limit in any pixel format, plus a few times the input.
func fuzzAllocBudget(n int) uint64 { return 64*fuzzMaxPixels + 16*uint64(n) + 4<<20 }

// addImageSeeds adds the formats and bad files of the decode tests, and a
// few real sample photos when $PAWNET_SAMPLE_DIR is set (the committed
// corpus under testdata/fuzz/FuzzDecode holds two of them for plain go
// test).
func addImageSeeds(f *testing.F) {
	src := gradient()
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
	jpg := encode(f, func(b *bytes.Buffer) error { return jpeg.Encode(b, src, &jpeg.Options{Quality: 90}) })
	for _, data := range [][]byte{
		jpg,
		encode(f, func(b *bytes.Buffer) error { return png.Encode(b, src) }),
		encode(f, func(b *bytes.Buffer) error { return png.Encode(b, gray) }),
		encode(f, func(b *bytes.Buffer) error { return jpeg.Encode(b, gray, nil) }),
		encode(f, func(b *bytes.Buffer) error { return png.Encode(b, deep) }),
		encode(f, func(b *bytes.Buffer) error { return gif.Encode(b, pal, nil) }),
		encode(f, func(b *bytes.Buffer) error { return bmp.Encode(b, src) }),
		encode(f, func(b *bytes.Buffer) error { return tiff.Encode(b, src, &tiff.Options{Compression: tiff.Deflate}) }),
		fixture(f, "cmyk.jpg"),
		fixture(f, "cat0.webp"),
		fixture(f, "orient6.jpg"),
		nil,
		jpg[:len(jpg)/2],
		[]byte("this is a text file, not a photo\n"),
		pngHeader(50000, 50000),
		pngHeader(40, 30),
		pngHeader(256, 257), // one row over fuzzMaxPixels
		[]byte("%PDF-1.4\n1 0 obj\n"),
	} {
		f.Add(data)
	}
	if dir := os.Getenv("PAWNET_SAMPLE_DIR"); dir != "" {
		for _, name := range []string{"train/cat.1.jpg", "train/dog.1.jpg", "test/1.jpg", "test/2.jpg"} {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
}

// FuzzDecode feeds untrusted bytes to Inspect, Decode and DecodeRGB. They
// never panic; every error wraps one of the package's four errors, and once
// the header passed Inspect only ErrCorrupt is left; Decode and Inspect
// agree on the header. A success has a positive size within the pixel
// limit (Inspect accepts the image at exactly its size and rejects it one
// pixel lower), an image of the declared size (turned by the JPEG
// orientation, at most), allocates within a bound set by the limit and the
// input size, and resizes to RGB of exactly the requested size.
func FuzzDecode(f *testing.F) {
	addImageSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		hdr, hdrErr := Inspect(data, fuzzMaxPixels)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		img, info, err := Decode(data, fuzzMaxPixels)
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > fuzzAllocBudget(len(data)) {
			t.Errorf("decoding %d bytes (%s %d×%d, err %v) allocated %d bytes, over the budget of %d",
				len(data), info.Format, info.Width, info.Height, err, alloc, fuzzAllocBudget(len(data)))
		}
		if info != hdr {
			t.Fatalf("Decode reports header %+v, Inspect %+v", info, hdr)
		}
		rgb, rgbInfo, rgbErr := DecodeRGB(data, fuzzOutW, fuzzOutH, fuzzMaxPixels)
		if rgbInfo != info || (rgbErr == nil) != (err == nil) {
			t.Fatalf("DecodeRGB: %+v, %v; Decode: %+v, %v", rgbInfo, rgbErr, info, err)
		}
		if err != nil {
			if img != nil || rgb != nil {
				t.Fatalf("an image came with the error %v", err)
			}
			if !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v wraps none of the package's errors", err)
			}
			if hdrErr == nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("header accepted, then error %v, want ErrCorrupt", err)
			}
			if hdrErr != nil && err.Error() != hdrErr.Error() {
				t.Fatalf("Decode error %v, Inspect error %v", err, hdrErr)
			}
			return
		}
		if hdrErr != nil {
			t.Fatalf("Decode succeeded where Inspect failed: %v", hdrErr)
		}
		switch info.Format {
		case "jpeg", "png", "gif", "webp", "bmp", "tiff":
		default:
			t.Fatalf("decoded an unexpected format %q", info.Format)
		}
		w, h := info.Width, info.Height
		if w <= 0 || h <= 0 || w*h > fuzzMaxPixels {
			t.Fatalf("accepted a header of %d×%d (limit %d pixels)", w, h, fuzzMaxPixels)
		}
		if _, err := Inspect(data, w*h); err != nil {
			t.Fatalf("Inspect with the limit at exactly %d×%d: %v", w, h, err)
		}
		if w*h > 1 {
			if _, err := Inspect(data, w*h-1); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Inspect with the limit one pixel under %d×%d: %v, want ErrTooLarge", w, h, err)
			}
		}
		b := img.Bounds()
		if b.Dx()*b.Dy() > fuzzMaxPixels {
			t.Fatalf("decoded an image of %v, over the limit of %d pixels", b, fuzzMaxPixels)
		}
		if !(b.Dx() == w && b.Dy() == h) && !(info.Format == "jpeg" && b.Dx() == h && b.Dy() == w) {
			t.Fatalf("%s header declares %d×%d, decoded image is %v", info.Format, w, h, b)
		}
		if rgb.W != fuzzOutW || rgb.H != fuzzOutH || len(rgb.Pix) != fuzzOutW*fuzzOutH*3 {
			t.Fatalf("DecodeRGB gave %d×%d with %d bytes, want %d×%d RGB", rgb.W, rgb.H, len(rgb.Pix), fuzzOutW, fuzzOutH)
		}
		if again := Resize(img, fuzzOutW, fuzzOutH); !bytes.Equal(again.Pix, rgb.Pix) {
			t.Fatal("DecodeRGB and Decode+Resize differ")
		}
	})
}
