// Package metrics defines the messages a training run emits: the lines of
// a run's metrics.jsonl and the frames of the dashboard's WebSocket. Each
// message is a JSON object with a "type" field and the schema version "v";
// the trainer and the browser share these Go types.
package metrics

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/explain"
	"github.com/pawnet/pawnet/shared/preprocess"
)

// Version is the schema version written in every message. Version 2 added
// the Filters message and Sample.Heat; both are optional, so a version 1
// run reads as it is (see MinVersion).
const Version = 2

// MinVersion is the oldest schema version this build reads.
const MinVersion = 1

// readable reports whether this build reads schema version v.
func readable(v int) bool { return v >= MinVersion && v <= Version }

// Message types.
const (
	TypeRunStart      = "run_start"
	TypeStep          = "step"
	TypeEpoch         = "epoch"
	TypeConfusion     = "confusion"
	TypeMisclassified = "misclassified"
	TypeCheckpoint    = "checkpoint"
	TypeRunEnd        = "run_end"
	TypeFilters       = "filters"
)

// Message is implemented by every message type.
type Message interface {
	// MessageType is the value of the "type" field.
	MessageType() string
}

// Header is embedded in every message.
type Header struct {
	Type string `json:"type"`
	V    int    `json:"v"`
	// Seq numbers the messages of a run from 1, so a client can tell a
	// duplicate or a gap.
	Seq int64 `json:"seq"`
	// Time is the Unix time in milliseconds.
	Time int64 `json:"t"`
}

// RunStart opens a run.
type RunStart struct {
	Header
	RunID     string         `json:"run_id"`
	Model     alexnet.Config `json:"model"`
	Batch     int            `json:"batch"`
	LR        float64        `json:"lr"`
	Epochs    int            `json:"epochs"`
	TrainSize int            `json:"train_size"`
	ValSize   int            `json:"val_size"`
	Classes   []string       `json:"classes"`
	// Backend is e.g. "go" or "xla:cuda"; Device says where, e.g.
	// "go: 2 cores" or "xla:cuda NVIDIA H100"; BackendReason says why it
	// was chosen.
	Backend       string           `json:"backend"`
	Device        string           `json:"device"`
	BackendReason string           `json:"backend_reason,omitempty"`
	Stats         preprocess.Stats `json:"stats"`
	Seed          uint64           `json:"seed"`
	Augment       bool             `json:"augment"`
	BF16          bool             `json:"bf16,omitempty"`
	// StartEpoch is 1 for a new run, more when resumed.
	StartEpoch int  `json:"start_epoch"`
	Resumed    bool `json:"resumed,omitempty"`
}

// Step reports training progress within an epoch (throttled to a few per
// second).
type Step struct {
	Header
	Epoch         int     `json:"epoch"`
	Step          int     `json:"step"`
	StepsPerEpoch int     `json:"steps_per_epoch"`
	GlobalStep    int64   `json:"global_step"`
	Loss          float64 `json:"loss"` // exponentially smoothed train loss
	ImagesPerSec  float64 `json:"images_per_sec"`
	ElapsedSec    float64 `json:"elapsed_sec"`
	ETASec        float64 `json:"eta_sec"`
	// InputWait is the fraction of the time since the last message that
	// the model waited for input; InputBound is set when it is large.
	InputWait  float64 `json:"input_wait"`
	InputBound bool    `json:"input_bound,omitempty"`
}

// Epoch summarizes a finished epoch.
type Epoch struct {
	Header
	Epoch      int     `json:"epoch"`
	Epochs     int     `json:"epochs"`
	TrainLoss  float64 `json:"train_loss"`
	TrainAcc   float64 `json:"train_acc"`
	ValLoss    float64 `json:"val_loss"`
	ValAcc     float64 `json:"val_acc"`
	ValLogLoss float64 `json:"val_log_loss"` // Kaggle's metric, P(dog) clipped
	LR         float64 `json:"lr"`
	Seconds    float64 `json:"seconds"`
	Best       bool    `json:"best"`
	BestEpoch  int     `json:"best_epoch"`
	BestValAcc float64 `json:"best_val_acc"`
	// Calibration, set on best epochs only (see Calibration).
	Calibration *Calibration `json:"calibration,omitempty"`
}

// Calibration is what a best epoch's validation logits give beyond the
// plain figures: the temperature fitted on them (and stored in the
// export), the log loss with it, the test-time-augmentation (photo and
// mirror, probabilities averaged) accuracy and log loss without and with
// it, and the reliability diagram of the calibrated TTA P(dog).
type Calibration struct {
	Temperature      float64          `json:"temperature"`
	ValLogLossCal    float64          `json:"val_log_loss_cal"`
	ValAccTTA        float64          `json:"val_acc_tta"`
	ValLogLossTTA    float64          `json:"val_log_loss_tta"`
	ValLogLossTTACal float64          `json:"val_log_loss_tta_cal"`
	Reliability      []ReliabilityBin `json:"reliability,omitempty"`
}

// Confusion is the validation confusion matrix after an epoch:
// Matrix[true][predicted].
type Confusion struct {
	Header
	Epoch   int      `json:"epoch"`
	Classes []string `json:"classes"`
	Matrix  [][]int  `json:"matrix"`
}

// Sample is one misclassified validation photo.
type Sample struct {
	// PNG is a small thumbnail, base64-encoded PNG.
	PNG   string  `json:"png"`
	Path  string  `json:"path"`
	True  int     `json:"true"`
	PDog  float64 `json:"p_dog"` // P(class 1)
	Index int     `json:"index"`
	// Heat is the Grad-CAM heatmap of the (wrong) predicted class with the
	// epoch's weights, a base64 PNG the thumbnail's size (schema 2; empty
	// in older runs).
	Heat string `json:"heat,omitempty"`
}

// Misclassified carries a few wrongly classified validation photos.
type Misclassified struct {
	Header
	Epoch   int      `json:"epoch"`
	Samples []Sample `json:"samples"`
}

// Checkpoint reports a file written: a checkpoint or the exported weights.
type Checkpoint struct {
	Header
	Epoch int    `json:"epoch"`
	Kind  string `json:"kind"` // KindCheckpoint or KindExport
	Path  string `json:"path"`
	Bytes int64  `json:"bytes"`
	// Seconds is how long writing it took (checkpoints only).
	Seconds float64 `json:"seconds,omitempty"`
}

// Kinds of Checkpoint.
const (
	KindCheckpoint = "checkpoint" // the full training state, for a resume
	KindExport     = "export"     // the best weights so far, for inference
)

// Run statuses of RunEnd.
const (
	StatusFinished = "finished"
	StatusStopped  = "stopped"
	StatusFailed   = "failed"
)

// RunEnd closes a run.
type RunEnd struct {
	Header
	Status     string  `json:"status"`
	Error      string  `json:"error,omitempty"`
	Epochs     int     `json:"epochs"`
	BestEpoch  int     `json:"best_epoch"`
	BestValAcc float64 `json:"best_val_acc"`
	Weights    string  `json:"weights,omitempty"`
}

// Filters carries the first conv layer's learned filters, drawn as a grid
// of RGB tiles (shared/explain.Filters, one pixel per weight), when the
// run starts (epoch 0, the initialization) and at each new best epoch, as
// exported. Schema 2.
type Filters struct {
	Header
	Epoch int `json:"epoch"`
	// PNG is the grid, base64-encoded.
	PNG  string       `json:"png"`
	Grid explain.Grid `json:"grid"`
	// Norm says how each tile was scaled (explain.FilterNorm).
	Norm string `json:"norm"`
}

// MessageType implementations.
func (RunStart) MessageType() string      { return TypeRunStart }
func (Step) MessageType() string          { return TypeStep }
func (Epoch) MessageType() string         { return TypeEpoch }
func (Confusion) MessageType() string     { return TypeConfusion }
func (Misclassified) MessageType() string { return TypeMisclassified }
func (Checkpoint) MessageType() string    { return TypeCheckpoint }
func (RunEnd) MessageType() string        { return TypeRunEnd }
func (Filters) MessageType() string       { return TypeFilters }

// header returns the embedded header of any message.
func header(m Message) *Header {
	switch v := m.(type) {
	case *RunStart:
		return &v.Header
	case *Step:
		return &v.Header
	case *Epoch:
		return &v.Header
	case *Confusion:
		return &v.Header
	case *Misclassified:
		return &v.Header
	case *Checkpoint:
		return &v.Header
	case *RunEnd:
		return &v.Header
	case *Filters:
		return &v.Header
	}
	return nil
}

// Stamp sets the type, version, sequence number and time of a message
// (a pointer to one of this package's types).
func Stamp(m Message, seq int64, unixMilli int64) {
	if h := header(m); h != nil {
		*h = Header{Type: m.MessageType(), V: Version, Seq: seq, Time: unixMilli}
	}
}

// Seq returns a message's sequence number.
func Seq(m Message) int64 {
	if h := header(m); h != nil {
		return h.Seq
	}
	return 0
}

// Encode marshals a stamped message to one line of JSON (no newline).
func Encode(m Message) ([]byte, error) {
	return json.Marshal(m)
}

// Decode parses one message, returning a pointer to its concrete type.
func Decode(data []byte) (Message, error) {
	var h Header
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return DecodeAs(h, data)
}

// DecodeAs is Decode for a line whose header h has already been parsed
// (by ReadLines), so the line is parsed once more instead of twice.
func DecodeAs(h Header, data []byte) (Message, error) {
	if !readable(h.V) {
		return nil, fmt.Errorf("metrics: schema version %d, this build reads %d to %d", h.V, MinVersion, Version)
	}
	var m Message
	switch h.Type {
	case TypeRunStart:
		m = &RunStart{}
	case TypeStep:
		m = &Step{}
	case TypeEpoch:
		m = &Epoch{}
	case TypeConfusion:
		m = &Confusion{}
	case TypeMisclassified:
		m = &Misclassified{}
	case TypeCheckpoint:
		m = &Checkpoint{}
	case TypeRunEnd:
		m = &RunEnd{}
	case TypeFilters:
		m = &Filters{}
	default:
		return nil, fmt.Errorf("metrics: unknown message type %q", h.Type)
	}
	if err := json.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("metrics: %s: %w", h.Type, err)
	}
	return m, nil
}

// DogIndex is the index of the "dog" class (any case) among classes, the
// class whose probability Kaggle's submissions and log loss use. A set of
// classes without one (another dataset) uses its last class.
func DogIndex(classes []string) int {
	for i, c := range classes {
		if strings.EqualFold(c, "dog") {
			return i
		}
	}
	return len(classes) - 1
}

// LogLoss is Kaggle's metric for one photo: the binary cross-entropy
// −(y·log p + (1−y)·log(1−p)) of the predicted P(dog) p against the label
// y (1 = dog), with p clipped to [1e-15, 1−1e-15].
func LogLoss(pDog, label float64) float64 {
	p := math.Min(math.Max(pDog, 1e-15), 1-1e-15)
	return -(label*math.Log(p) + (1-label)*math.Log(1-p))
}
