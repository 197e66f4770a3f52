package main

import (
	"hash/fnv"
	"io"

	"github.com/vugu/vugu/js"
)

// setMarkup sets el's innerHTML to markup() unless el already holds it:
// the same non-empty key as last time, or else the same markup. The parts
// of the page that are large and change rarely (the charts, the gallery,
// the epoch options) are written this way from a vg-js-populate callback:
// Vugu would set every attribute of every element on every render, and
// the browser would then restyle and redraw them all.
func setMarkup(el js.Value, key string, markup func() string) {
	if !el.Truthy() {
		return
	}
	if key != "" {
		if old := el.Get("pawnetMarkupKey"); old.Truthy() && old.String() == key {
			return
		}
	}
	m := markup()
	h := fnv.New32a()
	io.WriteString(h, m)
	sum := float64(h.Sum32())
	if old := el.Get("pawnetMarkupHash"); old.Truthy() && old.Float() == sum {
		el.Set("pawnetMarkupKey", key)
		return
	}
	el.Set("innerHTML", m)
	el.Set("pawnetMarkupHash", sum)
	el.Set("pawnetMarkupKey", key)
}
