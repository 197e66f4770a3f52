package main

import (
	"strconv"

	"github.com/vugu/vugu"
	"github.com/vugu/vugu/js"

	"github.com/pawnet/pawnet/wasm/dash"
)

// Root is the whole page: the run header, the charts, the latest
// validation's confusion matrix and misclassified photos, and the
// classifier panel. Its fields change only under the EventEnv lock; the
// text comes from dash.State.
type Root struct {
	State      *dash.State
	Conn       dash.Conn // the metrics connection
	Classifier *Classifier
	// ReadyMs is performance.now() at the first render (0 before), for the
	// page-ready benchmark.
	ReadyMs float64
}

// NewRoot makes an empty dashboard.
func NewRoot() *Root {
	return &Root{State: &dash.State{}, Conn: dash.Conn{State: dash.ConnConnecting}, Classifier: &Classifier{}}
}

// Start connects to the metrics WebSocket and starts the classifier worker;
// both update the page from their own goroutines through ee.
func (c *Root) Start(ee vugu.EventEnv) {
	c.Classifier.Start(ee, c.State.ExportVersion, c.State.RunID)
	go c.follow(ee)
}

// Rendered is called by the render loop after each render.
func (c *Root) Rendered() {
	if c.ReadyMs == 0 {
		c.ReadyMs = js.Global().Get("performance").Call("now").Float()
		js.Global().Get("document").Get("documentElement").Call("setAttribute", "data-app-ready-ms", strconv.FormatFloat(c.ReadyMs, 'f', 1, 64))
	}
}

// Epoch charts' legends.
var (
	legendTrainVal = []LegendItem{{Key: "train", Name: "Train"}, {Key: "val", Name: "Validation"}}
	legendVal      = []LegendItem{{Key: "val", Name: "Validation"}}
	legendStep     = []LegendItem{{Key: "step", Name: "Train, smoothed (EMA 0.9)"}}
)
