package classifier

import (
	"testing"

	"github.com/pawnet/pawnet/wasm/protocol"
)

func TestTTACost(t *testing.T) {
	var s State
	if got := s.TTACost(); got != "the photo and its mirror, probabilities averaged: about 2× the time" {
		t.Errorf("empty: %q", got)
	}
	done := func(tta bool, ms float64) {
		it, _ := s.Add("p.jpg", 10)
		s.Apply(protocol.Reply{Type: "result", ID: it.ID, Probs: []float64{0.3, 0.7}, Best: 1, Label: "dog", Ms: ms, TTA: tta, Resample: "4000×3000 → 32×24 (training photos' median) → 64×64"}, 0)
	}
	for _, tc := range []struct {
		tta  bool
		ms   float64
		want string
	}{
		{false, 20, "plain 20 ms/photo; TTA runs the mirror too, about 2×"},
		{false, 30, "plain 25 ms/photo; TTA runs the mirror too, about 2×"},
		{true, 45, "TTA 45 ms/photo · plain 25 ms/photo (1.8×)"},
		{true, 55, "TTA 50 ms/photo · plain 25 ms/photo (2.0×)"},
	} {
		done(tc.tta, tc.ms)
		if got := s.TTACost(); got != tc.want {
			t.Errorf("after a %v ms photo (tta %v): %q, want %q", tc.ms, tc.tta, got, tc.want)
		}
	}
	if it := s.Items[0]; !it.TTA || it.Resample == "" {
		t.Errorf("newest item %+v: TTA and resample not kept", it)
	}
}
