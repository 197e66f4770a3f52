package dash

import (
	"strconv"
	"strings"

	"github.com/pawnet/pawnet/shared/metrics"
)

// BestCalibration returns the best epoch and its calibration (temperature,
// TTA figures, reliability diagram; see metrics.Calibration), or 0, nil
// before one was reported (and for runs trained before calibration).
func (s *State) BestCalibration() (int, *metrics.Calibration) {
	best, _ := s.Best()
	for i := len(s.Epochs) - 1; i >= 0; i-- {
		if e := s.Epochs[i]; e.Epoch == best && e.Calibration != nil {
			return best, e.Calibration
		}
	}
	return 0, nil
}

// CalibrationNote summarizes the best epoch's calibration, e.g. "epoch 12
// · temperature 1.32 · val log loss 0.561 → 0.548 · TTA: 74.2%, log loss
// 0.541 calibrated".
func (s *State) CalibrationNote() string {
	epoch, c := s.BestCalibration()
	if c == nil {
		return ""
	}
	var e *metrics.Epoch
	for _, v := range s.Epochs {
		if v.Epoch == epoch {
			e = v
		}
	}
	t := "epoch " + strconv.Itoa(epoch) + " (best) · temperature " + Fixed(c.Temperature, 2)
	if e != nil {
		t += " · val log loss " + Fixed(e.ValLogLoss, 3) + " → " + Fixed(c.ValLogLossCal, 3)
	}
	return t + " · TTA: " + Percent(c.ValAccTTA, 1) + ", log loss " + Fixed(c.ValLogLossTTACal, 3) + " calibrated"
}

// ReliabilityKey identifies the diagram ReliabilityHTML draws for s.
func (s *State) ReliabilityKey() string {
	epoch, c := s.BestCalibration()
	if c == nil {
		return ""
	}
	return strconv.Itoa(epoch) + "/" + Full(c.Temperature)
}

// ReliabilityHTML draws the reliability diagram of the calibrated TTA
// P(dog) on the validation set as an SVG: per bin a rect.rel-bar up to the
// fraction of dogs (data-count, data-confidence and data-frequency carry
// the bin's figures), a dot at the mean P(dog), and the diagonal of
// perfect calibration.
func ReliabilityHTML(bins []metrics.ReliabilityBin) string {
	const w, h, pad = 300.0, 220.0, 28.0
	pw, ph := w-2*pad, h-2*pad
	x := func(v float64) string { return Fixed(pad+v*pw, 1) }
	y := func(v float64) string { return Fixed(h-pad-v*ph, 1) }
	var b strings.Builder
	b.WriteString(`<svg class="reliability" viewBox="0 0 300 220" role="img" aria-label="reliability diagram">`)
	b.WriteString(`<line class="rel-diag" x1="` + x(0) + `" y1="` + y(0) + `" x2="` + x(1) + `" y2="` + y(1) + `" stroke="#888" stroke-dasharray="4 3"/>`)
	for _, bin := range bins {
		if bin.Count == 0 {
			continue
		}
		b.WriteString(`<rect class="rel-bar" x="` + x(bin.Lo) + `" y="` + y(bin.Frequency) + `" width="` + Fixed((bin.Hi-bin.Lo)*pw-2, 1) +
			`" height="` + Fixed(bin.Frequency*ph, 1) + `" fill="#7aa0dc" data-count="` + strconv.Itoa(bin.Count) +
			`" data-confidence="` + Full(bin.Confidence) + `" data-frequency="` + Full(bin.Frequency) + `"><title>P(dog) ` +
			Fixed(bin.Lo, 1) + `–` + Fixed(bin.Hi, 1) + `: ` + strconv.Itoa(bin.Count) + ` photos, ` + Percent(bin.Frequency, 0) + ` dogs</title></rect>`)
		b.WriteString(`<circle class="rel-dot" cx="` + x(bin.Confidence) + `" cy="` + y(bin.Frequency) + `" r="3" fill="#c83232"/>`)
	}
	b.WriteString(`<line x1="` + x(0) + `" y1="` + y(0) + `" x2="` + x(1) + `" y2="` + y(0) + `" stroke="#333"/>`)
	b.WriteString(`<line x1="` + x(0) + `" y1="` + y(0) + `" x2="` + x(0) + `" y2="` + y(1) + `" stroke="#333"/>`)
	for _, v := range []float64{0, 0.5, 1} {
		b.WriteString(`<text x="` + x(v) + `" y="` + Fixed(h-pad+14, 1) + `" font-size="10" text-anchor="middle">` + Fixed(v, 1) + `</text>`)
		b.WriteString(`<text x="` + Fixed(pad-4, 1) + `" y="` + y(v) + `" font-size="10" text-anchor="end">` + Fixed(v, 1) + `</text>`)
	}
	b.WriteString(`<text x="` + x(0.5) + `" y="` + Fixed(h-4, 1) + `" font-size="10" text-anchor="middle">predicted P(dog), calibrated, TTA</text>`)
	b.WriteString(`<text x="4" y="12" font-size="10">fraction of dogs</text></svg>`)
	return b.String()
}

// ReliabilityBins are the best epoch's reliability bins (nil before any).
func (s *State) ReliabilityBins() []metrics.ReliabilityBin {
	if _, c := s.BestCalibration(); c != nil {
		return c.Reliability
	}
	return nil
}
