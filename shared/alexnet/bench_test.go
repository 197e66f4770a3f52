package alexnet

import (
	"fmt"
	"sync"
	"testing"
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
