package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFitTemperature draws labels from softmax(z/T0) for known logits z:
// the fitted temperature must recover T0, and it must lower the log loss.
func TestFitTemperature(t *testing.T) {
	for _, tc := range []struct {
		name string
		t0   float64
	}{
		{"over-confident", 2.5},
		{"under-confident", 0.4},
		{"calibrated", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			const n = 20000
			logits := make([]float32, 2*n)
			labels := make([]int, n)
			for i := range n {
				z := 3 * rng.NormFloat64()
				logits[2*i], logits[2*i+1] = float32(-z/2), float32(z/2)
				pDog := 1 / (1 + math.Exp(-z/tc.t0))
				if rng.Float64() < pDog {
					labels[i] = 1
				}
			}
			got := FitTemperature(logits, labels, 2)
			if math.Abs(got-tc.t0)/tc.t0 > 0.06 {
				t.Errorf("temperature %.3f, want %.3f", got, tc.t0)
			}
			nll := func(temp float64) float64 {
				var s float64
				for i, y := range labels {
					z := float64(logits[2*i+1]-logits[2*i]) / temp
					s += LogLoss(1/(1+math.Exp(-z)), float64(y))
				}
				return s / n
			}
			if nll(got) > nll(1)+1e-9 {
				t.Errorf("log loss %.4f with T %.3f, %.4f without", nll(got), got, nll(1))
			}
		})
	}
	for _, tc := range []struct {
		name   string
		logits []float32
		labels []int
	}{
		{"empty", nil, nil},
		{"ties", []float32{1, 1, 0, 0}, []int{0, 1}},
		{"short logits", []float32{1}, []int{0}},
	} {
		if got := FitTemperature(tc.logits, tc.labels, 2); got != 1 {
			t.Errorf("%s: temperature %v, want 1", tc.name, got)
		}
	}
}

func TestReliability(t *testing.T) {
	p := []float64{0.05, 0.05, 0.15, 0.95, 1, 0.55, math.NaN()}
	y := []int{0, 1, 0, 1, 1, 0, 1}
	bins := Reliability(p, y, 10)
	want := map[int]ReliabilityBin{
		0: {Count: 2, Confidence: 0.05, Frequency: 0.5},
		1: {Count: 1, Confidence: 0.15, Frequency: 0},
		5: {Count: 1, Confidence: 0.55, Frequency: 0},
		9: {Count: 2, Confidence: 0.975, Frequency: 1},
	}
	total := 0
	for i, b := range bins {
		w := want[i]
		total += b.Count
		if b.Count != w.Count || math.Abs(b.Confidence-w.Confidence) > 1e-12 || math.Abs(b.Frequency-w.Frequency) > 1e-12 ||
			math.Abs(b.Lo-float64(i)/10) > 1e-12 || math.Abs(b.Hi-float64(i+1)/10) > 1e-12 {
			t.Errorf("bin %d: %+v, want %+v", i, b, w)
		}
	}
	if total != 6 {
		t.Errorf("%d photos binned, want 6 (NaN left out)", total)
	}
	// ECE: (2·0.45 + 1·0.15 + 1·0.55 + 2·0.025) / 6.
	if got, want := ExpectedCalibrationError(bins), (2*0.45+0.15+0.55+2*0.025)/6; math.Abs(got-want) > 1e-12 {
		t.Errorf("ECE %v, want %v", got, want)
	}
	if ExpectedCalibrationError(nil) != 0 {
		t.Error("ECE of no bins")
	}
}
