package dash

import (
	"html"
	"strconv"
	"strings"

	"github.com/pawnet/pawnet/shared/metrics"
)

// FilterScale magnifies the filter tiles on the page (11×11 weights → 44 px).
const FilterScale = 4

// addFilters keeps a filters message in epoch order, a later one of the
// same epoch (a resumed run) replacing the earlier.
func (s *State) addFilters(f *metrics.Filters) {
	s.Filters = putByEpoch(s.Filters, f, func(f *metrics.Filters) int { return f.Epoch })
}

// ShownFilters is the filter grid at slider position pick (an index into
// Filters; out of range, or −1, means the latest), nil when there is none.
func (s *State) ShownFilters(pick int) *metrics.Filters {
	if len(s.Filters) == 0 {
		return nil
	}
	if pick < 0 || pick >= len(s.Filters) {
		pick = len(s.Filters) - 1
	}
	return s.Filters[pick]
}

// FiltersKey identifies the markup of the filter grid at pick.
func (s *State) FiltersKey(pick int) string {
	f := s.ShownFilters(pick)
	if f == nil {
		return ""
	}
	return s.key("filters", f.Seq, "")
}

// FiltersNote says which epoch's filters are shown and how the slider
// replays them.
func (s *State) FiltersNote(pick int) string {
	f := s.ShownFilters(pick)
	if f == nil {
		return "The first layer's filters appear when the run starts, then at each new best epoch (runs made before this card existed have none)."
	}
	what := "after epoch " + strconv.Itoa(f.Epoch) + " (a new best)"
	if f.Epoch == 0 {
		what = "at initialization (random)"
	}
	n := strconv.Itoa(f.Grid.Count) + " conv1 filters " + what
	if len(s.Filters) > 1 {
		n += " · " + strconv.Itoa(len(s.Filters)) + " snapshots: drag the slider to replay"
	}
	return n
}

// FiltersHTML writes a filter grid as one div.filter-tile per filter, each
// showing its tile of the grid PNG magnified scale times (CSS sprites, so
// the PNG is decoded once), with data-filter its index.
func FiltersHTML(f *metrics.Filters, scale int) string {
	if f == nil {
		return ""
	}
	g := f.Grid
	sz := g.Size()
	var b strings.Builder
	url := `url(data:image/png;base64,` + html.EscapeString(f.PNG) + `)`
	side := strconv.Itoa(g.Tile*scale) + "px"
	bg := strconv.Itoa(sz.X*scale) + "px " + strconv.Itoa(sz.Y*scale) + "px"
	for i := range g.Count {
		o := g.Origin(i)
		b.WriteString(`<div class="filter-tile" data-filter="` + strconv.Itoa(i) + `" style="width:` + side + `;height:` + side +
			`;background-image:` + url + `;background-size:` + bg +
			`;background-position:-` + strconv.Itoa(o.X*scale) + `px -` + strconv.Itoa(o.Y*scale) + `px"></div>`)
	}
	return b.String()
}
