package predict

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/pawnet/pawnet/internal/torchpeer"
	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/preprocess"
	"github.com/pawnet/pawnet/trainer/model"
)

var torchLine = regexp.MustCompile(`batch=(\d+) ms/photo=([\d.]+)`)

// BenchmarkForwardVsTorch runs the full AlexNet natively (the forward pass
// of `pawnet predict`, GOMAXPROCS threads) and PyTorch's CPU forward pass
// (scripts/torch_bench.py infer, as many threads) on the same weights, side
// by side in one run, at batch 1 and 8:
//
//	GOEXPERIMENT=simd go test -run '^$' -bench ForwardVsTorch ./trainer/predict
//
// Each batch size reports pawnet's ms/photo, PyTorch's (the mean of 10
// passes after 3 warm-up passes) and torch-ms/pawnet-ms (≥ 1: pawnet is at
// least as fast). The PyTorch columns are left out when no python3 can
// import torch (Debian: apt-get install python3-torch; with Debian's
// reference BLAS instead of libopenblas0 its dense layers are several
// times slower). It also logs the largest difference between the two
// implementations' logits on the same inputs.
func BenchmarkForwardVsTorch(b *testing.B) {
	cfg := alexnet.Full()
	dir := b.TempDir()
	weights := filepath.Join(dir, "full.safetensors")
	st, _ := json.Marshal(preprocess.Stats{Mean: [3]float64{0.49, 0.45, 0.41}, Std: [3]float64{0.25, 0.24, 0.25}, Size: cfg.InputSize})
	params := alexnet.InitParams(cfg, 1)
	if _, err := model.WriteWeights(weights, cfg, params, alexnet.Metadata{Stats: st, Classes: []string{"cat", "dog"}}); err != nil {
		b.Fatal(err)
	}
	m, err := alexnet.LoadFile(weights)
	if err != nil {
		b.Fatal(err)
	}
	// Sub-benchmarks print their logs; this one's would be lost.
	logs := []string{fmt.Sprintf("kernels: %s, GOMAXPROCS %d", alexnet.Kernels(), runtime.GOMAXPROCS(0))}
	batches := []int{1, 8}
	const probe = 2
	x := make([]float32, 8*cfg.InputSize*cfg.InputSize*3)
	for i := range x {
		x[i] = float32(math.Sin(float64(i) * 0.001))
	}

	torch := map[int]float64{}
	if py := torchpeer.Python(); py == "" {
		logs = append(logs, "PyTorch: no python3 imports torch (apt-get install python3-torch); its columns are left out")
	} else {
		in, out := filepath.Join(dir, "x.f32"), filepath.Join(dir, "logits.f32")
		if err := os.WriteFile(in, floatBytes(x[:probe*len(x)/8]), 0o644); err != nil {
			b.Fatal(err)
		}
		args := []string{"infer", "--weights", weights,
			"--threads", strconv.Itoa(runtime.GOMAXPROCS(0)), "--warmup", "3", "--reps", "10",
			"--inputs", in, "--logits", out, "--batch-sizes"}
		for _, n := range batches {
			args = append(args, strconv.Itoa(n))
		}
		msg, err := torchpeer.Run(py, args...)
		if err != nil {
			b.Fatalf("%s %s: %v\n%s", py, strings.Join(args, " "), err, msg)
		}
		for _, mm := range torchLine.FindAllStringSubmatch(string(msg), -1) {
			n, _ := strconv.Atoi(mm[1])
			torch[n], _ = strconv.ParseFloat(mm[2], 64)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			b.Fatal(err)
		}
		want := bytesFloat(data)
		got, err := m.Forward(x[:probe*len(x)/8], probe)
		if err != nil {
			b.Fatal(err)
		}
		worst := 0.0
		for i := range got {
			worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
		}
		logs = append(logs, fmt.Sprintf("PyTorch (%s): %s; logits %v vs pawnet %v, max |Δ| %.2g", py, strings.TrimSpace(string(msg)), want, got, worst))
	}

	for _, n := range batches {
		b.Run(fmt.Sprintf("batch%d", n), func(b *testing.B) {
			in := x[:n*len(x)/8]
			if _, err := m.Forward(in, n); err != nil { // warm up the scratch buffers
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := m.Forward(in, n); err != nil {
					b.Fatal(err)
				}
			}
			ms := b.Elapsed().Seconds() * 1e3 / float64(b.N*n)
			for _, l := range logs {
				b.Log(l)
			}
			b.ReportMetric(ms, "ms/photo")
			if t, ok := torch[n]; ok {
				b.ReportMetric(t, "torch-ms/photo")
				b.ReportMetric(t/ms, "torch/pawnet")
			}
		})
	}
}

// floatBytes returns v as little-endian bytes.
func floatBytes(v []float32) []byte {
	out := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(f))
	}
	return out
}

// bytesFloat decodes little-endian float32 values.
func bytesFloat(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}
