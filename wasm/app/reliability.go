package main

import (
	"strconv"

	"github.com/vugu/vugu/js"

	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/wasm/dash"
)

// Reliability shows the best epoch's calibration: its temperature, log
// losses and TTA figures (Note) and the reliability diagram of its
// validation P(dog) (see dash.ReliabilityHTML). Hidden until a best epoch
// reports one.
type Reliability struct {
	Bins []metrics.ReliabilityBin
	Note string
	Key  string // see dash.State.ReliabilityKey
}

// ViewBox is the training charts' view box, which the diagram shares.
func (c *Reliability) ViewBox() string {
	return "0 0 " + strconv.Itoa(dash.ChartW) + " " + strconv.Itoa(dash.ChartH)
}

// Populate writes the diagram into its element when it changed.
func (c *Reliability) Populate(el js.Value) {
	setMarkup(el, c.Key, func() string { return dash.ReliabilityHTML(c.Bins) })
}
