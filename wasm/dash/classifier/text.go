package classifier

import (
	"bytes"
	"encoding/csv"
	"slices"
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

// CountText summarizes the list, e.g. "3 photos · 1 in progress", and
// says when older results were removed to keep MaxItems.
func (s *State) CountText() string {
	n, busy := len(s.Items), s.Busy()
	t := dash.Count(int64(n)) + " photo"
	if n != 1 {
		t += "s"
	}
	if busy > 0 {
		t += " · " + strconv.Itoa(busy) + " in progress"
	}
	if s.Removed > 0 {
		t += " · the oldest " + dash.Count(int64(s.Removed)) + " removed (the page keeps the newest " + dash.Count(int64(MaxItems)) + ")"
	}
	return t
}

// ListNote says, when the list shows only the newest results, where the
// others are, e.g. "Showing the newest 100 of 135 photos; all 135 are in
// the CSV." ("" when every result is shown).
func (s *State) ListNote() string {
	n := len(s.Items)
	if n <= ShownItems {
		return ""
	}
	return "Showing the newest " + dash.Count(int64(ShownItems)) + " of " + dash.Count(int64(n)) + " photos; all " + dash.Count(int64(n)) + " are in the CSV."
}

// CSV writes the results, oldest first, one row per photo: its file name,
// the predicted label, the probability of each class (the columns are
// every class any result has, in the order first seen), the latency in
// ms, whether the mirror was averaged in (TTA) and the taught head
// classified it, and the error of a photo that could not be classified
// (its probabilities left empty). A photo still waiting has its state in
// the error column.
func (s *State) CSV() []byte {
	var classes []string
	for i := len(s.Items) - 1; i >= 0; i-- {
		for _, c := range s.Items[i].Classes {
			if !slices.Contains(classes, c) {
				classes = append(classes, c)
			}
		}
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	head := []string{"name", "label"}
	for _, c := range classes {
		head = append(head, "p_"+c)
	}
	_ = w.Write(append(head, "ms", "tta", "taught", "error"))
	for i := len(s.Items) - 1; i >= 0; i-- {
		it := s.Items[i]
		row := []string{it.Name, it.Label}
		for _, c := range classes {
			p := ""
			if j := slices.Index(it.Classes, c); j >= 0 && j < len(it.Probs) {
				p = it.ProbText(j)
			}
			row = append(row, p)
		}
		ms, tta, taught, errText := "", "", "", it.Err
		switch it.State {
		case ItemDone:
			ms, tta, taught = it.MsText(), strconv.FormatBool(it.TTA), strconv.FormatBool(it.Taught)
		case ItemQueued, ItemRunning:
			errText = "not classified yet (" + it.State + ")"
		}
		_ = w.Write(append(row, ms, tta, taught, errText))
	}
	w.Flush()
	return b.Bytes()
}

// CSVName names the results' download, e.g. "pawnet-results-35.csv".
func (s *State) CSVName() string { return "pawnet-results-" + strconv.Itoa(len(s.Items)) + ".csv" }

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
