package main

import (
	"github.com/pawnet/pawnet/wasm/dash"
)

// LegendItem is one entry of a chart's legend; Key matches the series.
type LegendItem struct{ Key, Name string }

// LineChart draws a laid-out dash.Chart as SVG. Each data point is a
// circle with the classes "pt" and its series key (e.g. "pt train") and
// data-x / data-y attributes holding its values.
type LineChart struct {
	ID     string
	Title  string
	Note   string
	Legend []LegendItem
	Chart  dash.Chart
}

// N writes a chart coordinate or length for an SVG attribute.
func (c *LineChart) N(v float64) string { return dash.Coord(v) }

// D writes a line's path for the d attribute.
func (c *LineChart) D(l dash.Line) string { return dash.PathData(l.Path) }
