package train

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/explain"
	"github.com/pawnet/pawnet/shared/imageio"
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/dataset"
	"github.com/pawnet/pawnet/trainer/model"
	"github.com/pawnet/pawnet/trainer/progress"
	"github.com/pawnet/pawnet/trainer/rundir"
)

// Step messages are throttled to one per stepInterval (a variable so that
// a test can see every step); a step whose input wait exceeds
// inputBoundFrac of the time is flagged input-bound.
var stepInterval = 250 * time.Millisecond

const (
	inputBoundFrac = 0.2
	thumbSide      = 64
	maxMisclass    = 8
)

// trainEpoch runs the train batches of one epoch (from the saved batch when
// resuming an interrupted epoch). It returns stopped = true when ctx was
// cancelled, this process took Options.MaxSteps steps or metrics.jsonl
// could not be written; r.st.NextBatch then says where to continue. Every
// Options.CheckpointEvery steps it saves a mid-epoch checkpoint.
func (r *Run) trainEpoch(ctx context.Context, l *dataset.Loader, epoch int) (s rundir.Sums, stopped bool, err error) {
	from := 0
	if r.st.NextBatch > 0 && epoch == r.st.Epoch+1 {
		from, s = r.st.NextBatch, r.st.Partial
	}
	nb := l.NumBatches()
	lctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	batches := l.Epoch(lctx, epoch, from)
	var bar *progress.Bar
	if r.opts.Progress {
		// Counted in images, so the bar shows img/s and the ETA.
		bar = progress.New(r.opts.Log, len(l.Indices), fmt.Sprintf("epoch %d/%d", epoch, r.cfg.Epochs), "img")
		bar.Set(min(from*l.BatchSize, len(l.Indices)))
		defer bar.Finish()
	}
	start := time.Now()
	lastEmit, lastImages := start, 0
	var waited time.Duration
	smooth := math.NaN()
	images := 0
	for b := from; b < nb; b++ {
		if ctx.Err() != nil || r.maxed() || r.emit.Err() != nil {
			r.st.NextBatch = b
			return s, true, nil
		}
		t0 := time.Now()
		batch, ok := <-batches
		waited += time.Since(t0)
		if !ok {
			return s, false, fmt.Errorf("loader ended at batch %d of %d", b, nb)
		}
		if c := &r.cfg; c.Schedule == ScheduleCosine {
			lr := LearningRateAt(c.LR, c.Schedule, c.WarmupEpochs, (epoch-1)*nb+b, c.Epochs*nb, nb)
			if err := r.m.SetLearningRate(lr); err != nil {
				return s, false, err
			}
		}
		loss, correct, err := r.m.TrainStep(batch.X, batch.Y, batch.N)
		if err != nil {
			return s, false, fmt.Errorf("epoch %d batch %d: %w", epoch, b, err)
		}
		if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
			return s, false, fmt.Errorf("epoch %d batch %d: loss is %v (diverged)", epoch, b, loss)
		}
		s.Loss += float64(loss) * float64(batch.N)
		s.Correct += correct
		s.Seen += batch.N
		r.steps++
		if k := r.opts.CheckpointEvery; k > 0 && r.steps%k == 0 && b < nb-1 && !r.maxed() {
			r.st.NextBatch = b + 1
			if _, err := r.saveMidEpoch(epoch, s); err != nil {
				return s, false, fmt.Errorf("epoch %d batch %d: checkpoint: %w", epoch, b+1, err)
			}
		}
		images += batch.N
		if math.IsNaN(smooth) {
			smooth = float64(loss)
		} else {
			smooth = 0.9*smooth + 0.1*float64(loss)
		}
		if bar != nil {
			bar.Describe(fmt.Sprintf("epoch %d/%d loss %.4f", epoch, r.cfg.Epochs, smooth))
			bar.Add(batch.N)
		}
		now := time.Now()
		if now.Sub(lastEmit) >= stepInterval || b == nb-1 {
			span := now.Sub(lastEmit).Seconds()
			rate := float64(images-lastImages) / span
			elapsed := now.Sub(start).Seconds()
			done := b + 1 - from
			eta := elapsed / float64(done) * float64(nb-b-1)
			wait := waited.Seconds() / span
			r.emit.Emit(&metrics.Step{Epoch: epoch, Step: b + 1, StepsPerEpoch: nb, GlobalStep: r.m.GlobalStep(),
				Loss: smooth, ImagesPerSec: rate, ElapsedSec: elapsed, ETASec: eta,
				InputWait: wait, InputBound: wait > inputBoundFrac})
			lastEmit, lastImages, waited = now, images, 0
		}
	}
	r.st.NextBatch = 0
	return s, false, nil
}

// evaluation is the result of one pass over the validation set.
type evaluation struct {
	loss, acc, logLoss float64
	confusion          [][]int
	wrong              []metrics.Sample
	logits             []float32 // [n, classes], row-major, in loader order
	labels             []int
}

func (r *Run) evaluate(l *dataset.Loader) (evaluation, error) {
	k := r.cfg.Model.Classes
	dog := metrics.DogIndex(r.cfg.Classes)
	ev := evaluation{confusion: make([][]int, k)}
	for i := range ev.confusion {
		ev.confusion[i] = make([]int, k)
	}
	type miss struct {
		idx, label int
		pDog, conf float64
	}
	var misses []miss
	n := 0
	for batch := range l.Epoch(context.Background(), 0, 0) {
		logits, err := r.m.Logits(batch.X, batch.N)
		if err != nil {
			return ev, err
		}
		ev.logits = append(ev.logits, logits[:batch.N*k]...)
		for j := 0; j < batch.N; j++ {
			ev.labels = append(ev.labels, int(batch.Y[j]))
			row := logits[j*k : (j+1)*k]
			p := alexnet.Probabilities(row)
			y := int(batch.Y[j])
			pred := alexnet.Argmax(p)
			ev.confusion[y][pred]++
			ev.loss += crossEntropy(row, y)
			pDog := float64(p[dog])
			ev.logLoss += metrics.LogLoss(pDog, float64(y))
			if pred == y {
				ev.acc++
			} else {
				misses = append(misses, miss{batch.Index[j], y, pDog, float64(p[pred])})
			}
			n++
		}
	}
	ev.loss /= float64(n)
	ev.acc /= float64(n)
	ev.logLoss /= float64(n)
	sort.Slice(misses, func(a, b int) bool { return misses[a].conf > misses[b].conf })
	for _, m := range misses[:min(len(misses), maxMisclass)] {
		ev.wrong = append(ev.wrong, metrics.Sample{PNG: r.thumbnail(m.idx), Path: r.cache.Items[m.idx].Path,
			True: m.label, PDog: m.pDog, Index: m.idx})
	}
	if err := r.addHeat(ev.wrong); err != nil {
		fmt.Fprintf(r.opts.Log, "misclassified heatmaps: %v\n", err)
	}
	return ev, nil
}

// crossEntropy is −log softmax(logits)[y], computed stably in float64.
func crossEntropy(logits []float32, y int) float64 {
	hi := math.Inf(-1)
	for _, v := range logits {
		hi = math.Max(hi, float64(v))
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - hi)
	}
	return math.Log(sum) + hi - float64(logits[y])
}

// thumbSize is the size of a cached photo's thumbnail: thumbSide square
// when it is larger, else its own.
func thumbSize(img *imageio.RGB) (w, h int) {
	if img.W > thumbSide {
		return thumbSide, thumbSide
	}
	return img.W, img.H
}

// thumbnail returns a cached photo as a base64 PNG of at most thumbSide px.
func (r *Run) thumbnail(idx int) string {
	img := r.cache.Image(idx)
	if w, h := thumbSize(img); w != img.W || h != img.H {
		img = imageio.Resize(img.Image(), w, h)
	}
	b, err := explain.EncodePNG(img.Image())
	if err != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(b)
}

// finishEpoch validates, keeps the best weights, checkpoints and reports.
// nb is the number of train batches of an epoch. When the epoch's summary
// cannot be written to metrics.jsonl, the epoch is not recorded as done:
// training stops with a checkpoint after its last batch (see
// stopOnMetrics), and a resume validates it again.
func (r *Run) finishEpoch(valL *dataset.Loader, epoch int, s rundir.Sums, nb int, took time.Duration) error {
	ev, err := r.evaluate(valL)
	if err != nil {
		return err
	}
	prev := r.st
	best := ev.acc > r.st.BestAcc || r.st.BestEpoch == 0
	var cal *metrics.Calibration
	if best {
		r.st.BestEpoch, r.st.BestAcc, r.st.BestLogLoss, r.st.SinceBest = epoch, ev.acc, ev.logLoss, 0
		if cal, err = r.calibrate(valL, ev); err != nil {
			return err
		}
		r.st.BestCalibration = cal
	} else {
		r.st.SinceBest++
	}
	mark := r.emit.Mark()
	r.emit.Emit(&metrics.Epoch{Epoch: epoch, Epochs: r.cfg.Epochs, TrainLoss: s.Loss / float64(max(s.Seen, 1)),
		TrainAcc: float64(s.Correct) / float64(max(s.Seen, 1)), ValLoss: ev.loss, ValAcc: ev.acc, ValLogLoss: ev.logLoss,
		LR: r.m.LearningRate(), Seconds: took.Seconds(), Best: best, BestEpoch: r.st.BestEpoch, BestValAcc: r.st.BestAcc,
		Calibration: cal})
	r.emit.Emit(&metrics.Confusion{Epoch: epoch, Classes: r.cfg.Classes, Matrix: ev.confusion})
	r.emit.Emit(&metrics.Misclassified{Epoch: epoch, Samples: ev.wrong})
	fmt.Fprintf(r.opts.Log, "epoch %d/%d: train loss %.4f acc %.4f | val loss %.4f acc %.4f log loss %.4f | %.1fs%s\n",
		epoch, r.cfg.Epochs, s.Loss/float64(max(s.Seen, 1)), float64(s.Correct)/float64(max(s.Seen, 1)),
		ev.loss, ev.acc, ev.logLoss, took.Seconds(), map[bool]string{true: " (best)", false: ""}[best])
	if cal != nil {
		fmt.Fprintf(r.opts.Log, "  calibration: temperature %.3f, val log loss %.4f → %.4f; TTA acc %.4f log loss %.4f → %.4f\n",
			cal.Temperature, ev.logLoss, cal.ValLogLossCal, cal.ValAccTTA, cal.ValLogLossTTA, cal.ValLogLossTTACal)
	}
	if werr := r.emit.Err(); werr != nil {
		r.emit.Rewind(mark) // no summary of an epoch the state does not count
		r.st = prev
		r.st.NextBatch = nb
		return r.stopOnMetrics(epoch, s, werr)
	}
	if best {
		if err := r.export(); err != nil {
			return err
		}
	}
	name := filepath.Join(rundir.CheckpointsDir, fmt.Sprintf("epoch-%03d", epoch))
	if err := r.saveCheckpoint(epoch, name); err != nil {
		return err
	}
	r.st.Epoch, r.st.NextBatch, r.st.Partial = epoch, 0, rundir.Sums{}
	return r.commit(name)
}

// export writes the current weights as the run's model.safetensors.
func (r *Run) export() error {
	stats, err := json.Marshal(r.stats)
	if err != nil {
		return err
	}
	path := filepath.Join(r.dir, rundir.WeightsFile)
	meta := alexnet.Metadata{Stats: stats, Classes: r.cfg.Classes, BestEpoch: r.st.BestEpoch, ValAcc: r.st.BestAcc, ValLogLoss: r.st.BestLogLoss}
	if c := r.st.BestCalibration; c != nil {
		meta.Temperature = c.Temperature
	}
	params := r.m.ExportParams()
	size, err := model.WriteWeights(path, r.cfg.Model, params, meta)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	r.emit.Emit(&metrics.Checkpoint{Epoch: r.st.BestEpoch, Kind: metrics.KindExport, Path: path, Bytes: size})
	r.emitFilters(r.st.BestEpoch, params)
	return nil
}

// saveCheckpoint saves the whole training state in the checkpoint folder
// name (relative to the run) and reports it with its size and save time.
func (r *Run) saveCheckpoint(epoch int, name string) error {
	t0 := time.Now()
	if err := r.m.Save(filepath.Join(r.dir, name)); err != nil {
		return err
	}
	secs := time.Since(t0).Seconds()
	fi, err := os.Stat(filepath.Join(r.dir, name, model.CheckpointFile))
	if err != nil {
		return err
	}
	r.emit.Emit(&metrics.Checkpoint{Epoch: epoch, Kind: metrics.KindCheckpoint, Path: filepath.Join(r.dir, name), Bytes: fi.Size(), Seconds: secs})
	return nil
}

// maxed reports whether this process took Options.MaxSteps train steps.
func (r *Run) maxed() bool { return r.opts.MaxSteps > 0 && r.steps >= r.opts.MaxSteps }
