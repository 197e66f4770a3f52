// Package train is pawnet's training loop: it reads a class-folder
// dataset, makes the seeded train/validation split, decodes every photo
// once into a uint8 cache, and trains the GoMLX AlexNet epoch by epoch with
// the seed recipe (Adam, cross-entropy, augmentation). It keeps the best
// weights by validation accuracy, stops early, writes atomic checkpoints,
// resumes, and sends every event through one Sink.
package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/shared/preprocess"
	"github.com/pawnet/pawnet/trainer/dataset"
	"github.com/pawnet/pawnet/trainer/fsutil"
	"github.com/pawnet/pawnet/trainer/model"
)

// Options configure a run. Zero values take the defaults noted.
type Options struct {
	DataDir string // class-folder tree (cat/, dog/)
	RunsDir string // parent of new run folders (default "runs")
	RunID   string // default: a timestamp
	// Resume continues the run in this folder from its last checkpoint;
	// the other options then come from its run.json, except Epochs.
	Resume string

	Model   alexnet.Config // default alexnet.Small()
	Backend string         // GOMLX_BACKEND syntax; "" = $GOMLX_BACKEND or "go"
	// BackendReason says why Backend was chosen (see trainer/device).
	BackendReason string
	Epochs        int     // default 10
	BatchSize     int     // default 32
	LR            float64 // default 1e-4
	Seed          uint64  // default 1
	ValFraction   float64 // default 0.2
	Patience      int     // early stopping after this many epochs without a better val acc; 0 = never
	Keep          int     // checkpoints kept (default 2)
	Workers       int     // loader goroutines (default: all cores)
	NoAugment     bool    // train on the eval transform
	BF16          bool    // bf16 mixed precision (float32 master weights)
	StatsPath     string  // default DataDir/stats.json when it matches the split, else computed

	Log      io.Writer // human-readable log lines (default os.Stderr)
	Progress bool      // draw a progress bar on Log
}

func (o *Options) defaults() {
	if o.Model.Name == "" {
		o.Model = alexnet.Small()
	}
	if o.RunsDir == "" {
		o.RunsDir = "runs"
	}
	if o.Epochs <= 0 && o.Resume == "" {
		o.Epochs = 10
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 32
	}
	if o.LR <= 0 {
		o.LR = model.DefaultLearningRate
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.ValFraction <= 0 || o.ValFraction >= 1 {
		o.ValFraction = 0.2
	}
	if o.Keep <= 0 {
		o.Keep = 2
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
}

// runConfig is run.json: what a resume needs to rebuild the same run.
type runConfig struct {
	RunID       string         `json:"run_id"`
	DataDir     string         `json:"data_dir"`
	Model       alexnet.Config `json:"model"`
	Backend     string         `json:"backend"`
	Epochs      int            `json:"epochs"`
	BatchSize   int            `json:"batch_size"`
	LR          float64        `json:"lr"`
	Seed        uint64         `json:"seed"`
	ValFraction float64        `json:"val_fraction"`
	Patience    int            `json:"patience"`
	Keep        int            `json:"keep"`
	NoAugment   bool           `json:"no_augment"`
	BF16        bool           `json:"bf16,omitempty"`
	Classes     []string       `json:"classes"`
}

// state is state.json, rewritten atomically after every checkpoint.
type state struct {
	// Epoch is the last finished epoch (0 before the first). When
	// NextBatch > 0, epoch Epoch+1 was interrupted before that batch and
	// Partial holds its running sums.
	Epoch       int     `json:"epoch"`
	NextBatch   int     `json:"next_batch"`
	Partial     sums    `json:"partial"`
	Checkpoint  string  `json:"checkpoint"` // folder, relative to the run
	BestEpoch   int     `json:"best_epoch"`
	BestAcc     float64 `json:"best_val_acc"`
	BestLogLoss float64 `json:"best_val_log_loss"`
	SinceBest   int     `json:"epochs_since_best"`
	Seq         int64   `json:"seq"`
	Finished    bool    `json:"finished"`
}

// sums accumulate the train loss and accuracy of an epoch.
type sums struct {
	Loss    float64 `json:"loss"`
	Correct int     `json:"correct"`
	Seen    int     `json:"seen"`
}

// Files of a run folder.
const (
	RunFile     = "run.json"
	StateFile   = "state.json"
	StatsFile   = "stats.json"
	MetricsFile = "metrics.jsonl"
	WeightsFile = "model.safetensors"
	ckptDir     = "checkpoints"
)

// Result is what a run produced.
type Result struct {
	RunDir      string
	Status      string // metrics.StatusFinished, StatusStopped or StatusFailed
	Epochs      int    // finished epochs
	BestEpoch   int
	BestValAcc  float64
	BestLogLoss float64
	Weights     string // exported best weights
}

// run is one training run in progress.
type run struct {
	opts    Options
	cfg     runConfig
	dir     string
	st      state
	emit    *Emitter
	stats   preprocess.Stats
	norm    preprocess.Normalizer
	cache   *dataset.Cache
	trainIx []int
	valIx   []int
	m       *model.Model
	backend string
	device  string
	reason  string
}

// Run trains until the epochs run out, early stopping triggers, or ctx is
// cancelled (then it saves a checkpoint at the current batch and returns
// with status "stopped"). Every event goes to sink (which may be nil) and
// to the run's metrics.jsonl.
func Run(ctx context.Context, opts Options, sink Sink) (res *Result, err error) {
	opts.defaults()
	r := &run{opts: opts}
	if err := r.open(); err != nil {
		return nil, err
	}
	r.emit, err = OpenEmitter(filepath.Join(r.dir, MetricsFile), r.st.Seq, sink)
	if err != nil {
		return nil, err
	}
	defer r.emit.Close()
	res = &Result{RunDir: r.dir}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("training panicked: %v", p)
		}
		end := &metrics.RunEnd{Status: metrics.StatusFinished, Epochs: r.st.Epoch, BestEpoch: r.st.BestEpoch, BestValAcc: r.st.BestAcc}
		switch {
		case err != nil:
			end.Status, end.Error = metrics.StatusFailed, err.Error()
		case !r.st.Finished:
			end.Status = metrics.StatusStopped
		}
		if r.st.BestEpoch > 0 {
			end.Weights = filepath.Join(r.dir, WeightsFile)
		}
		r.emit.Emit(end)
		r.st.Seq = r.emit.Seq()
		if r.st.Checkpoint != "" || err == nil {
			_ = r.saveState()
		}
		res.Status, res.Epochs, res.BestEpoch, res.BestValAcc, res.BestLogLoss, res.Weights =
			end.Status, r.st.Epoch, r.st.BestEpoch, r.st.BestAcc, r.st.BestLogLoss, end.Weights
		fmt.Fprintf(r.opts.Log, "run %s: %s after %d epochs; best val acc %.4f at epoch %d\n", r.dir, end.Status, r.st.Epoch, r.st.BestAcc, r.st.BestEpoch)
	}()
	if err := r.prepare(); err != nil {
		return res, err
	}
	return res, r.loop(ctx)
}

// open creates the run folder, or reads it back for a resume.
func (r *run) open() error {
	o := &r.opts
	if o.Resume != "" {
		r.dir = o.Resume
		if err := readJSON(filepath.Join(r.dir, RunFile), &r.cfg); err != nil {
			return fmt.Errorf("resume %s: %w", r.dir, err)
		}
		if err := readJSON(filepath.Join(r.dir, StateFile), &r.st); err != nil {
			return fmt.Errorf("resume %s: %w", r.dir, err)
		}
		if o.Backend != "" {
			r.cfg.Backend = o.Backend
		}
		if o.Epochs > r.cfg.Epochs {
			r.cfg.Epochs = o.Epochs
			r.st.Finished = false
		}
		return nil
	}
	if o.DataDir == "" {
		return errors.New("no data folder given")
	}
	if err := o.Model.Validate(); err != nil {
		return err
	}
	id := o.RunID
	if id == "" {
		id = time.Now().Format("20060102-150405")
	}
	r.dir = filepath.Join(o.RunsDir, id)
	if _, err := os.Stat(filepath.Join(r.dir, RunFile)); err == nil {
		return fmt.Errorf("run folder %s already exists; pass -resume %s to continue it", r.dir, r.dir)
	}
	if err := os.MkdirAll(filepath.Join(r.dir, ckptDir), 0o755); err != nil {
		return err
	}
	r.cfg = runConfig{RunID: id, DataDir: o.DataDir, Model: o.Model, Backend: o.Backend, Epochs: o.Epochs,
		BatchSize: o.BatchSize, LR: o.LR, Seed: o.Seed, ValFraction: o.ValFraction, Patience: o.Patience,
		Keep: o.Keep, NoAugment: o.NoAugment, BF16: o.BF16}
	return nil
}

// prepare scans and caches the data, loads or computes the stats, builds
// the model and restores the checkpoint of a resumed run.
func (r *run) prepare() error {
	c := &r.cfg
	ds, err := dataset.Scan(c.DataDir)
	if err != nil {
		return err
	}
	if c.Classes != nil && strings.Join(c.Classes, ",") != strings.Join(ds.Classes, ",") {
		return fmt.Errorf("classes changed since the run started: %v, now %v", c.Classes, ds.Classes)
	}
	c.Classes = ds.Classes
	if len(ds.Classes) != c.Model.Classes {
		return fmt.Errorf("%s has %d classes %v; the model has %d outputs", c.DataDir, len(ds.Classes), ds.Classes, c.Model.Classes)
	}
	train, val := dataset.Split(ds.Items, c.Seed, c.ValFraction)
	t0 := time.Now()
	all := append(append([]dataset.Item(nil), train...), val...)
	var bad []dataset.BadFile
	r.cache, bad = dataset.BuildCache(all, c.Model.InputSize, r.opts.Workers, nil)
	for _, b := range bad {
		fmt.Fprintf(r.opts.Log, "skipped %s\n", b)
	}
	isVal := map[string]bool{}
	for _, it := range val {
		isVal[it.Path] = true
	}
	for i, it := range r.cache.Items {
		if isVal[it.Path] {
			r.valIx = append(r.valIx, i)
		} else {
			r.trainIx = append(r.trainIx, i)
		}
	}
	fmt.Fprintf(r.opts.Log, "data: %d train, %d val photos of %v cached at %d px in %.1fs (%d skipped)\n",
		len(r.trainIx), len(r.valIx), c.Classes, c.Model.InputSize, time.Since(t0).Seconds(), len(bad))
	if len(r.trainIx) == 0 || len(r.valIx) == 0 {
		return errors.New("need at least one readable train and one validation photo")
	}
	if err := r.loadStats(train); err != nil {
		return err
	}
	if r.norm, err = preprocess.NewNormalizer(r.stats); err != nil {
		return err
	}

	backend, err := model.Backend(c.Backend)
	if err != nil {
		return err
	}
	r.backend = c.Backend
	if r.backend == "" {
		r.backend = os.Getenv("GOMLX_BACKEND")
	}
	if r.backend == "" {
		r.backend = model.GoBackendName
	}
	r.device = describeDevice(r.backend, backend.Description())
	r.reason = r.opts.BackendReason
	if r.reason == "" {
		r.reason = backendReason(c.Backend)
	}
	fmt.Fprintf(r.opts.Log, "backend: %s (%s)\n", r.device, r.reason)
	r.m, err = model.NewWithOptions(c.Model, backend, int64(c.Seed), model.Options{LearningRate: c.LR, BatchSize: c.BatchSize, BF16: c.BF16})
	if err != nil {
		return err
	}
	if r.st.Checkpoint != "" {
		if err := r.m.Restore(filepath.Join(r.dir, r.st.Checkpoint)); err != nil {
			return fmt.Errorf("resume: %w", err)
		}
		fmt.Fprintf(r.opts.Log, "resumed %s from %s (epoch %d done, next batch %d)\n", r.dir, r.st.Checkpoint, r.st.Epoch, r.st.NextBatch)
	}
	if err := writeJSON(filepath.Join(r.dir, RunFile), c); err != nil {
		return err
	}
	return writeJSON(filepath.Join(r.dir, StatsFile), r.stats)
}

// statsSize is the side photos are resized to for the statistics, as
// `pawnet stats` does by default.
const statsSize = 227

// loadStats uses the run's stats.json (resume), then opts.StatsPath or
// DataDir/stats.json when computed on the same split, else computes them
// over the train split: from the cache when it holds statsSize images
// (the full model), else by decoding the train photos at statsSize.
func (r *run) loadStats(train []dataset.Item) error {
	candidates := []string{filepath.Join(r.dir, StatsFile)}
	if r.opts.StatsPath != "" {
		candidates = append(candidates, r.opts.StatsPath)
	}
	candidates = append(candidates, filepath.Join(r.cfg.DataDir, StatsFile))
	for _, p := range candidates {
		st, err := preprocess.LoadStats(p)
		if err != nil {
			continue
		}
		if st.Seed != r.cfg.Seed || st.ValFraction != r.cfg.ValFraction {
			fmt.Fprintf(r.opts.Log, "stats: %s was computed on another split (seed %d, val %.2f); not used\n", p, st.Seed, st.ValFraction)
			continue
		}
		r.stats = st
		fmt.Fprintf(r.opts.Log, "stats: %s\n", p)
		return nil
	}
	st, bad, err := dataset.ComputeStats(train, nil, 227, r.opts.Workers, nil)
	if err != nil {
		return err
	}
	st.Seed, st.ValFraction = r.cfg.Seed, r.cfg.ValFraction
	r.stats = st
	fmt.Fprintf(r.opts.Log, "stats: computed over %d train photos (%d skipped)\n", st.Images, len(bad))
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

func backendReason(asked string) string {
	switch {
	case asked != "":
		return "chosen by -backend " + asked
	case os.Getenv("GOMLX_BACKEND") != "":
		return "chosen by GOMLX_BACKEND=" + os.Getenv("GOMLX_BACKEND")
	}
	return "default: pure-Go CPU backend (pass -backend xla:cuda for a GPU)"
}

func (r *run) loop(ctx context.Context) error {
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
	if r.st.Finished {
		fmt.Fprintf(r.opts.Log, "run %s already finished %d epochs; pass -epochs N to train further\n", r.dir, r.st.Epoch)
		return nil
	}
	for epoch := r.st.Epoch + 1; epoch <= c.Epochs; epoch++ {
		start := time.Now()
		s, stopped, err := r.trainEpoch(ctx, trainL, epoch)
		if err != nil {
			return err
		}
		if stopped {
			return r.interrupt(epoch, s)
		}
		if err := r.finishEpoch(valL, epoch, s, time.Since(start)); err != nil {
			return err
		}
		if c.Patience > 0 && r.st.SinceBest >= c.Patience {
			fmt.Fprintf(r.opts.Log, "early stop: no better val acc for %d epochs\n", r.st.SinceBest)
			break
		}
		if ctx.Err() != nil {
			return nil // stopped between epochs: the checkpoint is already saved
		}
	}
	r.st.Finished = true
	return nil
}

// interrupt saves a mid-epoch checkpoint after Ctrl-C.
func (r *run) interrupt(epoch int, s sums) error {
	r.st.Partial = s
	name := filepath.Join(ckptDir, fmt.Sprintf("epoch-%03d-batch-%05d", epoch, r.st.NextBatch))
	if err := r.m.Save(filepath.Join(r.dir, name)); err != nil {
		return err
	}
	r.st.Checkpoint = name
	r.st.Seq = r.emit.Seq()
	if err := r.saveState(); err != nil {
		return err
	}
	r.prune()
	fmt.Fprintf(r.opts.Log, "stopped: saved %s; continue with -resume %s\n", name, r.dir)
	return nil
}

func (r *run) saveState() error { return writeJSON(filepath.Join(r.dir, StateFile), r.st) }

// prune removes epoch checkpoints beyond the newest Keep and mid-epoch
// (Ctrl-C) checkpoints that are no longer current; never the current one.
func (r *run) prune() {
	ents, err := os.ReadDir(filepath.Join(r.dir, ckptDir))
	if err != nil {
		return
	}
	var names []string
	for _, e := range ents {
		name := e.Name()
		switch {
		case !e.IsDir() || !strings.HasPrefix(name, "epoch-"):
		case strings.Contains(name, "-batch-"):
			if filepath.Join(ckptDir, name) != r.st.Checkpoint {
				os.RemoveAll(filepath.Join(r.dir, ckptDir, name))
			}
		default:
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for i := 0; i < len(names)-r.cfg.Keep; i++ {
		if filepath.Join(ckptDir, names[i]) != r.st.Checkpoint {
			os.RemoveAll(filepath.Join(r.dir, ckptDir, names[i]))
		}
	}
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(path, append(data, '\n'))
}
