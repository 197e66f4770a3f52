package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/vugu/vugu"
	"github.com/vugu/vugu/js"
)

// ClassifierPanel is the drop zone, the file picker, the weights download
// progress and the predictions. Each prediction is an li.prediction with
// data-state (queued, running, done, error) and, when done, data-p-<class>
// attributes holding the probabilities with full float32 precision.
type ClassifierPanel struct {
	C        *Classifier
	dragging bool
	// zone is the drop zone's element PopulateZone gave its listeners;
	// depth counts the dragenters on it and its children not left yet.
	zone  js.Value
	depth int
}

// PopulateZone (the drop zone's vg-js-populate, after each render) gives
// the drop zone its drag and drop listeners, once per element. They are
// not Vugu's: a Vugu handler renders the whole page after each event,
// and a drop, or a drag over the zone, changes only the zone's class, the
// prediction list and the text above it, which the handlers write
// themselves (the page renders only when more changed). Dragover events
// need no handler: index.html's listener on the window accepts them
// (without that PreventDefault the drop never fires).
func (c *ClassifierPanel) PopulateZone(zone js.Value) {
	if !zone.Truthy() || same(c.zone, zone) {
		return
	}
	c.zone, c.depth = zone, 0
	// f reports whether it added photos (refused ones too: they are
	// listed with their error).
	on := func(name string, f func(ev js.Value) bool) {
		zone.Call("addEventListener", name, js.FuncOf(func(_ js.Value, args []js.Value) any {
			c.C.ee.Lock()
			before := c.panelKey()
			added := f(args[0])
			if c.zone.Truthy() {
				c.zone.Set("className", c.ZoneClass())
			}
			if c.panelKey() != before {
				c.C.ee.UnlockRender()
				return nil
			}
			c.C.ee.UnlockOnly()
			if added {
				// The new photos went to the worker; list them in a task
				// of their own, so that the page's longest task is the
				// shorter.
				time.AfterFunc(0, func() {
					c.C.ee.Lock()
					c.C.PopulateList(c.C.list)
					c.C.setTexts()
					c.C.ee.UnlockOnly()
				})
			}
			return nil
		}))
	}
	// The zone stays highlighted while the drag is over it or over any of
	// its children (each of which has its own dragenter and dragleave).
	on("dragenter", func(ev js.Value) bool {
		ev.Call("preventDefault")
		c.depth++
		c.dragging = true
		return false
	})
	on("dragleave", func(ev js.Value) bool {
		if c.depth--; c.depth <= 0 {
			c.depth, c.dragging = 0, false
		}
		return false
	})
	on("drop", func(ev js.Value) bool {
		ev.Call("preventDefault")
		c.depth, c.dragging = 0, false
		dt := ev.Get("dataTransfer")
		if !dt.Truthy() {
			return false
		}
		files := dt.Get("files")
		c.C.AddFiles(files)
		return files.Truthy() && files.Length() > 0
	})
}

// panelKey sums up what the panel shows besides the prediction list, its
// count and the TTA cost: a drop that leaves it as it was needs no render.
func (c *ClassifierPanel) panelKey() string {
	return strings.Join([]string{c.C.WorkerState(), c.C.WorkerReadyText(), c.C.Weights, c.C.WeightsText(), c.C.WeightsPct(),
		c.C.Fatal, c.HeadClass(), strconv.Itoa(len(c.C.Opened()))}, "\x00")
}

// Picked classifies the files chosen in the file picker.
func (c *ClassifierPanel) Picked(event vugu.DOMEvent) {
	input := event.JSEventTarget()
	c.C.AddFiles(input.Get("files"))
	input.Set("value", "") // choosing the same file again fires change again
}

// ZoneClass highlights the drop zone during a drag.
func (c *ClassifierPanel) ZoneClass() string {
	if c.dragging {
		return "dropzone dragging"
	}
	return "dropzone"
}

// HeadClass is the class of the line above the predictions, hidden while
// there are none. (It is always there, so that the list after it keeps its
// element, and the items PopulateList wrote, across renders.)
func (c *ClassifierPanel) HeadClass() string {
	if len(c.C.Items) == 0 {
		return "pred-head empty"
	}
	return "pred-head"
}

// CloseView closes the larger view.
func (c *ClassifierPanel) CloseView() { c.C.CloseView() }

// Keep stops a click inside the larger view from closing it.
func (c *ClassifierPanel) Keep(event vugu.DOMEvent) { event.StopPropagation() }

// ToggleTTA sets whether the photos added from now on are classified with
// their mirror too.
func (c *ClassifierPanel) ToggleTTA(event vugu.DOMEvent) {
	c.C.TTA = event.JSEventTarget().Get("checked").Bool()
}
