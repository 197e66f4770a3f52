package dash

// The dashboard's four charts. Series keys: "train" and "val" on the epoch
// charts, "step" on the step chart.

func (s *State) epochSeries(key, name string, f func(e epochView) float64) Series {
	sr := Series{Key: key, Name: name}
	for _, e := range s.Epochs {
		sr.Points = append(sr.Points, Point{X: float64(e.Epoch), Y: f(epochView{e.TrainLoss, e.ValLoss, e.TrainAcc, e.ValAcc, e.ValLogLoss})})
	}
	return sr
}

type epochView struct{ trainLoss, valLoss, trainAcc, valAcc, valLogLoss float64 }

func (s *State) epochSpec(ylabel string) Spec {
	best, _ := s.Best()
	sp := Spec{XLabel: "Epoch", YLabel: ylabel, XMin: 1, XMax: float64(max(s.TotalEpochs(), 1)), XInteger: true, Dots: true}
	if best > 0 {
		sp.Best, sp.BestLabel = float64(best), "best · epoch "+itoa(best)
	}
	return sp
}

// LossChart is the train and validation loss (cross-entropy) per epoch.
func (s *State) LossChart() Chart {
	sp := s.epochSpec("Loss")
	sp.YFloor0 = true
	sp.Series = []Series{
		s.epochSeries("train", "Train", func(e epochView) float64 { return e.trainLoss }),
		s.epochSeries("val", "Validation", func(e epochView) float64 { return e.valLoss }),
	}
	return Layout(sp)
}

// AccuracyChart is the train and validation accuracy per epoch.
func (s *State) AccuracyChart() Chart {
	sp := s.epochSpec("Accuracy")
	sp.YPercent = true
	sp.Series = []Series{
		s.epochSeries("train", "Train", func(e epochView) float64 { return e.trainAcc }),
		s.epochSeries("val", "Validation", func(e epochView) float64 { return e.valAcc }),
	}
	return Layout(sp)
}

// LogLossChart is the validation log loss (Kaggle's metric) per epoch.
func (s *State) LogLossChart() Chart {
	sp := s.epochSpec("Log loss")
	sp.YFloor0 = true
	sp.Series = []Series{s.epochSeries("val", "Validation", func(e epochView) float64 { return e.valLogLoss })}
	return Layout(sp)
}

// StepChart is the smoothed training loss per step, with alternate epochs
// shaded.
func (s *State) StepChart() Chart {
	sp := Spec{XLabel: "Step", YLabel: "Smoothed loss", XInteger: true, YFloor0: true, LastDot: true}
	sr := Series{Key: "step", Name: "Train (smoothed)"}
	for _, p := range s.Steps {
		sr.Points = append(sr.Points, Point{X: float64(p.GlobalStep), Y: p.Loss})
	}
	sp.Series = []Series{sr}
	if st := s.Step; st != nil && st.StepsPerEpoch > 0 {
		sp.XMax = float64(st.StepsPerEpoch * max(s.TotalEpochs(), 1))
		sp.Bands = float64(st.StepsPerEpoch)
		if best, _ := s.Best(); best > 0 {
			sp.Best, sp.BestLabel = float64(best*st.StepsPerEpoch), "best · end of epoch "+itoa(best)
		}
	}
	return Layout(sp)
}
