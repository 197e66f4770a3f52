package dash

import (
	"strconv"
	"strings"

	"github.com/pawnet/pawnet/shared/metrics"
)

// The page's text: the run header's cards, the chart and panel notes and
// the footer, as the root template shows them.

// StatusText is the status pill's text: "Waiting for a run", then the
// capitalized status ("Running", "Finished", …).
func (s *State) StatusText() string {
	switch st := s.Status(); st {
	case StatusWaiting:
		return "Waiting for a run"
	default:
		return strings.ToUpper(st[:1]) + st[1:]
	}
}

// Backend is the backend name ("—" before the run starts).
func (s *State) Backend() string {
	if r := s.Run; r != nil && r.Backend != "" {
		return r.Backend
	}
	return "—"
}

// Device says where the run trains ("" when unknown).
func (s *State) Device() string {
	if r := s.Run; r != nil {
		return r.Device
	}
	return ""
}

// RunID names the run ("" before it starts).
func (s *State) RunID() string {
	if r := s.Run; r != nil {
		return r.RunID
	}
	return ""
}

// ModelText describes the model configuration, e.g. "small · 64 px".
func (s *State) ModelText() string {
	r := s.Run
	if r == nil {
		return "—"
	}
	return r.Model.Name + " · " + strconv.Itoa(r.Model.InputSize) + " px"
}

// ModelDetail lists the layer widths, e.g. "conv 24-64-96-96-64 · fc 512".
func (s *State) ModelDetail() string {
	r := s.Run
	if r == nil {
		return ""
	}
	ch := make([]string, len(r.Model.Channels))
	for i, v := range r.Model.Channels {
		ch[i] = strconv.Itoa(v)
	}
	return "conv " + strings.Join(ch, "-") + " · fc " + strconv.Itoa(r.Model.Dense)
}

// TrainDetail gives the batch size and learning rate, e.g.
// "batch 32 · lr 0.001".
func (s *State) TrainDetail() string {
	r := s.Run
	if r == nil {
		return ""
	}
	return "batch " + strconv.Itoa(r.Batch) + " · lr " + strconv.FormatFloat(r.LR, 'g', 3, 64)
}

// DatasetText is the number of photos, e.g. "1,800 photos".
func (s *State) DatasetText() string {
	r := s.Run
	if r == nil {
		return "—"
	}
	return Count(int64(r.TrainSize+r.ValSize)) + " photos"
}

// DatasetDetail gives the split and the classes, e.g.
// "1,440 train · 360 val · cat/dog".
func (s *State) DatasetDetail() string {
	r := s.Run
	if r == nil {
		return ""
	}
	return Count(int64(r.TrainSize)) + " train · " + Count(int64(r.ValSize)) + " val · " + strings.Join(r.Classes, "/")
}

// EpochText is the current epoch of the total, "x / y" ("—" before the
// run starts).
func (s *State) EpochText() string {
	if s.Run == nil {
		return "—"
	}
	return strconv.Itoa(s.CurrentEpoch()) + " / " + strconv.Itoa(s.TotalEpochs())
}

// ProgressPct is the run's progress as a CSS width, e.g. "42.0%".
func (s *State) ProgressPct() string { return Percent(s.Progress(), 1) }

// RateText is the latest throughput in images per second ("—" when
// unknown).
func (s *State) RateText() string { return Rate(s.ImagesPerSec()) }

// InputBound reports whether the latest step of a running run waited on
// its input pipeline.
func (s *State) InputBound() bool {
	return s.Step != nil && s.Step.InputBound && s.Running()
}

// TimeLabel names the time card: the time left while the run trains, the
// time it took once it is over.
func (s *State) TimeLabel() string {
	if s.End != nil {
		return "Training time"
	}
	return "Time left"
}

// ETAText is the estimated time left, or the time the run took once it is
// over.
func (s *State) ETAText() string {
	if s.End != nil {
		return Duration(s.TrainSeconds())
	}
	return Duration(s.ETASec())
}

// TimeSub explains the time card.
func (s *State) TimeSub() string {
	switch {
	case s.End != nil:
		if n := len(s.Epochs); n != 1 {
			return "sum of " + strconv.Itoa(n) + " epochs"
		}
		return "1 epoch"
	case s.Running() && s.ETASec() >= 0:
		return "estimated for the run"
	}
	return ""
}

// BestText is the best validation accuracy ("—" before the first epoch).
func (s *State) BestText() string {
	e, acc := s.Best()
	if e == 0 {
		return "—"
	}
	return Percent(acc, 1)
}

// BestDetail names the best epoch and that epoch's validation log loss,
// e.g. "epoch 12 · log loss 0.412" (the epoch alone when its record is not
// in the state, e.g. a history that starts later).
func (s *State) BestDetail() string {
	e, _ := s.Best()
	if e == 0 {
		return ""
	}
	t := "epoch " + strconv.Itoa(e)
	if best := s.EpochRecord(e); best != nil {
		t += " · log loss " + Fixed(best.ValLogLoss, 3)
	}
	return t
}

// ErrorText is the run's error, if it failed.
func (s *State) ErrorText() string {
	if s.End != nil {
		return s.End.Error
	}
	return ""
}

// Footer summarizes the message stream, e.g. "120 messages · 1 gaps in the
// sequence".
func (s *State) Footer() string {
	t := strconv.FormatInt(s.LastSeq, 10) + " messages"
	if s.Gaps > 0 {
		t += " · " + strconv.Itoa(s.Gaps) + " gaps in the sequence"
	}
	return t
}

// ChartNote is the subtitle of an epoch chart ("loss", "acc" or
// "logloss"): the latest epoch's values.
func (s *State) ChartNote(which string) string {
	e := s.LastEpoch()
	if e == nil {
		return "No epoch finished yet"
	}
	ep := "epoch " + strconv.Itoa(e.Epoch) + ": "
	switch which {
	case "loss":
		return ep + "train " + Fixed(e.TrainLoss, 4) + " · val " + Fixed(e.ValLoss, 4)
	case "acc":
		return ep + "train " + Percent(e.TrainAcc, 1) + " · val " + Percent(e.ValAcc, 1)
	case "logloss":
		return ep + Fixed(e.ValLogLoss, 4) + " (P(dog) clipped)"
	}
	return ""
}

// StepNote is the subtitle of the step chart: the latest step and its
// loss.
func (s *State) StepNote() string {
	st := s.Step
	if st == nil {
		return "No step yet"
	}
	return "step " + strconv.Itoa(st.Step) + " / " + strconv.Itoa(st.StepsPerEpoch) + " of epoch " + strconv.Itoa(st.Epoch) +
		" · loss " + Fixed(st.Loss, 4)
}

// ConfusionNote names the epoch of the confusion matrix.
func (s *State) ConfusionNote() string {
	c := s.ShownConfusion()
	if c == nil {
		return "No validation yet"
	}
	return "Validation after epoch " + strconv.Itoa(c.Epoch) + s.bestMark(c.Epoch)
}

// MisclassifiedNote names the epoch of the misclassified photos.
func (s *State) MisclassifiedNote() string {
	m := s.ShownMisclassified()
	if m == nil && s.Wanted() != 0 {
		return "Loading the mistakes of epoch " + strconv.Itoa(s.ShownEpoch()) + "…"
	}
	if m == nil {
		return "No validation yet"
	}
	return "Most confident mistakes after epoch " + strconv.Itoa(m.Epoch) + s.bestMark(m.Epoch)
}

// bestMark is " (best)" for the best epoch.
func (s *State) bestMark(epoch int) string {
	if best, _ := s.Best(); best == epoch {
		return " (best)"
	}
	return ""
}

// Samples are the shown epoch's misclassified photos (nil before the
// first validation).
func (s *State) Samples() []metrics.Sample {
	if m := s.ShownMisclassified(); m != nil {
		return m.Samples
	}
	return nil
}
