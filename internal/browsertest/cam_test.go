package browsertest

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pawnet/pawnet/internal/fixtures"
	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/classify"
)

// heatPixelsJS returns the RGBA pixels of an <img> as base64 with its
// natural size: the image drawn 1:1 on a canvas.
const heatPixelsJS = `((sel) => {
  const img = document.querySelector(sel);
  if (!img || !img.complete || !img.naturalWidth) return null;
  const c = document.createElement("canvas");
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext("2d");
  g.drawImage(img, 0, 0);
  const px = g.getImageData(0, 0, c.width, c.height).data;
  let bin = "";
  for (let i = 0; i < px.length; i += 0x8000) bin += String.fromCharCode.apply(null, px.subarray(i, i + 0x8000));
  return { w: c.width, h: c.height, b64: btoa(bin), opacity: getComputedStyle(img).opacity };
})`

type imgPixels struct {
	W       int    `json:"w"`
	H       int    `json:"h"`
	B64     string `json:"b64"`
	Opacity string `json:"opacity"`
}

// TestClassifyWhy drops a real sample photo, presses its "Why?" button and
// checks that the heatmap shown over the thumbnail has exactly the pixels
// of the heatmap shared/classify computes natively for the same photo and
// weights (the int8 weights the page downloads), to 1/255 per channel;
// moves its opacity slider; then opens the larger view (the photo and both
// classes' heatmaps) and checks its panels; a file that does not decode
// then shows its error and no Why? button. Screenshots of both go to
// artifacts/ (classify-why.png, classify-why-view.png, and the larger view
// alone, gradcam-view.png).
func TestClassifyWhy(t *testing.T) {
	b := newBrowser(t)
	r := finishedRun(t)
	srv := newServer(t, webRoot(t), r.weights)
	srv.loadHistory(t, r.metrics)
	b.open(srv.URL())
	b.wait("the history", epochsShownJS(runEpochs), 30*time.Second)

	photo := filepath.Join(fixtures.SampleDir(t), "train", "cat.851.jpg")
	b.drop(fileFromDisk(t, photo, "image/jpeg"))
	b.waitSettled(1, 60*time.Second)
	// The longest task of the page's main thread in each step that shows a
	// heatmap (Why?, the slider, the larger view; the browser reports tasks
	// over 50 ms), read before the test's own work in the page (pixel
	// read-back, screenshots), for the log.
	eval[bool](b, `(() => { window.pawnetCamLong = 0; new PerformanceObserver((list) => {
		for (const e of list.getEntries()) window.pawnetCamLong = Math.max(window.pawnetCamLong, e.duration);
	}).observe({type: "longtask"}); return true; })()`)
	var longest []float64
	longTask := func() {
		longest = append(longest, eval[float64](b, `(() => { const v = window.pawnetCamLong; window.pawnetCamLong = 0; return v; })()`))
	}
	b.wait("the Why? button", `!!document.querySelector("#predictions .why-toggle")`, 10*time.Second)
	if n := eval[int](b, `document.querySelectorAll("#predictions img.heat").length`); n != 0 {
		t.Fatalf("%d heatmaps shown before Why? was pressed", n)
	}
	if err := b.do(10*time.Second, chromedp.Click(chromedp.CSS("#predictions .why-toggle"))); err != nil {
		t.Fatal(err)
	}
	const heatSel = "#predictions li.prediction .pred-thumb img.heat"
	b.wait("the heatmap", `(() => { const i = document.querySelector("`+heatSel+`"); return !!i && i.complete && i.naturalWidth > 0; })()`, 10*time.Second)
	longTask()
	got := eval[*imgPixels](b, heatPixelsJS+`("`+heatSel+`")`)
	if got == nil {
		t.Fatal("no heatmap pixels")
	}

	c := nativeClassifier(t, alexnet.VariantPath(r.weights, pageVariant))
	data, err := os.ReadFile(photo)
	if err != nil {
		t.Fatal(err)
	}
	e, err := c.Explain(data, false)
	if err != nil {
		t.Fatal(err)
	}
	w, h := classify.Fit(e.Width, e.Height, 256)
	want, err := e.Heatmap(e.Best, w, h)
	if err != nil {
		t.Fatal(err)
	}
	px, err := base64.StdEncoding.DecodeString(got.B64)
	if err != nil {
		t.Fatal(err)
	}
	if got.W != w || got.H != h || len(px) != len(want.Pix) {
		t.Fatalf("page heatmap %d×%d (%d bytes), native %d×%d", got.W, got.H, len(px), w, h)
	}
	worst := 0
	for i, v := range px {
		worst = max(worst, abs(int(v)-int(want.Pix[i])))
	}
	t.Logf("heatmap of %s (class %d, %d×%d from a %d×%d map): largest channel difference page vs native %d/255; opacity %s",
		filepath.Base(photo), e.Best, w, h, e.Side, e.Side, worst, got.Opacity)
	if worst > 1 {
		t.Errorf("the page's heatmap differs from the native one by up to %d/255 (limit 1)", worst)
	}
	if got.Opacity != "0.5" {
		t.Errorf("heatmap opacity %s, want the default 0.5", got.Opacity)
	}
	// The opacity slider.
	eval[bool](b, `(() => { window.pawnetCamLong = 0; const s = document.querySelector("#predictions .why-opacity"); s.value = "80"; s.dispatchEvent(new Event("input", { bubbles: true })); return true; })()`)
	b.wait("opacity 0.8", `getComputedStyle(document.querySelector("`+heatSel+`")).opacity === "0.8"`, 10*time.Second)
	longTask()
	b.screenshot("classify-why")

	// The larger view: the photo and each class's heatmap.
	eval[float64](b, `window.pawnetCamLong = 0`)
	if err := b.do(10*time.Second, chromedp.Click(chromedp.CSS("#predictions .pred-thumb"))); err != nil {
		t.Fatal(err)
	}
	b.wait("the larger view", `document.querySelectorAll("#cam-view .cam-panel[data-class] img.cam-heat").length === 2 &&
		[...document.querySelectorAll("#cam-view img")].every((i) => i.complete && i.naturalWidth > 0)`, 10*time.Second)
	longTask()
	caps := eval[[]string](b, `[...document.querySelectorAll("#cam-view .cam-panel[data-class] figcaption")].map((f) => f.textContent.trim())`)
	t.Logf("larger view: %q", caps)
	if len(caps) != 2 || caps[0][:7] != "Why cat" || caps[1][:7] != "Why dog" {
		t.Errorf("larger view captions %q", caps)
	}
	dog := eval[*imgPixels](b, heatPixelsJS+`("#cam-view .cam-panel[data-class=dog] img.cam-heat")`)
	wantDog, err := e.Heatmap(1, w, h)
	if err != nil {
		t.Fatal(err)
	}
	if px, err := base64.StdEncoding.DecodeString(dog.B64); err != nil || len(px) != len(wantDog.Pix) {
		t.Errorf("dog heatmap: %d bytes, want %d (%v)", len(px), len(wantDog.Pix), err)
	} else {
		worst := 0
		for i, v := range px {
			worst = max(worst, abs(int(v)-int(wantDog.Pix[i])))
		}
		if worst > 1 {
			t.Errorf("the larger view's dog heatmap differs from the native one by up to %d/255", worst)
		}
	}
	t.Logf("longest main-thread task: Why? %.0f ms, opacity slider %.0f ms, larger view %.0f ms (0: none over 50 ms)", longest[0], longest[1], longest[2])
	b.screenshot("classify-why-view")
	b.elementShot("gradcam-view", "#cam-view .cam-box")
	if err := b.do(10*time.Second, chromedp.Click(chromedp.CSS("#cam-close"))); err != nil {
		t.Fatal(err)
	}
	b.wait("the larger view to close", `!document.querySelector("#cam-view")`, 10*time.Second)

	// A file that does not decode shows its error, with no heatmap.
	b.drop(fileFromBytes("notes.jpg", "image/jpeg", []byte("not a photo")))
	b.waitSettled(2, 60*time.Second)
	bad := eval[struct {
		State string `json:"state"`
		Err   string `json:"err"`
		Why   int    `json:"why"`
	}](b, `(() => { const li = document.querySelector("#predictions li.prediction");
		return { state: li.dataset.state, err: li.querySelector(".pred-error") ? li.querySelector(".pred-error").textContent : "",
			why: li.querySelectorAll(".why-toggle, img.heat").length }; })()`)
	if bad.State != "error" || bad.Err == "" || bad.Why != 0 {
		t.Errorf("undecodable file: %+v, want an error and no Why?", bad)
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// elementShot saves a PNG of the element sel as <artifacts>/<name>.png.
func (b *browser) elementShot(name, sel string) {
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(sel)))
	if err == nil {
		err = os.MkdirAll(artifactsDir(), 0o755)
	}
	path := filepath.Join(artifactsDir(), name+".png")
	if err == nil {
		err = os.WriteFile(path, png, 0o644)
	}
	if err != nil {
		b.t.Logf("screenshot %s of %s: %v", name, sel, err)
		return
	}
	b.t.Logf("screenshot: %s", path)
}
