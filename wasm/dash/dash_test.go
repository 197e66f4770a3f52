package dash

import (
	"math"
	"strings"
	"testing"

	"github.com/pawnet/pawnet/shared/metrics"
)

func stamp[M metrics.Message](m M, seq int64) M {
	metrics.Stamp(m, seq, 0)
	return m
}

func TestApplyDedupAndOrder(t *testing.T) {
	var s State
	if s.Status() != StatusWaiting {
		t.Fatalf("status %q", s.Status())
	}
	s.Apply(stamp(&metrics.RunStart{Epochs: 3, Classes: []string{"cat", "dog"}}, 1))
	s.Apply(stamp(&metrics.Step{Epoch: 1, Step: 2, StepsPerEpoch: 4, GlobalStep: 2, Loss: 0.7, ETASec: 2, ElapsedSec: 2}, 2))
	if s.Status() != StatusRunning || s.CurrentEpoch() != 1 {
		t.Fatalf("status %q epoch %d", s.Status(), s.CurrentEpoch())
	}
	if p := s.Progress(); p < 0.16 || p > 0.17 {
		t.Errorf("progress %v, want 1/6", p)
	}
	// Epoch 2 arrives before epoch 1 (never on the wire, but Apply sorts).
	s.Apply(stamp(&metrics.Epoch{Epoch: 2, Epochs: 3, ValAcc: 0.7, BestEpoch: 2, BestValAcc: 0.7, Seconds: 4}, 4))
	s.Apply(stamp(&metrics.Epoch{Epoch: 1, Epochs: 3, ValAcc: 0.6, BestEpoch: 1, BestValAcc: 0.6, Seconds: 4}, 3))
	if len(s.Epochs) != 1 {
		// seq 3 after seq 4 is a duplicate by number and must be dropped.
		t.Fatalf("%d epochs after an out-of-order seq", len(s.Epochs))
	}
	if s.Apply(stamp(&metrics.Epoch{Epoch: 2}, 4)) {
		t.Error("duplicate seq applied")
	}
	if s.Gaps != 1 {
		t.Errorf("gaps %d, want 1 (seq 2 → 4)", s.Gaps)
	}
	s.Apply(stamp(&metrics.Epoch{Epoch: 1, Epochs: 3}, 5))
	if s.Epochs[0].Epoch != 1 || s.Epochs[1].Epoch != 2 {
		t.Errorf("epochs not sorted")
	}
	if b, acc := s.Best(); b != 2 || acc != 0.7 {
		t.Errorf("best %d %v", b, acc) // from the last epoch in order (epoch 2)
	}
	s.Apply(stamp(&metrics.Checkpoint{Kind: metrics.KindExport, Epoch: 2, Bytes: 10}, 6))
	if s.ExportVersion() != 6 {
		t.Errorf("export version %d", s.ExportVersion())
	}
	s.Apply(stamp(&metrics.RunEnd{Status: metrics.StatusFinished, BestEpoch: 2, BestValAcc: 0.7}, 7))
	if s.Status() != metrics.StatusFinished || s.ETASec() >= 0 || s.Progress() != 1 {
		t.Errorf("after run_end: %q eta %v progress %v", s.Status(), s.ETASec(), s.Progress())
	}
	// A resumed run is running again.
	s.Apply(stamp(&metrics.RunStart{Epochs: 5, StartEpoch: 3, Resumed: true}, 8))
	if s.Status() != StatusRunning || s.TotalEpochs() != 5 || s.CurrentEpoch() != 3 {
		t.Errorf("resumed: %q total %d current %d", s.Status(), s.TotalEpochs(), s.CurrentEpoch())
	}
}

func TestStepsReplayAfterResume(t *testing.T) {
	var s State
	for i := int64(1); i <= 10; i++ {
		s.Apply(stamp(&metrics.Step{GlobalStep: i, Loss: 1}, i))
	}
	s.Apply(stamp(&metrics.Step{GlobalStep: 7, Loss: 2}, 11))
	if len(s.Steps) != 7 || s.Steps[6].Loss != 2 {
		t.Fatalf("steps after replay: %v", s.Steps)
	}
	// Every step is kept: the chart thins them per pixel column.
	const n = 30000
	for i := int64(12); i < 12+n; i++ {
		s.Apply(stamp(&metrics.Step{GlobalStep: i - 4}, i))
	}
	if len(s.Steps) != 7+n || s.Steps[len(s.Steps)-1].GlobalStep != 12+n-1-4 {
		t.Errorf("%d step points kept, last %v", len(s.Steps), s.Steps[len(s.Steps)-1])
	}
}

func TestETA(t *testing.T) {
	var s State
	s.Apply(stamp(&metrics.RunStart{Epochs: 4}, 1))
	s.Apply(stamp(&metrics.Step{Epoch: 1, Step: 5, StepsPerEpoch: 10, ElapsedSec: 5, ETASec: 5}, 2))
	if eta := s.ETASec(); eta != 5+3*10 {
		t.Errorf("eta %v, want 35", eta)
	}
	s.Apply(stamp(&metrics.Epoch{Epoch: 1, Epochs: 4, Seconds: 12}, 3))
	// Between epochs: 3 epochs left at 12 s.
	if eta := s.ETASec(); eta != 36 {
		t.Errorf("eta %v, want 36", eta)
	}
}

func TestLayout(t *testing.T) {
	c := Layout(Spec{XLabel: "Epoch", XMin: 1, XMax: 10, XInteger: true, YPercent: true, Dots: true, Best: 2, BestLabel: "best",
		Series: []Series{{Key: "val", Name: "Val", Points: []Point{{1, 0.5}, {2, 0.71}, {3, 0.69}}}}})
	if c.Empty || !c.HasBest || len(c.Lines) != 1 || len(c.Lines[0].Dots) != 3 {
		t.Fatalf("layout %+v", c)
	}
	if !c.Lines[0].Dots[1].Best || c.Lines[0].Dots[0].Best {
		t.Error("best dot not marked")
	}
	if c.Lines[0].Dots[1].YText != "0.71" {
		t.Errorf("y text %q", c.Lines[0].Dots[1].YText)
	}
	var labels []string
	for _, tk := range c.YTicks {
		labels = append(labels, tk.Label)
	}
	if got := strings.Join(labels, " "); got != "50% 60% 70% 80%" {
		t.Errorf("y ticks %q", got)
	}
	labels = labels[:0]
	for _, tk := range c.XTicks {
		labels = append(labels, tk.Label)
	}
	if got := strings.Join(labels, " "); got != "2 4 6 8 10" {
		t.Errorf("x ticks %q", got)
	}
	if len(c.Lines[0].Path) != 3 {
		t.Errorf("path %v", c.Lines[0].Path)
	}
	// One point, or none, still lays out.
	if c := Layout(Spec{Series: []Series{{Points: []Point{{1, 0.3}}}}, Dots: true}); len(c.YTicks) < 2 || len(c.Lines[0].Dots) != 1 {
		t.Errorf("single point: %+v", c)
	}
	if c := Layout(Spec{LastDot: true, XInteger: true, Series: []Series{{Points: []Point{{1, 0.3}, {2, 0.2}}}}}); len(c.Lines[0].Dots) != 1 || c.Lines[0].Dots[0].XText != "2" {
		t.Errorf("last dot: %+v", c.Lines[0].Dots)
	}
	if c := Layout(Spec{}); !c.Empty || len(c.YTicks) == 0 {
		t.Errorf("empty: %+v", c)
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Duration(42.4), "42s"}, {Duration(185), "3m 05s"}, {Duration(7800), "2h 10m"}, {Duration(-1), "—"},
		{Percent(0.8767, 1), "87.7%"}, {Bytes(233_000_000), "233.0 MB"}, {Bytes(999), "999 B"},
		{Rate(1234.6), "1235"}, {Rate(12.34), "12.3"}, {Rate(0), "—"}, {Count(1234567), "1,234,567"},
		{Rate(3.14159), "3.14"}, {Count(-1234), "-1,234"}, {Count(999), "999"},
		{Fixed(0.61234, 4), "0.6123"}, {Fixed(math.NaN(), 2), "—"}, {Percent(math.NaN(), 1), "—"},
		{Full(0.71), "0.71"}, {Full(0.30000000000000004), "0.30000000000000004"}, {Full(1e-7), "1e-07"},
		{Full32(float64(float32(0.8765432))), "0.8765432"}, {Full32(0.30000000000000004), "0.3"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
