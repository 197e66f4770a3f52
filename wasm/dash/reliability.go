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
// P(dog) on the validation set as the markup inside an <svg> of the
// training charts' view box (ChartW × ChartH) and style (margins,
// gridlines, tick and axis labels, colors from the page's CSS): per bin a
// rect.rel-bar up to the fraction of dogs (data-count, data-confidence and
// data-frequency carry the bin's figures), a circle.rel-dot at the mean
// P(dog), and the dashed diagonal of perfect calibration.
func ReliabilityHTML(bins []metrics.ReliabilityBin) string {
	left, right := float64(marginL), float64(ChartW-marginR)
	top, bot := float64(marginT), float64(ChartH-marginB)
	x := func(v float64) string { return Coord(left + v*(right-left)) }
	y := func(v float64) string { return Coord(bot - v*(bot-top)) }
	var b strings.Builder
	b.WriteString(`<g class="y-axis">`)
	for _, v := range []float64{0, 0.25, 0.5, 0.75, 1} {
		b.WriteString(`<g class="tick"><line class="gridline" x1="` + Coord(left) + `" x2="` + Coord(right) + `" y1="` + y(v) + `" y2="` + y(v) + `"></line>` +
			`<text class="tick-label" x="` + Coord(left-8) + `" y="` + y(v) + `" text-anchor="end" dominant-baseline="middle">` + Percent(v, 0) + `</text></g>`)
	}
	b.WriteString(`</g><g class="x-axis"><line class="axis" x1="` + Coord(left) + `" x2="` + Coord(right) + `" y1="` + Coord(bot) + `" y2="` + Coord(bot) + `"></line>`)
	for _, v := range []float64{0, 0.2, 0.4, 0.6, 0.8, 1} {
		b.WriteString(`<g class="tick"><line class="tick-mark" x1="` + x(v) + `" x2="` + x(v) + `" y1="` + Coord(bot) + `" y2="` + Coord(bot+5) + `"></line>` +
			`<text class="tick-label" x="` + x(v) + `" y="` + Coord(bot+18) + `" text-anchor="middle">` + Fixed(v, 1) + `</text></g>`)
	}
	b.WriteString(`</g>`)
	b.WriteString(`<text class="axis-label" x="` + Coord((left+right)/2) + `" y="` + Coord(ChartH-4) + `" text-anchor="middle">predicted P(dog), calibrated, TTA</text>`)
	b.WriteString(`<text class="axis-label" transform="translate(14,` + Coord((top+bot)/2) + `) rotate(-90)" text-anchor="middle">dogs in the bin</text>`)
	b.WriteString(`<line class="rel-diag" x1="` + x(0) + `" y1="` + y(0) + `" x2="` + x(1) + `" y2="` + y(1) + `"></line>`)
	for _, bin := range bins {
		if bin.Count == 0 {
			continue
		}
		b.WriteString(`<rect class="rel-bar" x="` + x(bin.Lo) + `" y="` + y(bin.Frequency) + `" width="` + Coord((bin.Hi-bin.Lo)*(right-left)-2) +
			`" height="` + Coord(bin.Frequency*(bot-top)) + `" data-count="` + strconv.Itoa(bin.Count) +
			`" data-confidence="` + Full(bin.Confidence) + `" data-frequency="` + Full(bin.Frequency) + `"><title>P(dog) ` +
			Fixed(bin.Lo, 1) + `–` + Fixed(bin.Hi, 1) + `: ` + strconv.Itoa(bin.Count) + ` photos, ` + Percent(bin.Frequency, 0) + ` dogs</title></rect>`)
		b.WriteString(`<circle class="rel-dot" cx="` + x(bin.Confidence) + `" cy="` + y(bin.Frequency) + `" r="4"><title>mean P(dog) ` + Fixed(bin.Confidence, 3) + `</title></circle>`)
	}
	return b.String()
}

// ReliabilityBins are the best epoch's reliability bins (nil before any).
func (s *State) ReliabilityBins() []metrics.ReliabilityBin {
	if _, c := s.BestCalibration(); c != nil {
		return c.Reliability
	}
	return nil
}
