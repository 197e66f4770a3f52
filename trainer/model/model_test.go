package model

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/pawnet/pawnet/shared/alexnet"
)

// randImages returns n random NHWC images for cfg, roughly unit variance.
func randImages(rng *rand.Rand, cfg alexnet.Config, n int) []float32 {
	x := make([]float32, n*cfg.InputSize*cfg.InputSize*3)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

func randLabels(rng *rand.Rand, cfg alexnet.Config, n int) []int32 {
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(rng.IntN(cfg.Classes))
	}
	return y
}

func newModel(t testing.TB, cfg alexnet.Config, seed int64, opts Options) *Model {
	t.Helper()
	m, err := NewWithOptions(cfg, goBackend(), seed, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func logits(t testing.TB, m *Model, x []float32, n int) []float32 {
	t.Helper()
	out, err := m.Logits(x, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != n*m.Config().Classes {
		t.Fatalf("Logits returned %d values for %d images", len(out), n)
	}
	return out
}

func to64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, f := range v {
		out[i] = float64(f)
	}
	return out
}

func bitsEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func paramsBitsEqual(t *testing.T, a, b map[string][]float32) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d params vs %d", len(a), len(b))
	}
	for name, va := range a {
		if !bitsEqual(va, b[name]) {
			t.Errorf("parameter %s differs", name)
		}
	}
}

func TestExportLayoutAndRoundTrip(t *testing.T) {
	cfg := alexnet.Small()
	m := newModel(t, cfg, 1, Options{})
	exported := m.ExportParams()
	for _, spec := range cfg.Params() {
		v, ok := exported[spec.Name]
		if !ok {
			t.Fatalf("ExportParams lacks %s", spec.Name)
		}
		if len(v) != spec.Size() {
			t.Fatalf("%s: %d values, want %v", spec.Name, len(v), spec.Shape)
		}
	}
	if len(exported) != len(cfg.Params()) {
		t.Fatalf("ExportParams has %d entries, want %d", len(exported), len(cfg.Params()))
	}

	other := newModel(t, cfg, 2, Options{})
	if err := other.LoadParams(exported); err != nil {
		t.Fatal(err)
	}
	paramsBitsEqual(t, exported, other.ExportParams())

	rng := rand.New(rand.NewPCG(1, 1))
	x := randImages(rng, cfg, 3)
	if a, b := logits(t, m, x, 3), logits(t, other, x, 3); !bitsEqual(a, b) {
		t.Errorf("same parameters, different logits: %v vs %v", a, b)
	}
}

func TestLoadParamsRejectsBadInput(t *testing.T) {
	cfg := alexnet.Small()
	m := newModel(t, cfg, 1, Options{})
	good := m.ExportParams()
	before := m.ExportParams()
	cases := []struct {
		name   string
		mutate func(map[string][]float32)
		errHas string
	}{
		{"missing", func(p map[string][]float32) { delete(p, "features.3.bias") }, "missing"},
		{"short", func(p map[string][]float32) { p["classifier.1.weight"] = p["classifier.1.weight"][1:] }, "values"},
		{"unknown", func(p map[string][]float32) { p["features.12.weight"] = []float32{1} }, "unknown"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := make(map[string][]float32, len(good))
			for k, v := range good {
				p[k] = v
			}
			tc.mutate(p)
			err := m.LoadParams(p)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("LoadParams error = %v, want one mentioning %q", err, tc.errHas)
			}
			paramsBitsEqual(t, before, m.ExportParams())
		})
	}
}

// refLogits is an independent plain-Go AlexNet forward pass over exported
// (PyTorch-layout) parameters: OIHW convs, CHW flatten, [out, in] dense. It
// checks that ExportParams really produces torchvision's layout.
func refLogits(cfg alexnet.Config, p map[string][]float32, img []float32) []float64 {
	s := cfg.InputSize
	// CHW activations.
	c := 3
	act := make([]float64, c*s*s)
	for y := range s {
		for x := range s {
			for ci := range c {
				act[(ci*s+y)*s+x] = float64(img[(y*s+x)*3+ci])
			}
		}
	}
	for i := range alexnet.NumConv {
		w, b := p[alexnet.ConvNames[i]+".weight"], p[alexnet.ConvNames[i]+".bias"]
		k, st, pad, o := cfg.Kernels[i], cfg.Strides[i], cfg.Pads[i], cfg.Channels[i]
		so := (s+2*pad-k)/st + 1
		next := make([]float64, o*so*so)
		for co := range o {
			for oy := range so {
				for ox := range so {
					sum := float64(b[co])
					for ci := range c {
						for ky := range k {
							iy := oy*st + ky - pad
							if iy < 0 || iy >= s {
								continue
							}
							for kx := range k {
								ix := ox*st + kx - pad
								if ix < 0 || ix >= s {
									continue
								}
								sum += float64(w[((co*c+ci)*k+ky)*k+kx]) * act[(ci*s+iy)*s+ix]
							}
						}
					}
					next[(co*so+oy)*so+ox] = max(sum, 0)
				}
			}
		}
		act, c, s = next, o, so
		if alexnet.PoolAfter(i) {
			sp := (s-alexnet.PoolWindow)/alexnet.PoolStride + 1
			pooled := make([]float64, c*sp*sp)
			for ci := range c {
				for oy := range sp {
					for ox := range sp {
						best := math.Inf(-1)
						for dy := range alexnet.PoolWindow {
							for dx := range alexnet.PoolWindow {
								best = max(best, act[(ci*s+oy*alexnet.PoolStride+dy)*s+ox*alexnet.PoolStride+dx])
							}
						}
						pooled[(ci*sp+oy)*sp+ox] = best
					}
				}
			}
			act, s = pooled, sp
		}
	}
	for j, name := range alexnet.DenseNames {
		w, b := p[name+".weight"], p[name+".bias"]
		in, out := len(act), len(b)
		next := make([]float64, out)
		for o := range out {
			sum := float64(b[o])
			for i := range in {
				sum += float64(w[o*in+i]) * act[i]
			}
			if j < 2 {
				sum = max(sum, 0)
			}
			next[o] = sum
		}
		act = next
	}
	return act
}

func TestExportMatchesPyTorchLayoutReference(t *testing.T) {
	// A config whose last feature map is 2×2 with several channels, so that a
	// wrong fc6 (C,H,W) permutation cannot go unnoticed (Small's is 1×1).
	cfg := alexnet.Small()
	cfg.Name = "test-2x2"
	cfg.InputSize = 96
	if _, final := cfg.LayerSizes(); final < 2 {
		t.Fatalf("test config has a %d×%d final map", final, final)
	}
	m := newModel(t, cfg, 7, Options{})
	// Non-zero biases, so that bias layouts are exercised too.
	p := m.ExportParams()
	rng := rand.New(rand.NewPCG(7, 7))
	for name, v := range p {
		if strings.HasSuffix(name, ".bias") {
			for i := range v {
				v[i] = float32(rng.NormFloat64() * 0.1)
			}
		}
	}
	if err := m.LoadParams(p); err != nil {
		t.Fatal(err)
	}
	const n = 2
	x := randImages(rng, cfg, n)
	got := logits(t, m, x, n)
	il := cfg.InputSize * cfg.InputSize * 3
	for i := range n {
		want := refLogits(cfg, p, x[i*il:(i+1)*il])
		if d := maxRelDiff(to64(got[i*cfg.Classes:(i+1)*cfg.Classes]), want); d > 1e-4 {
			t.Errorf("image %d: logits %v, PyTorch-layout reference %v (rel diff %g)", i, got[i*cfg.Classes:(i+1)*cfg.Classes], want, d)
		}
	}
}

func TestOpSetsGiveSameLogits(t *testing.T) {
	cfg := alexnet.Small()
	a := newModel(t, cfg, 3, Options{Ops: &NativeOps})
	rng := rand.New(rand.NewPCG(3, 3))
	const n = 4
	x := randImages(rng, cfg, n)
	la := logits(t, a, x, n)
	for _, ops := range GoBackendOpSets {
		b := newModel(t, cfg, 4, Options{Ops: &ops})
		if err := b.LoadParams(a.ExportParams()); err != nil {
			t.Fatal(err)
		}
		lb := logits(t, b, x, n)
		if d := maxRelDiff(to64(la), to64(lb)); d > 1e-5 {
			t.Errorf("native logits %v, %s %v: relative difference %g", la, ops.Name, lb, d)
		}
	}
}

// TestOpSetsTrainAlike takes the same Adam steps with every op set the Go
// backend can train with (GoBackendOpSets) from the same weights: the
// losses and the trained weights agree with Im2colOps's to float summation
// order, so the recipe's accuracy does not depend on the op set.
func TestOpSetsTrainAlike(t *testing.T) {
	cfg := alexnet.Small()
	rng := rand.New(rand.NewPCG(5, 5))
	const n = 8
	x, y := randImages(rng, cfg, n), randLabels(rng, cfg, n)
	run := func(ops *Ops) ([]float64, map[string][]float32) {
		m := newModel(t, cfg, 7, Options{Ops: ops, LearningRate: 1e-3})
		var losses []float64
		for _, r := range trainSteps(t, m, x, y, n, 5) {
			losses = append(losses, float64(r.loss))
		}
		return losses, m.ExportParams()
	}
	refLosses, refParams := run(&Im2colOps)
	for _, ops := range GoBackendOpSets {
		if ops.Name == Im2colOps.Name {
			continue
		}
		t.Run(ops.Name, func(t *testing.T) {
			losses, params := run(&ops)
			if d := maxRelDiff(refLosses, losses); d > 1e-4 {
				t.Errorf("losses im2col %v, %s %v: relative difference %g", refLosses, ops.Name, losses, d)
			}
			for name, a := range refParams {
				if d := maxRelDiff(to64(a), to64(params[name])); d > 1e-3 {
					t.Errorf("%s after 5 steps: relative difference %g", name, d)
				}
			}
		})
	}
}

func TestOpsFor(t *testing.T) {
	if got := OpsFor(goBackend()).Name; got != Im2colOps.Name {
		t.Errorf("OpsFor(go backend) = %s, want %s", got, Im2colOps.Name)
	}
	m := newModel(t, alexnet.Small(), 1, Options{})
	if m.Ops().Name != Im2colOps.Name {
		t.Errorf("model on the Go backend uses %s ops", m.Ops().Name)
	}
}

func TestBackend(t *testing.T) {
	if _, err := Backend("no-such-backend"); err == nil {
		t.Error("Backend(no-such-backend) succeeded")
	}
	t.Setenv("GOMLX_BACKEND", "")
	b, err := Backend("")
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != GoBackendName {
		t.Errorf("default backend is %q, want %q", b.String(), GoBackendName)
	}
	if !slices.Contains(compute.List(), XLABackendName) {
		// Built with -tags noxla (or without cgo): asking for XLA is an error,
		// not a panic.
		if _, err := Backend("xla:cuda"); err == nil {
			t.Error("Backend(xla:cuda) succeeded without XLA compiled in")
		}
	}
}

func TestLogitsChunksAndPads(t *testing.T) {
	cfg := alexnet.Small()
	m := newModel(t, cfg, 5, Options{BatchSize: 4})
	rng := rand.New(rand.NewPCG(5, 5))
	const n = 6 // one full chunk of 4, one padded chunk of 2
	x := randImages(rng, cfg, n)
	all := logits(t, m, x, n)
	il := cfg.InputSize * cfg.InputSize * 3
	for i := range n {
		one := logits(t, m, x[i*il:(i+1)*il], 1)
		if d := maxRelDiff(to64(one), to64(all[i*cfg.Classes:(i+1)*cfg.Classes])); d > 1e-6 {
			t.Errorf("image %d alone %v, in a batch %v", i, one, all[i*cfg.Classes:(i+1)*cfg.Classes])
		}
	}
	if m.BatchSize() != 4 {
		t.Errorf("batch size changed to %d", m.BatchSize())
	}
}

func TestPartialBatchEqualsSmallerBatch(t *testing.T) {
	cfg := alexnet.Small()
	cfg.Dropout = 0 // dropout masks depend on the batch shape
	rng := rand.New(rand.NewPCG(6, 6))
	const n = 5
	x, y := randImages(rng, cfg, n), randLabels(rng, cfg, n)

	padded := newModel(t, cfg, 9, Options{BatchSize: 8})
	exact := newModel(t, cfg, 9, Options{BatchSize: n})
	lp, cp, err := padded.TrainStep(x, y, n)
	if err != nil {
		t.Fatal(err)
	}
	le, ce, err := exact.TrainStep(x, y, n)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(lp-le)) > 1e-5*math.Max(1, math.Abs(float64(le))) || cp != ce {
		t.Errorf("padded step: loss %v correct %d; exact step: loss %v correct %d", lp, cp, le, ce)
	}
	pp, pe := padded.ExportParams(), exact.ExportParams()
	for name := range pe {
		if d := maxRelDiff(to64(pp[name]), to64(pe[name])); d > 1e-5 {
			t.Errorf("%s differs by %g after one padded vs exact step", name, d)
		}
	}
	if _, _, err := padded.TrainStep(randImages(rng, cfg, 9), randLabels(rng, cfg, 9), 9); err == nil {
		t.Error("a batch larger than the compiled batch size was accepted")
	}
}

func TestTrainStepRejectsBadInput(t *testing.T) {
	cfg := alexnet.Small()
	m := newModel(t, cfg, 1, Options{BatchSize: 2})
	rng := rand.New(rand.NewPCG(1, 2))
	x := randImages(rng, cfg, 2)
	if _, _, err := m.TrainStep(x, []int32{0, 2}, 2); err == nil {
		t.Error("label 2 accepted for 2 classes")
	}
	if _, _, err := m.TrainStep(x[:10], []int32{0, 1}, 2); err == nil {
		t.Error("short input accepted")
	}
	if _, _, err := m.TrainStep(x, []int32{0}, 2); err == nil {
		t.Error("short labels accepted")
	}
	if m.GlobalStep() != 0 {
		t.Errorf("rejected steps moved the global step to %d", m.GlobalStep())
	}
}

type stepResult struct {
	loss    float32
	correct int
}

func trainSteps(t *testing.T, m *Model, x []float32, y []int32, n, steps int) []stepResult {
	t.Helper()
	var res []stepResult
	for range steps {
		l, c, err := m.TrainStep(x, y, n)
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, stepResult{l, c})
	}
	return res
}

func TestCheckpointResumesIdentically(t *testing.T) {
	cfg := alexnet.Small()
	rng := rand.New(rand.NewPCG(8, 8))
	const n = 6
	x, y := randImages(rng, cfg, n), randLabels(rng, cfg, n)
	dir := t.TempDir()
	dir0, dir2 := filepath.Join(dir, "step0"), filepath.Join(dir, "step2")

	// Uninterrupted run: save at step 0 and step 2, continue to step 4.
	a := newModel(t, cfg, 11, Options{LearningRate: 1e-3})
	if err := a.Save(dir0); err != nil {
		t.Fatal(err)
	}
	trainSteps(t, a, x, y, n, 2)
	if err := a.Save(dir2); err != nil {
		t.Fatal(err)
	}
	logits2 := logits(t, a, x, n)
	want := trainSteps(t, a, x, y, n, 2)
	wantParams := a.ExportParams()
	if a.GlobalStep() != 4 {
		t.Fatalf("global step %d after 4 steps", a.GlobalStep())
	}

	// A fresh model (other seed) restored at step 2 continues identically.
	b := newModel(t, cfg, 99, Options{})
	if err := b.Restore(dir2); err != nil {
		t.Fatal(err)
	}
	if b.GlobalStep() != 2 || b.LearningRate() != float64(float32(1e-3)) {
		t.Errorf("restored global step %d, learning rate %g", b.GlobalStep(), b.LearningRate())
	}
	if got := logits(t, b, x, n); !bitsEqual(got, logits2) {
		t.Errorf("restored logits %v, saved model's %v", got, logits2)
	}
	if got := trainSteps(t, b, x, y, n, 2); got[0] != want[0] || got[1] != want[1] {
		t.Errorf("steps after restore %v, uninterrupted %v", got, want)
	}
	paramsBitsEqual(t, wantParams, b.ExportParams())

	// The trained model rolled back to its step-0 checkpoint (no optimizer
	// state in it yet) replays the same four steps.
	a2 := newModel(t, cfg, 11, Options{LearningRate: 1e-3})
	first := trainSteps(t, a2, x, y, n, 4)
	if err := a2.Restore(dir0); err != nil {
		t.Fatal(err)
	}
	if a2.GlobalStep() != 0 {
		t.Errorf("global step %d after restoring step 0", a2.GlobalStep())
	}
	if again := trainSteps(t, a2, x, y, n, 4); again[3] != first[3] {
		t.Errorf("after rollback to step 0: %v, first time %v", again, first)
	}

	// Nothing but the checkpoint file is left in the directory.
	entries, err := os.ReadDir(dir2)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != CheckpointFile {
		t.Errorf("checkpoint directory holds %v", entries)
	}
	paths, err := CheckpointVariables(dir2)
	if err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{"/global_step", "/#rngState", "/AdamOptimizer/step", "/AdamOptimizer/alexnet/conv1/weights_1st_moment", "/alexnet/fc8/biases"} {
		found := false
		for _, p := range paths {
			found = found || p == must
		}
		if !found {
			t.Errorf("checkpoint lacks %s; has %v", must, paths)
		}
	}
}

func TestRestoreRejectsDamage(t *testing.T) {
	cfg := alexnet.Small()
	m := newModel(t, cfg, 1, Options{})
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, CheckpointFile)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	before := m.ExportParams()

	other := cfg
	other.Dense = 128
	if err := newModel(t, other, 1, Options{}).Restore(dir); err == nil {
		t.Error("restored a checkpoint of another config")
	}

	data[len(data)-3] ^= 0x40 // flip one bit in the last tensor
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Restore(dir); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("Restore of a damaged file: %v", err)
	}
	if err := os.WriteFile(file, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Restore(dir); err == nil {
		t.Error("Restore of a truncated file succeeded")
	}
	paramsBitsEqual(t, before, m.ExportParams())
	if err := m.Restore(t.TempDir()); err == nil {
		t.Error("Restore of an empty directory succeeded")
	}
}

// synthetic is a learnable two-class problem: class 1 images have a bright
// right half, class 0 a bright left half, both with noise.
func synthetic(rng *rand.Rand, cfg alexnet.Config, n int) ([]float32, []int32) {
	s := cfg.InputSize
	x := make([]float32, n*s*s*3)
	y := make([]int32, n)
	for i := range n {
		y[i] = int32(i % 2)
		for py := range s {
			for px := range s {
				bright := (px >= s/2) == (y[i] == 1)
				for c := range 3 {
					v := float32(rng.NormFloat64() * 0.5)
					if bright {
						v += 1
					} else {
						v -= 1
					}
					x[((i*s+py)*s+px)*3+c] = v
				}
			}
		}
	}
	return x, y
}

func TestTrainingReducesLoss(t *testing.T) {
	cfg := alexnet.Small()
	rng := rand.New(rand.NewPCG(10, 10))
	const n, steps = 16, 24
	m := newModel(t, cfg, 12, Options{LearningRate: 1e-3})
	x, y := synthetic(rng, cfg, n)
	evalX, evalY := synthetic(rng, cfg, n)
	evalLoss := func() (float64, int) {
		lg := logits(t, m, evalX, n)
		var sum float64
		correct := 0
		for i := range n {
			a, b := float64(lg[2*i]), float64(lg[2*i+1])
			mx := max(a, b)
			lse := mx + math.Log(math.Exp(a-mx)+math.Exp(b-mx))
			sum += lse - float64(lg[2*i+int(evalY[i])])
			if (b > a) == (evalY[i] == 1) {
				correct++
			}
		}
		return sum / n, correct
	}
	loss0, _ := evalLoss()
	res := trainSteps(t, m, x, y, n, steps)
	loss1, correct := evalLoss()
	t.Logf("held-out loss %.4f -> %.4f, %d/%d correct; train losses %.3f ... %.3f", loss0, loss1, correct, n, res[0].loss, res[steps-1].loss)
	if !(loss1 < loss0/2) || correct < n*3/4 {
		t.Errorf("training did not learn: held-out loss %.4f -> %.4f, %d/%d correct", loss0, loss1, correct, n)
	}
	if m.GlobalStep() != steps {
		t.Errorf("global step %d after %d steps", m.GlobalStep(), steps)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	cfg := alexnet.Small()
	for _, opts := range []Options{{LearningRate: -1}, {BatchSize: -2}, {WeightDecay: -0.1}, {LabelSmoothing: 1}, {LabelSmoothing: -0.1}} {
		if _, err := NewWithOptions(cfg, goBackend(), 1, opts); err == nil {
			t.Errorf("NewWithOptions(%+v) succeeded", opts)
		}
	}
	bad := cfg
	bad.InputSize = 32
	if _, err := New(bad, goBackend(), 1); err == nil {
		t.Error("New accepted a config with an empty feature map")
	}
}

func TestSetLearningRate(t *testing.T) {
	cfg := alexnet.Small()
	m := newModel(t, cfg, 1, Options{})
	if m.LearningRate() != DefaultLearningRate {
		t.Errorf("default learning rate %g", m.LearningRate())
	}
	rng := rand.New(rand.NewPCG(2, 3))
	x, y := randImages(rng, cfg, 4), randLabels(rng, cfg, 4)
	trainSteps(t, m, x, y, 4, 1) // compile with the default rate
	if err := m.SetLearningRate(0); err == nil {
		t.Error("SetLearningRate(0) accepted")
	}
	// Adam moves each weight by about lr at most.
	if err := m.SetLearningRate(1e-30); err != nil {
		t.Fatal(err)
	}
	before := m.ExportParams()
	trainSteps(t, m, x, y, 4, 1)
	for name, v := range m.ExportParams() {
		for i := range v {
			if d := math.Abs(float64(v[i] - before[name][i])); d > 1e-28 {
				t.Fatalf("%s[%d] moved by %g at learning rate 1e-30", name, i, d)
			}
		}
	}
	if err := m.SetLearningRate(1e-2); err != nil {
		t.Fatal(err)
	}
	trainSteps(t, m, x, y, 4, 1)
	after := m.ExportParams()
	if bitsEqual(before["features.0.weight"], after["features.0.weight"]) {
		t.Error("learning rate 1e-2 did not change conv1")
	}
}

func TestLogitsBeforeTrainingKeepsBatchFree(t *testing.T) {
	cfg := alexnet.Small()
	m := newModel(t, cfg, 1, Options{})
	rng := rand.New(rand.NewPCG(4, 4))
	logits(t, m, randImages(rng, cfg, 1), 1)
	if m.BatchSize() != 0 {
		t.Fatalf("Logits fixed the batch size to %d", m.BatchSize())
	}
	trainSteps(t, m, randImages(rng, cfg, 3), randLabels(rng, cfg, 3), 3, 1)
	if m.BatchSize() != 3 {
		t.Errorf("batch size %d after a first step of 3", m.BatchSize())
	}
}

// bf16Round rounds a float32 to the nearest bfloat16 (ties to even), the
// rounding of ConvertDType(x, BFloat16), returned as a float32.
func bf16Round(f float32) float32 {
	b := math.Float32bits(f)
	b += 0x7fff + (b>>16)&1
	return math.Float32frombits(b &^ 0xffff)
}

// storeFloat32 returns the values of the store variable at path, failing
// the test if it is not float32.
func storeFloat32(t *testing.T, m *Model, path string) []float32 {
	t.Helper()
	v := m.store.GetVariable(path)
	if v == nil {
		t.Fatalf("no variable %s", path)
	}
	val := v.MustValue()
	if dt := val.DType(); dt != dtypes.Float32 {
		t.Fatalf("%s is %s, want float32 master weights", path, dt)
	}
	return tensors.MustCopyFlatData[float32](val)
}

// TestBF16MixedPrecision checks that bf16 compute gives logits close to
// fp32 on the same weights, trains, and keeps float32 master weights: the
// parameters and Adam's moments stay float32 in the store, and Adam steps
// far below bf16's resolution (learning rate 1e-6, weights of about 0.05,
// whose bf16 spacing is about 2e-4) still move the weights. Weights stored
// in bf16 would round each such step away and never move.
func TestBF16MixedPrecision(t *testing.T) {
	cfg := alexnet.Small()
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 4
	x, y := randImages(rng, cfg, n), randLabels(rng, cfg, n)
	f32 := newModel(t, cfg, 3, Options{BatchSize: n})
	const lr = 1e-6
	bf := newModel(t, cfg, 3, Options{BatchSize: n, BF16: true, LearningRate: lr})
	a, b := logits(t, f32, x, n), logits(t, bf, x, n)
	scale := 0.0
	for _, v := range a {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range a {
		if d := math.Abs(float64(a[i] - b[i])); d > 0.05*scale+1e-3 {
			t.Fatalf("logit %d: bf16 %v vs fp32 %v (scale %v)", i, b[i], a[i], scale)
		}
	}

	// Start from weights that bf16 represents exactly, so that weights kept
	// in bf16 could only move by whole bf16 steps.
	for _, pv := range bf.vars {
		storeFloat32(t, bf, pv.path)
	}
	start := bf.ExportParams()
	for _, v := range start {
		for i := range v {
			v[i] = bf16Round(v[i])
		}
	}
	if err := bf.LoadParams(start); err != nil {
		t.Fatal(err)
	}
	w0 := map[string][]float32{}
	for _, pv := range bf.vars {
		w0[pv.path] = storeFloat32(t, bf, pv.path)
	}
	const steps = 3
	for range steps {
		loss, _, err := bf.TrainStep(x, y, n)
		if err != nil {
			t.Fatal(err)
		}
		if math.IsNaN(float64(loss)) {
			t.Fatal("bf16 loss is NaN")
		}
	}

	// Every parameter and both of its Adam moments are float32.
	for _, pv := range bf.vars {
		for _, moment := range []string{"_1st_moment", "_2nd_moment"} {
			storeFloat32(t, bf, "/AdamOptimizer"+pv.path+moment)
		}
	}
	// Count the weights that moved by less than half a bf16 step: their
	// float32 value changed, but rounds back to the bf16 start value.
	var total, subBF16 int
	for _, pv := range bf.vars {
		before, after := w0[pv.path], storeFloat32(t, bf, pv.path)
		for i := range before {
			total++
			if after[i] != before[i] && bf16Round(after[i]) == before[i] {
				subBF16++
			}
		}
	}
	t.Logf("%d of %d weights moved by less than bf16's resolution in %d steps of learning rate %g", subBF16, total, steps, lr)
	if subBF16 < total/4 {
		t.Errorf("only %d of %d weights accumulated sub-bf16 updates: master weights are not float32", subBF16, total)
	}
}

// TestLogitsFollowTheVariables checks that Logits, whose graph the Go
// backend compiles with the variables embedded as constants, answers with
// the current values after each way they change: a train step, LoadParams
// and Restore. A fresh model given the same parameters is the reference.
func TestLogitsFollowTheVariables(t *testing.T) {
	cfg := alexnet.Small()
	rng := rand.New(rand.NewPCG(11, 11))
	const n = 4
	x, y := randImages(rng, cfg, n), randLabels(rng, cfg, n)
	other := newModel(t, cfg, 99, Options{})
	dir := t.TempDir()
	if err := other.Save(dir); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		change func(m *Model) error
	}{
		{"TrainStep", func(m *Model) error { _, _, err := m.TrainStep(x, y, n); return err }},
		{"LoadParams", func(m *Model) error { return m.LoadParams(other.ExportParams()) }},
		{"Restore", func(m *Model) error { return m.Restore(dir) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newModel(t, cfg, 5, Options{LearningRate: 1e-2})
			before := logits(t, m, x, n)
			if err := c.change(m); err != nil {
				t.Fatal(err)
			}
			got := logits(t, m, x, n)
			fresh := newModel(t, cfg, 6, Options{})
			if err := fresh.LoadParams(m.ExportParams()); err != nil {
				t.Fatal(err)
			}
			want := logits(t, fresh, x, n)
			if d := maxRelDiff(to64(got), to64(want)); d > 1e-5 {
				t.Errorf("logits after %s %v, a fresh model with its parameters %v (before: %v)", c.name, got, want, before)
			}
			if maxRelDiff(to64(before), to64(want)) < 1e-6 {
				t.Errorf("%s did not change the logits: the test checks nothing", c.name)
			}
		})
	}
}
