package server

import (
	"fmt"
	"testing"

	"github.com/pawnet/pawnet/shared/metrics"
)

// BenchmarkDefaultRun finds the default run (what a request naming none
// is served) among 500 runs.
//
//	go test -run '^$' -bench DefaultRun ./trainer/server/
func BenchmarkDefaultRun(b *testing.B) {
	rs := newRunSet(&Options{}, nil)
	for i := range 500 {
		h := NewHub(nil)
		h.Emit(&metrics.RunStart{Header: metrics.Header{Seq: 1, Time: int64(1000 + i*7%500)}, RunID: fmt.Sprint(i)}, nil)
		name := fmt.Sprintf("run-%03d", i)
		rs.runs[name] = &run{name: name, hub: h}
	}
	b.ReportAllocs()
	for b.Loop() {
		if rs.defaultRun() == nil {
			b.Fatal("no default run")
		}
	}
}
