package main

import (
	"strconv"

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

func offset(base string, d float64) string {
	v, _ := strconv.ParseFloat(base, 64)
	return strconv.FormatFloat(v+d, 'f', 1, 64)
}

// Left is the plot's left edge moved by d.
func (c *LineChart) Left(d float64) string { return offset(c.Chart.Left, d) }

// Top is the plot's top edge moved by d.
func (c *LineChart) Top(d float64) string { return offset(c.Chart.Top, d) }

// Bot is the plot's bottom edge moved by d.
func (c *LineChart) Bot(d float64) string { return offset(c.Chart.Bot, d) }

// YLabelTransform places the rotated y axis label.
func (c *LineChart) YLabelTransform() string {
	return "translate(" + c.Chart.YLabelX + "," + c.Chart.YLabelY + ") rotate(-90)"
}

// DotClass is the class of a data point.
func (c *LineChart) DotClass(key string, best bool) string {
	if best {
		return "pt " + key + " best"
	}
	return "pt " + key
}

// DotR is a point's radius.
func (c *LineChart) DotR(best bool) string {
	if best {
		return "5.5"
	}
	return "3.5"
}
