package main

import (
	"strconv"

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

func (c *ConfusionMatrix) rowSum(i int) int {
	s := 0
	for _, n := range c.Conf.Matrix[i] {
		s += n
	}
	return s
}

// Class names row i.
func (c *ConfusionMatrix) Class(i int) string {
	if i < len(c.Conf.Classes) {
		return c.Conf.Classes[i]
	}
	return "class " + strconv.Itoa(i)
}

func (c *ConfusionMatrix) frac(i, j int) float64 {
	s := c.rowSum(i)
	if s == 0 {
		return 0
	}
	return float64(c.Conf.Matrix[i][j]) / float64(s)
}

// RowPct is cell (i, j) as a share of true class i.
func (c *ConfusionMatrix) RowPct(i, j int) string { return dash.Percent(c.frac(i, j), 1) }

// CellClass marks the diagonal.
func (c *ConfusionMatrix) CellClass(i, j int) string {
	if i == j {
		return "cm-cell correct"
	}
	return "cm-cell wrong"
}

// CellStyle shades a cell by its share of the row.
func (c *ConfusionMatrix) CellStyle(i, j int) string {
	a := strconv.FormatFloat(0.08+0.72*c.frac(i, j), 'f', 3, 64)
	if i == j {
		return "background: rgba(37, 99, 235, " + a + ")"
	}
	return "background: rgba(234, 88, 12, " + a + ")"
}

// Summary is the accuracy the matrix implies.
func (c *ConfusionMatrix) Summary() string {
	right, all := 0, 0
	for i, row := range c.Conf.Matrix {
		for j, n := range row {
			all += n
			if i == j {
				right += n
			}
		}
	}
	if all == 0 {
		return ""
	}
	return strconv.Itoa(right) + " of " + dash.Count(int64(all)) + " right · accuracy " + dash.Percent(float64(right)/float64(all), 1)
}
