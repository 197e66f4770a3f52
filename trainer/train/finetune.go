package train

import (
	"fmt"
	"math"
	"strings"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/preprocess"
	"github.com/pawnet/pawnet/trainer/pretrained"
)

// Fine-tuning from pretrained weights (`pawnet train -init`): the weights
// are read and matched to the model when the run is opened, so that a bad
// file fails before anything is written; they replace the model's random
// initialization before the first step (never on a resume from a
// checkpoint, which has its own); the features can be frozen for the first
// epochs and trained at a lower learning rate than the head; and weights
// that are not pawnet's own come with ImageNet's normalization.

// Norm values of rundir.FineTune.
const (
	NormAuto     = ""         // ImageNet for -init of a PyTorch or converted file, the export's own for a pawnet export, else the data's
	NormImageNet = "imagenet" // preprocess.ImageNetStats
	NormData     = "data"     // the data's own stats (stats.json or computed)
)

// initWeights is a weights file matched to the run's model.
type initWeights struct {
	file  *pretrained.File
	match *pretrained.Match
}

// validateFineTune reports the first invalid fine-tuning option.
func (o Options) validateFineTune() error {
	switch {
	case o.FreezeFeatures < 0:
		return fmt.Errorf("-freeze-features %d: must be 0 (never frozen) or more", o.FreezeFeatures)
	case o.FeatureLRScale < 0 || math.IsNaN(o.FeatureLRScale) || math.IsInf(o.FeatureLRScale, 0):
		return fmt.Errorf("-feature-lr-scale %v: must be a positive fraction of -lr (0 or 1: the same rate)", o.FeatureLRScale)
	case o.Norm != NormAuto && o.Norm != NormImageNet && o.Norm != NormData:
		return fmt.Errorf("-norm %q: want imagenet, data, or empty (automatic)", o.Norm)
	case o.Resume != "" && o.Init != "":
		return fmt.Errorf("-init %s: a resumed run continues from its checkpoint; -init starts a new run", o.Init)
	}
	return nil
}

// readInit reads the weights file path and matches it to cfg; "" reads
// nothing.
func (r *Run) readInit(path string, cfg alexnet.Config) error {
	if path == "" {
		return nil
	}
	f, err := pretrained.Read(path)
	if err != nil {
		return fmt.Errorf("-init: %w", err)
	}
	m, err := f.Match(cfg)
	if err != nil {
		return fmt.Errorf("-init: %w", err)
	}
	r.init = &initWeights{file: f, match: m}
	return nil
}

// applyInit sets the model's parameters from the -init file. A replaced
// head keeps the model's fresh initialization.
func (r *Run) applyInit() error {
	if r.init == nil {
		return nil
	}
	params := r.m.ExportParams()
	for name, v := range r.init.match.Params {
		params[name] = v
	}
	if err := r.m.LoadParams(params); err != nil {
		return fmt.Errorf("-init %s: %w", r.init.file.Path, err)
	}
	f, m := r.init.file, r.init.match
	fmt.Fprintf(r.opts.Log, "init: %s (%s): %d of %d tensors loaded", f.Path, f.Describe(), len(m.Params), len(r.cfg.Model.Params()))
	if len(m.Replaced) > 0 {
		fmt.Fprintf(r.opts.Log, "; its %d-class head (%s) replaced by a freshly initialized %d-class one",
			m.FileClasses, strings.Join(m.Replaced, ", "), r.cfg.Model.Classes)
	}
	fmt.Fprintln(r.opts.Log)
	return nil
}

// fineTuneStats sets the run's normalization when fine-tuning decides it:
// -norm imagenet, or -norm automatic with -init (ImageNet's for a PyTorch
// or converted file, the export's own for a pawnet export; an explicit
// -stats file wins). It reports whether it did. On a resume the run's own
// stats.json is used instead, as for any run.
func (r *Run) fineTuneStats() (bool, error) {
	c := &r.cfg
	var st preprocess.Stats
	switch {
	case c.Norm == NormImageNet || (c.Norm == NormAuto && r.init != nil && r.init.file.Stats == nil && r.opts.StatsPath == ""):
		st = preprocess.ImageNetStats()
		fmt.Fprintln(r.opts.Log, "stats: ImageNet's mean and std, the normalization pretrained torchvision weights expect (-norm data: the data's own)")
	case c.Norm == NormAuto && r.init != nil && r.opts.StatsPath == "":
		var err error
		if st, err = preprocess.ParseStats(r.init.file.Stats); err != nil {
			return false, fmt.Errorf("-init %s: %w", r.init.file.Path, err)
		}
		if st.Source == "" {
			st.Source = "init"
		}
		fmt.Fprintf(r.opts.Log, "stats: those of the -init export %s (-norm data: the data's own)\n", r.init.file.Path)
	default:
		return false, nil
	}
	st.Seed, st.ValFraction = c.Seed, c.ValFraction // so that a resume reads them back
	r.stats = st
	return true, nil
}

// setFreeze freezes the features for the first FreezeFeatures epochs and
// unfreezes them after, saying so when it changes.
func (r *Run) setFreeze(epoch int) error {
	frozen := epoch <= r.cfg.FreezeFeatures
	if frozen == r.m.FeaturesFrozen() {
		return nil
	}
	if err := r.m.FreezeFeatures(frozen); err != nil {
		return err
	}
	if frozen {
		fmt.Fprintf(r.opts.Log, "epoch %d: conv layers frozen until epoch %d (-freeze-features)\n", epoch, r.cfg.FreezeFeatures)
	} else {
		fmt.Fprintf(r.opts.Log, "epoch %d: conv layers unfrozen\n", epoch)
	}
	return nil
}
