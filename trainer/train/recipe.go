package train

import (
	"fmt"
	"math"
)

// Learning-rate schedules (Options.Schedule).
const (
	// ScheduleConstant keeps Options.LR for the whole run.
	ScheduleConstant = "constant"
	// ScheduleCosine warms up linearly from LR/steps-of-warm-up to LR over
	// Options.WarmupEpochs, then decays to about 0 along a half cosine
	// that ends at the run's last step.
	ScheduleCosine = "cosine"
)

// LearningRateAt is the learning rate of train step `step` (0-based,
// counted over the whole run) out of `total`, with `perEpoch` steps per
// epoch, under schedule. A warm-up longer than the run is cut to it. It
// depends only on its arguments, so a resumed run continues the same
// curve. An empty schedule is ScheduleConstant.
func LearningRateAt(lr float64, schedule string, warmupEpochs float64, step, total, perEpoch int) float64 {
	if schedule != ScheduleCosine || total <= 0 {
		return lr
	}
	// e.g. -epochs 1 with the default warm-up of 2.
	warm := min(int(math.Round(warmupEpochs*float64(perEpoch))), total)
	if step < warm {
		return lr * float64(step+1) / float64(warm)
	}
	span := max(total-warm, 1)
	x := min(float64(step-warm)/float64(span), 1)
	// Never exactly 0: the model refuses a non-positive rate.
	return max(lr*0.5*(1+math.Cos(math.Pi*x)), lr*1e-4)
}

// validateRecipe checks the schedule, warm-up, weight decay and label
// smoothing, naming their flags.
func (o Options) validateRecipe() error {
	switch {
	case o.Schedule != "" && o.Schedule != ScheduleConstant && o.Schedule != ScheduleCosine:
		return fmt.Errorf("-schedule %q: want %s or %s", o.Schedule, ScheduleConstant, ScheduleCosine)
	case !(o.WarmupEpochs >= 0) || math.IsInf(o.WarmupEpochs, 0):
		return fmt.Errorf("-warmup %v: must be 0 or more epochs", o.WarmupEpochs)
	case !(o.WeightDecay >= 0) || math.IsInf(o.WeightDecay, 0):
		return fmt.Errorf("-wd %v: must be 0 (plain Adam) or a positive number", o.WeightDecay)
	case !(o.LabelSmoothing >= 0 && o.LabelSmoothing < 1):
		return fmt.Errorf("-label-smoothing %v: must be in [0, 1)", o.LabelSmoothing)
	}
	return nil
}
