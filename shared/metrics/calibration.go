package metrics

import (
	"math"
)

// FitTemperature returns the temperature T > 0 that minimizes the mean
// cross-entropy of softmax(logits/T) against labels: n rows of k logits
// (row-major) and their n labels in [0, k). The loss is convex in 1/T, so
// a golden-section search over 1/T in [0.02, 50] finds the minimum to
// within 1e-6 of its width. No rows, or rows that all tie, give T = 1.
func FitTemperature(logits []float32, labels []int, k int) float64 {
	n := len(labels)
	if n == 0 || k <= 0 || len(logits) < n*k {
		return 1
	}
	nll := func(beta float64) float64 {
		var sum float64
		for i, y := range labels {
			row := logits[i*k : (i+1)*k]
			hi := math.Inf(-1)
			for _, v := range row {
				hi = math.Max(hi, beta*float64(v))
			}
			var z float64
			for _, v := range row {
				z += math.Exp(beta*float64(v) - hi)
			}
			sum += math.Log(z) + hi - beta*float64(row[y])
		}
		return sum / float64(n)
	}
	lo, hi := 0.02, 50.0
	phi := (math.Sqrt(5) - 1) / 2
	a, b := hi-phi*(hi-lo), lo+phi*(hi-lo)
	fa, fb := nll(a), nll(b)
	for hi-lo > 1e-6*(50-0.02) {
		if fa <= fb {
			hi, b, fb = b, a, fa
			a = hi - phi*(hi-lo)
			fa = nll(a)
		} else {
			lo, a, fa = a, b, fb
			b = lo + phi*(hi-lo)
			fb = nll(b)
		}
	}
	beta := (lo + hi) / 2
	if math.Abs(nll(beta)-nll(1)) < 1e-12 { // flat: nothing to calibrate
		return 1
	}
	return 1 / beta
}

// ReliabilityBin is one bin of a reliability diagram over the predicted
// P(dog): the photos whose prediction fell in [Lo, Hi), their mean
// predicted P(dog) and the fraction of them that are dogs. A calibrated
// model has Frequency ≈ Confidence in every bin.
type ReliabilityBin struct {
	Lo         float64 `json:"lo"`
	Hi         float64 `json:"hi"`
	Count      int     `json:"count"`
	Confidence float64 `json:"confidence"` // mean predicted P(dog); 0 when Count is 0
	Frequency  float64 `json:"frequency"`  // fraction of dogs; 0 when Count is 0
}

// Reliability bins the predicted P(dog) of labelled photos (label 1 =
// dog) into n equal-width bins over [0, 1] (P = 1 goes in the last).
func Reliability(pDog []float64, labels []int, n int) []ReliabilityBin {
	bins := make([]ReliabilityBin, n)
	for i := range bins {
		bins[i].Lo, bins[i].Hi = float64(i)/float64(n), float64(i+1)/float64(n)
	}
	if n == 0 {
		return bins
	}
	for i, p := range pDog {
		if math.IsNaN(p) || i >= len(labels) {
			continue
		}
		j := min(max(int(p*float64(n)), 0), n-1)
		bins[j].Count++
		bins[j].Confidence += p
		bins[j].Frequency += float64(labels[i])
	}
	for i := range bins {
		if c := bins[i].Count; c > 0 {
			bins[i].Confidence /= float64(c)
			bins[i].Frequency /= float64(c)
		}
	}
	return bins
}

// ExpectedCalibrationError is Σ count/total · |frequency − confidence|
// over the bins: 0 for a perfectly calibrated model.
func ExpectedCalibrationError(bins []ReliabilityBin) float64 {
	total, sum := 0, 0.0
	for _, b := range bins {
		total += b.Count
		sum += float64(b.Count) * math.Abs(b.Frequency-b.Confidence)
	}
	if total == 0 {
		return 0
	}
	return sum / float64(total)
}
