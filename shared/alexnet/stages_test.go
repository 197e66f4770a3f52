package alexnet

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkForwardFullStages runs one image through Full on the calling
// goroutine, as the browser's worker does, and reports the time of each
// layer's stages in ms, to see where a forward pass goes: the NHWC → CHW transpose (input), conv1's im2col and GEMM
// (with bias and ReLU), each Winograd conv's input transform (-in), α²
// GEMMs (-gemm) and output transform with bias and ReLU (-out), each
// max-pool, and the dense layers. In wasm, under node:
//
//	GOOS=js GOARCH=wasm GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd go test \
//	    -exec="$(GOTOOLCHAIN=go1.27.3 go env GOROOT)/lib/wasm/go_js_wasm_exec" \
//	    -run '^$' -bench ForwardFullStages -benchtime 10x ./shared/alexnet/
func BenchmarkForwardFullStages(b *testing.B) {
	cfg := Full()
	m := benchModel(b, cfg)
	s := m.newImgScratch()
	x := randomInput(cfg, 1, 2)
	feats := make([]float32, cfg.FlatFeatures())
	h1, h2 := make([]float32, cfg.Dense), make([]float32, cfg.Dense)
	logits := make([]float32, cfg.Classes)
	var names []string
	var total []time.Duration
	idx := map[string]int{}
	var t0 time.Time
	lap := func(name string) {
		now := time.Now()
		i, ok := idx[name]
		if !ok {
			i = len(names)
			idx[name] = i
			names = append(names, name)
			total = append(total, 0)
		}
		total[i] += now.Sub(t0)
		t0 = now
	}
	pass := func() {
		t0 = time.Now()
		cur, other := s.a, s.b
		toCHW(cur, x, cfg.InputSize)
		lap("input")
		for i := range m.conv {
			l := &m.conv[i]
			name := fmt.Sprintf("conv%d", i+1)
			if wg := l.wino; wg != nil {
				v, mm := wg.buffers(s.col)
				serial := func(n, _ int, fn func(lo, hi int)) { fn(0, n) }
				wg.transformInput(v, wg.padded(s.col), cur, l.in, l.pad, serial)
				lap(name + "-in")
				wg.multiply(mm, v, serial)
				lap(name + "-gemm")
				wg.transformOutput(other, mm, l.bias, l.out, serial)
				lap(name + "-out")
			} else {
				l.im2col(s.col, cur, 0, l.panels)
				lap(name + "-im2col")
				gemmPanels(other, l.n, l.wPacked, l.cout, s.col, l.n, l.k, l.bias, 0, l.panels)
				lap(name + "-gemm")
			}
			if l.pool {
				maxPool(cur, other, l.cout, l.out)
				lap(name + "-pool")
			} else {
				cur, other = other, cur
			}
		}
		copy(feats, cur)
		ins := [3][]float32{feats, h1, h2}
		outs := [3][]float32{h1, h2, logits}
		for i := range m.dense {
			m.dense[i].forwardRows(outs[i], ins[i], 1, 0, m.dense[i].nout)
			lap([]string{"fc6", "fc7", "fc8"}[i])
		}
	}
	pass()
	clear(total)
	b.ResetTimer()
	for b.Loop() {
		pass()
	}
	for i, d := range total {
		b.ReportMetric(d.Seconds()*1e3/float64(b.N), names[i]+"-ms")
	}
}
