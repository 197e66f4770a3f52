package dash

import (
	"testing"

	"github.com/pawnet/pawnet/shared/metrics"
)

func TestMatrix(t *testing.T) {
	m := Matrix{&metrics.Confusion{Classes: []string{"cat", "dog"}, Matrix: [][]int{{150, 30}, {40, 140}}}}
	for _, tc := range []struct {
		i, j              int
		share             float64
		pct, class, style string
	}{
		{0, 0, 150.0 / 180, "83.3%", "cm-cell correct", "background: rgba(37, 99, 235, 0.680)"},
		{0, 1, 30.0 / 180, "16.7%", "cm-cell wrong", "background: rgba(234, 88, 12, 0.200)"},
		{1, 0, 40.0 / 180, "22.2%", "cm-cell wrong", "background: rgba(234, 88, 12, 0.240)"},
		{1, 1, 140.0 / 180, "77.8%", "cm-cell correct", "background: rgba(37, 99, 235, 0.640)"},
	} {
		if got := m.Share(tc.i, tc.j); got != tc.share {
			t.Errorf("Share(%d, %d) = %v, want %v", tc.i, tc.j, got, tc.share)
		}
		if got := m.RowPct(tc.i, tc.j); got != tc.pct {
			t.Errorf("RowPct(%d, %d) = %q, want %q", tc.i, tc.j, got, tc.pct)
		}
		if got := m.CellClass(tc.i, tc.j); got != tc.class {
			t.Errorf("CellClass(%d, %d) = %q, want %q", tc.i, tc.j, got, tc.class)
		}
		if got := m.CellStyle(tc.i, tc.j); got != tc.style {
			t.Errorf("CellStyle(%d, %d) = %q, want %q", tc.i, tc.j, got, tc.style)
		}
	}
	for _, tc := range []struct {
		m       Matrix
		summary string
		class1  string
	}{
		{m, "290 of 360 right · accuracy 80.6%", "dog"},
		{Matrix{&metrics.Confusion{Matrix: [][]int{{1200, 0}, {0, 0}}}}, "1200 of 1,200 right · accuracy 100.0%", "class 1"},
		{Matrix{&metrics.Confusion{Classes: []string{"cat"}, Matrix: [][]int{{0, 0}, {0, 0}}}}, "", "class 1"},
	} {
		if got := tc.m.Summary(); got != tc.summary {
			t.Errorf("Summary() = %q, want %q", got, tc.summary)
		}
		if got := tc.m.Class(1); got != tc.class1 {
			t.Errorf("Class(1) = %q, want %q", got, tc.class1)
		}
	}
	// An empty row shades as 0 %.
	empty := Matrix{&metrics.Confusion{Matrix: [][]int{{0, 0}, {3, 1}}}}
	if got, want := empty.CellStyle(0, 0), "background: rgba(37, 99, 235, 0.080)"; empty.Share(0, 0) != 0 || got != want {
		t.Errorf("empty row: share %v, style %q, want 0 and %q", empty.Share(0, 0), got, want)
	}
}
