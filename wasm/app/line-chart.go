package main

import (
	"strconv"

	"github.com/vugu/vugu"
	"github.com/vugu/vugu/js"

	"github.com/pawnet/pawnet/wasm/dash"
)

// LegendItem is one entry of a chart's legend; Key matches the series.
type LegendItem struct{ Key, Name string }

// LineChart draws a laid-out dash.Chart as SVG (see dash.Chart.SVG). Each
// data point is a circle with the classes "pt" and its series key (e.g.
// "pt train") and data-x / data-y attributes holding its values; each
// series is a g.series with data-series (its key) and, on an overlay,
// data-run. Clicking a point calls OnPick with its x (when set).
type LineChart struct {
	ID     string
	Title  string
	Note   string
	Legend []LegendItem
	Chart  dash.Chart
	OnPick func(x float64)
}

// Click passes the x of a clicked point to OnPick.
func (c *LineChart) Click(event vugu.DOMEvent) {
	t := event.JSEventTarget()
	if c.OnPick == nil || !t.Truthy() || t.Get("dataset").Get("x").IsUndefined() {
		return
	}
	if x, err := strconv.ParseFloat(t.Get("dataset").Get("x").String(), 64); err == nil {
		c.OnPick(x)
	}
}

// Class is the card's classes: "card chart", plus "pickable" when
// clicking a point picks it.
func (c *LineChart) Class() string {
	if c.OnPick != nil {
		return "card chart pickable"
	}
	return "card chart"
}

// Populate writes the chart into its <svg> element when it changed.
func (c *LineChart) Populate(el js.Value) { setMarkup(el, c.Chart.Key, c.Chart.SVG) }
