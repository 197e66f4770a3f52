package main

import (
	"slices"
	"strconv"

	"github.com/vugu/vugu/js"

	"github.com/pawnet/pawnet/wasm/dash/classifier"
)

// predRow is one prediction's li in the list PopulateList keeps, and what
// was last written to it.
type predRow struct {
	li      js.Value
	attrs   [][2]string // the li's attributes (classifier.Item.LiAttrs)
	title   string      // the thumbnail's title
	thumb   string      // the inner HTML of its div.pred-thumb
	body    string      // and of its div.pred-body
	opacity string      // the heatmap opacity last set, "" before
}

// PopulateList writes the predictions into ul#predictions (from its
// vg-js-populate callback, after each render, under the EventEnv's read
// lock): an li per item shown (classifier.State.Shown), newest first, each part rewritten only when it
// changed (see writeRow), so that a render costs the same with one
// prediction as with fifty. Clicks and the opacity slider reach the
// classifier through listeners on the list.
func (c *Classifier) PopulateList(ul js.Value) {
	if !ul.Truthy() {
		return
	}
	if !same(c.list, ul) { // a new list element: start over
		c.list, c.rows = ul, map[int]*predRow{}
		ul.Set("innerHTML", "")
		c.listen(ul)
	}
	queued := c.QueuedText()
	shown := c.Shown()
	keep := make(map[int]bool, len(shown))
	next := ul.Get("firstElementChild") // where the next item belongs
	for _, it := range shown {
		keep[it.ID] = true
		row := c.rows[it.ID]
		if row == nil {
			row = &predRow{}
			c.rows[it.ID] = row
		}
		c.writeRow(it, row, queued)
		if !same(next, row.li) {
			ul.Call("insertBefore", row.li, next)
		} else {
			next = next.Get("nextElementSibling")
		}
	}
	for id, row := range c.rows {
		if !keep[id] {
			row.li.Call("remove")
			delete(c.rows, id)
		}
	}
}

// writeRow brings row's li up to date with the item, writing only what
// changed: its attributes, its thumbnail's title, the inner HTML of its
// div.pred-thumb and of its div.pred-body, the heatmap's opacity and the
// slider's position. So a start or a result leaves the thumbnail's img
// alone (no new request and decode of the photo). A new row gets a new li,
// which the caller places.
func (c *Classifier) writeRow(it *classifier.Item, row *predRow, queued string) {
	attrs, title, thumb, body := it.LiAttrs(), it.ThumbTitle(), it.ThumbHTML(), it.BodyHTML(queued)
	if !row.li.Truthy() {
		row.li = js.Global().Get("document").Call("createElement", "li")
		for _, a := range attrs {
			row.li.Call("setAttribute", a[0], a[1])
		}
		row.li.Set("innerHTML", it.Markup(queued))
		row.attrs, row.title, row.thumb, row.body, row.opacity = attrs, title, thumb, body, ""
	}
	if !slices.Equal(attrs, row.attrs) {
		for _, old := range row.attrs {
			if !slices.ContainsFunc(attrs, func(a [2]string) bool { return a[0] == old[0] }) {
				row.li.Call("removeAttribute", old[0])
			}
		}
		for _, a := range attrs {
			if !slices.Contains(row.attrs, a) {
				row.li.Call("setAttribute", a[0], a[1])
			}
		}
		row.attrs = attrs
	}
	if title != row.title || thumb != row.thumb {
		el := row.li.Get("firstElementChild") // div.pred-thumb
		if title != row.title {
			el.Call("setAttribute", "title", title)
		}
		if thumb != row.thumb {
			el.Set("innerHTML", thumb)
			row.opacity = ""
		}
		row.title, row.thumb = title, thumb
	}
	if body != row.body {
		row.li.Get("lastElementChild").Set("innerHTML", body) // div.pred-body
		row.body, row.opacity = body, ""
	}
	if op := it.OpacityPct(); it.Why && row.opacity != op {
		if img := row.li.Call("querySelector", "img.heat"); img.Truthy() {
			img.Get("style").Set("opacity", it.Opacity)
		}
		if in := row.li.Call("querySelector", "input.why-opacity"); in.Truthy() && in.Get("value").String() != op {
			in.Set("value", op)
		}
		row.opacity = op
	}
}

// updateRows brings the items with these IDs up to date (a thumbnail, a
// start or a result: such a change moves no item), each once however
// often it is listed (it sorts ids). An item not written yet has the
// whole list written instead.
func (c *Classifier) updateRows(ids []int) {
	queued := c.QueuedText()
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		it, row := c.Item(id), c.rows[id]
		if it == nil || !c.IsShown(id) {
			continue
		}
		if row == nil {
			c.PopulateList(c.list)
			return
		}
		c.writeRow(it, row, queued)
	}
}

// listen handles the list's clicks (a thumbnail opens the larger view,
// "Why?" toggles the heatmap) and the opacity sliders. The listeners are
// not Vugu's, so they take the EventEnv's lock themselves.
func (c *Classifier) listen(ul js.Value) {
	itemID := func(target js.Value) (int, bool) {
		li := target.Call("closest", "li.prediction")
		if !li.Truthy() {
			return 0, false
		}
		id, err := strconv.Atoi(li.Get("dataset").Get("id").String())
		return id, err == nil
	}
	ul.Call("addEventListener", "click", js.FuncOf(func(_ js.Value, args []js.Value) any {
		target := args[0].Get("target")
		why := target.Call("closest", ".why-toggle").Truthy()
		if !why && !target.Call("closest", ".pred-thumb").Truthy() {
			return nil
		}
		if id, ok := itemID(target); ok {
			c.ee.Lock()
			c.showHeat(id)
			if why {
				c.ToggleWhy(id)
			} else {
				c.OpenView(id)
			}
			c.ee.UnlockRender()
		}
		return nil
	}))
	ul.Call("addEventListener", "input", js.FuncOf(func(_ js.Value, args []js.Value) any {
		target := args[0].Get("target")
		if !target.Get("classList").Call("contains", "why-opacity").Truthy() {
			return nil
		}
		v, err := strconv.ParseFloat(target.Get("value").String(), 64)
		if id, ok := itemID(target); ok && err == nil {
			c.ee.Lock()
			c.SetOpacity(id, v)
			c.ee.UnlockRender()
		}
		return nil
	}))
}

// same reports whether a and b are the same JavaScript value (Object.is).
func same(a, b js.Value) bool { return js.Global().Get("Object").Call("is", a, b).Bool() }
