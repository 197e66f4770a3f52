package main

import (
	"github.com/vugu/vugu"
)

// ClassifierPanel is the drop zone, the file picker, the weights download
// progress and the predictions. Each prediction is an li.prediction with
// data-state (queued, running, done, error) and, when done, data-p-<class>
// attributes holding the probabilities with full float32 precision.
type ClassifierPanel struct {
	C        *Classifier
	dragging bool
}

// DragEnter highlights the drop zone. Its dragover events are not
// handled here: each would render the page, several times a second while
// a photo is dragged over it; index.html's listener on the window accepts
// them (without that PreventDefault the drop never fires).
func (c *ClassifierPanel) DragEnter(event vugu.DOMEvent) {
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
