package browsertest

import (
	"bytes"
	"context"
	"encoding/csv"
	"log"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/rundir"
	"github.com/pawnet/pawnet/trainer/server"
)

// newRunsServer starts the real server on every run folder of runsDir, as
// `pawnet serve -runs` does, rescanning it every 100 ms.
func newRunsServer(t testing.TB, static, runsDir string) *server.Server {
	t.Helper()
	srv, err := server.Start(nil, server.Options{Addr: "127.0.0.1:0", StaticDir: static, RunsDir: runsDir,
		ScanInterval: 100 * time.Millisecond, Log: log.New(&sinceLog{}, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv
}

// readRun reads a run folder's metrics.jsonl back, as the page should
// show it: the messages that decode.
func readRun(t testing.TB, dir string) []metrics.Message {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, rundir.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var msgs []metrics.Message
	if _, _, err := metrics.ReadLines(f, func(_ metrics.Header, ok bool, line []byte) {
		if m, err := metrics.Decode(line); ok && err == nil {
			msgs = append(msgs, m)
		}
	}); err != nil {
		t.Fatal(err)
	}
	return msgs
}

// runView is one run as the messages of its folder describe it.
type runView struct {
	epochs []*metrics.Epoch
	conf   map[int]*metrics.Confusion
	mis    map[int]*metrics.Misclassified
	steps  []*metrics.Step
	best   int
}

func viewOf(msgs []metrics.Message) runView {
	v := runView{conf: map[int]*metrics.Confusion{}, mis: map[int]*metrics.Misclassified{}}
	for _, m := range msgs {
		switch m := m.(type) {
		case *metrics.Epoch:
			v.epochs = append(v.epochs, m)
			v.best = m.BestEpoch
		case *metrics.Confusion:
			v.conf[m.Epoch] = m
		case *metrics.Misclassified:
			v.mis[m.Epoch] = m
		case *metrics.Step:
			v.steps = append(v.steps, m)
		case *metrics.RunEnd:
			v.best = m.BestEpoch
		}
	}
	return v
}

// shownJS is true once the page shows run alone, finished, with its n
// epochs and its gallery loaded.
func shownJS(run string, n int) string {
	return `document.querySelector("#app").dataset.run === ` + strconv.Quote(run) + ` && document.querySelector("#app").dataset.runs === "1"` +
		` && document.querySelector("#status").dataset.status === "finished" && ` + epochsShownJS(n)
}

// epochShown is what the page shows of the epoch picked: the confusion
// matrix's cells, the gallery's P(dog)s and the note.
type epochShown struct {
	Cells []int     `json:"cells"`
	PDog  []float64 `json:"pDog"`
	Note  string    `json:"note"`
	Value string    `json:"value"`
	Pick  []string  `json:"picked"`
}

const epochShownJS = `(() => ({
  cells: [...document.querySelectorAll("#confusion td.cm-cell")].map((c) => Number(c.dataset.count)),
  pDog: [...document.querySelectorAll("#misclassified .mis-item")].map((f) => Number(f.dataset.pDog)),
  note: document.querySelector("#epoch-note").textContent,
  value: document.querySelector("#epoch-select").value,
  picked: [...document.querySelectorAll("#chart-acc circle.pt.val.picked")].map((c) => c.dataset.x),
}))()`

// checkEpoch compares what the page shows with epoch e of v.
func checkEpoch(t *testing.T, b *browser, v runView, e int) {
	t.Helper()
	got := eval[epochShown](b, epochShownJS)
	var cells []int
	for _, row := range v.conf[e].Matrix {
		cells = append(cells, row...)
	}
	var pDog []float64
	for _, s := range v.mis[e].Samples {
		pDog = append(pDog, s.PDog)
	}
	if !slices.Equal(got.Cells, cells) || !slices.Equal(got.PDog, pDog) || !slices.Equal(got.Pick, []string{strconv.Itoa(e)}) {
		t.Errorf("epoch %d: page shows cells %v, P(dog) %v, picked point %v; want %v, %v, [%d]", e, got.Cells, got.PDog, got.Pick, cells, pDog, e)
	}
}

// twoRuns writes the runs alpha (6 epochs) and beta (8 epochs, started
// later) into a new runs folder.
func twoRuns(t *testing.T) (dir string, alpha, beta runView) {
	t.Helper()
	dir = t.TempDir()
	alpha = viewOf(readRun(t, writeRun(t, dir, "alpha", longRun("alpha", 6, 150, 1))))
	time.Sleep(5 * time.Millisecond) // beta starts later: the default run
	beta = viewOf(readRun(t, writeRun(t, dir, "beta", longRun("beta", 8, 220, 2))))
	return dir, alpha, beta
}

// valAccs reads the validation accuracy points of the accuracy chart's
// series of run (every series when run is "").
func valAccs(b *browser, run string) []float64 {
	sel := `#chart-acc circle.pt.val`
	if run != "" {
		sel = `#chart-acc g.series[data-run=` + strconv.Quote(run) + `] circle.pt.val`
	}
	return eval[[]float64](b, `[...document.querySelectorAll(`+strconv.Quote(sel)+`)].map((c) => Number(c.dataset.y))`)
}

func accsOf(v runView) []float64 {
	var out []float64
	for _, e := range v.epochs {
		out = append(out, e.ValAcc)
	}
	return out
}

// clickJS clicks the element that sel matches, as a user's click would
// dispatch it.
func (b *browser) click(sel string) {
	b.t.Helper()
	if err := b.do(10*time.Second, chromedp.Click(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("click %s: %v", sel, err)
	}
}

// TestDashboardRuns serves a runs folder as `pawnet serve -runs` does: the
// list shows every run, with a warning for a damaged one; the page opens
// on the newest run; clicking a run switches to it; adding a second run
// overlays both, and the URL reopens that view; a damaged run shows its
// readable part; a new run appears without a reload.
func TestDashboardRuns(t *testing.T) {
	b := newBrowser(t)
	dir, alpha, beta := twoRuns(t)
	// corrupt: alpha's lines with two unreadable ones and a cut-short end.
	data, err := os.ReadFile(filepath.Join(dir, "alpha", rundir.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	var bad bytes.Buffer
	for i, l := range lines {
		bad.Write(l)
		if i == 40 {
			bad.WriteString("{\"type\":\"epoch\",\"v\":1,\"seq\":999999,\"val_acc\":\"high\"}\n\x00\x01 garbage\n")
		}
	}
	bad.WriteString(`{"type":"step","v":1,"seq":`)
	if err := os.MkdirAll(filepath.Join(dir, "corrupt"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "corrupt", rundir.MetricsFile), bad.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty", rundir.MetricsFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := newRunsServer(t, webRoot(t), dir)
	// A parameter the selection does not hold (the classifier pool's
	// size) stays in the URL as the page rewrites it.
	b.open(srv.URL() + "?workers=1")

	type row struct {
		Run, Status, Warning, Selected string
	}
	rows := func() []row {
		return eval[[]row](b, `[...document.querySelectorAll("#runs tr.run-row")].map((r) => ({run: r.dataset.run, status: r.dataset.status, warning: r.dataset.warning, selected: r.dataset.selected}))`)
	}

	t.Run("list and default run", func(t *testing.T) {
		b.t = t
		b.wait("the newest run", shownJS("beta", 8), 30*time.Second)
		if got := eval[string](b, `location.search`); got != "?run=beta&workers=1" {
			t.Errorf("URL query %q, want ?run=beta&workers=1", got)
		}
		byName := map[string]row{}
		for _, r := range rows() {
			byName[r.Run] = r
		}
		if len(byName) != 4 || byName["beta"].Selected != "true" || byName["alpha"].Selected != "false" ||
			byName["alpha"].Status != "finished" || byName["alpha"].Warning != "" {
			t.Errorf("rows %+v", byName)
		}
		if w := byName["corrupt"].Warning; !strings.Contains(w, "2 unreadable lines skipped") || !strings.Contains(w, "the last line is cut short") {
			t.Errorf("corrupt run's warning %q", w)
		}
		if w := byName["empty"].Warning; w != "metrics.jsonl is empty" || byName["empty"].Status != "waiting" {
			t.Errorf("empty run: %+v", byName["empty"])
		}
		if got := valAccs(b, ""); !slices.Equal(got, accsOf(beta)) {
			t.Errorf("val accuracy %v, want beta's %v", got, accsOf(beta))
		}
		b.screenshot("dashboard-runs")
	})

	t.Run("switch runs", func(t *testing.T) {
		b.t = t
		b.click(`#runs tr[data-run="alpha"] .run-name`)
		b.wait("alpha", shownJS("alpha", 6), 30*time.Second)
		if got := valAccs(b, ""); !slices.Equal(got, accsOf(alpha)) {
			t.Errorf("val accuracy %v, want alpha's %v", got, accsOf(alpha))
		}
		if got := eval[string](b, `location.search`); got != "?run=alpha&workers=1" {
			t.Errorf("URL query %q", got)
		}
		b.click(`#runs tr[data-run="beta"] .run-name`)
		b.wait("beta again", shownJS("beta", 8), 30*time.Second)
		b.click(`#runs tr[data-run="alpha"] .run-name`)
		b.wait("alpha again", shownJS("alpha", 6), 30*time.Second)
	})

	t.Run("overlay", func(t *testing.T) {
		b.t = t
		overlaid := `document.querySelector("#app").dataset.runs === "2" && document.querySelectorAll("#chart-acc circle.pt.val").length === 14`
		check := func() {
			t.Helper()
			if got := valAccs(b, "alpha"); !slices.Equal(got, accsOf(alpha)) {
				t.Errorf("alpha's val accuracy %v, want %v", got, accsOf(alpha))
			}
			if got := valAccs(b, "beta"); !slices.Equal(got, accsOf(beta)) {
				t.Errorf("beta's val accuracy %v, want %v", got, accsOf(beta))
			}
			legend := eval[[]string](b, `[...document.querySelectorAll("#chart-acc .legend-item")].map((l) => l.className + ":" + l.textContent)`)
			if !slices.Equal(legend, []string{"legend-item c0:alpha", "legend-item c1:beta"}) {
				t.Errorf("legend %q", legend)
			}
			for _, c := range []string{"#chart-loss", "#chart-logloss", "#chart-steps"} {
				if n := eval[int](b, `new Set([...document.querySelectorAll("`+c+` g.series")].map((g) => g.dataset.run)).size`); n != 2 {
					t.Errorf("%s: %d runs drawn, want 2", c, n)
				}
			}
		}
		b.click(`#runs tr[data-run="beta"] .run-toggle`)
		b.wait("two runs overlaid", overlaid, 30*time.Second)
		check()
		if got := eval[string](b, `location.search`); got != "?run=alpha&run=beta&workers=1" {
			t.Errorf("URL query %q", got)
		}
		b.screenshot("dashboard-overlay")
		// The URL reopens the same view.
		b.reload()
		b.wait("two runs overlaid after a reload", overlaid, 30*time.Second)
		check()
		b.click(`#runs tr[data-run="beta"] .run-toggle`)
		b.wait("alpha alone", shownJS("alpha", 6), 30*time.Second)
	})

	t.Run("damaged run", func(t *testing.T) {
		b.t = t
		b.click(`#runs tr[data-run="corrupt"] .run-name`)
		b.wait("its readable part", shownJS("corrupt", 6)+` && !!document.querySelector("#run-warning")`, 30*time.Second)
		if w := eval[string](b, `document.querySelector("#run-warning").textContent`); !strings.Contains(w, "2 unreadable lines skipped (line 42") {
			t.Errorf("warning %q", w)
		}
		if got := valAccs(b, ""); !slices.Equal(got, accsOf(alpha)) {
			t.Errorf("val accuracy %v, want the readable %v", got, accsOf(alpha))
		}
		b.click(`#runs tr[data-run="empty"] .run-name`)
		b.wait("the empty run", `document.querySelector("#app").dataset.run === "empty" && document.querySelector("#status").dataset.status === "waiting"`+
			` && document.querySelector("#run-warning").textContent.includes("metrics.jsonl is empty")`, 30*time.Second)
		b.screenshot("dashboard-damaged")
	})

	t.Run("new run appears", func(t *testing.T) {
		b.t = t
		writeRun(t, dir, "gamma", longRun("gamma", 3, 40, 3))
		b.wait("gamma in the list", `!!document.querySelector('#runs tr[data-run="gamma"][data-status="finished"]')`, 30*time.Second)
		if n := len(rows()); n != 5 {
			t.Errorf("%d rows, want 5", n)
		}
	})
}

// TestDashboardEpochs: the confusion matrix and the gallery show the best
// epoch by default, labelled as such; the selector picks another; clicking
// a point of an epoch chart picks its epoch; the URL keeps the pick.
func TestDashboardEpochs(t *testing.T) {
	b := newBrowser(t)
	dir, _, beta := twoRuns(t)
	srv := newRunsServer(t, webRoot(t), dir)
	b.open(srv.URL() + "?run=beta")
	b.wait("beta", shownJS("beta", 8), 30*time.Second)
	// Two epochs to pick, other than the best.
	var picks []int
	for e := 1; e <= 8 && len(picks) < 2; e++ {
		if e != beta.best {
			picks = append(picks, e)
		}
	}
	pick1, pick2 := strconv.Itoa(picks[0]), strconv.Itoa(picks[1])

	t.Run("best by default", func(t *testing.T) {
		b.t = t
		checkEpoch(t, b, beta, beta.best)
		got := eval[epochShown](b, epochShownJS)
		if got.Value != "0" || got.Note != "Showing the best epoch ("+strconv.Itoa(beta.best)+"). Click a point on a chart to pick another." {
			t.Errorf("selector %q, note %q", got.Value, got.Note)
		}
		label := eval[string](b, `document.querySelector("#epoch-select").selectedOptions[0].textContent`)
		if !strings.HasPrefix(label, "Best epoch ("+strconv.Itoa(beta.best)+" · ") {
			t.Errorf("selected option %q", label)
		}
	})

	t.Run("selector", func(t *testing.T) {
		b.t = t
		eval[bool](b, `(() => { const s = document.querySelector("#epoch-select"); s.value = "`+pick1+`"; s.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`)
		b.wait("the epoch picked", `document.querySelector("#epoch-note").textContent.startsWith("Showing epoch `+pick1+`;") && document.querySelector("#misclassified").dataset.loading === "false"`, 30*time.Second)
		checkEpoch(t, b, beta, picks[0])
		if got := eval[string](b, `location.search`); got != "?epoch="+pick1+"&run=beta" {
			t.Errorf("URL query %q", got)
		}
	})

	t.Run("click a point", func(t *testing.T) {
		b.t = t
		b.click(`#chart-logloss circle.pt.val[data-x="` + pick2 + `"]`)
		b.wait("the epoch clicked", `document.querySelector("#epoch-note").textContent.startsWith("Showing epoch `+pick2+`;") && document.querySelector("#misclassified").dataset.loading === "false"`, 30*time.Second)
		checkEpoch(t, b, beta, picks[1])
		if got := eval[string](b, `document.querySelector("#epoch-select").value`); got != pick2 {
			t.Errorf("selector on %q, want %s", got, pick2)
		}
		b.reload()
		b.wait("the epoch clicked, after a reload", shownJS("beta", 8)+` && document.querySelector("#epoch-note").textContent.startsWith("Showing epoch `+pick2+`;")`, 30*time.Second)
		checkEpoch(t, b, beta, picks[1])
		b.screenshot("dashboard-epoch")
	})
}

// TestDashboardDownload downloads a run's epochs as CSV and its
// metrics.jsonl through the Download menu, and checks them against the
// run folder's metrics.jsonl.
func TestDashboardDownload(t *testing.T) {
	b := newBrowser(t)
	dir, _, _ := twoRuns(t)
	srv := newRunsServer(t, webRoot(t), dir)
	downloads := t.TempDir()
	if err := b.do(10*time.Second, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
			Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	b.open(srv.URL() + "?run=beta")
	b.wait("beta", shownJS("beta", 8), 30*time.Second)
	file, err := os.ReadFile(filepath.Join(dir, "beta", rundir.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}

	get := func(link, name string) []byte {
		t.Helper()
		b.click(`#download-button`)
		b.click(link)
		path := filepath.Join(downloads, name)
		var data []byte
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if d, err := os.ReadFile(path); err == nil && len(d) > 0 && bytes.Equal(d, data) {
				return d // the same twice: complete
			} else if err == nil {
				data = d
			}
			if time.Now().After(deadline) {
				entries, _ := os.ReadDir(downloads)
				t.Fatalf("no download %s; the folder holds %v", name, entries)
			}
		}
	}

	rows, err := csv.NewReader(bytes.NewReader(get("#download-csv", "beta-epochs.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var epochs []*metrics.Epoch
	for _, m := range readRun(t, filepath.Join(dir, "beta")) {
		if e, ok := m.(*metrics.Epoch); ok {
			epochs = append(epochs, e)
		}
	}
	if len(rows) != len(epochs)+1 || strings.Join(rows[0], ",") != "epoch,train_loss,train_acc,val_loss,val_acc,val_log_loss,lr,seconds,new_best" {
		t.Fatalf("CSV of %d rows, header %v; want %d epochs", len(rows), rows[0], len(epochs))
	}
	for i, e := range epochs {
		best := "0"
		if e.Best {
			best = "1"
		}
		want := []string{strconv.Itoa(e.Epoch)}
		for _, v := range []float64{e.TrainLoss, e.TrainAcc, e.ValLoss, e.ValAcc, e.ValLogLoss, e.LR, e.Seconds} {
			want = append(want, strconv.FormatFloat(v, 'g', -1, 64))
		}
		want = append(want, best)
		if !slices.Equal(rows[i+1], want) {
			t.Errorf("CSV row %d: %v, want %v", i+1, rows[i+1], want)
		}
		// Each number reads back as the very float64 of metrics.jsonl.
		if v, err := strconv.ParseFloat(rows[i+1][4], 64); err != nil || v != e.ValAcc {
			t.Errorf("epoch %d val_acc %q, want %v", e.Epoch, rows[i+1][4], e.ValAcc)
		}
	}
	if got := get("#download-jsonl", "beta-metrics.jsonl"); !bytes.Equal(got, file) {
		t.Errorf("downloaded metrics.jsonl: %d bytes, the run's: %d", len(got), len(file))
	}
}

// TestDashboardSmoothing moves the step chart's smoothing slider: the
// newest point becomes the debiased EMA of the step losses, and the URL
// keeps the setting.
func TestDashboardSmoothing(t *testing.T) {
	b := newBrowser(t)
	dir, _, beta := twoRuns(t)
	srv := newRunsServer(t, webRoot(t), dir)
	b.open(srv.URL() + "?run=beta")
	b.wait("beta", shownJS("beta", 8), 30*time.Second)
	lastY := func() float64 {
		return eval[float64](b, `Number(document.querySelector("#chart-steps circle.pt.step").dataset.y)`)
	}
	if got, want := lastY(), beta.steps[len(beta.steps)-1].Loss; got != want {
		t.Errorf("unsmoothed newest point %v, want %v", got, want)
	}
	eval[bool](b, `(() => { const s = document.querySelector("#smooth"); s.value = "0.9"; s.dispatchEvent(new Event("input", {bubbles: true})); return true; })()`)
	b.wait("the smoothing", `document.querySelector("#smooth-value").textContent === "0.90"`, 10*time.Second)
	last, n := 0.0, 0.0
	for _, s := range beta.steps {
		last, n = 0.9*last+0.1*s.Loss, n+1
	}
	want := last / (1 - math.Pow(0.9, n))
	if got := lastY(); math.Abs(got-want) > 1e-12 {
		t.Errorf("smoothed newest point %v, want %v", got, want)
	}
	if got := eval[string](b, `location.search`); got != "?run=beta&smooth=0.9" {
		t.Errorf("URL query %q", got)
	}
	b.reload()
	b.wait("the smoothing after a reload", shownJS("beta", 8)+` && document.querySelector("#smooth-value").textContent === "0.90"`, 30*time.Second)
	if got := lastY(); math.Abs(got-want) > 1e-12 {
		t.Errorf("after a reload: %v, want %v", got, want)
	}
}

// TestDashboardLongRun opens a 30,000-message run, generated as a long
// metrics.jsonl: the page shows it complete, every message applied, with
// the best epoch's confusion matrix and photos.
func TestDashboardLongRun(t *testing.T) {
	b := newBrowser(t)
	dir := t.TempDir()
	run := viewOf(readRun(t, writeRun(t, dir, "long", longRun("long", longRunEpochs, 30000, 1))))
	srv := newRunsServer(t, webRoot(t), dir)
	b.open(srv.URL())
	b.wait("the complete run", shownJS("long", longRunEpochs)+` && document.querySelector("#app").dataset.lastSeq === "30000"`, 2*time.Minute)
	st := b.state()
	if !strings.HasPrefix(st.Footer, "30000 messages ·") || strings.Contains(st.Footer, "gaps") {
		t.Errorf("footer %q", st.Footer)
	}
	if got := valAccs(b, ""); !slices.Equal(got, accsOf(run)) {
		t.Errorf("val accuracy of %d epochs, want %d", len(got), len(run.epochs))
	}
	checkEpoch(t, b, run, run.best)
	// The step chart draws all 29,808 steps within a few vertices per
	// pixel column, ending at the last one.
	path := eval[string](b, `document.querySelector("#chart-steps path.line").getAttribute("d")`)
	if n := strings.Count(path, "L") + 1; n < 400 || n > 4*dashPlotWidth {
		t.Errorf("step path of %d vertices", n)
	}
	if got, want := eval[float64](b, `Number(document.querySelector("#chart-steps circle.pt.step").dataset.y)`), run.steps[len(run.steps)-1].Loss; got != want {
		t.Errorf("newest step %v, want %v", got, want)
	}
	b.screenshot("dashboard-long-run")
}

// dashPlotWidth is the step chart's plot width in SVG units (dash.ChartW
// less its margins).
const dashPlotWidth = 446
