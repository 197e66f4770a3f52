package dash

import (
	"strings"
	"testing"

	"github.com/pawnet/pawnet/shared/explain"
	"github.com/pawnet/pawnet/shared/metrics"
)

func TestFilters(t *testing.T) {
	var s State
	if s.ShownFilters(0) != nil || s.FiltersKey(0) != "" || !strings.Contains(s.FiltersNote(0), "appear") {
		t.Fatalf("empty state: %v %q %q", s.ShownFilters(0), s.FiltersKey(0), s.FiltersNote(0))
	}
	g := explain.Grid{Count: 24, Cols: 6, Rows: 4, Tile: 11, Gap: 1}
	msg := func(seq int64, epoch int) *metrics.Filters {
		f := &metrics.Filters{Epoch: epoch, PNG: "iVBO", Grid: g}
		metrics.Stamp(f, seq, 0)
		return f
	}
	// Epochs out of order (a resumed run re-sends epoch 3): kept sorted, the
	// later message of an epoch replacing the earlier.
	for _, f := range []*metrics.Filters{msg(1, 0), msg(5, 3), msg(9, 1), msg(12, 3)} {
		s.Apply(f)
	}
	var epochs []int
	for _, f := range s.Filters {
		epochs = append(epochs, f.Epoch)
	}
	if len(epochs) != 3 || epochs[0] != 0 || epochs[1] != 1 || epochs[2] != 3 || s.Filters[2].Seq != 12 {
		t.Fatalf("filters by epoch %v (last seq %d)", epochs, s.Filters[2].Seq)
	}
	for _, tc := range []struct {
		pick, epoch int
		note        string
	}{
		{0, 0, "24 conv1 filters at initialization (random) · 3 snapshots"},
		{1, 1, "after epoch 1 (a new best)"},
		{2, 3, "after epoch 3"},
		{-1, 3, "after epoch 3"},
		{7, 3, "after epoch 3"},
	} {
		if f := s.ShownFilters(tc.pick); f.Epoch != tc.epoch || !strings.Contains(s.FiltersNote(tc.pick), tc.note) {
			t.Errorf("pick %d: epoch %d, note %q; want %d, %q", tc.pick, f.Epoch, s.FiltersNote(tc.pick), tc.epoch, tc.note)
		}
	}
	if s.FiltersKey(0) == s.FiltersKey(1) {
		t.Error("two snapshots share a key")
	}
	h := FiltersHTML(s.ShownFilters(-1), 4)
	if n := strings.Count(h, `class="filter-tile"`); n != 24 {
		t.Errorf("%d tiles, want 24", n)
	}
	// Tile 7 is in row 1, column 1: origin (13, 13), at 4× (52, 52); the
	// grid is 73×49 px, 292×196 at 4×.
	if !strings.Contains(h, `data-filter="7" style="width:44px;height:44px;background-image:url(data:image/png;base64,iVBO);background-size:292px 196px;background-position:-52px -52px"`) {
		t.Errorf("tile 7's markup not found in %.300s…", h)
	}
}
