package classifier

import (
	"github.com/pawnet/pawnet/wasm/protocol"
	"reflect"
	"testing"
)

func TestPanelText(t *testing.T) {
	items := func(states ...string) []*Item {
		var out []*Item
		for i, st := range states {
			out = append(out, &Item{ID: i + 1, State: st})
		}
		return out
	}
	for _, tc := range []struct {
		name                             string
		s                                State
		worker, readyMs, weights, queued string
		pct, count                       string
	}{
		{"starting", State{}, "starting", "", "starting the classifier…", "Waiting for the classifier to start…", "0%", "0 photos"},
		{"ready", State{WorkerReady: true, WorkerReadyMs: 1234.56, Weights: WeightsNone},
			"ready", "1234.6", "downloaded with your first photo", "Waiting…", "0%", "0 photos"},
		{"fatal", State{WorkerReady: true, Fatal: "the classifier stopped", Weights: WeightsNone, Items: items(ItemError)},
			"failed", "0.0", "downloaded with your first photo", "Waiting…", "0%", "1 photo"},
		{"fatal at start", State{Fatal: "could not start the classifier", Weights: WeightsNone},
			"failed", "", "downloaded with your first photo", "Waiting for the classifier to start…", "0%", "0 photos"},
		{"loading", State{WorkerReady: true, Weights: WeightsLoading, WeightsLoaded: 1_200_000, WeightsTotal: 4_900_000, Items: items(ItemQueued)},
			"ready", "0.0", "downloading 1.2 MB of 4.9 MB", "Waiting for the model download…", "24.5%", "1 photo · 1 in progress"},
		{"loading, size unknown", State{WorkerReady: true, Weights: WeightsLoading, WeightsLoaded: 512},
			"ready", "0.0", "downloading 512 B", "Waiting for the model download…", "0%", "0 photos"},
		{"loaded", State{WorkerReady: true, Weights: WeightsReady, WeightsLoaded: 4_900_000, WeightsTotal: 4_900_000,
			WeightsInfo: "small · 64 px", Items: items(ItemRunning, ItemQueued, ItemDone)},
			"ready", "0.0", "small · 64 px", "Waiting…", "100.0%", "3 photos · 2 in progress"},
		{"weights error", State{WorkerReady: true, Weights: WeightsError, WeightsErr: "GET /weights: HTTP 500", Items: items(ItemError, ItemDone)},
			"ready", "0.0", "not available: GET /weights: HTTP 500", "Waiting…", "0%", "2 photos"},
	} {
		for _, c := range []struct{ what, got, want string }{
			{"WorkerState", tc.s.WorkerState(), tc.worker},
			{"WorkerReadyText", tc.s.WorkerReadyText(), tc.readyMs},
			{"WeightsText", tc.s.WeightsText(), tc.weights},
			{"QueuedText", tc.s.QueuedText(), tc.queued},
			{"WeightsPct", tc.s.WeightsPct(), tc.pct},
			{"CountText", tc.s.CountText(), tc.count},
		} {
			if c.got != c.want {
				t.Errorf("%s: %s = %q, want %q", tc.name, c.what, c.got, c.want)
			}
		}
	}
}

func TestItemText(t *testing.T) {
	// Probabilities as the worker sends them: float32 values in float64.
	done := &Item{State: ItemDone, Probs: []float64{float64(float32(0.12345679)), float64(float32(0.8765432))},
		Classes: []string{"cat", "dog"}, Best: 1, Label: "dog", Ms: 42.345}
	for _, c := range []struct{ got, want string }{
		{done.ProbText(0), "0.12345679"},
		{done.ProbText(1), "0.8765432"},
		{done.ProbShort(0), "0.1235"},
		{done.ProbShort(1), "0.8765"},
		{done.ProbPct(0), "12.3%"},
		{done.ProbPct(1), "87.7%"},
		{done.BarClass(0), "bar-row bar-cat"},
		{done.BarClass(1), "bar-row bar-dog win"},
		{done.MsText(), "42.3"},
		{(&Item{Ms: 99.96}).MsText(), "100.0"},
		{(&Item{Ms: 100}).MsText(), "100"},
		{(&Item{Ms: 150.7}).MsText(), "151"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	for _, tc := range []struct {
		it   *Item
		want map[string]string
	}{
		{done, map[string]string{"data-label": "dog", "data-p-cat": "0.12345679", "data-p-dog": "0.8765432", "data-ms": "42.3", "data-taught": "false"}},
		{&Item{State: ItemDone, Probs: []float64{0.25, 0.75}, Classes: []string{"My cat!", "Ré x"}, Best: 1, Label: "Ré x", Ms: 5, Taught: true},
			map[string]string{"data-label": "Ré x", "data-p-my-cat": "0.25", "data-p-r-x": "0.75", "data-ms": "5.0", "data-taught": "true"}},
		{&Item{State: ItemQueued}, map[string]string{"data-label": ""}},
		{&Item{State: ItemError, Err: "Bad."}, map[string]string{"data-label": ""}},
	} {
		if got := tc.it.DataAttrs(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v: DataAttrs %v, want %v", tc.it, got, tc.want)
		}
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{"cat": "cat", "dog": "dog", "My cat!": "my-cat", "  --Rex  2 ": "rex-2", "été": "t", "!!": "class", "": "class"} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRequeue: once another head classifies, the finished photos wait to
// be classified again, their results and heatmaps gone; the others stay.
func TestRequeue(t *testing.T) {
	var s State
	a, _ := s.Add("a.jpg", 10)
	b, _ := s.Add("b.jpg", 10)
	bad, _ := s.Add("bad.jpg", 10)
	s.Apply(protocol.Reply{Type: "result", ID: a.ID, Probs: []float64{0.3, 0.7}, Classes: []string{"cat", "dog"}, Best: 1, Label: "dog", Ms: 3,
		Heat: []string{"blob:1", "blob:2"}, HeatW: 4, HeatH: 4}, 0)
	s.Apply(protocol.Reply{Type: "result", ID: bad.ID, Error: "corrupt"}, 0)
	s.ToggleWhy(a.ID)
	s.OpenView(a.ID)
	got := s.Requeue()
	if len(got) != 1 || got[0] != a || a.State != ItemQueued || a.Probs != nil || a.Heat != nil || a.Why || s.Open != 0 {
		t.Errorf("requeued %v: %+v", got, a)
	}
	if b.State != ItemQueued || bad.State != ItemError {
		t.Errorf("others: %s %s", b.State, bad.State)
	}
	s.Apply(protocol.Reply{Type: "result", ID: a.ID, Probs: []float64{0.1, 0.2, 0.7}, Classes: []string{"tabby", "rex", "polly"}, Best: 2, Label: "polly", Taught: true}, 0)
	if !a.Taught || a.TaughtNote() != " · taught head" || a.BarClass(2) != "bar-row bar-polly win" {
		t.Errorf("taught result: %+v", a)
	}
}
