package classifier

import (
	"strconv"
	"strings"

	"github.com/pawnet/pawnet/wasm/dash"
)

// The panel's text, as the classifier panel's template shows it.

// WorkerState is "starting", "ready" or "failed".
func (s *State) WorkerState() string {
	switch {
	case s.Fatal != "":
		return "failed"
	case s.WorkerReady:
		return "ready"
	}
	return "starting"
}

// WorkerReadyText is WorkerReadyMs with one decimal ("" before the worker
// is ready).
func (s *State) WorkerReadyText() string {
	if !s.WorkerReady {
		return ""
	}
	return strconv.FormatFloat(s.WorkerReadyMs, 'f', 1, 64)
}

// WeightsText describes the weights: the download's progress, what they
// are once loaded, or why they are not.
func (s *State) WeightsText() string {
	switch s.Weights {
	case WeightsLoading:
		if s.WeightsTotal > 0 {
			return "downloading " + dash.Bytes(s.WeightsLoaded) + " of " + dash.Bytes(s.WeightsTotal)
		}
		return "downloading " + dash.Bytes(s.WeightsLoaded)
	case WeightsReady:
		return s.WeightsInfo
	case WeightsError:
		return "not available: " + s.WeightsErr
	}
	if !s.WorkerReady && s.Fatal == "" {
		return "starting the classifier…"
	}
	return "downloaded with your first photo"
}

// QueuedText says what a queued photo waits for.
func (s *State) QueuedText() string {
	switch {
	case s.Weights == WeightsLoading:
		return "Waiting for the model download…"
	case !s.WorkerReady:
		return "Waiting for the classifier to start…"
	}
	return "Waiting…"
}

// WeightsPct is the download's progress as a CSS width ("0%" while the
// size is unknown).
func (s *State) WeightsPct() string {
	if s.WeightsTotal <= 0 {
		return "0%"
	}
	return dash.Percent(float64(s.WeightsLoaded)/float64(s.WeightsTotal), 1)
}

// CountText summarizes the list, e.g. "3 photos · 1 in progress".
func (s *State) CountText() string {
	n, busy := len(s.Items), s.Busy()
	t := strconv.Itoa(n) + " photo"
	if n != 1 {
		t += "s"
	}
	if busy > 0 {
		t += " · " + strconv.Itoa(busy) + " in progress"
	}
	return t
}

// DataAttrs are the item's data attributes besides data-state and data-id:
// data-label, data-p-<class> with each probability at full float32
// precision, and, once done, data-ms.
func (it *Item) DataAttrs() map[string]string {
	m := map[string]string{"data-label": it.Label}
	for i := range it.Probs {
		m["data-p-"+Slug(it.Classes[i])] = it.ProbText(i)
	}
	if it.State == ItemDone {
		m["data-ms"] = it.MsText()
		m["data-taught"] = strconv.FormatBool(it.Taught)
	}
	return m
}

// Slug makes a class name fit an attribute or class name: lower case, each
// run of characters other than a–z and 0–9 a "-" ("My cat!" → "my-cat"),
// "class" when nothing is left. The run's own classes, "cat" and "dog",
// stay as they are.
func Slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	if b.Len() == 0 {
		return "class"
	}
	return b.String()
}

// ProbText writes probability i with full float32 precision.
func (it *Item) ProbText(i int) string { return dash.Full32(it.Probs[i]) }

// ProbShort writes probability i for people (4 decimals).
func (it *Item) ProbShort(i int) string { return dash.Fixed(it.Probs[i], 4) }

// ProbPct is probability i as a CSS width.
func (it *Item) ProbPct(i int) string { return dash.Percent(it.Probs[i], 1) }

// MsText writes the latency in milliseconds: no decimal from 100 ms, one
// below.
func (it *Item) MsText() string {
	if it.Ms >= 100 {
		return dash.Fixed(it.Ms, 0)
	}
	return dash.Fixed(it.Ms, 1)
}

// BarClass is the CSS class of class i's bar, with "win" for the
// predicted class.
func (it *Item) BarClass(i int) string {
	s := "bar-row bar-" + Slug(it.Classes[i])
	if i == it.Best {
		s += " win"
	}
	return s
}
