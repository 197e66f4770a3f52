package main

import (
	"strconv"

	"github.com/vugu/vugu"

	"github.com/pawnet/pawnet/wasm/dash/classifier"
)

// ClassifierPanel is the drop zone, the file picker, the weights download
// progress and the predictions. Each prediction is an li.prediction with
// data-state (queued, running, done, error) and, when done, data-p-<class>
// attributes holding the probabilities with full float32 precision.
type ClassifierPanel struct {
	C        *Classifier
	dragging bool
}

// DragOver accepts a drag: without PreventDefault the drop never fires.
func (c *ClassifierPanel) DragOver(event vugu.DOMEvent) {
	event.PreventDefault()
	c.dragging = true
}

// DragLeave ends the highlight.
func (c *ClassifierPanel) DragLeave(event vugu.DOMEvent) { c.dragging = false }

// Drop classifies the dropped files.
func (c *ClassifierPanel) Drop(event vugu.DOMEvent) {
	event.PreventDefault()
	c.dragging = false
	if dt := event.JSEvent().Get("dataTransfer"); dt.Truthy() {
		c.C.AddFiles(dt.Get("files"))
	}
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

// ItemAttrs are a prediction's data attributes (Item.DataAttrs).
func (c *ClassifierPanel) ItemAttrs(it *classifier.Item) vugu.AttrMap {
	m := vugu.AttrMap{}
	for k, v := range it.DataAttrs() {
		m[k] = v
	}
	return m
}

// ToggleWhy shows or hides the item's Grad-CAM heatmap over its thumbnail.
func (c *ClassifierPanel) ToggleWhy(it *classifier.Item) { c.C.ToggleWhy(it.ID) }

// Opacity follows the item's opacity slider (0..100).
func (c *ClassifierPanel) Opacity(it *classifier.Item, event vugu.DOMEvent) {
	if v, err := strconv.ParseFloat(event.JSEventTarget().Get("value").String(), 64); err == nil {
		c.C.SetOpacity(it.ID, v)
	}
}

// OpenView shows the item in the larger view.
func (c *ClassifierPanel) OpenView(it *classifier.Item) { c.C.OpenView(it.ID) }

// CloseView closes the larger view.
func (c *ClassifierPanel) CloseView() { c.C.CloseView() }

// Keep stops a click inside the larger view from closing it.
func (c *ClassifierPanel) Keep(event vugu.DOMEvent) { event.StopPropagation() }

// ToggleTTA sets whether the photos added from now on are classified with
// their mirror too.
func (c *ClassifierPanel) ToggleTTA(event vugu.DOMEvent) {
	c.C.TTA = event.JSEventTarget().Get("checked").Bool()
}
