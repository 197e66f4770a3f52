package classify

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/imageio"
	"github.com/pawnet/pawnet/shared/preprocess"
)

// BenchmarkExplainStages times what the browser's worker does for one
// photo (Explain, both classes' maps) with Full's architecture and random
// weights, stage by stage, in ms: decode (imageio.Decode), resize (to
// 227×227 RGB), normalize, forward (a plain forward pass), gradcam (the
// forward pass with both classes' Grad-CAM maps), and explain (the whole
// of Explain: decode + resize + normalize + gradcam + probabilities). The
// photo is the sample's train/cat.0.jpg, as in the browser benchmarks
// (PAWNET_SAMPLE_DIR; skipped without it). It sets GOGC to 10 after the
// load, as the worker does. In wasm, under node:
//
//	GOOS=js GOARCH=wasm GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd go test \
//	    -exec="$(GOTOOLCHAIN=go1.27.3 go env GOROOT)/lib/wasm/go_js_wasm_exec" \
//	    -run '^$' -bench ExplainStages -benchtime 10x ./shared/classify/
func BenchmarkExplainStages(b *testing.B) {
	dir := os.Getenv("PAWNET_SAMPLE_DIR")
	if dir == "" {
		b.Skip("PAWNET_SAMPLE_DIR is not set")
	}
	data, err := os.ReadFile(filepath.Join(dir, "train", "cat.0.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	cfg := alexnet.Full()
	meta := alexnet.Metadata{Classes: []string{"cat", "dog"}}
	meta.Stats, _ = json.Marshal(preprocess.Stats{Mean: [3]float64{0.49, 0.45, 0.41}, Std: [3]float64{0.25, 0.24, 0.25}, Size: cfg.InputSize})
	m, err := alexnet.NewModel(cfg, alexnet.InitParams(cfg, 1), meta)
	if err != nil {
		b.Fatal(err)
	}
	c, err := New(m)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Explain(data, false); err != nil { // warm up: scratch, channel sums
		b.Fatal(err)
	}
	// As the worker does after loading weights (wasm/worker): without it,
	// in wasm, the stages' buffers land in newly grown memory.
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	names := []string{"decode", "resize", "normalize", "forward", "gradcam", "explain"}
	var total [6]time.Duration
	size := cfg.InputSize
	x := make([]float32, size*size*3)
	for b.Loop() {
		t0 := time.Now()
		img, _, err := imageio.Decode(data, 0)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		rgb := imageio.Resize(img, size, size)
		t2 := time.Now()
		c.Norm.Bytes(rgb.Pix, x)
		t3 := time.Now()
		if _, err := m.Forward(x, 1); err != nil {
			b.Fatal(err)
		}
		t4 := time.Now()
		if _, err := m.GradCAM(x, 0, 1); err != nil {
			b.Fatal(err)
		}
		t5 := time.Now()
		if _, err := c.Explain(data, false); err != nil {
			b.Fatal(err)
		}
		t6 := time.Now()
		for i, d := range []time.Duration{t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t4.Sub(t3), t5.Sub(t4), t6.Sub(t5)} {
			total[i] += d
		}
	}
	for i, d := range total {
		b.ReportMetric(d.Seconds()*1e3/float64(b.N), names[i]+"-ms")
	}
}
