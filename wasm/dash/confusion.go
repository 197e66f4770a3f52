package dash

import (
	"strconv"

	"github.com/pawnet/pawnet/shared/metrics"
)

// Matrix is a validation's confusion matrix as the page shows it: counts
// with row percentages (the share of each true class), cells shaded by
// that share. Matrix[i][j] counts the photos of true class i predicted as
// class j.
type Matrix struct{ *metrics.Confusion }

// Class names row i ("class i" when the message names fewer classes).
func (m Matrix) Class(i int) string {
	if i < len(m.Classes) {
		return m.Classes[i]
	}
	return "class " + strconv.Itoa(i)
}

// Share is cell (i, j) as a fraction of true class i (0 for an empty row).
func (m Matrix) Share(i, j int) float64 {
	sum := 0
	for _, n := range m.Matrix[i] {
		sum += n
	}
	if sum == 0 {
		return 0
	}
	return float64(m.Matrix[i][j]) / float64(sum)
}

// RowPct is Share(i, j) as a percentage, e.g. "83.3%".
func (m Matrix) RowPct(i, j int) string { return Percent(m.Share(i, j), 1) }

// CellClass is the CSS class of cell (i, j): "cm-cell correct" on the
// diagonal, "cm-cell wrong" elsewhere.
func (m Matrix) CellClass(i, j int) string {
	if i == j {
		return "cm-cell correct"
	}
	return "cm-cell wrong"
}

// CellStyle shades cell (i, j) by its share of the row: blue on the
// diagonal, orange elsewhere, alpha from 0.08 (none) to 0.8 (all).
func (m Matrix) CellStyle(i, j int) string {
	a := strconv.FormatFloat(0.08+0.72*m.Share(i, j), 'f', 3, 64)
	if i == j {
		return "background: rgba(37, 99, 235, " + a + ")"
	}
	return "background: rgba(234, 88, 12, " + a + ")"
}

// Summary is the accuracy the matrix implies, e.g.
// "300 of 360 right · accuracy 83.3%" ("" for an empty matrix).
func (m Matrix) Summary() string {
	right, all := 0, 0
	for i, row := range m.Matrix {
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
	return strconv.Itoa(right) + " of " + Count(int64(all)) + " right · accuracy " + Percent(float64(right)/float64(all), 1)
}
