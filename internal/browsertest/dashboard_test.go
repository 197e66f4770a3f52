package browsertest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pawnet/pawnet/internal/fixtures"
	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/rundir"
	"github.com/pawnet/pawnet/trainer/train"
)

// runEpochs is the length of the tests' training run.
const runEpochs = 2

// trainedRun is a finished training run on the sample.
type trainedRun struct {
	dir     string
	metrics string // metrics.jsonl
	weights string // model.safetensors
	msgs    []metrics.Message
}

var finished struct {
	sync.Mutex
	run *trainedRun
}

// recorder collects the messages of a run, then passes them on.
type recorder struct {
	mu   sync.Mutex
	msgs []metrics.Message
	next rundir.Sink
}

// Emit implements rundir.Sink.
func (r *recorder) Emit(m metrics.Message, line []byte) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
	if r.next != nil {
		r.next.Emit(m, line)
	}
}

// trainRun trains the small model with its defaults for runEpochs epochs
// at batch 16 on the class tree data, in runsDir/id (id "": a timestamp).
func trainRun(ctx context.Context, data, runsDir, id string, sink rundir.Sink) (*train.Result, error) {
	o := train.Defaults(alexnet.Small())
	o.DataDir, o.RunsDir, o.RunID, o.Epochs, o.BatchSize, o.Log = data, runsDir, id, runEpochs, 16, io.Discard
	run, err := train.Open(o)
	if err != nil {
		return nil, err
	}
	return run.Train(ctx, sink)
}

// trainSample trains the small model for runEpochs epochs on 40 photos of
// each class of the sample (a few seconds), sending every message to sink.
// The run folder outlives the test, for the tests that need weights.
func trainSample(t testing.TB, sink rundir.Sink) *trainedRun {
	t.Helper()
	rec := &recorder{next: sink}
	runsDir, err := os.MkdirTemp(tmpRoot, "runs-")
	if err != nil {
		t.Fatal(err)
	}
	res, err := trainRun(context.Background(), fixtures.ClassTree(t, 40), runsDir, "", rec)
	if err != nil {
		t.Fatalf("training: %v", err)
	}
	if res.Status != metrics.StatusFinished || res.Epochs != runEpochs {
		t.Fatalf("training ended %s after %d epochs", res.Status, res.Epochs)
	}
	r := &trainedRun{dir: res.RunDir, metrics: filepath.Join(res.RunDir, rundir.MetricsFile), weights: res.Weights, msgs: rec.msgs}
	finished.Lock()
	if finished.run == nil {
		finished.run = r
	}
	finished.Unlock()
	return r
}

// openFinishedRun opens a new browser on a server that shows the finished
// run (finishedRun) with its weights, once the page says it finished.
func openFinishedRun(t *testing.T) (*browser, *trainedRun, *testServer) {
	t.Helper()
	b := newBrowser(t)
	r := finishedRun(t)
	srv := newServer(t, webRoot(t), r.weights)
	srv.loadHistory(t, r.metrics)
	b.open(srv.URL())
	b.wait("the history", `document.querySelector("#status").dataset.status === "finished"`, 30*time.Second)
	return b, r, srv
}

// finishedRun returns a finished run: the one TestDashboardLive trained,
// or a new one.
func finishedRun(t testing.TB) *trainedRun {
	t.Helper()
	finished.Lock()
	r := finished.run
	finished.Unlock()
	if r != nil {
		return r
	}
	return trainSample(t, nil)
}

// gate passes messages on to next, but holds the training loop after the
// message that hold matches until release is closed.
type gate struct {
	next    rundir.Sink
	hold    func(metrics.Message) bool
	reached chan struct{}
	release chan struct{}
	once    sync.Once
}

// Emit implements rundir.Sink.
func (g *gate) Emit(m metrics.Message, line []byte) {
	g.next.Emit(m, line)
	if g.hold(m) {
		g.once.Do(func() {
			close(g.reached)
			<-g.release
		})
	}
}

// pageState is what the dashboard shows, read from the DOM.
type pageState struct {
	Status   string    `json:"status"`
	Conn     string    `json:"conn"`
	Backend  string    `json:"backend"`
	Device   string    `json:"device"`
	Epoch    string    `json:"epoch"`
	Model    string    `json:"model"`
	Dataset  string    `json:"dataset"`
	LastSeq  int64     `json:"lastSeq"`
	Points   []int     `json:"points"` // loss train, loss val, acc train, acc val, log loss val
	ValAcc   []float64 `json:"valAcc"`
	Epochs   []int     `json:"epochs"` // data-x of the val accuracy points
	Best     int       `json:"best"`   // best-marked val accuracy points
	StepPath string    `json:"stepPath"`
	CMTotal  int       `json:"cmTotal"`
	CMCells  int       `json:"cmCells"`
	Mis      int       `json:"mis"`
	Footer   string    `json:"footer"`
}

const pageStateJS = `(() => {
  const q = (s) => document.querySelector(s);
  const all = (s) => [...document.querySelectorAll(s)];
  const text = (s) => (q(s) ? q(s).textContent.trim() : "");
  const cells = all("#confusion td.cm-cell");
  return {
    status: q("#status") ? q("#status").dataset.status : "",
    conn: q("#conn") ? q("#conn").dataset.state : "",
    backend: text("#backend"), device: text("#device"), epoch: text("#epoch"),
    model: text("#model"), dataset: text("#dataset"),
    lastSeq: Number(q("#app") ? q("#app").dataset.lastSeq || 0 : 0),
    points: ["#chart-loss circle.pt.train", "#chart-loss circle.pt.val", "#chart-acc circle.pt.train",
             "#chart-acc circle.pt.val", "#chart-logloss circle.pt.val"].map((s) => all(s).length),
    valAcc: all("#chart-acc circle.pt.val").map((c) => Number(c.dataset.y)),
    epochs: all("#chart-acc circle.pt.val").map((c) => Number(c.dataset.x)),
    best: all("#chart-acc circle.pt.val.best").length,
    stepPath: q("#chart-steps path.line") ? q("#chart-steps path.line").getAttribute("d") : "",
    cmTotal: cells.reduce((s, c) => s + Number(c.dataset.count), 0),
    cmCells: cells.length,
    mis: all("#misclassified .mis-item").length,
    footer: text(".footer"),
  };
})()`

func (b *browser) state() pageState { return eval[pageState](b, pageStateJS) }

// epochsShownJS is true when every epoch chart has n points per series
// and the gallery is not waiting for its photos.
func epochsShownJS(n int) string {
	c := strconv.Itoa(n)
	return `["#chart-loss circle.pt.train", "#chart-loss circle.pt.val", "#chart-acc circle.pt.train", "#chart-acc circle.pt.val", "#chart-logloss circle.pt.val"]` +
		`.every((s) => document.querySelectorAll(s).length === ` + c + `) && document.querySelector("#misclassified").dataset.loading === "false"`
}

// checkShows compares the page with the first n epochs of a run; the
// confusion matrix and the gallery show the best epoch by default.
func checkShows(t *testing.T, st pageState, msgs []metrics.Message, n int, status string) {
	t.Helper()
	var start *metrics.RunStart
	var eps []*metrics.Epoch
	confs := map[int]*metrics.Confusion{}
	mis := map[int]*metrics.Misclassified{}
	for _, m := range msgs {
		switch v := m.(type) {
		case *metrics.RunStart:
			start = v
		case *metrics.Epoch:
			if v.Epoch <= n {
				eps = append(eps, v)
			}
		case *metrics.Confusion:
			confs[v.Epoch] = v
		case *metrics.Misclassified:
			mis[v.Epoch] = v
		}
	}
	var lastConf *metrics.Confusion
	var lastMis *metrics.Misclassified
	if len(eps) > 0 {
		best := eps[len(eps)-1].BestEpoch
		lastConf, lastMis = confs[best], mis[best]
	}
	if st.Status != status {
		t.Errorf("status %q, want %q", st.Status, status)
	}
	if st.Backend != start.Backend || st.Backend == "" {
		t.Errorf("backend %q, want %q", st.Backend, start.Backend)
	}
	if st.Device != start.Device {
		t.Errorf("device %q, want %q", st.Device, start.Device)
	}
	if want := []int{n, n, n, n, n}; !slices.Equal(st.Points, want) {
		t.Errorf("chart points %v, want %v (epochs finished)", st.Points, want)
	}
	for i, e := range eps {
		if i < len(st.ValAcc) && (st.ValAcc[i] != e.ValAcc || st.Epochs[i] != e.Epoch) {
			t.Errorf("val accuracy point %d: epoch %d = %v, want epoch %d = %v", i, st.Epochs[i], st.ValAcc[i], e.Epoch, e.ValAcc)
		}
	}
	if n > 0 && st.Best != 1 {
		t.Errorf("%d best-marked points on the accuracy chart, want 1", st.Best)
	}
	if st.StepPath == "" || st.StepPath[0] != 'M' {
		t.Errorf("step chart path %q", st.StepPath)
	}
	if lastConf != nil {
		total := 0
		for _, row := range lastConf.Matrix {
			for _, v := range row {
				total += v
			}
		}
		if st.CMTotal != total || st.CMCells != 4 || total != start.ValSize {
			t.Errorf("confusion matrix: %d cells counting %d photos, want 4 counting %d (val size %d)", st.CMCells, st.CMTotal, total, start.ValSize)
		}
	}
	if lastMis != nil && st.Mis != len(lastMis.Samples) {
		t.Errorf("%d misclassified thumbnails, want %d", st.Mis, len(lastMis.Samples))
	}
	if want := strconv.Itoa(n) + " / " + strconv.Itoa(start.Epochs); status != "running" && st.Epoch != want {
		t.Errorf("epoch %q, want %q", st.Epoch, want)
	}
}

// TestDashboardLive opens the page before training starts, then follows a
// real training run: the metrics arrive live; a reload mid-run and one
// after the run show the whole history; a dropped connection is resumed
// with ?since= without losing or repeating a message.
func TestDashboardLive(t *testing.T) {
	b := newBrowser(t)
	root := webRoot(t)
	runsDir, err := os.MkdirTemp(tmpRoot, "runs-")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, root, filepath.Join(runsDir, "live", rundir.WeightsFile))
	b.open(srv.URL())
	b.wait("the connection", `document.querySelector("#conn").dataset.state === "open" && document.querySelector("#status").dataset.status === "waiting"`, 20*time.Second)

	// Train; hold the loop after epoch 1's checkpoint message.
	g := &gate{next: srv, reached: make(chan struct{}), release: make(chan struct{}),
		hold: func(m metrics.Message) bool {
			c, ok := m.(*metrics.Checkpoint)
			return ok && c.Kind == metrics.KindCheckpoint && c.Epoch == 1
		}}
	rec := &recorder{next: g}
	data := fixtures.ClassTree(t, 40)
	done := make(chan *trainedRun, 1)
	var trainErr error
	go func() {
		defer close(done)
		res, err := trainRun(context.Background(), data, runsDir, "live", rec)
		if err == nil && res.Status != metrics.StatusFinished {
			err = fmt.Errorf("run ended %s", res.Status)
		}
		if err != nil {
			trainErr = err
			return
		}
		done <- &trainedRun{dir: res.RunDir, metrics: filepath.Join(res.RunDir, rundir.MetricsFile), weights: res.Weights}
	}()
	defer func() { // never leave the trainer blocked or running past the test
		select {
		case <-g.release:
		default:
			close(g.release)
		}
		for range done {
		}
	}()
	select {
	case <-g.reached:
	case <-done:
		t.Fatalf("training ended before epoch 1: %v", trainErr)
	case <-time.After(2 * time.Minute):
		t.Fatal("epoch 1 did not finish in 2 minutes")
	}

	t.Run("live", func(t *testing.T) {
		b.t = t
		b.wait("epoch 1 on the charts", epochsShownJS(1)+` && document.querySelector("#status").dataset.status === "running"`, 30*time.Second)
		b.wait("all messages so far", `Number(document.querySelector("#app").dataset.lastSeq) === `+strconv.FormatInt(srv.lastSeq(), 10), 20*time.Second)
		checkShows(t, b.state(), snapshot(rec), 1, "running")
		b.screenshot("dashboard-live")
	})

	t.Run("reload mid-run", func(t *testing.T) {
		b.t = t
		b.reload()
		b.wait("the history", epochsShownJS(1)+` && Number(document.querySelector("#app").dataset.lastSeq) === `+strconv.FormatInt(srv.lastSeq(), 10), 30*time.Second)
		checkShows(t, b.state(), snapshot(rec), 1, "running")
	})

	t.Run("reconnect", func(t *testing.T) {
		b.t = t
		seen := srv.lastSeq()
		srv.kick() // drop the connection; the page reconnects with ?since=
		for deadline := time.Now().Add(30 * time.Second); !slices.Contains(srv.sinces()[1:], seen); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no reconnection with since=%d; requests: %v", seen, srv.sinces())
			}
		}
		b.wait("the reconnection", `document.querySelector("#conn").dataset.state === "open"`, 30*time.Second)
		close(g.release)
		var r *trainedRun
		select {
		case r = <-done:
		case <-time.After(2 * time.Minute):
			t.Fatal("training did not finish")
		}
		if r == nil {
			t.Fatalf("training failed: %v", trainErr)
		}
		b.wait("the end of the run", epochsShownJS(runEpochs)+` && document.querySelector("#status").dataset.status === "finished"`+
			` && Number(document.querySelector("#app").dataset.lastSeq) === `+strconv.FormatInt(srv.lastSeq(), 10), 60*time.Second)
		st := b.state()
		checkShows(t, st, snapshot(rec), runEpochs, metrics.StatusFinished)
		if st.LastSeq != srv.lastSeq() || strings.Contains(st.Footer, "gaps") {
			t.Errorf("page at seq %d (%q), server at %d", st.LastSeq, st.Footer, srv.lastSeq())
		}
		r.msgs = snapshot(rec)
		finished.Lock()
		finished.run = r
		finished.Unlock()
	})

	t.Run("reload after the run", func(t *testing.T) {
		b.t = t
		b.reload()
		b.wait("the history", epochsShownJS(runEpochs)+` && document.querySelector("#status").dataset.status === "finished"`, 30*time.Second)
		checkShows(t, b.state(), snapshot(rec), runEpochs, metrics.StatusFinished)
		b.screenshot("dashboard-finished")
	})
}

func snapshot(r *recorder) []metrics.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// TestDashboardFailedRun shows a failed run from its history: the status
// and the error are in the header.
func TestDashboardFailedRun(t *testing.T) {
	b := newBrowser(t)
	root := webRoot(t)
	srv := newServer(t, root, filepath.Join(t.TempDir(), "none"))
	const why = "epoch 2 batch 3: loss is NaN (diverged)"
	for i, m := range []metrics.Message{
		&metrics.RunStart{RunID: "nan", Model: alexnet.Small(), Batch: 32, LR: 1e-4, Epochs: 5, TrainSize: 1440, ValSize: 360,
			Classes: []string{"cat", "dog"}, Backend: "go", Device: "go: 2 cores", StartEpoch: 1},
		&metrics.Step{Epoch: 1, Step: 45, StepsPerEpoch: 45, GlobalStep: 45, Loss: 0.69, ImagesPerSec: 120, ElapsedSec: 12},
		&metrics.Epoch{Epoch: 1, Epochs: 5, TrainLoss: 0.69, TrainAcc: 0.52, ValLoss: 0.68, ValAcc: 0.55, ValLogLoss: 0.68, Seconds: 14, Best: true, BestEpoch: 1, BestValAcc: 0.55},
		&metrics.RunEnd{Status: metrics.StatusFailed, Error: why, Epochs: 1, BestEpoch: 1, BestValAcc: 0.55},
	} {
		metrics.Stamp(m, int64(i+1), time.Now().UnixMilli())
		srv.Emit(m, nil)
	}
	b.open(srv.URL())
	b.wait("the failed run", `document.querySelector("#status").dataset.status === "failed" && !!document.querySelector("#run-error")`, 20*time.Second)
	if msg := eval[string](b, `document.querySelector("#run-error").textContent`); !strings.Contains(msg, why) {
		t.Errorf("error shown: %q", msg)
	}
	st := b.state()
	if st.Backend != "go" || st.Points[3] != 1 || st.Epoch != "1 / 5" {
		t.Errorf("page: %+v", st)
	}
	b.screenshot("dashboard-failed")
}
