package classifier

import (
	"github.com/pawnet/pawnet/wasm/protocol"
	"strconv"
)

// DefaultOpacity is the heatmap's opacity over a thumbnail until the user
// moves its slider.
const DefaultOpacity = 0.5

// setHeat keeps a result's heatmaps: one URL per class, or the reason
// there are none.
func (it *Item) setHeat(r protocol.Reply) {
	it.HeatErr = r.HeatError
	if len(r.Heat) == len(r.Probs) && r.HeatW > 0 && r.HeatH > 0 {
		it.Heat, it.HeatW, it.HeatH = r.Heat, r.HeatW, r.HeatH
	} else if it.HeatErr == "" {
		it.HeatErr = "no heatmap"
	}
}

// HasHeat reports whether the item has a heatmap per class.
func (it *Item) HasHeat() bool {
	return it.State == ItemDone && len(it.Heat) == len(it.Probs) && len(it.Heat) > 0
}

// BestHeat is the heatmap of the predicted class ("" without one).
func (it *Item) BestHeat() string {
	if !it.HasHeat() || it.Best < 0 || it.Best >= len(it.Heat) {
		return ""
	}
	return it.Heat[it.Best]
}

// OpacityPct is the opacity slider's value, 0..100.
func (it *Item) OpacityPct() string { return strconv.Itoa(int(it.Opacity*100 + 0.5)) }

// WhyPressed is the "Why?" button's aria-pressed value.
func (it *Item) WhyPressed() string { return strconv.FormatBool(it.Why) }

// ToggleWhy shows or hides the item's heatmap over its thumbnail.
func (s *State) ToggleWhy(id int) {
	if it := s.Item(id); it != nil && it.HasHeat() {
		it.Why = !it.Why
	}
}

// SetOpacity sets the item's heatmap opacity from its slider (0..100).
func (s *State) SetOpacity(id int, pct float64) {
	if it := s.Item(id); it != nil {
		it.Opacity = min(max(pct, 0), 100) / 100
	}
}

// OpenView shows the item in the larger view (a finished item only).
func (s *State) OpenView(id int) {
	if it := s.Item(id); it != nil && it.State == ItemDone {
		s.Open = id
	}
}

// CloseView closes the larger view.
func (s *State) CloseView() { s.Open = 0 }

// Opened returns the item of the larger view: none or one.
func (s *State) Opened() []*Item {
	if it := s.Item(s.Open); it != nil && it.State == ItemDone {
		return []*Item{it}
	}
	return nil
}

// HeatURLs are the object URLs an item holds besides its photo's, for the
// page to revoke when it is removed.
func (it *Item) HeatURLs() []string { return it.Heat }

// ViewClasses are the per-class panels of the larger view: the class
// name, its probability as text and its heatmap's URL.
func (it *Item) ViewClasses() []ViewClass {
	var out []ViewClass
	for i := range it.Probs {
		v := ViewClass{Index: i, Name: it.Classes[i], Prob: it.ProbShort(i), Best: i == it.Best}
		if it.HasHeat() {
			v.Heat = it.Heat[i]
		}
		out = append(out, v)
	}
	return out
}

// ViewClass is one class's panel of the larger view.
type ViewClass struct {
	Index int
	Name  string
	Prob  string
	Heat  string
	Best  bool
}

// ThumbTitle is the thumbnail's tooltip.
func (it *Item) ThumbTitle() string {
	if it.State == ItemDone {
		return "Open the larger view"
	}
	return ""
}

// PanelClass is the panel's CSS class; the predicted class's stands out.
func (v ViewClass) PanelClass() string {
	if v.Best {
		return "cam-panel cam-best"
	}
	return "cam-panel"
}
