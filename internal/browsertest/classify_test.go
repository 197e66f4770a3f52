package browsertest

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pawnet/pawnet/internal/fixtures"
	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/classify"
	"github.com/pawnet/pawnet/shared/metrics"
)

// prediction is one li.prediction of the classifier panel.
type prediction struct {
	Name  string `json:"name"`
	State string `json:"state"`
	Label string `json:"label"`
	PCat  string `json:"pCat"`
	PDog  string `json:"pDog"`
	Ms    string `json:"ms"`
	MsTxt string `json:"msText"`
	Err   string `json:"err"`
	Thumb bool   `json:"thumb"`
	TTA   bool   `json:"tta"`
}

const predictionsJS = `[...document.querySelectorAll("#predictions li.prediction")].map((li) => ({
  name: li.querySelector(".pred-name").textContent.trim(),
  state: li.dataset.state,
  label: li.dataset.label || "",
  pCat: li.dataset.pCat || "",
  pDog: li.dataset.pDog || "",
  ms: li.dataset.ms || "",
  msText: li.querySelector(".pred-ms") ? li.querySelector(".pred-ms").textContent.trim() : "",
  err: li.querySelector(".pred-error") ? li.querySelector(".pred-error").textContent.trim() : "",
  thumb: !!li.querySelector(".pred-thumb img"),
  tta: !!li.querySelector(".pred-ms") && li.querySelector(".pred-ms").dataset.tta === "true",
}))`

// predictions returns the panel's results, newest first.
func (b *browser) predictions() []prediction { return eval[[]prediction](b, predictionsJS) }

// waitSettled waits until n photos are listed and none is in progress.
func (b *browser) waitSettled(n int, timeout time.Duration) {
	b.t.Helper()
	b.wait(strconv.Itoa(n)+" results", `(() => { const li = [...document.querySelectorAll("#predictions li.prediction")];`+
		` return li.length === `+strconv.Itoa(n)+` && li.every((x) => x.dataset.state === "done" || x.dataset.state === "error"); })()`, timeout)
}

// pageVariant is the weights variant the page downloads (static/worker.js
// asks for int8 first, and the run exports it).
const pageVariant = alexnet.Int8

// int8MaxDeltaP bounds |ΔP(dog)| between the int8 weights in the page and
// the float32 weights natively, on the sample's photos; see
// TestInt8AgreesWithFP32 and `go tool mage bench` (BenchmarkCompactWeights)
// for the measured values.
const int8MaxDeltaP = 0.02

// nativeClassifier is what `pawnet predict` uses.
func nativeClassifier(t testing.TB, weights string) *classify.Classifier {
	t.Helper()
	m, err := alexnet.LoadFile(weights)
	if err != nil {
		t.Fatal(err)
	}
	c, err := classify.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkAgainstNative checks a browser prediction against shared/classify
// run natively on the same bytes and weights.
func checkAgainstNative(t *testing.T, c *classify.Classifier, p prediction, data []byte) {
	t.Helper()
	checkAgainstNativeTTA(t, c, p, data, false)
}

// checkAgainstNativeTTA is checkAgainstNative with or without TTA.
func checkAgainstNativeTTA(t *testing.T, c *classify.Classifier, p prediction, data []byte, tta bool) {
	t.Helper()
	if p.State != "done" {
		t.Errorf("%s: state %q (%s)", p.Name, p.State, p.Err)
		return
	}
	if p.TTA != tta {
		t.Errorf("%s: data-tta %v, want %v", p.Name, p.TTA, tta)
	}
	want, err := c.Classify(data, tta)
	if err != nil {
		t.Fatal(err)
	}
	pc, err1 := strconv.ParseFloat(p.PCat, 64)
	pd, err2 := strconv.ParseFloat(p.PDog, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("%s: data-p-cat %q, data-p-dog %q", p.Name, p.PCat, p.PDog)
	}
	if math.Abs(pc+pd-1) > 1e-5 {
		t.Errorf("%s: P(cat) + P(dog) = %v", p.Name, pc+pd)
	}
	if math.Abs(pc-float64(want.Probs[0])) > 1e-4 || math.Abs(pd-float64(want.Probs[1])) > 1e-4 {
		t.Errorf("%s: browser P(cat)=%v P(dog)=%v, native %v", p.Name, pc, pd, want.Probs)
	}
	if p.Label != want.Label {
		t.Errorf("%s: label %q, native %q", p.Name, p.Label, want.Label)
	}
	ms, err := strconv.ParseFloat(p.Ms, 64)
	if err != nil || !(ms > 0) || !strings.HasSuffix(p.MsTxt, map[bool]string{false: " ms", true: " ms · TTA"}[tta]) {
		t.Errorf("%s: latency %q, shown as %q", p.Name, p.Ms, p.MsTxt)
	}
	if !p.Thumb {
		t.Errorf("%s: no thumbnail", p.Name)
	}
	t.Logf("%s: P(cat)=%s P(dog)=%s → %s in %s ms (native %v)", p.Name, p.PCat, p.PDog, p.Label, p.Ms, want.Probs)
}

// TestClassifyPhotos drops two real sample photos (a cat and a dog) on the
// page of a finished run served from its history: each gets a prediction
// equal to `pawnet predict`'s on the same file and weights.
func TestClassifyPhotos(t *testing.T) {
	b := newBrowser(t)
	r := finishedRun(t)
	root := webRoot(t)
	srv := newServer(t, root, r.weights)
	srv.loadHistory(t, r.metrics)
	b.open(srv.URL())
	b.wait("the history", epochsShownJS(runEpochs)+` && document.querySelector("#status").dataset.status === "finished"`, 30*time.Second)

	// The finished run's Calibration card: the best epoch's temperature
	// and TTA figures, and a reliability diagram of its validation photos.
	b.wait("the calibration card", `document.querySelectorAll("#reliability rect.rel-bar").length > 0`, 10*time.Second)
	if note := eval[string](b, `document.querySelector("#calibration-note").textContent`); !strings.Contains(note, "(best) · temperature ") || !strings.Contains(note, "TTA: ") {
		t.Errorf("calibration note %q", note)
	}
	valSize := 0
	for _, m := range r.msgs {
		if rs, ok := m.(*metrics.RunStart); ok {
			valSize = rs.ValSize
		}
	}
	if n := eval[int](b, `[...document.querySelectorAll("#reliability rect.rel-bar")].reduce((s, r) => s + Number(r.dataset.count), 0)`); n != valSize {
		t.Errorf("the reliability diagram counts %d photos, the run validates %d", n, valSize)
	}

	train := filepath.Join(fixtures.SampleDir(t), "train")
	files := []string{filepath.Join(train, "cat.850.jpg"), filepath.Join(train, "dog.850.jpg")}
	var drops []dropFile
	for _, f := range files {
		drops = append(drops, fileFromDisk(t, f, "image/jpeg"))
	}
	b.drop(drops...)
	b.waitSettled(2, 60*time.Second)
	b.wait("the weights", `document.querySelector("#weights").dataset.state === "ready"`, 10*time.Second)

	// The thumbnails are the photos, by the object URLs the worker made.
	b.wait("the thumbnails", `[...document.querySelectorAll("#predictions li")].every((li) => {
	  const img = li.querySelector(".pred-thumb img.photo");
	  return img && img.src.startsWith("blob:") && img.complete && img.naturalWidth > 0; })`, 10*time.Second)
	thumbs := eval[[]string](b, `[...document.querySelectorAll("#predictions img.photo")].map((img) => img.src)`)

	c := nativeClassifier(t, alexnet.VariantPath(r.weights, pageVariant))
	preds := b.predictions()
	for i, p := range preds {
		data, err := os.ReadFile(files[len(files)-1-i]) // newest first
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != filepath.Base(files[len(files)-1-i]) {
			t.Fatalf("result %d is %q", i, p.Name)
		}
		checkAgainstNative(t, c, p, data)
	}

	// The file picker takes the same path.
	picked := filepath.Join(train, "dog.852.jpg")
	if err := b.do(20*time.Second, chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{picked})); err != nil {
		t.Fatal(err)
	}
	b.waitSettled(3, 60*time.Second)
	data, err := os.ReadFile(picked)
	if err != nil {
		t.Fatal(err)
	}
	checkAgainstNative(t, c, b.predictions()[0], data)

	// With the TTA toggle on, the same photo is classified with its
	// mirror, as pawnet predict -tta does, and the toggle shows both
	// modes' measured latency.
	b.click("#tta")
	b.drop(fileFromDisk(t, picked, "image/jpeg"))
	b.waitSettled(4, 60*time.Second)
	checkAgainstNativeTTA(t, c, b.predictions()[0], data, true)
	if cost := eval[string](b, `document.querySelector("#tta-cost").textContent`); !strings.HasPrefix(cost, "TTA ") || !strings.Contains(cost, "plain ") {
		t.Errorf("TTA cost %q, want both modes' ms/photo", cost)
	}

	// Clear removes the results and revokes their thumbnails' URLs.
	b.click("#clear")
	b.wait("the cleared list", `document.querySelectorAll("#predictions li").length === 0`, 10*time.Second)
	for _, u := range thumbs {
		if got := eval[string](b, `fetch(`+strconv.Quote(u)+`).then(() => "fetched", () => "revoked")`); got != "revoked" {
			t.Errorf("thumbnail %s after Clear: %s", u, got)
		}
	}
	b.screenshot("dashboard")
}

// TestClassifyBadFiles drops a corrupt JPEG, a text file and an oversized
// file: each shows a readable error in the panel, and a good photo dropped
// afterwards is still classified.
func TestClassifyBadFiles(t *testing.T) {
	b := newBrowser(t)
	r := finishedRun(t)
	root := webRoot(t)
	srv := newServer(t, root, r.weights)
	srv.loadHistory(t, r.metrics)
	b.open(srv.URL())

	// A drag highlights the drop zone while it is over the zone or its
	// children, and a drop ends it.
	for _, step := range []struct {
		event, target string
		want          bool
	}{
		{"dragenter", "#dropzone", true},
		{"dragenter", "#dropzone .drop-title", true},
		{"dragleave", "#dropzone", true},
		{"dragleave", "#dropzone .drop-title", false},
		{"dragenter", "#dropzone", true},
		{"drop", "#dropzone", false},
	} {
		got := eval[bool](b, `(() => { document.querySelector("`+step.target+`").dispatchEvent(new DragEvent("`+step.event+
			`", { bubbles: true, cancelable: true, dataTransfer: new DataTransfer() }));
		  return document.querySelector("#dropzone").classList.contains("dragging"); })()`)
		if got != step.want {
			t.Errorf("%s on %s: highlighted %v, want %v", step.event, step.target, got, step.want)
		}
	}

	good := filepath.Join(fixtures.SampleDir(t), "train", "cat.851.jpg")
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := append([]byte(nil), data[:len(data)/2]...) // a JPEG cut in half
	for i := 200; i < len(corrupt); i++ {
		corrupt[i] ^= 0x5a // and garbled
	}
	b.drop(fileFromBytes("broken.jpg", "image/jpeg", corrupt),
		fileFromBytes("notes.txt", "text/plain", []byte("not a photo, just some text\n")),
		dropFile{Name: "huge.jpg", Type: "image/jpeg", Size: 33 << 20})
	b.waitSettled(3, 60*time.Second)
	want := map[string]string{ // file → a word its message must contain
		"broken.jpg": "corrupt",
		"notes.txt":  "not a supported image",
		"huge.jpg":   "too large",
	}
	for _, p := range b.predictions() {
		if p.State != "error" || !strings.Contains(strings.ToLower(p.Err), want[p.Name]) {
			t.Errorf("%s: state %q, message %q; want an error mentioning %q", p.Name, p.State, p.Err, want[p.Name])
		}
		t.Logf("%s: %s", p.Name, p.Err)
	}

	b.drop(fileFromDisk(t, good, "image/jpeg"))
	b.waitSettled(4, 60*time.Second)
	p := b.predictions()[0]
	checkAgainstNative(t, nativeClassifier(t, alexnet.VariantPath(r.weights, pageVariant)), p, data)
	if st := b.state(); st.Points[0] != runEpochs || st.Status != "finished" {
		t.Errorf("the dashboard changed after the bad files: %+v", st)
	}
}

// TestClassifyBeforeExport drops a photo before any weights were exported:
// the panel says so, and the page keeps working.
func TestClassifyBeforeExport(t *testing.T) {
	b := newBrowser(t)
	root := webRoot(t)
	srv := newServer(t, root, filepath.Join(t.TempDir(), "missing.safetensors"))
	b.open(srv.URL())
	good := filepath.Join(fixtures.SampleDir(t), "train", "dog.851.jpg")
	b.drop(fileFromDisk(t, good, "image/jpeg"))
	b.waitSettled(1, 60*time.Second)
	p := b.predictions()[0]
	if p.State != "error" || !strings.Contains(strings.ToLower(p.Err), "no exported weights yet") {
		t.Errorf("state %q, message %q", p.State, p.Err)
	}
	b.wait("the weights status", `document.querySelector("#weights").dataset.state === "error"`, 10*time.Second)
	b.screenshot("dashboard-empty")
}

// TestWeightsCachedAcrossReload classifies a photo, reloads the page and
// classifies another: the server sends the int8 weights once, and after
// the reload the page reads them from the browser's cache (the panel says
// so) and classifies as before; a cached file cut short is deleted and the
// weights downloaded again.
func TestWeightsCachedAcrossReload(t *testing.T) {
	b, r, srv := openFinishedRun(t)

	train := filepath.Join(fixtures.SampleDir(t), "train")
	c := nativeClassifier(t, alexnet.VariantPath(r.weights, pageVariant))
	// dropAndCheck drops the sample photo name and checks the page's
	// answer against native.
	dropAndCheck := func(name string) {
		path := filepath.Join(train, name)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b.drop(fileFromDisk(t, path, "image/jpeg"))
		b.waitSettled(1, 60*time.Second)
		checkAgainstNative(t, c, b.predictions()[0], data)
	}
	for i, step := range []struct {
		photo          string
		damage, cached bool // damage: cut the cached file to half before the reload
		locked         bool // another tab holds the cached file's lock during the reload
		downloads      int
	}{
		{"cat.853.jpg", false, false, false, 1},
		{"dog.853.jpg", false, true, false, 1},
		{"cat.854.jpg", true, false, false, 2}, // a damaged cache is downloaded again
		{"dog.854.jpg", false, true, false, 2},
		{"cat.855.jpg", false, true, true, 2}, // a locked one is read as a copy
	} {
		if i > 0 {
			if step.damage {
				eval[bool](b, damageCacheJS)
			}
			if step.locked {
				defer lockCache(t, b, srv.URL())()
			}
			b.reload()
			b.wait("the history", `document.querySelector("#status").dataset.status === "finished"`, 30*time.Second)
		}
		dropAndCheck(step.photo)
		// The list is written as results arrive, the panel's status at the
		// next render: under load that can come a moment later.
		b.wait("the weights' status", `document.querySelector("#weights").dataset.state === "ready"`, 10*time.Second)
		info := eval[string](b, `document.querySelector("#weights-status").textContent`)
		if cached := strings.Contains(info, "cached"); cached != step.cached || !strings.Contains(info, string(pageVariant)) {
			t.Errorf("load %d: weights shown as %q; want %s, cached %v", i+1, info, pageVariant, step.cached)
		}
		if d := srv.downloads(); len(d) != step.downloads || d[0] != string(pageVariant) {
			t.Errorf("load %d: weights downloads %v, want %d of %s", i+1, d, step.downloads, pageVariant)
		}
		t.Logf("load %d: %s", i+1, info)
	}

	// Given a moment after a reload, the worker warms its code up on the
	// cached weights (no photo is waiting); a photo then gets the same
	// answer.
	b.reload()
	b.wait("the warm-up", `document.querySelector("#weights").hasAttribute("data-warm")`, time.Minute)
	dropAndCheck("dog.855.jpg")
}

// lockCache opens url (the page's origin) in a second tab whose worker
// holds the cached weights file's OPFS lock (a sync access handle), as a
// second dashboard tab does while it reads the file; the returned function
// closes the tab.
func lockCache(t *testing.T, b *browser, url string) func() {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	const lockJS = `(async () => {
  const code = "onmessage = async () => { const root = await navigator.storage.getDirectory();" +
    " for await (const [name, h] of root.entries()) { if (name.startsWith('weights~') && !name.endsWith('.part')) {" +
    " self.held = await h.createSyncAccessHandle(); postMessage(name); return; } } postMessage(''); };";
  const w = new Worker(URL.createObjectURL(new Blob([code], { type: "text/javascript" })));
  window.lockWorker = w;
  return await new Promise((resolve) => { w.onmessage = (e) => resolve(e.data); w.postMessage(0); });
})()`
	var name string
	err := chromedp.Do(ctx, chromedp.Navigate(url+"/app.css"))
	if err == nil {
		name, err = chromedp.Run(ctx, chromedp.Evaluate[string](lockJS, chromedp.EvalAwaitPromise))
	}
	if err == nil && name == "" {
		err = errors.New("no cached weights file")
	}
	if err != nil {
		cancel()
		t.Fatalf("locking the cached weights: %v", err)
	}
	return cancel
}

// damageCacheJS cuts the weights file static/worker.js cached in the
// Origin Private File System to half its size, and is true if it found one.
const damageCacheJS = `(async () => {
  const root = await navigator.storage.getDirectory();
  for await (const [name, h] of root.entries()) {
    if (!name.startsWith("weights~") || name.endsWith(".part")) continue;
    const size = (await h.getFile()).size;
    const w = await h.createWritable({ keepExistingData: true });
    await w.truncate(Math.floor(size / 2));
    await w.close();
    return true;
  }
  throw new Error("no cached weights file");
})()`

// TestInt8AgreesWithFP32 classifies real sample photos in the page, which
// downloads the int8 weights, and compares each with `pawnet predict` on
// the float32 weights: |ΔP(dog)| ≤ int8MaxDeltaP, and the same label
// wherever the float32 P(dog) is further than that from 0.5 (closer, a
// flip is within the bound).
func TestInt8AgreesWithFP32(t *testing.T) {
	b, r, _ := openFinishedRun(t)

	test := filepath.Join(fixtures.SampleDir(t), "test")
	var files []string
	var drops []dropFile
	for i := 1; i <= 16; i++ {
		f := filepath.Join(test, strconv.Itoa(i)+".jpg")
		files = append(files, f)
		drops = append(drops, fileFromDisk(t, f, "image/jpeg"))
	}
	b.drop(drops...)
	b.waitSettled(len(files), 2*time.Minute)
	fp32 := nativeClassifier(t, r.weights)
	dog := metrics.DogIndex(fp32.Classes)
	worst, same := 0.0, 0
	for i, p := range b.predictions() {
		f := files[len(files)-1-i] // newest first
		if p.State != "done" || p.Name != filepath.Base(f) {
			t.Fatalf("result %d: %s %s %s", i, p.Name, p.State, p.Err)
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := fp32.Classify(data, false)
		if err != nil {
			t.Fatal(err)
		}
		pd, err := strconv.ParseFloat(p.PDog, 64)
		if err != nil {
			t.Fatal(err)
		}
		wd := float64(want.Probs[dog])
		d := math.Abs(pd - wd)
		worst = math.Max(worst, d)
		if d > int8MaxDeltaP {
			t.Errorf("%s: P(dog) %.5f in the page (int8), %.5f natively (fp32): |Δ| %.3g > %g", p.Name, pd, wd, d, int8MaxDeltaP)
		}
		if p.Label == want.Label {
			same++
		} else if math.Abs(wd-0.5) > int8MaxDeltaP {
			t.Errorf("%s: %s in the page (int8, P(dog) %.5f), %s natively (fp32, %.5f)", p.Name, p.Label, pd, want.Label, wd)
		}
	}
	t.Logf("int8 in the page vs fp32 natively on %d photos: same label on %d, max |ΔP(dog)| %.3g", len(files), same, worst)
}

// poolJS runs static/worker.js with a pool of two on the photos given as
// base64, as the page would (one classify message each, all at once), and
// returns the results by id, the most photos started but not finished at
// any time, and the pool size the weights report.
const poolJS = `(async (photos, run, version) => {
  const w = new Worker("worker.js?workers=2");
  const results = {};
  let inFlight = 0, maxInFlight = 0, workers = 0, pending = photos.length, seen = 0;
  const done = new Promise((resolve, reject) => {
    w.onmessage = (e) => {
      const m = e.data;
      if (m.type === "fatal") reject(new Error(m.message));
      if (m.type === "weights" && m.state === "ready") workers = Math.max(workers, m.info.workers);
      if (m.type === "start") { inFlight++; maxInFlight = Math.max(maxInFlight, inFlight); }
      if (m.type === "result") {
        inFlight--;
        results[m.id] = m;
        if (++seen === 1) send(1); // the rest once the first photo has loaded the pool
        if (--pending === 0) resolve();
      }
    };
  });
  const file = ` + fileJS + `;
  const send = async (from) => {
    if (from === 1) {
      // Wait until both workers hold the weights.
      while (workers < 2) await new Promise((r) => setTimeout(r, 20));
    }
    for (let i = from; i < (from === 0 ? 1 : photos.length); i++) {
      w.postMessage({ type: "classify", id: i, file: file(photos[i]), version, run });
    }
  };
  send(0);
  await done;
  w.terminate();
  return { results: Object.values(results), maxInFlight, workers };
})`

// TestWorkerPool runs static/worker.js with ?workers=2 in the page on nine
// sample photos (one, which loads the weights into both workers, then
// eight at once): two photos are classified at the same time, and every
// result equals `pawnet predict`'s on the int8 weights.
func TestWorkerPool(t *testing.T) {
	b := newBrowser(t)
	r := finishedRun(t)
	srv := newServer(t, webRoot(t), r.weights)
	srv.loadHistory(t, r.metrics)
	b.open(srv.URL())
	test := filepath.Join(fixtures.SampleDir(t), "test")
	var files []string
	var photos []dropFile
	for i := 20; i <= 28; i++ {
		f := filepath.Join(test, strconv.Itoa(i)+".jpg")
		files = append(files, f)
		photos = append(photos, fileFromDisk(t, f, "image/jpeg"))
	}
	arg, err := json.Marshal(photos)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		ID    int       `json:"id"`
		Probs []float64 `json:"probs"`
		Label string    `json:"label"`
		Error string    `json:"error"`
	}
	got := evalTimeout[struct {
		Results     []result `json:"results"`
		MaxInFlight int      `json:"maxInFlight"`
		Workers     int      `json:"workers"`
	}](b, poolJS+`(`+string(arg)+`, "", 0)`, 3*time.Minute)
	c := nativeClassifier(t, alexnet.VariantPath(r.weights, pageVariant))
	if len(got.Results) != len(files) {
		t.Fatalf("%d results for %d photos", len(got.Results), len(files))
	}
	for _, res := range got.Results {
		data, err := os.ReadFile(files[res.ID])
		if err != nil {
			t.Fatal(err)
		}
		want, err := c.Classify(data, false)
		if err != nil {
			t.Fatal(err)
		}
		if res.Error != "" || res.Label != want.Label {
			t.Errorf("%s: %q (error %q), native %q", filepath.Base(files[res.ID]), res.Label, res.Error, want.Label)
			continue
		}
		for k, p := range res.Probs {
			if math.Abs(p-float64(want.Probs[k])) > 1e-4 {
				t.Errorf("%s: P[%d] %v, native %v", filepath.Base(files[res.ID]), k, p, want.Probs[k])
			}
		}
	}
	if got.Workers != 2 || got.MaxInFlight < 2 {
		t.Errorf("pool of %d workers, at most %d photos in flight; want 2 and 2", got.Workers, got.MaxInFlight)
	}
	t.Logf("%d photos on %d workers, at most %d at once", len(got.Results), got.Workers, got.MaxInFlight)
}

// TestClassifyADropOf35 drops 35 sample photos and a corrupt file at once,
// as a user dropping a folder does: every one is listed and counted (the
// list kept only the newest 24 before), and "Download results (CSV)" gives
// a row per photo with the probabilities the list shows.
func TestClassifyADropOf35(t *testing.T) {
	b, _, _ := openFinishedRun(t)

	train := filepath.Join(fixtures.SampleDir(t), "train")
	var drops []dropFile
	var names []string
	for i := range 35 {
		name := fmt.Sprintf("%s.%d.jpg", []string{"cat", "dog"}[i%2], 800+i)
		drops = append(drops, fileFromDisk(t, filepath.Join(train, name), "image/jpeg"))
		names = append(names, name)
	}
	drops = append(drops, fileFromBytes("broken.jpg", "image/jpeg", []byte("\xff\xd8 not a whole photo")))
	names = append(names, "broken.jpg")
	b.drop(drops...)
	b.waitSettled(36, 3*time.Minute)
	if got := eval[string](b, `document.querySelector("#pred-count").textContent`); got != "36 photos" {
		t.Errorf("count %q, want 36 photos", got)
	}
	if note := eval[string](b, `document.querySelector("#pred-note").textContent`); note != "" {
		t.Errorf("list note %q with every result shown", note)
	}
	preds := b.predictions()
	shown := map[string]prediction{}
	for _, p := range preds {
		shown[p.Name] = p
	}
	for _, n := range names {
		if _, ok := shown[n]; !ok {
			t.Errorf("%s is not listed", n)
		}
	}

	// The download: the anchor's click is caught and its blob read back.
	eval[bool](b, `(() => { window.__csv = null; const click = HTMLAnchorElement.prototype.click;
	  HTMLAnchorElement.prototype.click = function () {
	    if (!this.download.endsWith(".csv")) return click.call(this);
	    const name = this.download;
	    fetch(this.href).then((r) => r.text()).then((text) => { window.__csv = { name, text }; });
	  }; return true; })()`)
	b.click("#download-results")
	b.wait("the CSV", `window.__csv !== null`, 10*time.Second)
	type download struct{ Name, Text string }
	got := eval[download](b, `window.__csv`)
	if got.Name != "pawnet-results-36.csv" {
		t.Errorf("downloaded %q", got.Name)
	}
	rows, err := csv.NewReader(strings.NewReader(got.Text)).ReadAll()
	if err != nil {
		t.Fatalf("the CSV: %v\n%s", err, got.Text)
	}
	if len(rows) != 37 || strings.Join(rows[0], ",") != "name,label,p_cat,p_dog,ms,tta,taught,error" {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	for i, row := range rows[1:] {
		if row[0] != names[i] { // oldest first: the order dropped
			t.Errorf("row %d is %q, dropped %q", i+1, row[0], names[i])
			continue
		}
		p := shown[row[0]]
		if row[0] == "broken.jpg" {
			if row[7] == "" || row[2] != "" || p.Err == "" {
				t.Errorf("broken.jpg: row %v, listed error %q", row, p.Err)
			}
			continue
		}
		if row[1] != p.Label || row[2] != p.PCat || row[3] != p.PDog || row[7] != "" {
			t.Errorf("row %v, listed label %s P(cat) %s P(dog) %s", row, p.Label, p.PCat, p.PDog)
		}
	}
}
