package dash

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// Chart size in SVG user units (the SVG scales to its container).
const (
	ChartW = 520
	ChartH = 250

	marginL = 56
	marginR = 18
	marginT = 24
	marginB = 42
)

// Point is one data point.
type Point struct{ X, Y float64 }

// Series is one line of a chart. Key names it for CSS and tests (e.g.
// "train", "val", or "c1 val" for the second run of an overlay); Name is
// shown in tooltips. Run names the run of an overlay's series.
type Series struct {
	Key, Name string
	Run       string
	Points    []Point
}

// Spec describes a chart to lay out.
type Spec struct {
	XLabel, YLabel string
	// XMin, XMax fix the x domain; the data widens it if needed.
	XMin, XMax float64
	// XInteger keeps x ticks on integers (epochs, steps).
	XInteger bool
	// YPercent formats y as a percentage and keeps the domain in [0, 1].
	YPercent bool
	// YFloor0 keeps the y domain at or above 0 (losses).
	YFloor0 bool
	// Dots draws a marker at every point (epoch charts); without it only
	// the line is drawn (step chart).
	Dots bool
	// LastDot marks the newest point of each series even without Dots
	// (the head of the live step chart; a single point stays visible).
	LastDot bool
	Series  []Series
	// Best, when > 0, is the x of the best-epoch marker.
	Best      float64
	BestLabel string
	// Picked, when > 0, is the x of the points drawn as selected (the
	// epoch the confusion matrix and gallery show).
	Picked float64
	// Bands, when > 0, shades every other band of this width along x
	// (epochs on the step chart).
	Bands float64
}

// Tick is one axis tick: its position in SVG units and its label.
type Tick struct {
	Pos   float64
	Label string
}

// Dot radii in SVG units: a plain data point and the best epoch's.
const (
	dotR     = 3.5
	bestDotR = 5.5
)

// Dot is one drawn data point: its centre (CX, CY) and radius R in SVG
// units.
type Dot struct {
	CX, CY, R float64
	// X is the data value of the point (an epoch on the epoch charts).
	X float64
	// XText and YText are the data values as written in tooltips and data
	// attributes (Y with full precision); Title is the tooltip.
	XText, YText string
	Title        string
	Best         bool // the point of the best epoch
	Picked       bool // a point of the selected epoch
}

// Class is the dot's CSS class: "pt" and the series key, plus "best" for
// the best epoch's point and "picked" for the selected epoch's (e.g. "pt
// val best picked").
func (d Dot) Class(key string) string {
	c := "pt " + key
	if d.Best {
		c += " best"
	}
	if d.Picked {
		c += " picked"
	}
	return c
}

// Line is one laid-out series. Path holds the vertices of its polyline in
// SVG units, in order.
type Line struct {
	Key, Name string
	Run       string
	Path      []Point
	Dots      []Dot
}

// Band is a shaded vertical band: its left edge and width in SVG units.
type Band struct{ X, W float64 }

// Chart is a laid-out chart, every coordinate in SVG units (the template
// formats them).
type Chart struct {
	// Key identifies what the chart shows: two charts with the same
	// non-empty key have the same SVG, so the page need not write it
	// again ("" when unknown).
	Key                   string
	W, H                  int     // the view box: 0 0 W H
	Left, Top, Right, Bot float64 // plot area edges
	PlotW, PlotH          float64
	XTicks, YTicks        []Tick
	XLabel, YLabel        string
	// XLabelX, XLabelY place the x axis label; YLabelX, YLabelY the
	// rotated y axis label.
	XLabelX, XLabelY float64
	YLabelX, YLabelY float64
	Lines            []Line
	Bands            []Band
	Empty            bool // no finite data point
	// HasBest draws the best-epoch marker: a vertical line at BestX and
	// BestLabel at BestLabelX with text-anchor BestAnchor.
	HasBest    bool
	BestX      float64
	BestLabel  string
	BestLabelX float64
	BestAnchor string
}

// Layout computes the geometry of a chart.
func Layout(sp Spec) Chart {
	c := Chart{W: ChartW, H: ChartH, XLabel: sp.XLabel, YLabel: sp.YLabel}
	x0, x1 := float64(marginL), float64(ChartW-marginR)
	y0, y1 := float64(marginT), float64(ChartH-marginB) // y0 top, y1 bottom
	c.Left, c.Right, c.Top, c.Bot = x0, x1, y0, y1
	c.PlotW, c.PlotH = x1-x0, y1-y0
	c.XLabelX, c.XLabelY = (x0+x1)/2, float64(ChartH)-6
	c.YLabelX, c.YLabelY = 14, (y0+y1)/2

	// Domains.
	xmin, xmax := sp.XMin, sp.XMax
	ymin, ymax := math.Inf(1), math.Inf(-1)
	n := 0
	for _, s := range sp.Series {
		for _, p := range s.Points {
			if !finite(p.X) || !finite(p.Y) {
				continue
			}
			n++
			xmin, xmax = math.Min(xmin, p.X), math.Max(xmax, p.X)
			ymin, ymax = math.Min(ymin, p.Y), math.Max(ymax, p.Y)
		}
	}
	c.Empty = n == 0
	if c.Empty {
		ymin, ymax = 0, 1
	}
	if !(xmax > xmin) {
		xmax = xmin + 1
	}
	if sp.YPercent {
		ymin, ymax = math.Max(0, ymin), math.Min(1, ymax)
	}
	if sp.YFloor0 {
		ymin = math.Max(0, ymin)
	}
	if !(ymax > ymin) {
		pad := math.Max(math.Abs(ymax)*0.1, 0.05)
		ymin, ymax = ymin-pad, ymax+pad
		if sp.YFloor0 || sp.YPercent {
			ymin = math.Max(0, ymin)
		}
		if sp.YPercent {
			ymax = math.Min(1, ymax)
		}
	}
	ystep := niceStep((ymax-ymin)/4, false)
	ymin = math.Floor(ymin/ystep+1e-9) * ystep
	ymax = math.Ceil(ymax/ystep-1e-9) * ystep
	if ymax <= ymin {
		ymax = ymin + ystep
	}
	xstep := niceStep((xmax-xmin)/6, sp.XInteger)

	// Scales: the x range is inset so end points are not clipped.
	const inset = 10
	sx := func(x float64) float64 { return x0 + inset + (x-xmin)/(xmax-xmin)*(x1-x0-2*inset) }
	sy := func(y float64) float64 { return y1 - (y-ymin)/(ymax-ymin)*(y1-y0) }

	for _, t := range ticks(xmin, xmax, xstep) {
		c.XTicks = append(c.XTicks, Tick{Pos: sx(t), Label: tickLabel(t, xstep, false)})
	}
	for _, t := range ticks(ymin, ymax, ystep) {
		c.YTicks = append(c.YTicks, Tick{Pos: sy(t), Label: tickLabel(t, ystep, sp.YPercent)})
	}
	if sp.Bands > 0 {
		for b := 1; float64(b)*sp.Bands < xmax; b += 2 {
			lo, hi := float64(b)*sp.Bands, math.Min(float64(b+1)*sp.Bands, xmax)
			c.Bands = append(c.Bands, Band{X: sx(lo), W: sx(hi) - sx(lo)})
		}
	}
	for _, s := range sp.Series {
		l := Line{Key: s.Key, Name: s.Name, Run: s.Run}
		for _, p := range s.Points {
			if !finite(p.X) || !finite(p.Y) {
				continue
			}
			px, py := sx(p.X), sy(p.Y)
			l.Path = append(l.Path, Point{px, py})
			if sp.Dots {
				xt := tickLabel(p.X, xstep, false)
				val := Fixed(p.Y, 4)
				if sp.YPercent {
					val = Percent(p.Y, 2)
				}
				d := Dot{CX: px, CY: py, R: dotR, X: p.X, XText: xt, YText: Full(p.Y),
					Title:  s.Name + " · " + strings.ToLower(sp.XLabel) + " " + xt + ": " + val,
					Best:   sp.Best > 0 && p.X == sp.Best,
					Picked: sp.Picked > 0 && p.X == sp.Picked}
				if d.Best {
					d.R = bestDotR
				}
				l.Dots = append(l.Dots, d)
			}
		}
		if !sp.Dots {
			l.Path = thin(l.Path, x0)
		}
		if sp.LastDot && !sp.Dots {
			for i := len(s.Points) - 1; i >= 0; i-- {
				if p := s.Points[i]; finite(p.X) && finite(p.Y) {
					l.Dots = append(l.Dots, Dot{CX: sx(p.X), CY: sy(p.Y), R: dotR, X: p.X, XText: tickLabel(p.X, xstep, false),
						YText: Full(p.Y), Title: s.Name + ": " + Fixed(p.Y, 4)})
					break
				}
			}
		}
		c.Lines = append(c.Lines, l)
	}
	if sp.Best > 0 && sp.Best >= xmin && sp.Best <= xmax && !c.Empty {
		c.HasBest = true
		bx := sx(sp.Best)
		c.BestX, c.BestLabel = bx, sp.BestLabel
		// Keep the label inside the plot: to the left of the line near the
		// right edge.
		if bx > (x0+x1)/2 {
			c.BestLabelX, c.BestAnchor = bx-5, "end"
		} else {
			c.BestLabelX, c.BestAnchor = bx+5, "start"
		}
	}
	return c
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// thin bounds a polyline of many points to at most four per pixel column
// (one SVG unit), left to right from x0: the first, lowest, highest and
// last vertex of each column, in their order. What is drawn looks the
// same, and its cost no longer grows with the number of points. The path
// must be ordered by x.
func thin(path []Point, x0 float64) []Point {
	if len(path) <= 4*ChartW {
		return path
	}
	out := make([]Point, 0, 4*ChartW)
	for i := 0; i < len(path); {
		col := math.Floor(path[i].X - x0)
		j, lo, hi := i, i, i
		for j < len(path) && math.Floor(path[j].X-x0) == col {
			if path[j].Y < path[lo].Y {
				lo = j
			}
			if path[j].Y > path[hi].Y {
				hi = j
			}
			j++
		}
		// The column's vertices [i, j): keep first, lo, hi, last in order.
		keep := [4]int{i, lo, hi, j - 1}
		slices.Sort(keep[:])
		for k, idx := range keep {
			if k == 0 || idx != keep[k-1] {
				out = append(out, path[idx])
			}
		}
		i = j
	}
	return out
}

// niceStep rounds a raw tick step up to 1, 2 or 5 times a power of ten (at
// least 1 for integer axes).
func niceStep(raw float64, integer bool) float64 {
	if !(raw > 0) || !finite(raw) {
		raw = 1
	}
	exp := math.Floor(math.Log10(raw))
	base := math.Pow(10, exp)
	var step float64
	switch f := raw / base; {
	case f <= 1:
		step = base
	case f <= 2:
		step = 2 * base
	case f <= 5:
		step = 5 * base
	default:
		step = 10 * base
	}
	if integer && step < 1 {
		step = 1
	}
	return step
}

// ticks lists the multiples of step in [lo, hi].
func ticks(lo, hi, step float64) []float64 {
	var out []float64
	for k := math.Ceil(lo/step - 1e-9); k*step <= hi+step*1e-9 && len(out) < 50; k++ {
		out = append(out, k*step)
	}
	return out
}

// tickLabel writes a tick value with as many decimals as its step needs.
func tickLabel(v, step float64, percent bool) string {
	if percent {
		v, step = v*100, step*100
	}
	dec := 0
	if step < 1 {
		dec = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	if math.Abs(v) < step*1e-9 {
		v = 0
	}
	s := strconv.FormatFloat(v, 'f', dec, 64)
	if percent {
		s += "%"
	}
	return s
}

// Coord writes an SVG coordinate or length with one decimal; the chart
// template formats every number of a Chart with it.
func Coord(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// PathData writes a polyline (a Line's Path) as the d attribute of an SVG
// path, "M x,y L x,y …" with Coord numbers ("" for no point).
func PathData(pts []Point) string {
	var b strings.Builder
	for i, p := range pts {
		if i == 0 {
			b.WriteString("M")
		} else {
			b.WriteString(" L")
		}
		b.WriteString(Coord(p.X) + "," + Coord(p.Y))
	}
	return b.String()
}
