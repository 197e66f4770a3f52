package train

import (
	"context"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/shared/preprocess"
	"github.com/pawnet/pawnet/trainer/dataset"
)

// reliabilityBins is the number of bins of the reliability diagram.
const reliabilityBins = 10

// calibrate fits the temperature on a best epoch's validation logits and
// runs the validation set once more, mirrored, for the test-time
// augmentation figures (probabilities of the photo and its mirror
// averaged, as shared/classify does with tta).
func (r *Run) calibrate(valL *dataset.Loader, ev evaluation) (*metrics.Calibration, error) {
	k := r.cfg.Model.Classes
	dog := metrics.DogIndex(r.cfg.Classes)
	size := r.cfg.Model.InputSize
	var mirrored []float32
	for batch := range valL.Epoch(context.Background(), 0, 0) {
		x := make([]float32, 0, len(batch.X))
		per := size * size * 3
		for j := range batch.N {
			x = append(x, preprocess.Mirror(batch.X[j*per:(j+1)*per], size)...)
		}
		logits, err := r.m.Logits(x, batch.N)
		if err != nil {
			return nil, err
		}
		mirrored = append(mirrored, logits[:batch.N*k]...)
	}
	t := metrics.FitTemperature(ev.logits, ev.labels, k)
	c := &metrics.Calibration{Temperature: t}
	n := len(ev.labels)
	pTTA := make([]float64, n)
	dogLabel := make([]int, n)
	for i, y := range ev.labels {
		if y == dog {
			dogLabel[i] = 1
		}
		row, mrow := ev.logits[i*k:(i+1)*k], mirrored[i*k:(i+1)*k]
		p, pm := alexnet.Probabilities(row), alexnet.Probabilities(mrow)
		pc, pmc := alexnet.TemperedProbabilities(row, t), alexnet.TemperedProbabilities(mrow, t)
		avg := make([]float32, k)
		for j := range avg {
			avg[j] = (p[j] + pm[j]) / 2
		}
		if alexnet.Argmax(avg) == y {
			c.ValAccTTA++
		}
		c.ValLogLossCal += metrics.LogLoss(float64(pc[dog]), float64(dogLabel[i]))
		c.ValLogLossTTA += metrics.LogLoss(float64(avg[dog]), float64(dogLabel[i]))
		pTTA[i] = float64(pc[dog]+pmc[dog]) / 2
		c.ValLogLossTTACal += metrics.LogLoss(pTTA[i], float64(dogLabel[i]))
	}
	if n > 0 {
		c.ValAccTTA /= float64(n)
		c.ValLogLossCal /= float64(n)
		c.ValLogLossTTA /= float64(n)
		c.ValLogLossTTACal /= float64(n)
	}
	c.Reliability = metrics.Reliability(pTTA, dogLabel, reliabilityBins)
	return c, nil
}
