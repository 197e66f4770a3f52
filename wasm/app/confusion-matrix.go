package main

import (
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/wasm/dash"
)

// ConfusionMatrix shows the latest validation's confusion matrix with
// counts and row percentages (the share of each true class). Each cell is
// a td.cm-cell with data-true, data-pred and data-count.
type ConfusionMatrix struct {
	Conf *metrics.Confusion
	Note string
}

// M is the matrix with its text and styles.
func (c *ConfusionMatrix) M() dash.Matrix { return dash.Matrix{Confusion: c.Conf} }
