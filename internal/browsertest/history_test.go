package browsertest

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/rundir"
)

// longRunEpochs is the number of epochs of a generated run: the demo's
// early-stopped small-model run trains about this many.
const longRunEpochs = 48

// longRun returns the messages of a finished run of epochs epochs with
// exactly total messages (unstamped): run_start, step messages spread
// evenly over the epochs, and per epoch an epoch, confusion and
// misclassified message (8 thumbnails of 32×32 px, as the sample's
// photos give), a checkpoint, and an export after each best epoch; then
// run_end. The curves are a noisy descent, deterministic for a seed.
func longRun(id string, epochs, total int, seed uint64) []metrics.Message {
	rng := rand.New(rand.NewPCG(seed, 1))
	const train, val, batch = 1440, 360, 32
	stepsPerEpoch := train / batch
	var msgs []metrics.Message
	msgs = append(msgs, &metrics.RunStart{RunID: id, Model: alexnet.Small(), Batch: batch, LR: 1e-3, Epochs: epochs,
		TrainSize: train, ValSize: val, Classes: []string{"cat", "dog"}, Backend: "go", Device: "go: 2 cores",
		Seed: seed, Augment: true, StartEpoch: 1})
	// Count the exports first, to know how many step messages fit.
	accs := make([]float64, epochs)
	exports := 0
	best, bestEpoch := -1.0, 0
	for e := range accs {
		accs[e] = math.Min(0.95, 0.5+0.3*(1-math.Exp(-float64(e)/12))+0.03*rng.NormFloat64())
		if accs[e] > best {
			best = accs[e]
			exports++
		}
	}
	steps := total - 2 - 4*epochs - exports
	if steps < epochs {
		panic("longRun: total too small")
	}
	best, bestEpoch = -1, 0
	gs := int64(0)
	loss := 0.7
	for e := 1; e <= epochs; e++ {
		n := steps / epochs
		if e <= steps%epochs {
			n++
		}
		for i := 1; i <= n; i++ {
			step := max(1, i*stepsPerEpoch/n)
			gs = int64((e-1)*stepsPerEpoch + step)
			loss = 0.9*loss + 0.1*(0.7*math.Exp(-float64(gs)/800)+0.15+0.05*rng.NormFloat64())
			msgs = append(msgs, &metrics.Step{Epoch: e, Step: step, StepsPerEpoch: stepsPerEpoch, GlobalStep: gs, Loss: loss,
				ImagesPerSec: 300 + 20*rng.NormFloat64(), ElapsedSec: float64(step) * 0.1, ETASec: float64(stepsPerEpoch-step) * 0.1,
				InputWait: 0.02})
		}
		acc := accs[e-1]
		isBest := acc > best
		if isBest {
			best, bestEpoch = acc, e
		}
		right := int(math.Round(acc * val))
		msgs = append(msgs,
			&metrics.Epoch{Epoch: e, Epochs: epochs, TrainLoss: loss, TrainAcc: math.Min(0.99, acc+0.05), ValLoss: 1 - acc*0.8,
				ValAcc: acc, ValLogLoss: 1.1 - acc, LR: 1e-3, Seconds: 4.5, Best: isBest, BestEpoch: bestEpoch, BestValAcc: best},
			&metrics.Confusion{Epoch: e, Classes: []string{"cat", "dog"},
				Matrix: [][]int{{right / 2, val/2 - right/2}, {val/2 - (right - right/2), right - right/2}}},
			&metrics.Misclassified{Epoch: e, Samples: thumbnails(rng, e)},
		)
		if isBest {
			msgs = append(msgs, &metrics.Checkpoint{Epoch: e, Kind: metrics.KindExport, Path: rundir.WeightsFile, Bytes: 2_170_000})
		}
		msgs = append(msgs, &metrics.Checkpoint{Epoch: e, Kind: metrics.KindCheckpoint, Path: "checkpoints/epoch-001", Bytes: 6_500_000})
	}
	msgs = append(msgs, &metrics.RunEnd{Status: metrics.StatusFinished, Epochs: epochs, BestEpoch: bestEpoch, BestValAcc: best,
		Weights: rundir.WeightsFile})
	if len(msgs) != total {
		panic("longRun: wrong count")
	}
	return msgs
}

// thumbnails returns 8 misclassified samples with noisy 32×32 PNGs.
func thumbnails(rng *rand.Rand, epoch int) []metrics.Sample {
	out := make([]metrics.Sample, 8)
	for i := range out {
		img := image.NewRGBA(image.Rect(0, 0, 32, 32))
		for p := 0; p < 32*32; p++ {
			img.Set(p%32, p/32, color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255})
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			panic(err)
		}
		label := i % 2
		out[i] = metrics.Sample{PNG: base64.StdEncoding.EncodeToString(buf.Bytes()), Path: "cat/cat." + strconv.Itoa(epoch*10+i) + ".jpg",
			True: label, PDog: math.Abs(float64(1-label) - 0.1*rng.Float64()), Index: epoch*10 + i}
	}
	return out
}

// writeRun writes msgs as the run folder runsDir/id with the real writer
// (rundir.Emitter stamps them 1, 2, …) and its run.json. It returns the
// folder.
func writeRun(t testing.TB, runsDir, id string, msgs []metrics.Message) string {
	t.Helper()
	dir := filepath.Join(runsDir, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := rundir.WriteConfig(dir, rundir.Config{RunID: id, Model: alexnet.Small(), Backend: "go", Epochs: longRunEpochs,
		BatchSize: 32, LR: 1e-3, ValFraction: 0.2, Classes: []string{"cat", "dog"}}); err != nil {
		t.Fatal(err)
	}
	em, err := rundir.OpenEmitter(filepath.Join(dir, rundir.MetricsFile), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		em.Emit(m)
	}
	if err := em.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// completionJS runs in every new page: a MutationObserver records, as
// the page's DOM changes, the first time it shows each (status, last seq)
// pair, in window.pawnetSeen as [ms since navigation, last seq, status],
// the status followed by " loading" while the gallery waits for its
// photos. (A timer would be late by as long as the main thread is busy or
// starved.) A PerformanceObserver keeps the longest main-thread task in
// window.pawnetLongTask.
const completionJS = `(() => {
  window.pawnetSeen = [];
  window.pawnetLongTask = 0;
  let key = "";
  const check = () => {
    const a = document.querySelector("#app");
    if (!a) return;
    const g = document.querySelector("#misclassified");
    const status = a.dataset.status + (g && g.dataset.loading === "true" ? " loading" : "");
    const k = status + " " + a.dataset.lastSeq;
    if (k !== key) {
      key = k;
      window.pawnetSeen.push([performance.now(), Number(a.dataset.lastSeq), status]);
    }
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, attributes: true,
    attributeFilter: ["data-status", "data-last-seq", "data-loading"]});
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.pawnetLongTask = Math.max(window.pawnetLongTask, e.duration);
  }).observe({entryTypes: ["longtask"]});
})()`

// historyEnv is a browser and a server holding a generated finished run
// of total messages.
func historyEnv(b *testing.B, total int) (*benchEnv, int64) {
	b.Helper()
	key := "history-" + strconv.Itoa(total)
	e := env(b, key, func() string { return filepath.Join(tmpRoot, "no-weights") })
	if e.srv.lastSeq() == 0 {
		dir := writeRun(b, filepath.Join(tmpRoot, key), "long", longRun("long", longRunEpochs, total, 1))
		e.srv.loadHistory(b, filepath.Join(dir, rundir.MetricsFile))
		watchPages(b, e)
	}
	return e, e.srv.lastSeq()
}

// watchPages installs completionJS in every page e's browser opens.
func watchPages(b *testing.B, e *benchEnv) {
	b.Helper()
	if err := e.b.do(10*time.Second, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: completionJS})
		return err
	})); err != nil {
		b.Fatal(err)
	}
}

// openComplete loads the dashboard and waits until it shows the finished
// run up to seq last; it returns the ms from the first render (page
// ready) to that.
func openComplete(b *testing.B, e *benchEnv, last int64) float64 {
	b.Helper()
	if err := e.b.do(10*time.Second, chromedp.Navigate("about:blank")); err != nil {
		b.Fatal(err)
	}
	e.b.open(e.url)
	want := strconv.FormatInt(last, 10)
	e.b.wait("the complete run", `document.querySelector("#app").dataset.status === "finished" && document.querySelector("#app").dataset.lastSeq === "`+want+`"`, 3*time.Minute)
	e.b.wait("its epochs", epochsShownJS(longRunEpochs), 10*time.Second)
	e.b.wait("the completion record", `window.pawnetSeen.some((s) => s[1] === `+want+` && s[2] === "finished")`, 10*time.Second)
	v := eval[[2]float64](e.b, `[window.pawnetSeen.find((s) => s[1] === `+want+` && s[2] === "finished")[0], Number(document.documentElement.dataset.appReadyMs)]`)
	return v[0] - v[1]
}

// BenchmarkBrowserHistory reports the time from page-ready (the first
// render) until the dashboard shows a finished run complete (status
// finished, the last seq, every epoch on the charts), for a generated
// run of the demo's size (903 messages) and of an hour-long run (30,000).
func BenchmarkBrowserHistory(b *testing.B) {
	for _, total := range []int{903, 30000} {
		b.Run("msgs="+strconv.Itoa(total), func(b *testing.B) {
			e, last := historyEnv(b, total)
			sum, worst := 0.0, 0.0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ms := openComplete(b, e, last)
				sum += ms
				worst = max(worst, ms)
			}
			b.StopTimer()
			b.ReportMetric(sum/float64(b.N), "ms-to-complete")
			b.ReportMetric(worst, "ms-worst")
		})
	}
}

// BenchmarkBrowserLiveStall reports the longest main-thread stall of the
// page while a run with a 30,000-message history streams live at 4
// messages a second: ms-max-stall is the largest extra delay of a 10 ms
// timer (it counts the time the machine did not run the page, too),
// ms-max-longtask the longest task the browser reports (0 when none
// reached its 50 ms threshold). Each op is 40 messages (10 s), across an
// epoch's end.
func BenchmarkBrowserLiveStall(b *testing.B) {
	const total, perOp = 30000, 40
	e := env(b, "stall", func() string { return filepath.Join(tmpRoot, "no-weights") })
	msgs := longRun("live", longRunEpochs, total, 2)
	dir := writeRun(b, filepath.Join(tmpRoot, "stall-"+strconv.Itoa(b.N)), "live", msgs)
	lines, err := os.ReadFile(filepath.Join(dir, rundir.MetricsFile))
	if err != nil {
		b.Fatal(err)
	}
	all := bytes.Split(bytes.TrimSpace(lines), []byte("\n"))
	// The history ends 20 messages before the end of epoch 40.
	cut := 0
	for i, m := range msgs {
		if ep, ok := m.(*metrics.Epoch); ok && ep.Epoch == 40 {
			cut = i - 20
		}
	}
	if e.srv.lastSeq() == 0 {
		hist := filepath.Join(tmpRoot, "stall-history.jsonl")
		if err := os.WriteFile(hist, append(bytes.Join(all[:cut], []byte("\n")), '\n'), 0o644); err != nil {
			b.Fatal(err)
		}
		e.srv.loadHistory(b, hist)
		watchPages(b, e)
		e.b.open(e.url)
	}
	next := int(e.srv.lastSeq())
	e.b.wait("the history", `document.querySelector("#app").dataset.lastSeq === "`+strconv.Itoa(next)+`"`, 3*time.Minute)
	worst, longest := 0.0, 0.0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		eval[bool](e.b, lagMonitorJS)
		eval[float64](e.b, `window.pawnetLongTask = 0`)
		tick := time.NewTicker(250 * time.Millisecond)
		for j := 0; j < perOp && next < len(all); j++ {
			<-tick.C
			m, err := metrics.Decode(all[next])
			if err != nil {
				b.Fatal(err)
			}
			e.srv.Emit(m, all[next])
			next++
		}
		tick.Stop()
		e.b.wait("the live messages", `document.querySelector("#app").dataset.lastSeq === "`+strconv.Itoa(next)+`"`, time.Minute)
		worst = max(worst, eval[float64](e.b, `window.pawnetLag.max`))
		longest = max(longest, eval[float64](e.b, `window.pawnetLongTask`))
	}
	b.StopTimer()
	b.ReportMetric(worst, "ms-max-stall")
	b.ReportMetric(longest, "ms-max-longtask")
}
