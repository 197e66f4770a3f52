package dash

import (
	"html"
	"sort"
	"strconv"
	"strings"

	"github.com/pawnet/pawnet/shared/metrics"
)

// The epoch selector: the confusion matrix and the misclassified photos
// show one epoch's validation, the best epoch's unless the user picked
// another (State.Picked).

// ShownEpoch is the epoch whose validation the page shows: the picked
// epoch when it has been validated, else the best epoch when it has, else
// the latest validated one (0 before any validation).
func (s *State) ShownEpoch() int {
	if p := s.picked(); p > 0 {
		return p
	}
	if best, _ := s.Best(); best > 0 {
		if _, ok := s.Confusions[best]; ok {
			return best
		}
	}
	if s.Confusion != nil {
		return s.Confusion.Epoch
	}
	return 0
}

// picked is Picked when that epoch has been validated, else 0: an epoch
// picked ahead of the run (in a link) counts as none until it is.
func (s *State) picked() int {
	if _, ok := s.Confusions[s.Picked]; ok {
		return s.Picked
	}
	return 0
}

// PickedBest reports whether the page shows the best epoch because the
// user picked none (the selector's default).
func (s *State) PickedBest() bool {
	best, _ := s.Best()
	return s.picked() == 0 && s.ShownEpoch() == best
}

// ShownConfusion is the shown epoch's confusion matrix (nil when none).
func (s *State) ShownConfusion() *metrics.Confusion { return s.Confusions[s.ShownEpoch()] }

// ShownMisclassified is the shown epoch's misclassified photos (nil when
// none, or while they are deferred: see Wanted).
func (s *State) ShownMisclassified() *metrics.Misclassified {
	return s.Misclassifieds[s.ShownEpoch()]
}

// Wanted is the seq of the shown epoch's misclassified message when a
// History frame deferred it and it is still to fetch (0 when none).
func (s *State) Wanted() int64 { return s.Deferred[s.ShownEpoch()] }

// EpochChoice is one option of the epoch selector.
type EpochChoice struct {
	// Epoch is the option's value: 0 for "the best epoch", which follows
	// the best epoch as it changes.
	Epoch    int
	Label    string
	Selected bool
}

// EpochChoicesKey changes whenever EpochChoices may: a message that changed
// the epochs or confusion matrices, or another epoch picked.
func (s *State) EpochChoicesKey() string {
	return s.key("epoch-choices", s.epochSeq, strconv.Itoa(s.picked())+"/"+strconv.Itoa(s.ShownEpoch()))
}

// EpochChoices lists the epoch selector's options: first the best epoch
// (the default, labelled as such), then every validated epoch with its
// validation accuracy.
func (s *State) EpochChoices() []EpochChoice {
	best, acc := s.Best()
	shown := s.ShownEpoch()
	var out []EpochChoice
	if best > 0 {
		out = append(out, EpochChoice{Epoch: 0, Label: "Best epoch (" + strconv.Itoa(best) + " · " + Percent(acc, 1) + ")",
			Selected: s.picked() == 0})
	}
	epochs := make([]int, 0, len(s.Confusions))
	for e := range s.Confusions {
		epochs = append(epochs, e)
	}
	sort.Ints(epochs)
	accs := map[int]float64{}
	for _, e := range s.Epochs {
		accs[e.Epoch] = e.ValAcc
	}
	for _, e := range epochs {
		label := "Epoch " + strconv.Itoa(e)
		if a, ok := accs[e]; ok {
			label += " · val acc " + Percent(a, 1)
		}
		if e == best {
			label += " (best)"
		}
		out = append(out, EpochChoice{Epoch: e, Label: label, Selected: s.picked() != 0 && e == shown})
	}
	return out
}

// EpochNote says which epoch the confusion matrix and the gallery show:
// "Showing the best epoch (12)", "Showing epoch 7; the best is 12", or
// "" before any validation. Clicking a point of an epoch chart picks its
// epoch.
func (s *State) EpochNote() string {
	shown := s.ShownEpoch()
	if shown == 0 {
		return ""
	}
	best, _ := s.Best()
	switch {
	case shown == best && s.PickedBest():
		return "Showing the best epoch (" + strconv.Itoa(best) + "). Click a point on a chart to pick another."
	case shown == best:
		return "Showing epoch " + strconv.Itoa(shown) + ", the best."
	case best > 0:
		return "Showing epoch " + strconv.Itoa(shown) + "; the best is " + strconv.Itoa(best) + "."
	}
	return "Showing epoch " + strconv.Itoa(shown) + "."
}

// OptionsHTML writes the epoch selector's options as <option> markup.
func OptionsHTML(choices []EpochChoice) string {
	var b strings.Builder
	for _, o := range choices {
		b.WriteString(`<option value="` + strconv.Itoa(o.Epoch) + `">` + html.EscapeString(o.Label) + `</option>`)
	}
	return b.String()
}

// GalleryKey identifies the photos the gallery shows ("" when none).
func (s *State) GalleryKey() string {
	m := s.ShownMisclassified()
	if m == nil {
		return ""
	}
	return s.key("gallery", m.Seq, "")
}
