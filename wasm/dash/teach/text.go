package teach

import (
	"strconv"
	"strings"

	"github.com/pawnet/pawnet/wasm/dash"
)

// The panel's text, as the Teach panel's template shows it.

// CountText sums up a class's photos, e.g. "12 photos", "12 photos · 3
// being read · 1 unusable", "4 photos (kept: features only)".
func (c *Class) CountText() string {
	n := c.usable()
	t := plural(n, "photo")
	if kept := c.count(PhotoKept); kept > 0 && kept == n {
		t += " (kept from before)"
	} else if kept > 0 {
		t += " (" + strconv.Itoa(kept) + " kept from before)"
	}
	if q := c.count(PhotoQueued); q > 0 {
		t += " · " + strconv.Itoa(q) + " being read"
	}
	if e := c.count(PhotoError); e > 0 {
		t += " · " + strconv.Itoa(e) + " unusable"
	}
	return t
}

// Errors are the class's unusable photos, each with why.
func (c *Class) Errors() []*Photo {
	var out []*Photo
	for _, p := range c.Photos {
		if p.State == PhotoError {
			out = append(out, p)
		}
	}
	return out
}

// Thumbs are the class's photos with a thumbnail or being read.
func (c *Class) Thumbs() []*Photo {
	var out []*Photo
	for _, p := range c.Photos {
		if p.State == PhotoReady || p.State == PhotoQueued {
			out = append(out, p)
		}
	}
	return out
}

// ZoneClass highlights a class's drop zone during a drag.
func (c *Class) ZoneClass() string {
	if c.Depth > 0 {
		return "teach-drop dragging"
	}
	return "teach-drop"
}

// ThumbClass is a thumbnail's class: "teach-thumb" and its state.
func (p *Photo) ThumbClass() string { return "teach-thumb " + p.State }

// ErrorText is "NAME: why".
func (p *Photo) ErrorText() string { return p.Name + ": " + p.Err }

// TrainLabel is the Train button's text.
func (s *State) TrainLabel() string {
	switch {
	case s.Training:
		return "Training…"
	case s.HasHead:
		return "Train again"
	}
	return "Train"
}

// StateAttr is the panel's data-state: "training", "taught" (a head is
// there) or "idle".
func (s *State) StateAttr() string {
	switch {
	case s.Training:
		return "training"
	case s.HasHead:
		return "taught"
	}
	return "idle"
}

// ProgressText says how the fit advances, e.g. "cross-validation: fit 7
// of 26" or "final fit: iteration 12, loss 0.1234".
func (s *State) ProgressText() string {
	if !s.Training {
		return ""
	}
	if s.Total == 0 {
		return "starting…"
	}
	if s.Stage == "final" {
		t := "final fit (" + strconv.Itoa(s.Total) + " of " + strconv.Itoa(s.Total) + ")"
		if n := len(s.Losses); n > 0 {
			t += ": iteration " + strconv.Itoa(n) + ", loss " + dash.Fixed(s.Losses[n-1], 4)
		}
		return t
	}
	return "cross-validation: fit " + strconv.Itoa(s.Done) + " of " + strconv.Itoa(s.Total)
}

// ProgressPct is the fits done as a CSS width.
func (s *State) ProgressPct() string {
	if s.Total == 0 {
		return "0%"
	}
	return dash.Percent(float64(s.Done)/float64(s.Total), 1)
}

// ReportText describes the taught head, e.g. "cat, dog: cross-validated
// accuracy 95.0% (5 folds, 40 photos) · log loss 0.123 · weight decay 0.1
// · temperature 1.25".
func (s *State) ReportText() string {
	r := s.Report
	if r == nil {
		return ""
	}
	n := 0
	for _, c := range r.Photos {
		n += c
	}
	t := strings.Join(r.Classes, ", ") + ": "
	if r.Folds == 0 {
		return t + "no cross-validation (a class has a single photo; drop more to measure the accuracy) · " +
			plural(n, "photo") + " · weight decay " + dash.Full(r.Lambda)
	}
	return t + "cross-validated accuracy " + dash.Percent(r.CVAccuracy, 1) + " (" + strconv.Itoa(r.Folds) + " folds, " +
		plural(n, "photo") + ") · log loss " + dash.Fixed(r.CVLogLoss, 3) + " · weight decay " + dash.Full(r.Lambda) +
		" · temperature " + dash.Fixed(r.Temperature, 2)
}

// VerdictText says in plain words, when the taught head's
// cross-validation does not show that it separates the classes, that the
// run's own head goes on classifying, why, and what would help ("" when
// it separates them, or before any head).
func (s *State) VerdictText() string {
	r := s.Report
	if r == nil || r.Separates {
		return ""
	}
	const choose = " Tick “Classify with the taught head” to use it anyway."
	if r.Folds == 0 {
		return "Too few photos to tell whether the taught head knows these classes (a class has a single photo), so the run's own head still classifies. Drop a few more photos per class." + choose
	}
	return "These photos' features do not separate the classes: cross-validated accuracy " + dash.Percent(r.CVAccuracy, 1) +
		" against " + dash.Percent(r.Chance, 1) + " by always guessing the largest class, and the calibrated probabilities stay close to that guess. " +
		"So the run's own head still classifies. More photos per class, or weights trained on full-size photos (-model full on a GPU, or -init with ImageNet weights), would separate them better." + choose
}

// AccuracyAttr is the cross-validated accuracy with full precision, for
// data attributes ("" without cross-validation).
func (s *State) AccuracyAttr() string {
	if s.Report == nil || s.Report.Folds == 0 {
		return ""
	}
	return dash.Full(s.Report.CVAccuracy)
}

// TimeText is the last fit's time in the worker.
func (s *State) TimeText() string {
	if s.TrainMs <= 0 {
		return ""
	}
	return "taught in " + dash.Fixed(s.TrainMs, 0) + " ms"
}

// HeadText says which head classifies the photos of the classifier panel.
func (s *State) HeadText() string {
	switch {
	case s.HeadErr != "":
		return "The taught head is not used: " + lowerFirst(s.HeadErr) + " The photos are classified with the run's own head."
	case s.HasHead && s.Active && len(s.HeadClasses) > 0:
		return "The photos you try are classified with the taught head (" + strings.Join(s.HeadClasses, ", ") + ")."
	case s.HasHead && s.Active:
		return "The taught head classifies once the model is loaded."
	case s.HasHead:
		return "The photos you try are classified with the run's own head."
	}
	return ""
}

// ActiveAttr is "true" while the taught head classifies, else "false".
func (s *State) ActiveAttr() string {
	return strconv.FormatBool(s.HasHead && s.Active && s.HeadErr == "")
}

// LossChart lays out the final fit's loss per iteration.
func (s *State) LossChart() dash.Chart {
	pts := make([]dash.Point, len(s.Losses))
	for i, l := range s.Losses {
		pts[i] = dash.Point{X: float64(i + 1), Y: l}
	}
	c := dash.Layout(dash.Spec{
		XLabel: "L-BFGS iteration", YLabel: "Training loss", XMin: 1, XMax: float64(max(len(pts), 2)),
		XInteger: true, YFloor0: true, LastDot: true,
		Series: []dash.Series{{Key: "teach", Name: "final fit", Points: pts}},
	})
	keys := make([]string, len(s.Losses))
	for i, l := range s.Losses {
		keys[i] = dash.Full(l)
	}
	c.Key = "teach " + strings.Join(keys, " ")
	return c
}
