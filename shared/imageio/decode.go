// Package imageio decodes photos for pawnet, the same way in the trainer
// and in the browser: JPEG (with its EXIF orientation applied), PNG, GIF
// (first frame), WebP, and BMP/TIFF (registered by imaging), to 8-bit
// RGB, resized to a fixed size. It checks the declared dimensions before
// decoding, so a decompression bomb is rejected without allocating its
// pixels.
package imageio

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // GIF decoder (first frame).
	_ "image/png" // PNG decoder.

	"github.com/disintegration/imaging"
	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // WebP decoder.
)

// DefaultMaxPixels is the default limit on width×height (40 MP).
const DefaultMaxPixels = 40_000_000

// Errors wrapped by the decode functions, for errors.Is.
var (
	// ErrEmpty is returned for a 0-byte file.
	ErrEmpty = errors.New("empty file (0 bytes)")
	// ErrFormat is returned for data that is not a supported image.
	ErrFormat = errors.New("not a supported image (JPEG, PNG, GIF, WebP, BMP or TIFF)")
	// ErrTooLarge is returned when the declared dimensions exceed the pixel limit.
	ErrTooLarge = errors.New("image too large")
	// ErrCorrupt is returned for a recognised but truncated or corrupt image.
	ErrCorrupt = errors.New("corrupt or truncated image data")
)

// RGB is an 8-bit RGB image stored row-major, 3 bytes per pixel (HWC).
type RGB struct {
	W, H int
	Pix  []uint8
}

// NewRGB allocates a black w×h image.
func NewRGB(w, h int) *RGB { return &RGB{W: w, H: h, Pix: make([]uint8, w*h*3)} }

// Info is what the header of an image declares.
type Info struct {
	Format        string // "jpeg", "png", "gif" or "webp"
	Width, Height int
}

// Inspect reads only the header of data and checks it against maxPixels
// (DefaultMaxPixels when ≤ 0). It never decodes pixel data.
func Inspect(data []byte, maxPixels int) (Info, error) {
	if len(data) == 0 {
		return Info{}, ErrEmpty
	}
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if errors.Is(err, image.ErrFormat) {
		return Info{}, ErrFormat
	}
	if err != nil {
		return Info{}, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	info := Info{Format: format, Width: cfg.Width, Height: cfg.Height}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return info, fmt.Errorf("%w: %s declares %d×%d pixels", ErrCorrupt, format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return info, fmt.Errorf("%w: %s declares %d×%d = %.1f MP, over the %.1f MP limit",
			ErrTooLarge, format, cfg.Width, cfg.Height, float64(cfg.Width)*float64(cfg.Height)/1e6, float64(maxPixels)/1e6)
	}
	return info, nil
}

// Decode checks the header with Inspect, then decodes the whole image and
// applies the JPEG EXIF orientation. Grayscale, CMYK, paletted and 16-bit
// images are returned as they decode; DecodeRGB converts them.
func Decode(data []byte, maxPixels int) (image.Image, Info, error) {
	info, err := Inspect(data, maxPixels)
	if err != nil {
		return nil, info, err
	}
	// imaging.Decode reads the EXIF orientation tag of JPEGs and rotates or
	// flips the decoded image accordingly (a no-op for orientation 1).
	img, err := imaging.Decode(bytes.NewReader(data), imaging.AutoOrientation(true))
	if err != nil {
		return nil, info, fmt.Errorf("%w: %s: %v", ErrCorrupt, info.Format, err)
	}
	return img, info, nil
}

// DecodeRGB decodes data and resizes it to exactly w×h 8-bit RGB with an
// antialiased bilinear filter (golang.org/x/image/draw BiLinear, whose
// kernel widens when downscaling). The aspect ratio is not kept, like
// torchvision's Resize((h, w)). Transparent pixels are composited over white.
func DecodeRGB(data []byte, w, h, maxPixels int) (*RGB, Info, error) {
	img, info, err := Decode(data, maxPixels)
	if err != nil {
		return nil, info, err
	}
	return Resize(img, w, h), info, nil
}

// Resize scales any image to w×h 8-bit RGB (see DecodeRGB).
func Resize(img image.Image, w, h int) *RGB {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	op := draw.Src
	if o, ok := img.(interface{ Opaque() bool }); !ok || !o.Opaque() {
		draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
		op = draw.Over
	}
	b := img.Bounds()
	if b.Dx() == w && b.Dy() == h {
		draw.Draw(dst, dst.Bounds(), img, b.Min, op)
	} else {
		draw.BiLinear.Scale(dst, dst.Bounds(), img, b, op, nil)
	}
	out := NewRGB(w, h)
	for i, j := 0, 0; i < len(dst.Pix); i, j = i+4, j+3 {
		out.Pix[j], out.Pix[j+1], out.Pix[j+2] = dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2]
	}
	return out
}

// Image returns img as a standard library image, for encoding.
func (img *RGB) Image() *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, img.W, img.H))
	for i, j := 0, 0; j < len(img.Pix); i, j = i+4, j+3 {
		out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = img.Pix[j], img.Pix[j+1], img.Pix[j+2], 255
	}
	return out
}
