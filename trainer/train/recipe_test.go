package train

import (
	"math"
	"testing"
)

func TestLearningRateAt(t *testing.T) {
	const lr = 1e-3
	// 10 epochs of 10 steps, 2 epochs of warm-up.
	for _, tc := range []struct {
		name     string
		schedule string
		warmup   float64
		step     int
		want     float64
	}{
		{"constant", ScheduleConstant, 0, 57, lr},
		{"empty is constant", "", 2, 3, lr},
		{"first warm-up step", ScheduleCosine, 2, 0, lr / 20},
		{"last warm-up step", ScheduleCosine, 2, 19, lr},
		{"decay starts at lr", ScheduleCosine, 2, 20, lr},
		{"half way down", ScheduleCosine, 2, 60, lr / 2},
		{"no warm-up", ScheduleCosine, 0, 0, lr},
		{"no warm-up, half way", ScheduleCosine, 0, 50, lr / 2},
		{"last step near 0", ScheduleCosine, 0, 99, lr * 0.5 * (1 + math.Cos(math.Pi*0.99))},
		{"past the end, floored", ScheduleCosine, 0, 150, lr * 1e-4},
		{"warm-up longer than the run", ScheduleCosine, 20, 49, lr * 50 / 100},
	} {
		if got := LearningRateAt(lr, tc.schedule, tc.warmup, tc.step, 100, 10); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: lr %g at step %d, want %g", tc.name, got, tc.step, tc.want)
		}
	}
}
