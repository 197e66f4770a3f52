package dash

import (
	"math"
	"strconv"
	"strings"
	"sync/atomic"
)

// The dashboard's four charts. Series keys: "train" and "val" on the epoch
// charts, "step" on the step chart; on an overlay of several runs, "cN
// train" and "cN val" (N the run's colour, 0–7) and "cN step".

// epochValue picks one value of an epoch message.
type epochValue func(e epochView) float64

type epochView struct{ trainLoss, valLoss, trainAcc, valAcc, valLogLoss float64 }

func (s *State) epochSeries(key, name string, f epochValue) Series {
	sr := Series{Key: key, Name: name}
	for _, e := range s.Epochs {
		sr.Points = append(sr.Points, Point{X: float64(e.Epoch), Y: f(epochView{e.TrainLoss, e.ValLoss, e.TrainAcc, e.ValAcc, e.ValLogLoss})})
	}
	return sr
}

var (
	trainLoss  epochValue = func(e epochView) float64 { return e.trainLoss }
	valLoss    epochValue = func(e epochView) float64 { return e.valLoss }
	trainAcc   epochValue = func(e epochView) float64 { return e.trainAcc }
	valAcc     epochValue = func(e epochView) float64 { return e.valAcc }
	valLogLoss epochValue = func(e epochView) float64 { return e.valLogLoss }
)

// epochKey is the Key of the epoch chart named name.
func (s *State) epochKey(name string) string {
	return s.key(name, s.epochSeq, strconv.Itoa(s.ShownEpoch()))
}

// stateIDs numbers the states, so that keys of different states differ.
var stateIDs atomic.Uint64

// key makes a chart or gallery key unique to this state: what, the seq of
// the last message that changed it, and more.
func (s *State) key(what string, seq int64, more string) string {
	if s.id == 0 {
		s.id = stateIDs.Add(1)
	}
	return strconv.FormatUint(s.id, 10) + ":" + what + ":" + strconv.FormatInt(seq, 10) + ":" + more
}

func (s *State) epochSpec(ylabel string) Spec {
	best, _ := s.Best()
	sp := Spec{XLabel: "Epoch", YLabel: ylabel, XMin: 1, XMax: float64(max(s.TotalEpochs(), 1)), XInteger: true, Dots: true}
	if best > 0 {
		sp.Best, sp.BestLabel = float64(best), "best · epoch "+itoa(best)
	}
	if e := s.ShownEpoch(); e > 0 {
		sp.Picked = float64(e)
	}
	return sp
}

// LossChart is the train and validation loss (cross-entropy) per epoch.
func (s *State) LossChart() Chart {
	sp := s.epochSpec("Loss")
	sp.YFloor0 = true
	sp.Series = []Series{s.epochSeries("train", "Train", trainLoss), s.epochSeries("val", "Validation", valLoss)}
	c := Layout(sp)
	c.Key = s.epochKey("loss")
	return c
}

// AccuracyChart is the train and validation accuracy per epoch.
func (s *State) AccuracyChart() Chart {
	sp := s.epochSpec("Accuracy")
	sp.YPercent = true
	sp.Series = []Series{s.epochSeries("train", "Train", trainAcc), s.epochSeries("val", "Validation", valAcc)}
	c := Layout(sp)
	c.Key = s.epochKey("acc")
	return c
}

// LogLossChart is the validation log loss (Kaggle's metric) per epoch.
func (s *State) LogLossChart() Chart {
	sp := s.epochSpec("Log loss")
	sp.YFloor0 = true
	sp.Series = []Series{s.epochSeries("val", "Validation", valLogLoss)}
	c := Layout(sp)
	c.Key = s.epochKey("logloss")
	return c
}

// stepSeries is the step loss, smoothed further by an EMA of weight
// smooth (see Smooth).
func (s *State) stepSeries(key, name string, smooth float64) Series {
	sr := Series{Key: key, Name: name, Points: make([]Point, len(s.Steps))}
	for i, p := range s.Steps {
		sr.Points[i] = Point{X: float64(p.GlobalStep), Y: p.Loss}
	}
	Smooth(sr.Points, smooth)
	return sr
}

// StepChart is the smoothed training loss per step, with alternate epochs
// shaded, smoothed further by the page's slider (an EMA of weight smooth,
// 0 for none). It is laid out again only after a new message or for
// another smoothing: a long run has many steps.
func (s *State) StepChart(smooth float64) Chart {
	if c := &s.stepCache; c.ok && c.seq == s.LastSeq && c.smooth == smooth {
		return c.chart
	}
	c := s.stepChart(smooth)
	c.Key = s.key("steps", s.LastSeq, strconv.FormatFloat(smooth, 'g', -1, 64))
	s.stepCache = stepCache{ok: true, seq: s.LastSeq, smooth: smooth, chart: c}
	return c
}

// stepCache is the last step chart laid out, for the LastSeq and
// smoothing it was laid out for.
type stepCache struct {
	ok     bool
	seq    int64
	smooth float64
	chart  Chart
}

func (s *State) stepChart(smooth float64) Chart {
	sp := Spec{XLabel: "Step", YLabel: "Smoothed loss", XInteger: true, YFloor0: true, LastDot: true}
	sp.Series = []Series{s.stepSeries("step", "Train (smoothed)", smooth)}
	if st := s.Step; st != nil && st.StepsPerEpoch > 0 {
		sp.XMax = float64(st.StepsPerEpoch * max(s.TotalEpochs(), 1))
		sp.Bands = float64(st.StepsPerEpoch)
		if best, _ := s.Best(); best > 0 {
			sp.Best, sp.BestLabel = float64(best*st.StepsPerEpoch), "best · end of epoch "+itoa(best)
		}
	}
	return Layout(sp)
}

// MaxSmooth is the largest EMA weight of the smoothing slider.
const MaxSmooth = 0.99

// Smooth replaces the Y of pts by their exponential moving average of
// weight w in [0, MaxSmooth] (0 leaves them as they are), debiased as
// TensorBoard's smoothing slider does: the first points are not pulled
// towards 0. Points whose Y is not finite are kept and skipped.
func Smooth(pts []Point, w float64) {
	if !(w > 0) {
		return
	}
	w = math.Min(w, MaxSmooth)
	last, n := 0.0, 0.0
	for i, p := range pts {
		if !finite(p.Y) {
			continue
		}
		last = last*w + (1-w)*p.Y
		n++
		pts[i].Y = last / (1 - math.Pow(w, n))
	}
}

// Colors is the number of run colours of an overlay (CSS classes c0–c7);
// further runs reuse them in turn.
const Colors = 8

// Overlay is several runs drawn on the same charts.
type Overlay struct {
	Names  []string
	States []*State
	// Smooth is the step chart's EMA weight (see Smooth).
	Smooth float64
}

// ColorKey is the colour class of the i-th run, "c0" to "c7".
func ColorKey(i int) string { return "c" + itoa(i%Colors) }

// overlaySeries is one epoch series of every run of an overlay.
type overlaySeries struct {
	key, name string
	f         epochValue
}

// key is an overlay chart's Key: its runs' names and each state's key of
// the same chart, so that the chart's markup is rebuilt only when a run
// is added, removed or renamed or one of them changed.
func (o Overlay) key(part func(*State) string) string {
	var b strings.Builder
	b.WriteString("overlay")
	for i, s := range o.States {
		b.WriteString("|" + o.Names[i] + "|" + part(s))
	}
	return b.String()
}

func (o Overlay) epochChart(what, ylabel string, percent bool, series ...overlaySeries) Chart {
	sp := Spec{XLabel: "Epoch", YLabel: ylabel, XMin: 1, XMax: 1, XInteger: true, Dots: true, YPercent: percent, YFloor0: !percent}
	for i, s := range o.States {
		sp.XMax = math.Max(sp.XMax, float64(s.TotalEpochs()))
		for _, sr := range series {
			line := s.epochSeries(ColorKey(i)+" "+sr.key, o.Names[i]+" · "+sr.name, sr.f)
			line.Run = o.Names[i]
			sp.Series = append(sp.Series, line)
		}
	}
	c := Layout(sp)
	c.Key = o.key(func(s *State) string { return s.epochKey(what) })
	return c
}

// LossChart overlays the runs' train (dashed) and validation loss.
func (o Overlay) LossChart() Chart {
	return o.epochChart("loss", "Loss", false, overlaySeries{"train", "train", trainLoss}, overlaySeries{"val", "validation", valLoss})
}

// AccuracyChart overlays the runs' train (dashed) and validation accuracy.
func (o Overlay) AccuracyChart() Chart {
	return o.epochChart("acc", "Accuracy", true, overlaySeries{"train", "train", trainAcc}, overlaySeries{"val", "validation", valAcc})
}

// LogLossChart overlays the runs' validation log loss.
func (o Overlay) LogLossChart() Chart {
	return o.epochChart("logloss", "Log loss", false, overlaySeries{"val", "validation", valLogLoss})
}

// StepChart overlays the runs' step loss, smoothed by o.Smooth.
func (o Overlay) StepChart() Chart {
	sp := Spec{XLabel: "Step", YLabel: "Smoothed loss", XInteger: true, YFloor0: true, LastDot: true}
	for i, s := range o.States {
		sr := s.stepSeries(ColorKey(i)+" step", o.Names[i], o.Smooth)
		sr.Run = o.Names[i]
		sp.Series = append(sp.Series, sr)
	}
	c := Layout(sp)
	smooth := strconv.FormatFloat(o.Smooth, 'g', -1, 64)
	c.Key = o.key(func(s *State) string { return s.key("steps", s.LastSeq, smooth) })
	return c
}
