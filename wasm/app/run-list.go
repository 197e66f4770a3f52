package main

import (
	"slices"
	"strconv"

	"github.com/pawnet/pawnet/wasm/dash"
)

// RunList is the list of runs: name (with a warning when its files are
// damaged), model, backend, status, best validation accuracy and log
// loss, epochs and start time. Each row is a tr with data-run,
// data-status, data-selected and data-warning; a.run-name selects the run
// alone, button.run-toggle adds it to the overlay or removes it.
type RunList struct {
	Rows     []dash.RunRow
	Sel      dash.Selection
	Err      string
	OnSelect func(run string)
	OnToggle func(run string)
}

// RowClass marks the selected rows.
func (c *RunList) RowClass(r dash.RunRow) string {
	if c.Sel.Has(r.Name) {
		return "run-row selected"
	}
	return "run-row"
}

// ToggleClass colours a selected run's toggle with its overlay colour.
func (c *RunList) ToggleClass(r dash.RunRow) string {
	if i := slices.Index(c.Sel.Runs, r.Name); i >= 0 {
		return "run-toggle on " + dash.ColorKey(i)
	}
	return "run-toggle"
}

// ToggleText is ✓ for a selected run, + for another.
func (c *RunList) ToggleText(r dash.RunRow) string {
	if c.Sel.Has(r.Name) {
		return "✓"
	}
	return "+"
}

// ToggleTitle explains the toggle.
func (c *RunList) ToggleTitle(r dash.RunRow) string {
	if c.Sel.Has(r.Name) {
		return "remove " + r.Name + " from the charts"
	}
	return "overlay " + r.Name + " on the charts"
}

// SelectedAttr is a row's data-selected: "true" or "false".
func (c *RunList) SelectedAttr(r dash.RunRow) string { return strconv.FormatBool(c.Sel.Has(r.Name)) }
