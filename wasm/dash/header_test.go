package dash

import (
	"testing"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/metrics"
)

// texts are the State methods the root template shows, by name.
var texts = map[string]func(*State) string{
	"StatusText":         (*State).StatusText,
	"Backend":            (*State).Backend,
	"Device":             (*State).Device,
	"RunID":              (*State).RunID,
	"ModelText":          (*State).ModelText,
	"ModelDetail":        (*State).ModelDetail,
	"TrainDetail":        (*State).TrainDetail,
	"DatasetText":        (*State).DatasetText,
	"DatasetDetail":      (*State).DatasetDetail,
	"EpochText":          (*State).EpochText,
	"ProgressPct":        (*State).ProgressPct,
	"RateText":           (*State).RateText,
	"TimeLabel":          (*State).TimeLabel,
	"ETAText":            (*State).ETAText,
	"TimeSub":            (*State).TimeSub,
	"BestText":           (*State).BestText,
	"BestDetail":         (*State).BestDetail,
	"ErrorText":          (*State).ErrorText,
	"Footer":             (*State).Footer,
	"ChartNote(loss)":    func(s *State) string { return s.ChartNote("loss") },
	"ChartNote(acc)":     func(s *State) string { return s.ChartNote("acc") },
	"ChartNote(logloss)": func(s *State) string { return s.ChartNote("logloss") },
	"ChartNote(other)":   func(s *State) string { return s.ChartNote("other") },
	"StepNote":           (*State).StepNote,
	"ConfusionNote":      (*State).ConfusionNote,
	"MisclassifiedNote":  (*State).MisclassifiedNote,
}

func runStart() *metrics.RunStart {
	return &metrics.RunStart{RunID: "r1", Backend: "go", Device: "go: 2 cores", Epochs: 4, Batch: 32, LR: 0.001,
		TrainSize: 1440, ValSize: 360, Classes: []string{"cat", "dog"},
		Model: alexnet.Config{Name: "small", InputSize: 64, Channels: [5]int{24, 64, 96, 96, 64}, Dense: 512}}
}

// running is a run in epoch 2 of 4, halfway through it, after a gap in
// the sequence (seq 4 → 6).
func running() *State {
	s := &State{}
	s.Apply(stamp(runStart(), 1))
	s.Apply(stamp(&metrics.Epoch{Epoch: 1, Epochs: 4, TrainLoss: 0.69, ValLoss: 0.68, TrainAcc: 0.55, ValAcc: 0.6,
		ValLogLoss: 0.675, BestEpoch: 1, BestValAcc: 0.6, Seconds: 12}, 2))
	s.Apply(stamp(&metrics.Confusion{Epoch: 1, Classes: []string{"cat", "dog"}, Matrix: [][]int{{150, 30}, {40, 140}}}, 3))
	s.Apply(stamp(&metrics.Misclassified{Epoch: 1, Samples: []metrics.Sample{{PDog: 0.9}, {True: 1, PDog: 0.1}}}, 4))
	s.Apply(stamp(&metrics.Step{Epoch: 2, Step: 5, StepsPerEpoch: 10, GlobalStep: 15, Loss: 0.61234, ETASec: 5, ElapsedSec: 5,
		ImagesPerSec: 123.4, InputBound: true}, 6))
	return s
}

func TestHeaderText(t *testing.T) {
	started := &State{}
	started.Apply(stamp(&metrics.RunStart{Epochs: 4}, 1))

	finished := running()
	finished.Apply(stamp(&metrics.Epoch{Epoch: 2, Epochs: 4, TrainLoss: 0.5, ValLoss: 0.55, TrainAcc: 0.7, ValAcc: 0.7123,
		ValLogLoss: 0.5432, BestEpoch: 2, BestValAcc: 0.7123, Seconds: 13.4}, 7))
	finished.Apply(stamp(&metrics.RunEnd{Status: metrics.StatusFinished, BestEpoch: 2, BestValAcc: 0.7123}, 8))

	// The best epoch is not the last: its own log loss is shown.
	pastBest := running()
	pastBest.Apply(stamp(&metrics.Epoch{Epoch: 2, Epochs: 4, ValAcc: 0.55, ValLogLoss: 0.636, BestEpoch: 1, BestValAcc: 0.6, Seconds: 12}, 7))

	failed := &State{}
	failed.Apply(stamp(runStart(), 1))
	failed.Apply(stamp(&metrics.Epoch{Epoch: 1, Epochs: 4, BestEpoch: 1, BestValAcc: 0.5, Seconds: 3725}, 2))
	failed.Apply(stamp(&metrics.RunEnd{Status: metrics.StatusFailed, Error: "out of memory"}, 3))

	for _, tc := range []struct {
		name string
		s    *State
		want map[string]string
	}{
		{"waiting", &State{}, map[string]string{
			"StatusText": "Waiting for a run", "Backend": "—", "Device": "", "RunID": "", "ModelText": "—",
			"ModelDetail": "", "TrainDetail": "", "DatasetText": "—", "DatasetDetail": "", "EpochText": "—",
			"ProgressPct": "0.0%", "RateText": "—", "TimeLabel": "Time left", "ETAText": "—", "TimeSub": "",
			"BestText": "—", "BestDetail": "", "ErrorText": "", "Footer": "0 messages",
			"ChartNote(loss)": "No epoch finished yet", "ChartNote(acc)": "No epoch finished yet",
			"ChartNote(logloss)": "No epoch finished yet", "ChartNote(other)": "No epoch finished yet",
			"StepNote": "No step yet", "ConfusionNote": "No validation yet", "MisclassifiedNote": "No validation yet",
		}},
		{"started", started, map[string]string{
			"StatusText": "Running", "Backend": "—", "Device": "", "RunID": "", "ModelText": " · 0 px",
			"ModelDetail": "conv 0-0-0-0-0 · fc 0", "TrainDetail": "batch 0 · lr 0", "DatasetText": "0 photos",
			"DatasetDetail": "0 train · 0 val · ", "EpochText": "1 / 4", "ProgressPct": "0.0%", "RateText": "—",
			"TimeLabel": "Time left", "ETAText": "—", "TimeSub": "", "BestText": "—", "BestDetail": "",
			"Footer": "1 messages", "StepNote": "No step yet",
		}},
		{"running", running(), map[string]string{
			"StatusText": "Running", "Backend": "go", "Device": "go: 2 cores", "RunID": "r1", "ModelText": "small · 64 px",
			"ModelDetail": "conv 24-64-96-96-64 · fc 512", "TrainDetail": "batch 32 · lr 0.001", "DatasetText": "1,800 photos",
			"DatasetDetail": "1,440 train · 360 val · cat/dog", "EpochText": "2 / 4", "ProgressPct": "37.5%",
			"RateText": "123", "TimeLabel": "Time left",
			"ETAText": "29s", // 5 s left in epoch 2, then 2 epochs at 12 s
			"TimeSub": "estimated for the run", "BestText": "60.0%", "BestDetail": "epoch 1 · log loss 0.675",
			"ErrorText": "", "Footer": "6 messages · 1 gaps in the sequence",
			"ChartNote(loss)": "epoch 1: train 0.6900 · val 0.6800", "ChartNote(acc)": "epoch 1: train 55.0% · val 60.0%",
			"ChartNote(logloss)": "epoch 1: 0.6750 (P(dog) clipped)", "ChartNote(other)": "",
			"StepNote": "step 5 / 10 of epoch 2 · loss 0.6123", "ConfusionNote": "Validation after epoch 1 (best)",
			"MisclassifiedNote": "Most confident mistakes after epoch 1 (best)",
		}},
		{"finished", finished, map[string]string{
			"StatusText": "Finished", "EpochText": "2 / 4", "ProgressPct": "100.0%", "TimeLabel": "Training time",
			"ETAText": "25s", "TimeSub": "sum of 2 epochs", "BestText": "71.2%", "BestDetail": "epoch 2 · log loss 0.543",
			"ErrorText": "", "Footer": "8 messages · 1 gaps in the sequence", "ChartNote(acc)": "epoch 2: train 70.0% · val 71.2%",
		}},
		{"past the best", pastBest, map[string]string{
			"BestText": "60.0%", "BestDetail": "epoch 1 · log loss 0.675",
		}},
		{"failed", failed, map[string]string{
			"StatusText": "Failed", "EpochText": "1 / 4", "ProgressPct": "25.0%", "TimeLabel": "Training time",
			"ETAText": "1h 02m", "TimeSub": "1 epoch", "BestText": "50.0%", "BestDetail": "epoch 1 · log loss 0.000",
			"ErrorText": "out of memory", "Footer": "3 messages",
		}},
	} {
		for name, want := range tc.want {
			f, ok := texts[name]
			if !ok {
				t.Fatalf("no method %s", name)
			}
			if got := f(tc.s); got != want {
				t.Errorf("%s: %s = %q, want %q", tc.name, name, got, want)
			}
		}
	}
}

func TestInputBoundAndSamples(t *testing.T) {
	s := running()
	if !s.InputBound() {
		t.Error("running, input-bound step: InputBound false")
	}
	if got := s.Samples(); len(got) != 2 || got[1].PDog != 0.1 {
		t.Errorf("samples %+v", got)
	}
	s.Apply(stamp(&metrics.RunEnd{Status: metrics.StatusStopped}, 7))
	if s.InputBound() {
		t.Error("stopped run: InputBound true")
	}
	if (&State{}).InputBound() || (&State{}).Samples() != nil {
		t.Error("empty state: input-bound or samples")
	}
}
