// Package train is pawnet's training loop: it reads a class-folder
// dataset, makes the seeded train/validation split, decodes every photo
// once into a uint8 cache, and trains the GoMLX AlexNet epoch by epoch with
// the seed recipe (Adam, cross-entropy, augmentation). It keeps the best
// weights by validation accuracy, stops early, writes atomic checkpoints,
// resumes, and sends every event through one Sink.
package train

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/shared/preprocess"
	"github.com/pawnet/pawnet/trainer/dataset"
	"github.com/pawnet/pawnet/trainer/model"
	"github.com/pawnet/pawnet/trainer/progress"
	"github.com/pawnet/pawnet/trainer/rundir"
)

// Result is what a run produced.
type Result struct {
	RunDir string
	Status string // metrics.StatusFinished, StatusStopped or StatusFailed
	// Started reports whether training began: the data was prepared and
	// the run-start message sent. A run that fails before it has nothing
	// for a dashboard to show but its error.
	Started     bool
	Epochs      int // finished epochs
	BestEpoch   int
	BestValAcc  float64
	BestLogLoss float64
	Weights     string // exported best weights
}

// Run is one training run: its folder, configuration and state. Open
// creates or reopens it; Train runs it once.
type Run struct {
	opts    Options
	cfg     rundir.Config
	dir     string
	st      rundir.State
	emit    *rundir.Emitter
	stats   preprocess.Stats
	norm    preprocess.Normalizer
	cache   *dataset.Cache
	scanned *dataset.Dataset // the data Open scanned (nil on a resume)
	trainIx []int
	valIx   []int
	m       *model.Model
	backend string
	device  string
	reason  string
	started bool
	// kept is where metrics.jsonl is cut back to when the run fails,
	// before its run-end message: the end of the last checkpoint's
	// messages, or of this process's run start when it saved none (the
	// work after it is redone by a resume, which removes the rest).
	kept  rundir.Mark
	steps int          // train steps taken by this process
	init  *initWeights // the -init weights, until they are applied
}

// Open validates opts and creates the run folder with its run.json, or,
// with opts.Resume, reads the folder's run.json and state.json back. The
// folder and run id are fixed from here on (see Dir), so that a server can
// serve the folder before training starts.
func Open(opts Options) (*Run, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Log == nil {
		opts.Log = os.Stderr
	}
	r := &Run{opts: opts, backend: opts.Backend, reason: opts.BackendReason}
	if r.backend == "" {
		r.backend = model.GoBackendName
	}
	if r.reason == "" {
		r.reason = "pure-Go CPU backend (the default)"
	}
	if err := model.CheckDevices(r.backend, opts.Devices); err != nil {
		return nil, err
	}
	if opts.Resume != "" {
		return r, r.reopen()
	}
	if err := r.readInit(opts.Init, opts.Model); err != nil {
		return nil, err
	}
	// A folder that cannot be trained on (one still in Kaggle's flat
	// layout, say) is refused before a run folder is made for it.
	ds, err := dataset.Scan(opts.DataDir)
	if err != nil {
		return nil, err
	}
	r.scanned = ds // prepare uses it: a zip is opened (and a nested one inflated) once
	id := opts.RunID
	if id == "" {
		id = time.Now().Format("20060102-150405")
	}
	r.dir = filepath.Join(opts.RunsDir, id)
	if _, err := os.Stat(filepath.Join(r.dir, rundir.ConfigFile)); err == nil {
		return nil, fmt.Errorf("run folder %s already exists; pass -resume %s to continue it", r.dir, r.dir)
	}
	if err := os.MkdirAll(filepath.Join(r.dir, rundir.CheckpointsDir), 0o755); err != nil {
		return nil, err
	}
	r.cfg = rundir.Config{RunID: id, DataDir: opts.DataDir, Model: opts.Model, Backend: r.backend, Epochs: opts.Epochs,
		BatchSize: opts.BatchSize, LR: opts.LR, Seed: opts.Seed, ValFraction: opts.ValFraction, Patience: opts.Patience,
		Keep: opts.Keep, NoAugment: opts.NoAugment, BF16: opts.BF16, Schedule: opts.Schedule, WarmupEpochs: opts.WarmupEpochs,
		WeightDecay: opts.WeightDecay, LabelSmoothing: opts.LabelSmoothing, FineTune: opts.FineTune}
	if err := rundir.WriteConfig(r.dir, r.cfg); err != nil {
		return nil, err
	}
	return r, nil
}

// reopen reads a run folder back for a resume. It continues from the
// checkpoint state.json names or, when that one is damaged, from the
// newest intact older one (rundir.Resume), which then becomes state.json;
// either way metrics.jsonl is rolled back to that checkpoint's last
// message, so that what follows is redone once, not repeated. A folder
// whose run failed before its first checkpoint has no state.json and
// starts from scratch. Nothing is changed when the resume is refused, and
// run.json only once training can start.
func (r *Run) reopen() error {
	o := &r.opts
	r.dir = o.Resume
	var err error
	if r.cfg, err = rundir.ReadConfig(r.dir); err != nil {
		return fmt.Errorf("resume %s: %w", r.dir, err)
	}
	st, note, err := rundir.Resume(r.dir, func(ckpt string) error { return model.CheckCheckpoint(ckpt, r.cfg.Model) })
	if err != nil {
		return fmt.Errorf("resume %s: %w", r.dir, err)
	}
	if note != "" {
		fmt.Fprintf(o.Log, "resume: %s\n", note)
		if st.Checkpoint != "" {
			if err := rundir.WriteState(r.dir, st); err != nil {
				return fmt.Errorf("resume %s: %w", r.dir, err)
			}
		}
	}
	r.st = st
	n, err := rundir.RollbackMetrics(r.dir, st.Seq)
	if err != nil {
		return fmt.Errorf("resume %s: %w", r.dir, err)
	}
	if n > 0 {
		fmt.Fprintf(o.Log, "resume: %d messages of %s after the checkpoint's (seq %d) removed; their work is redone\n", n, rundir.MetricsFile, st.Seq)
	}
	r.cfg.Backend = r.backend
	if o.Epochs > 0 { // -epochs N: the run now ends at N
		r.cfg.Epochs = o.Epochs
		if o.Epochs > r.st.Epoch {
			r.st.Finished = false
		}
	}
	return nil // run.json takes the new backend and epochs once the data is ready (prepare)
}

// Dir is the run folder.
func (r *Run) Dir() string { return r.dir }

// Train trains until the epochs run out, early stopping triggers, or ctx
// is cancelled (then it saves a checkpoint at the current batch and
// returns with status "stopped"). Every event goes to sink (which may be
// nil) and to the run's metrics.jsonl. When metrics.jsonl cannot be
// written, training stops as after ctx is cancelled, with a checkpoint
// whose state covers the lines the file holds, and returns the error. A
// resumed run that fails before training starts appends nothing to its
// metrics (the sink still gets the run-end message). The Result is never
// nil. Call it once per Run.
func (r *Run) Train(ctx context.Context, sink rundir.Sink) (res *Result, err error) {
	res = &Result{RunDir: r.dir, Status: metrics.StatusFailed}
	if r.opts.Resume == "" { // a new run records even a failed start
		if r.emit, err = r.openEmitter(sink); err != nil {
			return res, err
		}
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("training panicked: %v", p)
		}
		err = r.finish(res, sink, err)
	}()
	if err := r.prepare(); err != nil {
		return res, err
	}
	if r.emit == nil {
		if r.emit, err = r.openEmitter(sink); err != nil {
			return res, err
		}
	}
	return res, r.loop(ctx)
}

// openEmitter opens the run's metrics.jsonl for appending after the
// state's last message.
func (r *Run) openEmitter(sink rundir.Sink) (*rundir.Emitter, error) {
	e, err := rundir.OpenEmitter(filepath.Join(r.dir, rundir.MetricsFile), r.st.Seq, sink)
	if err == nil {
		r.kept = e.Mark()
	}
	return e, err
}

// finish ends a Train call whose error so far is err: it sends the
// run-end message, saves the state of a run that did not fail, closes the
// metrics and the pack, fills res and returns the error.
func (r *Run) finish(res *Result, sink rundir.Sink, err error) error {
	end := &metrics.RunEnd{Status: metrics.StatusFinished, Epochs: r.st.Epoch, BestEpoch: r.st.BestEpoch, BestValAcc: r.st.BestAcc}
	switch {
	case err != nil:
		end.Status, end.Error = metrics.StatusFailed, err.Error()
	case !r.st.Finished:
		end.Status = metrics.StatusStopped
	}
	if r.st.BestEpoch > 0 {
		end.Weights = filepath.Join(r.dir, rundir.WeightsFile)
	}
	switch {
	case r.emit == nil: // a resume that failed before training: its files stay as they were
		if sink != nil {
			metrics.Stamp(end, r.st.Seq+1, time.Now().UnixMilli())
			if line, eerr := metrics.Encode(end); eerr == nil {
				sink.Emit(end, line)
			}
		}
	default:
		if err != nil {
			// The work since the last checkpoint is redone by a resume:
			// its messages go, so that the metrics summarise no epoch
			// that state.json does not count.
			r.emit.Rewind(r.kept)
		}
		r.emit.Emit(end)
		if err == nil {
			// state.json covers the run-end message once it is written,
			// and always describes a checkpoint: after a failure it stays
			// as the last checkpoint left it (the failed epoch's best
			// accuracy, say, belongs to no checkpoint), and a run that
			// failed before its first checkpoint has none, so a resume
			// starts over.
			if merr := r.emit.Sync(); merr != nil {
				err = fmt.Errorf("metrics: %w; %s stays at %s", merr, rundir.StateFile, r.st.Checkpoint)
			} else {
				r.st.Seq = r.emit.Written()
				if serr := r.saveState(); serr != nil {
					err = fmt.Errorf("save state: %w", serr)
				}
			}
		}
		// A metrics failure that stopped training is in err already.
		if cerr := r.emit.Close(); cerr != nil && !errors.Is(err, r.emit.Err()) {
			err = errors.Join(err, fmt.Errorf("metrics: %w", cerr))
		}
	}
	if r.cache != nil {
		if cerr := r.cache.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close the pack: %w", cerr))
		}
	}
	res.Status, res.Started, res.Epochs, res.BestEpoch, res.BestValAcc, res.BestLogLoss, res.Weights =
		end.Status, r.started, r.st.Epoch, r.st.BestEpoch, r.st.BestAcc, r.st.BestLogLoss, end.Weights
	fmt.Fprintf(r.opts.Log, "run %s: %s after %d epochs; best val acc %.4f at epoch %d\n", r.dir, end.Status, r.st.Epoch, r.st.BestAcc, r.st.BestEpoch)
	return err
}

// buildModel creates the backend and the model.
func (r *Run) buildModel() error {
	c := &r.cfg
	backend, err := model.Backend(r.backend)
	if err != nil {
		return err
	}
	r.m, err = model.NewWithOptions(c.Model, backend, int64(c.Seed), model.Options{LearningRate: c.LR, BatchSize: c.BatchSize, BF16: c.BF16,
		FeatureLRScale: c.FeatureLRScale, WeightDecay: c.WeightDecay, LabelSmoothing: c.LabelSmoothing, Devices: r.opts.Devices})
	if err != nil {
		return err
	}
	r.device = describeDevice(r.backend, backend.Description())
	if n := r.m.Devices(); n > 1 {
		r.device += fmt.Sprintf(" × %d devices (data parallel)", n)
	}
	return nil
}

func describeDevice(name, desc string) string {
	if strings.HasPrefix(name, model.GoBackendName) {
		return fmt.Sprintf("go: %d cores", runtime.GOMAXPROCS(0))
	}
	if desc != "" {
		return name + " " + desc
	}
	return name
}

func (r *Run) loop(ctx context.Context) error {
	c := &r.cfg
	var aug *preprocess.AugConfig
	if !c.NoAugment {
		a := preprocess.DefaultAug()
		aug = &a
	}
	trainL := &dataset.Loader{Cache: r.cache, Indices: r.trainIx, Size: c.Model.InputSize, BatchSize: c.BatchSize,
		Norm: r.norm, Aug: aug, Shuffle: true, Seed: c.Seed, Workers: r.opts.Workers, Prefetch: 4}
	valL := &dataset.Loader{Cache: r.cache, Indices: r.valIx, Size: c.Model.InputSize, BatchSize: c.BatchSize,
		Norm: r.norm, Seed: c.Seed, Workers: r.opts.Workers, Prefetch: 4}
	r.emit.Emit(&metrics.RunStart{RunID: c.RunID, Model: c.Model, Batch: c.BatchSize, LR: c.LR, Epochs: c.Epochs,
		TrainSize: len(r.trainIx), ValSize: len(r.valIx), Classes: c.Classes, Backend: r.backend, Device: r.device,
		BackendReason: r.reason, Stats: r.stats, Seed: c.Seed, Augment: aug != nil, BF16: c.BF16,
		StartEpoch: r.st.Epoch + 1, Resumed: r.st.Checkpoint != ""})
	r.started = true
	if r.st.Epoch == 0 && r.st.Checkpoint == "" {
		r.emitFilters(0, r.m.ExportParams()) // the initialization, for the filters' replay
	}
	r.kept = r.emit.Mark()
	if r.st.Finished {
		fmt.Fprintf(r.opts.Log, "run %s already finished %d epochs; pass -epochs N to train further\n", r.dir, r.st.Epoch)
		return nil
	}
	for epoch := r.st.Epoch + 1; epoch <= c.Epochs; epoch++ {
		start := time.Now()
		if err := r.setFreeze(epoch); err != nil {
			return err
		}
		s, stopped, err := r.trainEpoch(ctx, trainL, epoch)
		if err != nil {
			return err
		}
		if stopped {
			return r.interrupt(epoch, s)
		}
		if err := r.finishEpoch(valL, epoch, s, trainL.NumBatches(), time.Since(start)); err != nil {
			return err
		}
		if err := r.emit.Err(); err != nil { // after the epoch's summary was written
			return fmt.Errorf("metrics: %w; training stopped after epoch %d with checkpoint %s; -resume %s continues once %s can be written",
				err, epoch, r.st.Checkpoint, r.dir, rundir.MetricsFile)
		}
		if c.Patience > 0 && r.st.SinceBest >= c.Patience {
			fmt.Fprintf(r.opts.Log, "early stop: no better val acc for %d epochs\n", r.st.SinceBest)
			break
		}
		if ctx.Err() != nil || r.maxed() {
			return nil // stopped between epochs: the checkpoint is already saved
		}
	}
	r.st.Finished = true
	return nil
}

// interrupt saves a mid-epoch checkpoint after Ctrl-C or -max-steps, or
// after metrics.jsonl could not be written (then it returns that error).
func (r *Run) interrupt(epoch int, s rundir.Sums) error {
	if werr := r.emit.Err(); werr != nil {
		return r.stopOnMetrics(epoch, s, werr)
	}
	name, err := r.saveMidEpoch(epoch, s)
	if err != nil {
		return err
	}
	why := "stopped"
	if r.maxed() {
		why = fmt.Sprintf("stopped after %d steps (max steps)", r.steps)
	}
	fmt.Fprintf(r.opts.Log, "%s: saved %s; continue with -resume %s\n", why, name, r.dir)
	return nil
}

// stopOnMetrics is the Ctrl-C path for a metrics.jsonl that could not be
// written (werr): it saves the checkpoint before batch r.st.NextBatch of
// epoch, whose state covers the lines the file holds, and returns the
// error that says what failed and where the run stands.
func (r *Run) stopOnMetrics(epoch int, s rundir.Sums, werr error) error {
	name, err := r.saveMidEpoch(epoch, s)
	if err != nil {
		return fmt.Errorf("metrics: %w; training stopped, and its checkpoint failed too (%v); -resume %s continues from %s",
			werr, err, r.dir, r.st.Checkpoint)
	}
	return fmt.Errorf("metrics: %w; training stopped at epoch %d batch %d with checkpoint %s; -resume %s continues once %s can be written",
		werr, epoch, r.st.NextBatch, name, r.dir, rundir.MetricsFile)
}

// saveMidEpoch checkpoints the model before batch r.st.NextBatch of epoch,
// with the epoch's running sums s, then commits it.
func (r *Run) saveMidEpoch(epoch int, s rundir.Sums) (string, error) {
	name := filepath.Join(rundir.CheckpointsDir, fmt.Sprintf("epoch-%03d-batch-%05d", epoch, r.st.NextBatch))
	if err := r.saveCheckpoint(epoch, name); err != nil {
		return "", err
	}
	r.st.Partial = s
	if err := r.commit(name); err != nil {
		return "", err
	}
	return name, nil
}

// commit points the run at the checkpoint name just saved, which r.st
// otherwise describes already: the state covers the messages that
// metrics.jsonl holds (synced first; after a failed write that is fewer
// than were sent), is written into the checkpoint folder, for a resume
// that has to fall back on it, and then as state.json. Then the
// checkpoints it replaces are pruned. Every state.json written during
// training goes through here or through finish.
func (r *Run) commit(name string) error {
	r.emit.Sync() // a failure shows in Err, which the caller checks; Written stays true
	mark := r.emit.Mark()
	r.st.Checkpoint, r.st.Seq = name, r.emit.Written()
	if err := rundir.WriteCheckpointState(r.dir, r.st); err != nil {
		return err
	}
	if err := r.saveState(); err != nil {
		return err
	}
	r.kept = mark
	r.prune()
	return nil
}

// progress returns, when the run draws a progress bar, the function to
// call after each of n items; else nil.
func (r *Run) progress(n int, what string) func() {
	if !r.opts.Progress {
		return nil
	}
	bar := progress.New(r.opts.Log, n, what, "img")
	return func() { bar.Add(1) }
}

func (r *Run) saveState() error { return rundir.WriteState(r.dir, r.st) }

// prune removes epoch checkpoints beyond the newest Keep and mid-epoch
// (Ctrl-C) checkpoints that are no longer current; never the current one.
// A checkpoint it cannot remove is logged, not fatal: training goes on.
func (r *Run) prune() {
	root := filepath.Join(r.dir, rundir.CheckpointsDir)
	ents, err := os.ReadDir(root)
	if err != nil {
		fmt.Fprintf(r.opts.Log, "prune checkpoints: %v\n", err)
		return
	}
	var stale, epochs []string
	for _, e := range ents {
		name := e.Name()
		switch {
		case !e.IsDir() || !strings.HasPrefix(name, "epoch-"):
		case strings.Contains(name, "-batch-"):
			stale = append(stale, name)
		default:
			epochs = append(epochs, name)
		}
	}
	sort.Strings(epochs)
	stale = append(stale, epochs[:max(len(epochs)-r.cfg.Keep, 0)]...)
	for _, name := range stale {
		if filepath.Join(rundir.CheckpointsDir, name) == r.st.Checkpoint {
			continue
		}
		if err := os.RemoveAll(filepath.Join(root, name)); err != nil {
			fmt.Fprintf(r.opts.Log, "prune checkpoints: %v\n", err)
		}
	}
}
