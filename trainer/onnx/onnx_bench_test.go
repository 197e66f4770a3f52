package onnx

import (
	"io"
	"testing"

	"github.com/pawnet/pawnet/shared/alexnet"
)

// BenchmarkWriteFull writes the full AlexNet (58.3 M float32 parameters,
// 233 MB of ONNX) to io.Discard: B/op is the memory Write allocates
// besides the parameters themselves.
//
//	go test -run '^$' -bench WriteFull -benchtime 3x ./trainer/onnx/
func BenchmarkWriteFull(b *testing.B) {
	cfg := alexnet.Full()
	params := alexnet.InitParams(cfg, 1)
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(io.Discard, cfg, params); err != nil {
			b.Fatal(err)
		}
	}
}
