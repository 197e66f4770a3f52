package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/pawnet/pawnet/shared/alexnet"
)

// TestSmoothedCrossEntropy checks the label-smoothed loss against its
// formula, −Σ_c q_c log softmax(z)_c with q = (1−ε)·onehot + ε/k, averaged
// over the unmasked examples only.
func TestSmoothedCrossEntropy(t *testing.T) {
	logits := [][]float32{{2, -1}, {0.5, 0.25}, {-3, 4}, {100, -100}}
	labels := [][]int32{{0}, {1}, {1}, {1}}
	mask := []bool{true, true, true, false} // the last is padding
	for _, eps := range []float64{0, 0.1, 0.3} {
		var want float64
		for i, z := range logits[:3] {
			a, b := float64(z[0]), float64(z[1])
			lse := math.Max(a, b) + math.Log(math.Exp(a-math.Max(a, b))+math.Exp(b-math.Max(a, b)))
			for c, zc := range []float64{a, b} {
				q := eps / 2
				if int32(c) == labels[i][0] {
					q += 1 - eps
				}
				want -= q * (zc - lse)
			}
		}
		want /= 3
		got := graph.MustExecOnce(goBackend(), func(z, y, m *graph.Node) *graph.Node {
			return SmoothedCrossEntropy(eps)([]*graph.Node{y, m}, []*graph.Node{z})
		}, logits, labels, mask)
		if v := float64(tensors.ToScalar[float32](got)); math.Abs(v-want) > 1e-5 {
			t.Errorf("ε %.1f: loss %.6f, want %.6f", eps, v, want)
		}
	}
}

// TestWeightDecayIsDecoupled checks AdamW: one step from the same start
// with and without weight decay wd differs by exactly −lr·wd·w0 for
// every weight (the Adam part is the same gradient step).
func TestWeightDecayIsDecoupled(t *testing.T) {
	cfg := alexnet.Small()
	rng := rand.New(rand.NewPCG(4, 5))
	x, y := randImages(rng, cfg, 4), randLabels(rng, cfg, 4)
	const lr, wd = 1e-3, 0.5
	plain := newModel(t, cfg, 7, Options{LearningRate: lr})
	decayed := newModel(t, cfg, 7, Options{LearningRate: lr, WeightDecay: wd})
	w0 := plain.ExportParams()
	trainSteps(t, plain, x, y, 4, 1)
	trainSteps(t, decayed, x, y, 4, 1)
	p1, d1 := plain.ExportParams(), decayed.ExportParams()
	checked := 0
	for name, w := range w0 {
		for i := 0; i < len(w); i += 97 {
			want := float64(p1[name][i]) - lr*wd*float64(w[i])
			if math.Abs(float64(d1[name][i])-want) > 1e-6 {
				t.Fatalf("%s[%d]: %v after a decayed step, want %v (plain %v, w0 %v)", name, i, d1[name][i], want, p1[name][i], w[i])
			}
			checked++
		}
	}
	if checked < 1000 {
		t.Errorf("only %d weights checked", checked)
	}
}
