package model

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pawnet/pawnet/internal/torchpeer"
	"github.com/pawnet/pawnet/shared/alexnet"
)

// benchTrainStep times TrainStep on random data; the first step (graph
// build, compile, variable init) is excluded. Run with few iterations, for
// example:
//
//	go test ./trainer/model -run '^$' -bench TrainStep -benchtime 5x
//	GOEXPERIMENT=simd go test ./trainer/model -run '^$' -bench TrainStep -benchtime 5x
func benchTrainStep(b *testing.B, cfg alexnet.Config, batch int) {
	benchTrainStepOps(b, cfg, batch, false, nil)
}

// benchTrainStepFrozen is benchTrainStep with the conv layers frozen or not
// (FreezeFeatures).
func benchTrainStepFrozen(b *testing.B, cfg alexnet.Config, batch int, frozen bool) {
	benchTrainStepOps(b, cfg, batch, frozen, nil)
}

// benchTrainStepOps is benchTrainStepFrozen with an op set (nil: OpsFor).
func benchTrainStepOps(b *testing.B, cfg alexnet.Config, batch int, frozen bool, ops *Ops) {
	m := newModel(b, cfg, 1, Options{BatchSize: batch, Ops: ops})
	if err := m.FreezeFeatures(frozen); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x, y := randImages(rng, cfg, batch), randLabels(rng, cfg, batch)
	start := time.Now()
	if _, _, err := m.TrainStep(x, y, batch); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s batch %d: first step (compile + init) %v, ops %s, backend %s", cfg.Name, batch,
		time.Since(start).Round(time.Millisecond), m.Ops().Name, m.Backend().Description())
	cpu0 := processCPU()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := m.TrainStep(x, y, batch); err != nil {
			b.Fatal(err)
		}
	}
	perStep := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(perStep*1e3, "ms/step")
	b.ReportMetric(float64(batch)/perStep, "img/s")
	// CPU time (user+sys, all threads) is less sensitive than wall time to
	// other processes sharing the cores.
	b.ReportMetric((processCPU()-cpu0).Seconds()*1e3/float64(b.N), "cpu-ms/step")
}

// processCPU is the CPU time (user + system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkTrainStepSmall(b *testing.B) {
	for _, batch := range []int{32, 64} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchTrainStep(b, alexnet.Small(), batch) })
	}
}

// BenchmarkTrainStepOps times Small()'s train step at batch 32 with each op
// set the Go backend can train with (GoBackendOpSets), side by side.
//
//	GOEXPERIMENT=simd go test ./trainer/model -run '^$' -bench TrainStepOps -benchtime 20x
func BenchmarkTrainStepOps(b *testing.B) {
	for _, ops := range GoBackendOpSets {
		b.Run(ops.Name, func(b *testing.B) { benchTrainStepOps(b, alexnet.Small(), 32, false, &ops) })
	}
}

func BenchmarkTrainStepFull(b *testing.B) {
	b.Run("batch=8", func(b *testing.B) { benchTrainStep(b, alexnet.Full(), 8) })
}

// BenchmarkTrainStepFrozen times a train step with the conv layers
// trainable and frozen (`pawnet train -freeze-features`): frozen, their
// backward pass and optimizer update are skipped.
func BenchmarkTrainStepFrozen(b *testing.B) {
	for _, c := range []struct {
		cfg   alexnet.Config
		batch int
	}{{alexnet.Small(), 32}, {alexnet.Torchvision(), 8}} {
		for _, frozen := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/batch=%d/frozen=%v", c.cfg.Name, c.batch, frozen), func(b *testing.B) {
				benchTrainStepFrozen(b, c.cfg, c.batch, frozen)
			})
		}
	}
}

var torchStep = regexp.MustCompile(`ms/step=([\d.]+)`)

// BenchmarkTrainStepVsTorch times the train step natively and PyTorch's
// CPU train step (scripts/torch_bench.py throughput with the same config:
// Adam, cross-entropy, dropout, fp32, GOMAXPROCS threads) side by side in
// one run: Small() at batch 32 (the demo's) and Full() at batch 8. Each
// reports pawnet's ms/step, PyTorch's, and torch/pawnet (≥ 1: pawnet is at
// least as fast); the PyTorch columns are left out when no python3 imports
// torch.
//
//	GOEXPERIMENT=simd go test ./trainer/model -run '^$' -bench TrainStepVsTorch -benchtime 10x
func BenchmarkTrainStepVsTorch(b *testing.B) {
	py := torchpeer.Python()
	for _, c := range []struct {
		cfg   alexnet.Config
		batch int
	}{{alexnet.Small(), 32}, {alexnet.Full(), 8}} {
		b.Run(fmt.Sprintf("%s/batch=%d", c.cfg.Name, c.batch), func(b *testing.B) {
			benchTrainStep(b, c.cfg, c.batch)
			if py == "" {
				b.Log("PyTorch: no python3 imports torch (apt-get install python3-torch); its columns are left out")
				return
			}
			ours := b.Elapsed().Seconds() * 1e3 / float64(b.N)
			cfgJSON, err := json.Marshal(c.cfg)
			if err != nil {
				b.Fatal(err)
			}
			steps := max(b.N, 5)
			out, err := torchpeer.Run(py, "throughput", "--device", "cpu", "--threads", strconv.Itoa(runtime.GOMAXPROCS(0)),
				"--config", string(cfgJSON), "--batch", strconv.Itoa(c.batch), "--steps", strconv.Itoa(steps), "--warmup", "2")
			m := torchStep.FindStringSubmatch(string(out))
			if err != nil || m == nil {
				b.Fatalf("torch_bench.py: %v\n%s", err, out)
			}
			theirs, _ := strconv.ParseFloat(m[1], 64)
			b.ReportMetric(theirs, "torch-ms/step")
			b.ReportMetric(theirs/ours, "torch/pawnet")
		})
	}
}
