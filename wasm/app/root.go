package main

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/vugu/vugu"
	"github.com/vugu/vugu/js"

	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/wasm/dash"
)

// listInterval is how often the page refreshes the run list, so that new
// runs and status changes appear without a reload.
const listInterval = 2 * time.Second

// Root is the whole page: the run list, then the selected run (its
// header, charts, the confusion matrix and misclassified photos of the
// epoch picked, the classifier panel), or several runs overlaid. Its
// fields change only under the EventEnv lock; the text comes from dash.
type Root struct {
	Runs    []metrics.RunSummary // the run list
	ListErr string               // why the last refresh of the list failed
	Sel     dash.Selection       // what the page shows (its URL)
	// Views are the selected runs, in Sel.Runs's order.
	Views      []*RunView
	Classifier *Classifier
	// Teacher is the Teach panel; it shares the classifier's worker.
	Teacher *Teacher
	// ReadyMs is performance.now() at the first render (0 before), for the
	// page-ready benchmark.
	ReadyMs float64
	// DownloadOpen shows the Download menu.
	DownloadOpen bool

	ee       vugu.EventEnv
	caughtUp chan struct{} // closed once a run's history is drawn
	none     *RunView      // shown before any run is selected
}

// NewRoot makes an empty dashboard showing the selection in query (the
// page URL's query string).
func NewRoot(query string) *Root {
	cl := &Classifier{}
	cl.teacher = NewTeacher(cl)
	return &Root{Sel: dash.ParseSelection(query), Classifier: cl, Teacher: cl.teacher,
		none: &RunView{State: &dash.State{}, Conn: dash.Conn{State: dash.ConnConnecting}, want: make(chan int64, 1)}}
}

// Start fetches the run list (and keeps it fresh), follows the selected
// runs, and starts the classifier worker; they update the page from their
// own goroutines through ee.
func (c *Root) Start(ee vugu.EventEnv) {
	c.ee = ee
	c.Classifier.Init(ee, c.weights)
	if len(c.Sel.Runs) == 0 {
		// Follow the server's default run at once, without waiting for
		// the run list: its first frame names it.
		c.Views = []*RunView{newRunView(context.Background(), ee, "", c.drawn, c.named)}
	}
	go c.refreshList()
	// The classifier worker's module is large: index.html downloads it
	// beside this page's, compiles it once this page's module is compiled
	// (pawnetWorkerModule), and starts the worker once it is compiled; the
	// dashboard takes the worker over at once (or creates it, waiting for
	// that module), to show its state. Without that (an older
	// index.html), the worker compiles its module itself: it starts a
	// moment after the page has drawn its run, so as not to compete with
	// it for the CPU, or after workerDelay at the latest.
	c.caughtUp = make(chan struct{})
	early := js.Global().Truthy() && js.Global().Get("pawnetWorkerModule").Truthy()
	go func() {
		if !early {
			select {
			case <-c.caughtUp:
				time.Sleep(workerAfterDraw)
			case <-time.After(workerDelay):
			}
		}
		ee.Lock()
		c.Classifier.Start()
		ee.UnlockRender()
	}()
}

// workerDelay is the latest the classifier worker starts after the page,
// workerAfterDraw how long after the run is drawn.
const (
	workerDelay     = 3 * time.Second
	workerAfterDraw = 500 * time.Millisecond
)

// drawn is called, under the EventEnv lock, when a run's history has
// been applied: the first call lets the classifier worker start.
func (c *Root) drawn() {
	select {
	case <-c.caughtUp:
	default:
		close(c.caughtUp)
	}
}

// weights is the first selected run's weights URL, its run id (which
// keys the weights the worker caches) and latest export (it runs under the
// EventEnv lock).
func (c *Root) weights() (string, string, int64) {
	v := c.Main()
	if v.Name == "" {
		return "weights", v.State.RunID(), v.State.ExportVersion()
	}
	return dash.RunFileURL(v.Name, "weights"), v.State.RunID(), v.State.ExportVersion()
}

// refreshList fetches /api/runs every listInterval.
func (c *Root) refreshList() {
	last := ""
	for ; ; time.Sleep(listInterval) {
		var list metrics.RunList
		body, err := fetchText("api/runs")
		if err == nil && body == last {
			continue // nothing new: no render
		}
		if err == nil {
			err = json.Unmarshal([]byte(body), &list)
		}
		if err == nil {
			last = body
		}
		c.ee.Lock()
		if err != nil {
			c.ListErr = "cannot read the run list: " + err.Error()
		} else {
			c.Runs, c.ListErr = list.Runs, ""
			c.syncViews()
		}
		c.ee.UnlockRender()
	}
}

// named is called, under the EventEnv lock, when the view of the default
// run learns the run's name: it becomes the selection.
func (c *Root) named(run string) {
	if len(c.Sel.Runs) == 0 {
		c.Sel.Runs = []string{run}
		c.writeURL()
	}
}

// syncViews follows the selected runs and stops following the others,
// and writes the selection into the URL. It runs under the EventEnv lock.
// While nothing is selected, the default run's view stays.
func (c *Root) syncViews() {
	if len(c.Sel.Runs) == 0 {
		return
	}
	old := map[string]*RunView{}
	for _, v := range c.Views {
		old[v.Name] = v
	}
	views := make([]*RunView, 0, len(c.Sel.Runs))
	for _, name := range c.Sel.Runs {
		v := old[name]
		if v == nil {
			v = newRunView(context.Background(), c.ee, name, c.drawn, c.named)
		}
		delete(old, name)
		views = append(views, v)
	}
	for _, v := range old {
		v.stop()
	}
	c.Views = views
	if len(views) > 0 {
		views[0].State.Picked = c.Sel.Epoch
	}
	c.writeURL()
}

// writeURL replaces the page's URL with one holding the selection.
func (c *Root) writeURL() {
	loc := js.Global().Get("location")
	if !loc.Truthy() {
		return
	}
	url := loc.Get("pathname").String() + c.Sel.QueryKeeping(loc.Get("search").String())
	if url != loc.Get("pathname").String()+loc.Get("search").String() {
		js.Global().Get("history").Call("replaceState", nil, "", url)
	}
}

// Main is the first selected run's view (an empty one before any).
func (c *Root) Main() *RunView {
	if len(c.Views) > 0 {
		return c.Views[0]
	}
	return c.none
}

// Overlaid reports whether several runs are shown on the same charts.
func (c *Root) Overlaid() bool { return len(c.Views) > 1 }

// Overlay is the selected runs' charts, overlaid.
func (c *Root) Overlay() dash.Overlay {
	o := dash.Overlay{Smooth: c.Sel.Smooth}
	for _, v := range c.Views {
		o.Names = append(o.Names, v.Name)
		o.States = append(o.States, v.State)
	}
	return o
}

// RunLegend names the overlaid runs by colour.
func (c *Root) RunLegend() []LegendItem {
	var l []LegendItem
	for i, v := range c.Views {
		l = append(l, LegendItem{Key: dash.ColorKey(i), Name: v.Name})
	}
	return l
}

// summary is the run list's entry for run (nil when not listed).
func (c *Root) summary(run string) *metrics.RunSummary {
	for i := range c.Runs {
		if c.Runs[i].Name == run {
			return &c.Runs[i]
		}
	}
	return nil
}

// Status is the first selected run's status: its messages', except that
// a run the server sees interrupted (never ended, its file no longer
// written) is shown so.
func (c *Root) Status() string {
	st := c.Main().State.Status()
	if s := c.summary(c.Main().Name); s != nil && s.Status == metrics.StatusInterrupted && st == dash.StatusRunning {
		return metrics.StatusInterrupted
	}
	return st
}

// StatusText is Status for people.
func (c *Root) StatusText() string {
	if st := c.Status(); st == metrics.StatusInterrupted {
		return "Interrupted"
	}
	return c.Main().State.StatusText()
}

// Warning is what the server found wrong with the first selected run's
// files ("" when nothing).
func (c *Root) Warning() string {
	if s := c.summary(c.Main().Name); s != nil {
		return s.Warning
	}
	return ""
}

// Rows is the run list.
func (c *Root) Rows() []dash.RunRow { return dash.Rows(c.Runs) }

// SelectRun shows run alone (an event handler: the lock is held).
func (c *Root) SelectRun(run string) {
	c.Sel = c.Sel.Only(run)
	c.syncViews()
}

// ToggleRun adds run to the overlay or removes it.
func (c *Root) ToggleRun(run string) {
	c.Sel = c.Sel.Toggle(run)
	c.syncViews()
}

// PickEpoch shows epoch's validation (0: the best epoch's).
func (c *Root) PickEpoch(epoch int) {
	c.Sel.Epoch = epoch
	c.Main().State.Picked = epoch
	c.writeURL()
}

// PickPoint picks the epoch of a clicked epoch-chart point.
func (c *Root) PickPoint(x float64) {
	if !c.Overlaid() && x >= 1 {
		c.PickEpoch(int(x))
	}
}

// OnEpoch handles the epoch selector.
func (c *Root) OnEpoch(event vugu.DOMEvent) {
	e, _ := strconv.Atoi(event.JSEventTarget().Get("value").String())
	c.PickEpoch(e)
}

// OnSmooth handles the smoothing slider.
func (c *Root) OnSmooth(event vugu.DOMEvent) {
	w, _ := strconv.ParseFloat(event.JSEventTarget().Get("value").String(), 64)
	c.Sel.Smooth = min(max(w, 0), dash.MaxSmooth)
	c.writeURL()
}

// SmoothText is the slider's value, e.g. "0.60".
func (c *Root) SmoothText() string { return strconv.FormatFloat(c.Sel.Smooth, 'f', 2, 64) }

// SmoothValue is the slider's value attribute.
func (c *Root) SmoothValue() string { return strconv.FormatFloat(c.Sel.Smooth, 'g', -1, 64) }

// StepLegend names the step chart's line.
func (c *Root) StepLegend() []LegendItem {
	name := "Train (trainer's EMA 0.9)"
	if c.Sel.Smooth > 0 {
		name += " + smoothing " + c.SmoothText()
	}
	return []LegendItem{{Key: "step", Name: name}}
}

// Download is the URL of the first selected run's file (metrics.jsonl or
// epochs.csv).
func (c *Root) Download(file string) string { return dash.RunFileURL(c.Main().Name, file) }

// ToggleDownload opens or closes the Download menu (an event handler).
func (c *Root) ToggleDownload() { c.DownloadOpen = !c.DownloadOpen }

// DownloadExpanded is the menu button's aria-expanded.
func (c *Root) DownloadExpanded() string { return strconv.FormatBool(c.DownloadOpen) }

// DownloadName names the downloaded file, e.g. "demo-1-epochs.csv" (the
// server's Content-Disposition says the same).
func (c *Root) DownloadName(file string) string { return c.Main().Name + "-" + file }

// Rendered is called by the render loop after each render, under the
// read lock: it records the first render's time and asks for the shown
// epoch's misclassified photos when a History frame deferred them.
func (c *Root) Rendered() {
	c.Main().ask()
	if c.ReadyMs == 0 {
		c.ReadyMs = js.Global().Get("performance").Call("now").Float()
		js.Global().Get("document").Get("documentElement").Call("setAttribute", "data-app-ready-ms", strconv.FormatFloat(c.ReadyMs, 'f', 1, 64))
	}
}

// PopulateEpochs writes the epoch selector's options (when they changed)
// and puts it on the epoch shown: a select's value is a property, which
// attributes do not drive.
func (c *Root) PopulateEpochs(el js.Value) {
	s := c.Main().State
	choices := s.EpochChoices()
	setMarkup(el, s.EpochChoicesKey(), func() string { return dash.OptionsHTML(choices) })
	for _, o := range choices {
		if want := strconv.Itoa(o.Epoch); o.Selected && el.Get("value").String() != want {
			el.Set("value", want)
		}
	}
}

// Epoch charts' legends.
var (
	legendTrainVal = []LegendItem{{Key: "train", Name: "Train"}, {Key: "val", Name: "Validation"}}
	legendVal      = []LegendItem{{Key: "val", Name: "Validation"}}
)

// AppClass is the page's class: "app", plus "overlaid" when several runs
// share the charts.
func (c *Root) AppClass() string {
	if c.Overlaid() {
		return "app overlaid"
	}
	return "app"
}

// EpochNote says which epoch the confusion matrix and gallery show.
func (c *Root) EpochNote() string { return c.Main().State.EpochNote() }
