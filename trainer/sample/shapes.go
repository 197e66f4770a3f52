package sample

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/pawnet/pawnet/trainer/fsutil"
)

// Shapes writes n photos of a kind the sample has none of, for teaching a
// class the run never saw (`pawnet teach`): side×side JPEGs of toy blocks,
// two to four rectangles and discs in the primary colours of toy blocks
// on a light grey floor, drawn from seed, as dir/shape.N.jpg. It returns
// their paths.
func Shapes(dir string, n, side int, seed uint64) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x5ba9e5))
	palette := []color.RGBA{{220, 30, 30, 255}, {250, 200, 20, 255}, {30, 80, 200, 255}, {40, 160, 60, 255}}
	colour := func() color.RGBA { return palette[rng.IntN(len(palette))] }
	var paths []string
	for i := range n {
		img := image.NewRGBA(image.Rect(0, 0, side, side))
		g := uint8(200 + rng.IntN(40))
		bg := color.RGBA{g, g, g, 255}
		for p := 0; p < len(img.Pix); p += 4 {
			img.Pix[p], img.Pix[p+1], img.Pix[p+2], img.Pix[p+3] = bg.R, bg.G, bg.B, 255
		}
		for range 2 + rng.IntN(3) {
			c := colour()
			x0, y0 := rng.IntN(side*3/4), rng.IntN(side*3/4)
			w, h := side/6+rng.IntN(side/2), side/6+rng.IntN(side/2)
			disc := rng.IntN(2) == 0
			for y := y0; y < min(y0+h, side); y++ {
				for x := x0; x < min(x0+w, side); x++ {
					if disc {
						dx, dy := float64(2*(x-x0)-w)/float64(w), float64(2*(y-y0)-h)/float64(h)
						if dx*dx+dy*dy > 1 {
							continue
						}
					}
					img.SetRGBA(x, y, c)
				}
			}
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: jpegQuality}); err != nil {
			return nil, err
		}
		p := filepath.Join(dir, fmt.Sprintf("shape.%d.jpg", i))
		if err := fsutil.WriteFileAtomic(p, buf.Bytes()); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
