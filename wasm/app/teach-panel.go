package main

import (
	"fmt"
	"strconv"

	"github.com/vugu/vugu"
	"github.com/vugu/vugu/js"

	"github.com/pawnet/pawnet/wasm/dash"
	"github.com/pawnet/pawnet/wasm/dash/teach"
)

// TeachPanel is the Teach panel: the user's classes (2 to 10, each a
// div.teach-class with an editable name, a drop zone with a file input,
// the photos' thumbnails and the files that could not be read), the Train
// button, the fit's progress and loss curve, its cross-validated report,
// the switch between the taught head and the run's own for the classifier
// panel, the download of the taught weights and Forget.
type TeachPanel struct {
	T *Teacher
}

// ClassID is class i's element id, teach-class-I.
func (c *TeachPanel) ClassID(i int) string { return "teach-class-" + strconv.Itoa(i) }

// Ordinal is i + 1.
func (c *TeachPanel) Ordinal(i int) string { return strconv.Itoa(i + 1) }

// NameOf is what the drop zone calls the class.
func (c *TeachPanel) NameOf(cl *teach.Class) string {
	if cl.Name == "" {
		return "this class"
	}
	return cl.Name
}

// Rename takes a class's name from its input.
func (c *TeachPanel) Rename(i int, event vugu.DOMEvent) {
	c.T.Rename(i, event.JSEventTarget().Get("value").String())
	c.T.sync()
}

// Picked adds the files chosen in class i's file picker.
func (c *TeachPanel) Picked(i int, event vugu.DOMEvent) {
	input := event.JSEventTarget()
	c.T.AddFiles(i, input.Get("files"))
	input.Set("value", "") // choosing the same file again fires change again
}

// DragEnter highlights class i's drop zone (index.html accepts the
// dragovers, so that the drop fires).
func (c *TeachPanel) DragEnter(i int, event vugu.DOMEvent) {
	event.PreventDefault()
	if i < len(c.T.Classes) {
		c.T.Classes[i].Depth++
	}
}

// DragLeave ends the highlight once the drag left the zone and its
// children.
func (c *TeachPanel) DragLeave(i int, _ vugu.DOMEvent) {
	if i < len(c.T.Classes) {
		c.T.Classes[i].Depth = max(c.T.Classes[i].Depth-1, 0)
	}
}

// Drop adds the files dropped on class i's zone.
func (c *TeachPanel) Drop(i int, event vugu.DOMEvent) {
	event.PreventDefault()
	if i >= len(c.T.Classes) {
		return
	}
	c.T.Classes[i].Depth = 0
	if dt := event.JSEvent().Get("dataTransfer"); dt.Truthy() {
		c.T.AddFiles(i, dt.Get("files"))
	}
}

// ToggleUse switches the classifier panel between the taught head and the
// run's own.
func (c *TeachPanel) ToggleUse(event vugu.DOMEvent) {
	c.T.UseHead(event.JSEventTarget().Get("checked").Bool())
}

// PopulateUse puts the switch where the worker says the head is (a
// checkbox's state is a property, which attributes do not drive).
func (c *TeachPanel) PopulateUse(el js.Value) {
	if !el.Truthy() {
		return
	}
	on := c.T.ActiveAttr() == "true"
	if el.Get("checked").Bool() != on {
		el.Set("checked", on)
	}
}

// HeadClass colours the line saying which head classifies: a warning when
// the taught head cannot be used.
func (c *TeachPanel) HeadClass() string {
	if c.T.HeadErr != "" {
		return "note warn teach-head"
	}
	return "note teach-head"
}

// DownloadLabel is the download button's text.
func (c *TeachPanel) DownloadLabel() string {
	if c.T.Exporting {
		return "Writing the weights…"
	}
	return "Download .safetensors"
}

// LossViewBox is the loss chart's view box.
func (c *TeachPanel) LossViewBox() string { return fmt.Sprintf("0 0 %d %d", dash.ChartW, dash.ChartH) }

// PopulateLoss writes the loss chart into its svg when it changed.
func (c *TeachPanel) PopulateLoss(el js.Value) {
	chart := c.T.LossChart()
	setMarkup(el, chart.Key, chart.SVG)
}
