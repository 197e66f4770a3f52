package main

import (
	"hash/fnv"

	"github.com/vugu/vugu/js"
)

// setMarkup sets el's innerHTML to markup unless it already holds it. The
// parts of the page that are large and change rarely (the charts, the
// gallery) are written this way from a vg-js-populate callback: Vugu
// would set every attribute of every element on every render, and the
// browser would then restyle and redraw them all.
func setMarkup(el js.Value, markup string) {
	if !el.Truthy() {
		return
	}
	h := fnv.New32a()
	h.Write([]byte(markup))
	sum := float64(h.Sum32())
	if old := el.Get("pawnetMarkupHash"); old.Truthy() && old.Float() == sum {
		return
	}
	el.Set("innerHTML", markup)
	el.Set("pawnetMarkupHash", sum)
}
