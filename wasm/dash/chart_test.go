package dash

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-3 }

func TestLayoutGeometry(t *testing.T) {
	type dot struct {
		cx, cy, r    float64
		xText, yText string
		title        string
		best         bool
	}
	for _, tc := range []struct {
		name     string
		spec     Spec
		xTicks   []float64 // positions
		yTicks   []float64
		bands    []Band
		path     []Point
		dots     []dot
		hasBest  bool
		bestX    float64
		bestLblX float64
		anchor   string
	}{
		{
			// x: 1..10 → 66..492 (the plot is 56..502, inset 10); y: 0.5..0.8 → 208..24.
			name: "epochs",
			spec: Spec{XLabel: "Epoch", XMin: 1, XMax: 10, XInteger: true, YPercent: true, Dots: true, Best: 2,
				Series: []Series{{Key: "val", Name: "Val", Points: []Point{{1, 0.5}, {2, 0.71}, {3, 0.69}}}}},
			xTicks: []float64{113.333, 208, 302.667, 397.333, 492},
			yTicks: []float64{208, 146.667, 85.333, 24},
			path:   []Point{{66, 208}, {113.333, 79.2}, {160.667, 91.467}},
			dots: []dot{
				{66, 208, 3.5, "1", "0.5", "Val · epoch 1: 50.00%", false},
				{113.333, 79.2, 5.5, "2", "0.71", "Val · epoch 2: 71.00%", true},
				{160.667, 91.467, 3.5, "3", "0.69", "Val · epoch 3: 69.00%", false},
			},
			hasBest: true, bestX: 113.333, bestLblX: 118.333, anchor: "start",
		},
		{
			// x: 0..20 → 66..492, 21.3 per step; y: 0.4..0.7 → 208..24.
			name: "steps",
			spec: Spec{XLabel: "Step", XMax: 20, XInteger: true, YFloor0: true, LastDot: true, Bands: 5, Best: 15,
				Series: []Series{{Key: "step", Name: "Train", Points: []Point{{1, 0.7}, {math.NaN(), 0.6}, {12, 0.4}}}}},
			xTicks:  []float64{66, 172.5, 279, 385.5, 492},
			yTicks:  []float64{208, 146.667, 85.333, 24},
			bands:   []Band{{172.5, 106.5}, {385.5, 106.5}},
			path:    []Point{{87.3, 24}, {321.6, 208}},
			dots:    []dot{{321.6, 208, 3.5, "12", "0.4", "Train: 0.4000", false}},
			hasBest: true, bestX: 385.5, bestLblX: 380.5, anchor: "end",
		},
		{
			// The best marker at the middle of the plot keeps its label on the right.
			name: "best in the middle",
			spec: Spec{XMax: 20, XInteger: true, Best: 10,
				Series: []Series{{Points: []Point{{0, 1}, {20, 2}}}}},
			xTicks:  []float64{66, 172.5, 279, 385.5, 492},
			yTicks:  []float64{208, 116, 24}, // 1, 1.5, 2
			path:    []Point{{66, 208}, {492, 24}},
			hasBest: true, bestX: 279, bestLblX: 284, anchor: "start",
		},
		{
			name:   "empty",
			spec:   Spec{Best: 1},
			xTicks: []float64{66, 151.2, 236.4, 321.6, 406.8, 492},
			yTicks: []float64{208, 116, 24},
		},
	} {
		c := Layout(tc.spec)
		if c.W != 520 || c.H != 250 || c.Left != 56 || c.Right != 502 || c.Top != 24 || c.Bot != 208 ||
			c.PlotW != 446 || c.PlotH != 184 || c.XLabelX != 279 || c.XLabelY != 244 || c.YLabelX != 14 || c.YLabelY != 116 {
			t.Errorf("%s: frame %+v", tc.name, c)
		}
		if c.Empty != (len(tc.path) == 0) {
			t.Errorf("%s: empty %v", tc.name, c.Empty)
		}
		checkTicks(t, tc.name+" x", c.XTicks, tc.xTicks)
		checkTicks(t, tc.name+" y", c.YTicks, tc.yTicks)
		if len(c.Bands) != len(tc.bands) {
			t.Errorf("%s: bands %v, want %v", tc.name, c.Bands, tc.bands)
		} else {
			for i, b := range c.Bands {
				if !near(b.X, tc.bands[i].X) || !near(b.W, tc.bands[i].W) {
					t.Errorf("%s: band %d %v, want %v", tc.name, i, b, tc.bands[i])
				}
			}
		}
		if len(c.Lines) != len(tc.spec.Series) {
			t.Fatalf("%s: %d lines", tc.name, len(c.Lines))
		}
		var path []Point
		var dots []Dot
		if len(c.Lines) > 0 {
			path, dots = c.Lines[0].Path, c.Lines[0].Dots
		}
		if len(path) != len(tc.path) {
			t.Errorf("%s: path %v, want %v", tc.name, path, tc.path)
		} else {
			for i, p := range path {
				if !near(p.X, tc.path[i].X) || !near(p.Y, tc.path[i].Y) {
					t.Errorf("%s: path point %d %v, want %v", tc.name, i, p, tc.path[i])
				}
			}
		}
		if len(dots) != len(tc.dots) {
			t.Errorf("%s: dots %+v, want %+v", tc.name, dots, tc.dots)
		} else {
			for i, d := range dots {
				w := tc.dots[i]
				if !near(d.CX, w.cx) || !near(d.CY, w.cy) || d.R != w.r || d.XText != w.xText || d.YText != w.yText ||
					d.Title != w.title || d.Best != w.best {
					t.Errorf("%s: dot %d %+v, want %+v", tc.name, i, d, w)
				}
			}
		}
		if c.HasBest != tc.hasBest || !near(c.BestX, tc.bestX) || !near(c.BestLabelX, tc.bestLblX) || c.BestAnchor != tc.anchor {
			t.Errorf("%s: best %v at %v, label at %v %q; want %v at %v, label at %v %q", tc.name,
				c.HasBest, c.BestX, c.BestLabelX, c.BestAnchor, tc.hasBest, tc.bestX, tc.bestLblX, tc.anchor)
		}
	}
}

func checkTicks(t *testing.T, name string, got []Tick, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s ticks %v, want positions %v", name, got, want)
		return
	}
	for i, tk := range got {
		if !near(tk.Pos, want[i]) {
			t.Errorf("%s tick %d (%s) at %v, want %v", name, i, tk.Label, tk.Pos, want[i])
		}
	}
}

func TestDotClass(t *testing.T) {
	for _, tc := range []struct {
		d    Dot
		key  string
		want string
	}{
		{Dot{}, "train", "pt train"},
		{Dot{Best: true}, "val", "pt val best"},
	} {
		if got := tc.d.Class(tc.key); got != tc.want {
			t.Errorf("%+v.Class(%q) = %q, want %q", tc.d, tc.key, got, tc.want)
		}
	}
}

func TestSVGFormat(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{Coord(56), "56.0"},
		{Coord(113.33333), "113.3"},
		{Coord(79.25), "79.2"}, // round half to even on the exact binary value
		{Coord(-3.06), "-3.1"},
		{PathData(nil), ""},
		{PathData([]Point{{66, 208}}), "M66.0,208.0"},
		{PathData([]Point{{66, 208}, {113.3333, 79.2}, {160.66667, 91.46667}}), "M66.0,208.0 L113.3,79.2 L160.7,91.5"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
