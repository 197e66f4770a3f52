package main

import (
	"strconv"

	"github.com/vugu/vugu/js"
)

// predRow is one prediction's li in the list PopulateList keeps.
type predRow struct {
	li      js.Value
	markup  string
	opacity string // the heatmap opacity last set, "" before
}

// PopulateList writes the predictions into ul#predictions (from its
// vg-js-populate callback, after each render, under the EventEnv's read
// lock): an li per item, newest first, rewritten only when its markup
// (classifier.Item.Markup) changed, so that a render costs the same with
// one prediction as with fifty. Clicks and the opacity slider reach the
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
	doc := js.Global().Get("document")
	queued := c.QueuedText()
	keep := make(map[int]bool, len(c.Items))
	next := ul.Get("firstElementChild") // where the next item belongs
	for _, it := range c.Items {
		keep[it.ID] = true
		row := c.rows[it.ID]
		if m := it.Markup(queued); row == nil || row.markup != m {
			li := doc.Call("createElement", "li")
			for _, a := range it.LiAttrs() {
				li.Call("setAttribute", a[0], a[1])
			}
			li.Set("innerHTML", m)
			if row == nil {
				row = &predRow{}
				c.rows[it.ID] = row
				ul.Call("insertBefore", li, next)
			} else {
				ul.Call("replaceChild", li, row.li)
				if same(next, row.li) {
					next = li
				}
			}
			row.li, row.markup, row.opacity = li, m, ""
		}
		if !same(next, row.li) {
			ul.Call("insertBefore", row.li, next)
		} else {
			next = next.Get("nextElementSibling")
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
	for id, row := range c.rows {
		if !keep[id] {
			row.li.Call("remove")
			delete(c.rows, id)
		}
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
