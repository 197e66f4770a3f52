package alexnet

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// benchModels caches one random-weight model per configuration name, so
// that the benchmark rounds (b.N = 1, 2, ...) do not each pay for
// initializing 58M parameters.
var benchModels sync.Map

func benchModel(b *testing.B, cfg Config) *Model {
	if m, ok := benchModels.Load(cfg.Name); ok {
		return m.(*Model)
	}
	m, err := NewModel(cfg, InitParams(cfg, 1), Metadata{})
	if err != nil {
		b.Fatal(err)
	}
	benchModels.Store(cfg.Name, m)
	return m
}

// benchForward measures Forward on batches of n random images, reporting
// the time per image.
func benchForward(b *testing.B, cfg Config, n int) {
	m := benchModel(b, cfg)
	x := randomInput(cfg, n, 2)
	if _, err := m.Forward(x, n); err != nil { // warm up: scratch buffers, wasm tier-up
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Forward(x, n); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N*n), "ms/image")
}

// BenchmarkForwardFull measures the 227-px network natively with
//
//	go test -run '^$' -bench ForwardFull ./shared/alexnet/
//
// and in wasm (node) with
//
//	GOOS=js GOARCH=wasm go test -exec="$(go env GOROOT)/lib/wasm/go_js_wasm_exec" \
//	    -run '^$' -bench ForwardFull/batch1 ./shared/alexnet/
func BenchmarkForwardFull(b *testing.B) {
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("batch%d", n), func(b *testing.B) { benchForward(b, Full(), n) })
	}
}

// BenchmarkForwardSmall measures the 64-px configuration.
func BenchmarkForwardSmall(b *testing.B) {
	for _, n := range []int{1, 32} {
		b.Run(fmt.Sprintf("batch%d", n), func(b *testing.B) { benchForward(b, Small(), n) })
	}
}

// BenchmarkForwardFullLayers runs one image through Full on the calling
// goroutine and reports the time of each layer (conv time includes its
// im2col and pool), to see where a forward pass goes.
func BenchmarkForwardFullLayers(b *testing.B) {
	cfg := Full()
	m := benchModel(b, cfg)
	s := m.newImgScratch()
	x := randomInput(cfg, 1, 2)
	feats := make([]float32, cfg.FlatFeatures())
	h1, h2 := make([]float32, cfg.Dense), make([]float32, cfg.Dense)
	logits := make([]float32, cfg.Classes)
	var total [NumConv + 3]time.Duration
	pass := func() {
		side := cfg.InputSize
		plane := side * side
		cur, other := s.a, s.b
		for p := range plane {
			cur[p], cur[plane+p], cur[2*plane+p] = x[3*p], x[3*p+1], x[3*p+2]
		}
		for i := range m.conv {
			l := &m.conv[i]
			t0 := time.Now()
			l.forward(other, cur, s.col, false)
			if l.pool {
				maxPool(cur, other, l.cout, l.out)
			} else {
				cur, other = other, cur
			}
			total[i] += time.Since(t0)
		}
		copy(feats, cur)
		ins := [3][]float32{feats, h1, h2}
		outs := [3][]float32{h1, h2, logits}
		for i := range m.dense {
			t0 := time.Now()
			m.dense[i].forwardRows(outs[i], ins[i], 1, 0, m.dense[i].nout)
			total[NumConv+i] += time.Since(t0)
		}
	}
	pass()
	total = [NumConv + 3]time.Duration{}
	b.ResetTimer()
	for b.Loop() {
		pass()
	}
	names := []string{"conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"}
	for i, d := range total {
		b.ReportMetric(d.Seconds()*1e3/float64(b.N), names[i]+"-ms")
	}
}
