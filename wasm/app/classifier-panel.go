package main

import (
	"strconv"

	"github.com/vugu/vugu"

	"github.com/pawnet/pawnet/wasm/dash"
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

// WorkerState is "starting", "ready" or "failed".
func (c *ClassifierPanel) WorkerState() string {
	switch {
	case c.C.Fatal != "":
		return "failed"
	case c.C.WorkerReady:
		return "ready"
	}
	return "starting"
}

// WorkerReadyMs is when the worker became ready ("" before).
func (c *ClassifierPanel) WorkerReadyMs() string {
	if !c.C.WorkerReady {
		return ""
	}
	return strconv.FormatFloat(c.C.WorkerReadyMs, 'f', 1, 64)
}

// WeightsText describes the weights.
func (c *ClassifierPanel) WeightsText() string {
	switch c.C.Weights {
	case WeightsLoading:
		if c.C.WeightsTotal > 0 {
			return "downloading " + dash.Bytes(c.C.WeightsLoaded) + " of " + dash.Bytes(c.C.WeightsTotal)
		}
		return "downloading " + dash.Bytes(c.C.WeightsLoaded)
	case WeightsReady:
		return c.C.WeightsInfo
	case WeightsError:
		return "not available: " + c.C.WeightsErr
	}
	if !c.C.WorkerReady && c.C.Fatal == "" {
		return "starting the classifier…"
	}
	return "downloaded with your first photo"
}

// QueuedText says what a queued photo waits for.
func (c *ClassifierPanel) QueuedText() string {
	switch {
	case c.C.Weights == WeightsLoading:
		return "Waiting for the model download…"
	case !c.C.WorkerReady:
		return "Waiting for the classifier to start…"
	}
	return "Waiting…"
}

// WeightsPct is the download progress as a CSS width.
func (c *ClassifierPanel) WeightsPct() string {
	if c.C.WeightsTotal <= 0 {
		return "0%"
	}
	return dash.Percent(float64(c.C.WeightsLoaded)/float64(c.C.WeightsTotal), 1)
}

// CountText summarizes the list.
func (c *ClassifierPanel) CountText() string {
	n, busy := len(c.C.Items), c.C.Busy()
	s := strconv.Itoa(n) + " photo"
	if n != 1 {
		s += "s"
	}
	if busy > 0 {
		s += " · " + strconv.Itoa(busy) + " in progress"
	}
	return s
}

// ItemAttrs are a prediction's data-p-<class> attributes.
func (c *ClassifierPanel) ItemAttrs(it *Item) vugu.AttrMap {
	m := vugu.AttrMap{"data-label": it.Label}
	for i, p := range it.Probs {
		m["data-p-"+it.Classes[i]] = c.ProbText(p)
	}
	if it.State == ItemDone {
		m["data-ms"] = c.MsText(it.Ms)
	}
	return m
}

// ProbText writes a probability with full float32 precision.
func (c *ClassifierPanel) ProbText(p float64) string { return strconv.FormatFloat(p, 'g', -1, 32) }

// ProbShort writes a probability for people.
func (c *ClassifierPanel) ProbShort(p float64) string { return dash.Fixed(p, 4) }

// ProbPct is a probability as a CSS width.
func (c *ClassifierPanel) ProbPct(p float64) string { return dash.Percent(p, 1) }

// MsText writes a latency in milliseconds.
func (c *ClassifierPanel) MsText(ms float64) string {
	if ms >= 100 {
		return dash.Fixed(ms, 0)
	}
	return dash.Fixed(ms, 1)
}

// BarClass marks the winning class's bar.
func (c *ClassifierPanel) BarClass(it *Item, i int) string {
	s := "bar-row bar-" + it.Classes[i]
	if i == it.Best {
		s += " win"
	}
	return s
}
