package explain

import (
	"fmt"
	"image"
	"math"
)

// Grid is the layout of a filter grid image: Count tiles of Tile×Tile
// pixels in Cols columns and Rows rows, Gap pixels apart and from the
// border. Tile i sits at x = Gap + (i%Cols)·(Tile+Gap),
// y = Gap + (i/Cols)·(Tile+Gap).
type Grid struct {
	Count int `json:"count"`
	Cols  int `json:"cols"`
	Rows  int `json:"rows"`
	Tile  int `json:"tile"`
	Gap   int `json:"gap"`
}

// Origin returns the top-left pixel of tile i.
func (g Grid) Origin(i int) image.Point {
	return image.Pt(g.Gap+(i%g.Cols)*(g.Tile+g.Gap), g.Gap+(i/g.Cols)*(g.Tile+g.Gap))
}

// Size returns the size of the grid image.
func (g Grid) Size() image.Point {
	return image.Pt(g.Gap+g.Cols*(g.Tile+g.Gap), g.Gap+g.Rows*(g.Tile+g.Gap))
}

// FilterNorm says how Filters scales each tile, for captions.
const FilterNorm = "each filter stretched on its own from its lowest to its highest weight (its three colour channels together, so its colours keep their balance), as the AlexNet paper's Figure 3 shows them"

// Filters draws the first conv layer's filters, weights w in PyTorch's OIHW
// layout [out][3][k][k], as a grid of k×k RGB tiles each magnified scale
// times, in about a 3:2 landscape grid (12×8 for 96 filters, 6×4 for 24),
// one white pixel apart. Each tile is normalized on its own: its 3·k·k
// weights are mapped linearly from their minimum to their maximum onto
// 0..255 (a flat filter is mid-grey), so R, G and B keep their relative
// sizes within a filter (see FilterNorm).
func Filters(w []float32, out, k, scale int) (*image.RGBA, Grid, error) {
	if out <= 0 || k <= 0 || scale <= 0 || len(w) != out*3*k*k {
		return nil, Grid{}, fmt.Errorf("explain: %d weights for %d RGB filters of %d×%d (scale %d)", len(w), out, k, k, scale)
	}
	cols := int(math.Ceil(math.Sqrt(1.5 * float64(out))))
	g := Grid{Count: out, Cols: cols, Rows: (out + cols - 1) / cols, Tile: k * scale, Gap: 1}
	sz := g.Size()
	img := image.NewRGBA(image.Rect(0, 0, sz.X, sz.Y))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	plane := k * k
	for f := range out {
		fw := w[f*3*plane : (f+1)*3*plane]
		lo, hi := fw[0], fw[0]
		for _, v := range fw {
			lo, hi = min(lo, v), max(hi, v)
		}
		o := g.Origin(f)
		for y := range g.Tile {
			for x := range g.Tile {
				p := (y/scale)*k + x/scale
				i := img.PixOffset(o.X+x, o.Y+y)
				for c := range 3 {
					v := uint8(128)
					if hi > lo {
						v = uint8(float64(fw[c*plane+p]-lo)/float64(hi-lo)*255 + 0.5)
					}
					img.Pix[i+c] = v
				}
			}
		}
	}
	return img, g, nil
}
