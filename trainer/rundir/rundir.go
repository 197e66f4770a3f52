// Package rundir owns the files of one training run's folder: their names,
// run.json (the configuration a resume needs), state.json (where the run
// stands), and metrics.jsonl (every event, one JSON message per line; see
// Emitter for the writer and metrics.ReadLines for the reader). The
// training loop, the dashboard server, the CLI and the magefile read a run
// folder only through this package.
//
// Layout of runs/NAME/:
//
//	run.json            Config
//	state.json          State, rewritten atomically after every checkpoint
//	stats.json          the normalization statistics (preprocess.Stats)
//	metrics.jsonl       every metrics message, in seq order
//	model.safetensors   the best weights so far (alexnet.Save)
//	model.fp16.safetensors, model.int8.safetensors
//	                    the same in compact variants (alexnet.VariantPath)
//	checkpoints/NAME/   the full training state (see trainer/model)
package rundir

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/fsutil"
)

// Names of the files of a run folder.
const (
	ConfigFile     = "run.json"
	StateFile      = "state.json"
	StatsFile      = "stats.json"
	MetricsFile    = "metrics.jsonl"
	WeightsFile    = "model.safetensors"
	CheckpointsDir = "checkpoints"
)

// Schema is the version of run.json and state.json that this build writes.
// Files without a version (written before it existed) are read as version 1;
// files of a later version are refused.
const Schema = 1

// Config is run.json: what a resume needs to rebuild the same run.
type Config struct {
	// FineTune is `pawnet train -init` and its controls; its fields are
	// run.json's top-level keys.
	FineTune

	Schema      int            `json:"schema"`
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
	// The recipe beyond Adam at a constant LR (see train.Options); empty
	// in runs written before these existed, which means the same.
	Schedule       string   `json:"schedule,omitempty"`
	WarmupEpochs   float64  `json:"warmup_epochs,omitempty"`
	WeightDecay    float64  `json:"weight_decay,omitempty"`
	LabelSmoothing float64  `json:"label_smoothing,omitempty"`
	Classes        []string `json:"classes"` // nil until the data was scanned
}

// State is state.json: how far the run got.
type State struct {
	Schema int `json:"schema"`
	// Epoch is the last finished epoch (0 before the first). When
	// NextBatch > 0, epoch Epoch+1 was interrupted before that batch and
	// Partial holds its running sums.
	Epoch       int     `json:"epoch"`
	NextBatch   int     `json:"next_batch"`
	Partial     Sums    `json:"partial"`
	Checkpoint  string  `json:"checkpoint"` // folder, relative to the run
	BestEpoch   int     `json:"best_epoch"`
	BestAcc     float64 `json:"best_val_acc"`
	BestLogLoss float64 `json:"best_val_log_loss"`
	SinceBest   int     `json:"epochs_since_best"`
	// BestCalibration is the best epoch's calibration (temperature, TTA);
	// nil in runs written before it existed.
	BestCalibration *metrics.Calibration `json:"best_calibration,omitempty"`
	Seq             int64                `json:"seq"` // the last metrics message covered by this state
	Finished        bool                 `json:"finished"`
}

// Sums accumulate the train loss and accuracy of an epoch.
type Sums struct {
	Loss    float64 `json:"loss"`
	Correct int     `json:"correct"`
	Seen    int     `json:"seen"`
}

// ReadConfig reads dir's run.json.
func ReadConfig(dir string) (Config, error) {
	var c Config
	err := readJSON(filepath.Join(dir, ConfigFile), &c.Schema, &c)
	return c, err
}

// WriteConfig writes dir's run.json atomically.
func WriteConfig(dir string, c Config) error {
	c.Schema = Schema
	return writeJSON(filepath.Join(dir, ConfigFile), c)
}

// ReadState reads dir's state.json. A missing file is an error that
// satisfies errors.Is(err, fs.ErrNotExist).
func ReadState(dir string) (State, error) {
	var s State
	err := readJSON(filepath.Join(dir, StateFile), &s.Schema, &s)
	return s, err
}

// WriteState writes dir's state.json atomically.
func WriteState(dir string, s State) error {
	s.Schema = Schema
	return writeJSON(filepath.Join(dir, StateFile), s)
}

// WriteStats writes dir's stats.json atomically (v is a preprocess.Stats).
func WriteStats(dir string, v any) error {
	return writeJSON(filepath.Join(dir, StatsFile), v)
}

func readJSON(path string, schema *int, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if *schema > Schema {
		return fmt.Errorf("%s: schema version %d; this build reads up to %d", path, *schema, Schema)
	}
	*schema = Schema
	return nil
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(path, append(data, '\n'))
}

// FineTune is the fine-tuning part of run.json (`pawnet train -init`);
// the zero value is a run from random weights.
type FineTune struct {
	// Init is the weights file the run started from ("" = random init).
	Init string `json:"init,omitempty"`
	// FreezeFeatures is how many epochs the conv layers stay frozen.
	FreezeFeatures int `json:"freeze_features,omitempty"`
	// FeatureLRScale is the conv layers' learning rate relative to LR
	// (0 = 1).
	FeatureLRScale float64 `json:"feature_lr_scale,omitempty"`
	// Norm chooses the normalization: "" (auto), "imagenet" or "data".
	Norm string `json:"norm,omitempty"`
}
