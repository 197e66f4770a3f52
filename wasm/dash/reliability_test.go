package dash

import (
	"strings"
	"testing"

	"github.com/pawnet/pawnet/shared/metrics"
)

// TestReliability checks that the dashboard shows the best epoch's
// calibration (not the latest one's) and draws a bar per non-empty bin.
func TestReliability(t *testing.T) {
	var s State
	if s.ReliabilityBins() != nil || s.CalibrationNote() != "" || s.ReliabilityKey() != "" {
		t.Fatal("calibration shown before any epoch")
	}
	bins := metrics.Reliability([]float64{0.1, 0.15, 0.8, 0.95}, []int{0, 1, 1, 1}, 10)
	cal := func(temp float64) *metrics.Calibration {
		return &metrics.Calibration{Temperature: temp, ValLogLossCal: 0.5, ValAccTTA: 0.75, ValLogLossTTA: 0.52, ValLogLossTTACal: 0.49, Reliability: bins}
	}
	s.Apply(stamp(&metrics.RunStart{Epochs: 3, Classes: []string{"cat", "dog"}}, 1))
	s.Apply(stamp(&metrics.Epoch{Epoch: 1, Epochs: 3, ValAcc: 0.6, ValLogLoss: 0.61, Best: true, BestEpoch: 1, BestValAcc: 0.6, Calibration: cal(0.8)}, 2))
	s.Apply(stamp(&metrics.Epoch{Epoch: 2, Epochs: 3, ValAcc: 0.7, ValLogLoss: 0.55, Best: true, BestEpoch: 2, BestValAcc: 0.7, Calibration: cal(1.25)}, 3))
	s.Apply(stamp(&metrics.Epoch{Epoch: 3, Epochs: 3, ValAcc: 0.65, ValLogLoss: 0.6, BestEpoch: 2, BestValAcc: 0.7}, 4))
	if e, c := s.BestCalibration(); e != 2 || c == nil || c.Temperature != 1.25 {
		t.Fatalf("best calibration: epoch %d, %+v", e, c)
	}
	if got, want := s.CalibrationNote(), "epoch 2 (best) · temperature 1.25 · val log loss 0.550 → 0.500 · TTA: 75.0%, log loss 0.490 calibrated"; got != want {
		t.Errorf("note %q, want %q", got, want)
	}
	html := ReliabilityHTML(s.ReliabilityBins())
	if n := strings.Count(html, `class="rel-bar"`); n != 3 {
		t.Errorf("%d bars, want 3 (bins 1, 8 and 9)", n)
	}
	if !strings.Contains(html, `data-count="2" data-confidence="0.125" data-frequency="0.5"`) {
		t.Errorf("bin 1 not drawn with its figures: %s", html)
	}
	if k := s.ReliabilityKey(); k == "" {
		t.Error("no key")
	}
}
