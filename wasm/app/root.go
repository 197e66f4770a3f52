package main

import (
	"strconv"
	"strings"

	"github.com/vugu/vugu"
	"github.com/vugu/vugu/js"

	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/wasm/dash"
)

// Connection states shown by the header's #conn indicator.
const (
	ConnConnecting   = "connecting"
	ConnOpen         = "open"
	ConnReconnecting = "reconnecting"
)

// Root is the whole page: the run header, the charts, the latest
// validation's confusion matrix and misclassified photos, and the
// classifier panel. Its fields change only under the EventEnv lock.
type Root struct {
	State      *dash.State
	Conn       string // one of the Conn* states
	ConnErr    string // why the last connection ended
	Classifier *Classifier
	// ReadyMs is performance.now() at the first render (0 before), for the
	// page-ready benchmark.
	ReadyMs float64
}

// NewRoot makes an empty dashboard.
func NewRoot() *Root {
	return &Root{State: &dash.State{}, Conn: ConnConnecting, Classifier: &Classifier{}}
}

// Start connects to the metrics WebSocket and starts the classifier worker;
// both update the page from their own goroutines through ee.
func (c *Root) Start(ee vugu.EventEnv) {
	c.Classifier.Start(ee, c.State.ExportVersion)
	go c.follow(ee)
}

// Rendered is called by the render loop after each render.
func (c *Root) Rendered() {
	if c.ReadyMs == 0 {
		c.ReadyMs = js.Global().Get("performance").Call("now").Float()
		js.Global().Get("document").Get("documentElement").Call("setAttribute", "data-app-ready-ms", strconv.FormatFloat(c.ReadyMs, 'f', 1, 64))
	}
}

// Header helpers used by the template.

// StatusText is the status pill's text.
func (c *Root) StatusText() string {
	switch s := c.State.Status(); s {
	case dash.StatusWaiting:
		return "Waiting for a run"
	default:
		return strings.ToUpper(s[:1]) + s[1:]
	}
}

// Backend is the backend name ("—" before the run starts).
func (c *Root) Backend() string {
	if r := c.State.Run; r != nil && r.Backend != "" {
		return r.Backend
	}
	return "—"
}

// Device says where the run trains.
func (c *Root) Device() string {
	if r := c.State.Run; r != nil && r.Device != "" {
		return r.Device
	}
	return ""
}

// RunID names the run.
func (c *Root) RunID() string {
	if r := c.State.Run; r != nil {
		return r.RunID
	}
	return ""
}

// ModelText describes the model configuration, e.g. "small · 64 px".
func (c *Root) ModelText() string {
	r := c.State.Run
	if r == nil {
		return "—"
	}
	return r.Model.Name + " · " + strconv.Itoa(r.Model.InputSize) + " px"
}

// ModelDetail lists the widths and training hyper-parameters.
func (c *Root) ModelDetail() string {
	r := c.State.Run
	if r == nil {
		return ""
	}
	ch := make([]string, len(r.Model.Channels))
	for i, v := range r.Model.Channels {
		ch[i] = strconv.Itoa(v)
	}
	return "conv " + strings.Join(ch, "-") + " · fc " + strconv.Itoa(r.Model.Dense)
}

// TrainDetail gives the batch size and learning rate.
func (c *Root) TrainDetail() string {
	r := c.State.Run
	if r == nil {
		return ""
	}
	return "batch " + strconv.Itoa(r.Batch) + " · lr " + strconv.FormatFloat(r.LR, 'g', 3, 64)
}

// DatasetText is the number of photos, e.g. "1,800 photos".
func (c *Root) DatasetText() string {
	r := c.State.Run
	if r == nil {
		return "—"
	}
	return dash.Count(int64(r.TrainSize+r.ValSize)) + " photos"
}

// DatasetDetail gives the split and the classes, e.g.
// "1,440 train · 360 val · cat/dog".
func (c *Root) DatasetDetail() string {
	r := c.State.Run
	if r == nil {
		return ""
	}
	return dash.Count(int64(r.TrainSize)) + " train · " + dash.Count(int64(r.ValSize)) + " val · " + strings.Join(r.Classes, "/")
}

// EpochText is "x / y".
func (c *Root) EpochText() string {
	if c.State.Run == nil {
		return "—"
	}
	return strconv.Itoa(c.State.CurrentEpoch()) + " / " + strconv.Itoa(c.State.TotalEpochs())
}

// ProgressPct is the run's progress for the bar's width, e.g. "42.0%".
func (c *Root) ProgressPct() string { return dash.Percent(c.State.Progress(), 1) }

// ImagesPerSec is the latest throughput.
func (c *Root) ImagesPerSec() string { return dash.Rate(c.State.ImagesPerSec()) }

// InputBound says whether the latest step waited on input.
func (c *Root) InputBound() bool {
	return c.State.Step != nil && c.State.Step.InputBound && c.State.Running()
}

// TimeLabel names the time card: time left while the run trains, the time
// it took once it is over.
func (c *Root) TimeLabel() string {
	if c.State.End != nil {
		return "Training time"
	}
	return "Time left"
}

// ETA is the estimated time left, or the time the run took.
func (c *Root) ETA() string {
	if c.State.End != nil {
		return dash.Duration(c.State.TrainSeconds())
	}
	return dash.Duration(c.State.ETASec())
}

// TimeSub explains the time card.
func (c *Root) TimeSub() string {
	switch {
	case c.State.End != nil:
		if n := len(c.State.Epochs); n != 1 {
			return "sum of " + strconv.Itoa(n) + " epochs"
		}
		return "1 epoch"
	case c.State.Running() && c.State.ETASec() >= 0:
		return "estimated for the run"
	}
	return ""
}

// BestText is the best validation accuracy and its epoch.
func (c *Root) BestText() string {
	e, acc := c.State.Best()
	if e == 0 {
		return "—"
	}
	return dash.Percent(acc, 1)
}

// BestDetail names the best epoch and the latest validation log loss.
func (c *Root) BestDetail() string {
	e, _ := c.State.Best()
	if e == 0 {
		return ""
	}
	s := "epoch " + strconv.Itoa(e)
	if last := c.State.LastEpoch(); last != nil {
		s += " · log loss " + dash.Fixed(last.ValLogLoss, 3)
	}
	return s
}

// ErrorText is the run's error, if it failed.
func (c *Root) ErrorText() string {
	if c.State.End != nil {
		return c.State.End.Error
	}
	return ""
}

// ConnText describes the connection.
func (c *Root) ConnText() string {
	switch c.Conn {
	case ConnOpen:
		if c.State.Running() {
			return "Live"
		}
		return "Connected"
	case ConnReconnecting:
		return "Reconnecting…"
	}
	return "Connecting…"
}

// ConnTitle is the tooltip of the connection indicator.
func (c *Root) ConnTitle() string {
	s := "WebSocket /ws · last seq " + strconv.FormatInt(c.State.LastSeq, 10)
	if c.ConnErr != "" {
		s += " · " + c.ConnErr
	}
	return s
}

// Footer summarizes the message stream.
func (c *Root) Footer() string {
	s := strconv.FormatInt(c.State.LastSeq, 10) + " messages"
	if c.State.Gaps > 0 {
		s += " · " + strconv.Itoa(c.State.Gaps) + " gaps in the sequence"
	}
	return s
}

// Epoch charts' legends.
var (
	legendTrainVal = []LegendItem{{Key: "train", Name: "Train"}, {Key: "val", Name: "Validation"}}
	legendVal      = []LegendItem{{Key: "val", Name: "Validation"}}
	legendStep     = []LegendItem{{Key: "step", Name: "Train, smoothed (EMA 0.9)"}}
)

// ChartNote is the subtitle of an epoch chart: the latest values.
func (c *Root) ChartNote(which string) string {
	e := c.State.LastEpoch()
	if e == nil {
		return "No epoch finished yet"
	}
	ep := "epoch " + strconv.Itoa(e.Epoch) + ": "
	switch which {
	case "loss":
		return ep + "train " + dash.Fixed(e.TrainLoss, 4) + " · val " + dash.Fixed(e.ValLoss, 4)
	case "acc":
		return ep + "train " + dash.Percent(e.TrainAcc, 1) + " · val " + dash.Percent(e.ValAcc, 1)
	case "logloss":
		return ep + dash.Fixed(e.ValLogLoss, 4) + " (P(dog) clipped)"
	}
	return ""
}

// StepNote is the subtitle of the step chart.
func (c *Root) StepNote() string {
	st := c.State.Step
	if st == nil {
		return "No step yet"
	}
	return "step " + strconv.Itoa(st.Step) + " / " + strconv.Itoa(st.StepsPerEpoch) + " of epoch " + strconv.Itoa(st.Epoch) +
		" · loss " + dash.Fixed(st.Loss, 4)
}

// ConfusionEpoch names the epoch of the confusion matrix.
func (c *Root) ConfusionEpoch() string {
	if c.State.Confusion == nil {
		return "No validation yet"
	}
	return "Validation after epoch " + strconv.Itoa(c.State.Confusion.Epoch)
}

// MisclassifiedNote names the epoch of the gallery.
func (c *Root) MisclassifiedNote() string {
	m := c.State.Misclassified
	if m == nil {
		return "No validation yet"
	}
	return "Most confident mistakes after epoch " + strconv.Itoa(m.Epoch)
}

// Samples are the latest misclassified photos.
func (c *Root) Samples() []metrics.Sample {
	if c.State.Misclassified == nil {
		return nil
	}
	return c.State.Misclassified.Samples
}
