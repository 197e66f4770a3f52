package dataset

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// encodeAs writes a small photo-like image in the format of ext.
func encodeAs(t *testing.T, ext string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 24, 18))
	for y := 0; y < 18; y++ {
		for x := 0; x < 24; x++ {
			img.Set(x, y, color.RGBA{uint8(10 * x), uint8(12 * y), 90, 255})
		}
	}
	var b bytes.Buffer
	var err error
	switch ext {
	case ".jpg", ".jpeg", ".JPG":
		err = jpeg.Encode(&b, img, nil)
	case ".png":
		err = png.Encode(&b, img)
	case ".gif":
		err = gif.Encode(&b, img, nil)
	case ".bmp":
		err = bmp.Encode(&b, img)
	case ".tif", ".TIFF":
		err = tiff.Encode(&b, img, nil)
	default:
		t.Fatalf("no encoder for %s", ext)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestOneListOfFormats: every format the decoder reads is a photo to
// Separate, Scan, FindPhotos and the decoder alike (cat.N.gif was once
// left behind by separate).
func TestOneListOfFormats(t *testing.T) {
	for _, ext := range []string{".jpg", ".jpeg", ".JPG", ".png", ".gif", ".bmp", ".tif", ".TIFF"} {
		t.Run(ext, func(t *testing.T) {
			dir := t.TempDir()
			data := encodeAs(t, ext)
			for _, name := range []string{"cat.1" + ext, "dog.1" + ext, "cat.2.jpg", "dog.2.jpg"} {
				b := data
				if filepath.Ext(name) == ".jpg" && ext != ".jpg" {
					b = encodeAs(t, ".jpg")
				}
				if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if !IsImageName("cat.1"+ext) || KaggleClass("x/dog.1"+ext) != "dog" {
				t.Fatalf("IsImageName/KaggleClass do not take %s", ext)
			}
			rep, err := Separate(dir, false)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Moved["cat"] != 2 || rep.Moved["dog"] != 2 || len(rep.Other) != 0 {
				t.Fatalf("separate moved %v, left %v", rep.Moved, rep.Other)
			}
			ds, err := Scan(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds.Items) != 4 {
				t.Fatalf("scan found %d photos, want 4", len(ds.Items))
			}
			if _, bad := BuildCache(ds.Items, 16, 1, nil); len(bad) != 0 {
				t.Fatalf("decoder refused %v", bad)
			}
		})
	}
	for _, name := range []string{"cat.txt", ".cat.1.jpg", "cat.jpg", "dogs.1.jpg", "cat.1.svg"} {
		if KaggleClass(name) != "" {
			t.Errorf("KaggleClass(%q) = %q, want none", name, KaggleClass(name))
		}
	}
}
