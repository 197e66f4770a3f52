package classifier

import "github.com/pawnet/pawnet/wasm/dash"

// MeanMs is the mean worker latency of the classified photos, with TTA or
// without, and how many there are.
func (s *State) MeanMs(tta bool) (ms float64, n int) {
	for _, it := range s.Items {
		if it.State == ItemDone && it.TTA == tta {
			ms += it.Ms
			n++
		}
	}
	if n > 0 {
		ms /= float64(n)
	}
	return ms, n
}

// TTACost is the TTA toggle's note: the measured latency of each mode on
// this page ("TTA 48 ms/photo · plain 25 ms/photo (1.9×)"), or what TTA
// costs in principle before photos of both kinds were classified.
func (s *State) TTACost() string {
	with, nw := s.MeanMs(true)
	plain, np := s.MeanMs(false)
	switch {
	case nw > 0 && np > 0:
		return "TTA " + dash.Fixed(with, 0) + " ms/photo · plain " + dash.Fixed(plain, 0) + " ms/photo (" + dash.Fixed(with/plain, 1) + "×)"
	case nw > 0:
		return "TTA " + dash.Fixed(with, 0) + " ms/photo (two forward passes)"
	case np > 0:
		return "plain " + dash.Fixed(plain, 0) + " ms/photo; TTA runs the mirror too, about 2×"
	}
	return "the photo and its mirror, probabilities averaged: about 2× the time"
}

// TTAAttr is the item's data-tta: "true" when it was classified with TTA.
func (it *Item) TTAAttr() string {
	if it.TTA {
		return "true"
	}
	return "false"
}

// TTANote follows the latency: " · TTA" when the photo was classified
// with TTA, else "".
func (it *Item) TTANote() string {
	if it.TTA {
		return " · TTA"
	}
	return ""
}

// TaughtNote is " · taught head" when the head taught in the Teach panel
// classified the photo, else "".
func (it *Item) TaughtNote() string {
	if it.Taught {
		return " · taught head"
	}
	return ""
}
