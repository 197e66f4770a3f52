package dash

import (
	"html"
	"strings"
)

// SVG writes the chart as the markup inside its <svg> element (whose
// viewBox is "0 0 W H"): the shaded bands, the axes with their ticks and
// labels, the best-epoch marker, and per series a g.series (class
// "series KEY", data-series KEY, data-run its run) holding its path and
// its points, each a circle with class Dot.Class, data-x and data-y and
// a <title> tooltip. The page sets it as the element's innerHTML only when
// it changed, so a render costs nothing for a chart that did not change.
func (c Chart) SVG() string {
	var b strings.Builder
	b.Grow(4096 + 120*len(c.Lines))
	tag := func(name string, attrs ...string) {
		b.WriteString("<" + name)
		for i := 0; i+1 < len(attrs); i += 2 {
			b.WriteString(" " + attrs[i] + `="` + html.EscapeString(attrs[i+1]) + `"`)
		}
		b.WriteString(">")
	}
	text := func(s string) { b.WriteString(html.EscapeString(s)) }
	n := Coord

	tag("g", "class", "bands")
	for _, band := range c.Bands {
		tag("rect", "class", "band", "x", n(band.X), "y", n(c.Top), "width", n(band.W), "height", n(c.PlotH))
		b.WriteString("</rect>")
	}
	b.WriteString("</g>")

	tag("g", "class", "y-axis")
	for _, t := range c.YTicks {
		tag("g", "class", "tick")
		tag("line", "class", "gridline", "x1", n(c.Left), "x2", n(c.Right), "y1", n(t.Pos), "y2", n(t.Pos))
		b.WriteString("</line>")
		tag("text", "class", "tick-label", "x", n(c.Left-8), "y", n(t.Pos), "text-anchor", "end", "dominant-baseline", "middle")
		text(t.Label)
		b.WriteString("</text></g>")
	}
	b.WriteString("</g>")

	tag("g", "class", "x-axis")
	tag("line", "class", "axis", "x1", n(c.Left), "x2", n(c.Right), "y1", n(c.Bot), "y2", n(c.Bot))
	b.WriteString("</line>")
	for _, t := range c.XTicks {
		tag("g", "class", "tick")
		tag("line", "class", "tick-mark", "x1", n(t.Pos), "x2", n(t.Pos), "y1", n(c.Bot), "y2", n(c.Bot+5))
		b.WriteString("</line>")
		tag("text", "class", "tick-label", "x", n(t.Pos), "y", n(c.Bot+18), "text-anchor", "middle")
		text(t.Label)
		b.WriteString("</text></g>")
	}
	b.WriteString("</g>")

	tag("text", "class", "axis-label", "x", n(c.XLabelX), "y", n(c.XLabelY), "text-anchor", "middle")
	text(c.XLabel)
	b.WriteString("</text>")
	tag("text", "class", "axis-label", "transform", "translate("+n(c.YLabelX)+","+n(c.YLabelY)+") rotate(-90)", "text-anchor", "middle")
	text(c.YLabel)
	b.WriteString("</text>")

	if c.HasBest {
		tag("g", "class", "best")
		tag("line", "class", "best-line", "x1", n(c.BestX), "x2", n(c.BestX), "y1", n(c.Top), "y2", n(c.Bot))
		b.WriteString("</line>")
		tag("text", "class", "best-label", "x", n(c.BestLabelX), "y", n(c.Top-8), "text-anchor", c.BestAnchor)
		text(c.BestLabel)
		b.WriteString("</text></g>")
	}

	for _, l := range c.Lines {
		tag("g", "class", "series "+l.Key, "data-series", l.Key, "data-run", l.Run)
		if len(l.Path) > 0 {
			tag("path", "class", "line", "d", PathData(l.Path))
			b.WriteString("</path>")
		}
		for _, d := range l.Dots {
			tag("circle", "class", d.Class(l.Key), "cx", n(d.CX), "cy", n(d.CY), "r", n(d.R), "data-x", d.XText, "data-y", d.YText)
			b.WriteString("<title>")
			text(d.Title)
			b.WriteString("</title></circle>")
		}
		b.WriteString("</g>")
	}
	if c.Empty {
		tag("text", "class", "empty-label", "x", n(c.XLabelX), "y", n(c.Top+86), "text-anchor", "middle")
		b.WriteString("Waiting for data…</text>")
	}
	return b.String()
}
