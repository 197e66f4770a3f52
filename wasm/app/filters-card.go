package main

import (
	"strconv"

	"github.com/vugu/vugu"
	"github.com/vugu/vugu/js"

	"github.com/pawnet/pawnet/wasm/dash"
)

// FiltersCard shows the first conv layer's filters as a grid of RGB tiles
// (div.filter-tile, one per filter), the latest snapshot by default; its
// slider replays the snapshots (the initialization and each new best
// epoch). data-count is the number of tiles, data-epoch the epoch shown.
type FiltersCard struct {
	State *dash.State
	// Back is how many snapshots before the latest the slider shows; 0
	// follows the latest as new ones arrive.
	Back int
}

// pick is the index into State.Filters shown.
func (c *FiltersCard) pick() int { return max(len(c.State.Filters)-1-c.Back, 0) }

// Count is the number of filters shown.
func (c *FiltersCard) Count() int {
	if f := c.State.ShownFilters(c.pick()); f != nil {
		return f.Grid.Count
	}
	return 0
}

// EpochAttr is data-epoch: the epoch of the filters shown ("" for none).
func (c *FiltersCard) EpochAttr() string {
	if f := c.State.ShownFilters(c.pick()); f != nil {
		return strconv.Itoa(f.Epoch)
	}
	return ""
}

// EpochText labels the slider's position.
func (c *FiltersCard) EpochText() string {
	if f := c.State.ShownFilters(c.pick()); f != nil {
		if f.Epoch == 0 {
			return "init"
		}
		return strconv.Itoa(f.Epoch)
	}
	return ""
}

// NormText says what a tile is and how it is scaled.
func (c *FiltersCard) NormText() string {
	if f := c.State.ShownFilters(c.pick()); f != nil {
		k := strconv.Itoa(f.Grid.Tile)
		return "Each tile is one " + k + "×" + k + " RGB filter of the first layer: " + f.Norm + "."
	}
	return ""
}

// SliderValue is the slider's position.
func (c *FiltersCard) SliderValue() int { return c.pick() }

// Note is the card's note.
func (c *FiltersCard) Note() string { return c.State.FiltersNote(c.pick()) }

// OnSlide follows the slider; its last position follows new snapshots.
func (c *FiltersCard) OnSlide(event vugu.DOMEvent) {
	if v, err := strconv.Atoi(event.JSEventTarget().Get("value").String()); err == nil {
		c.Back = max(len(c.State.Filters)-1-v, 0)
	}
}

// Populate writes the tiles when the snapshot shown changed.
func (c *FiltersCard) Populate(el js.Value) {
	setMarkup(el, c.State.FiltersKey(c.pick()), func() string {
		return dash.FiltersHTML(c.State.ShownFilters(c.pick()), dash.FilterScale)
	})
}
