package train

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/rundir"
)

func TestDefaultsPerConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg              alexnet.Config
		lr               float64
		epochs, patience int
		schedule         string
		warmup, wd, ls   float64
	}{
		{alexnet.Small(), 1e-3, 55, 0, ScheduleCosine, 2, 0, 0},
		{alexnet.Full(), 1e-4, 10, 5, ScheduleConstant, 0, 0, 0},
	} {
		o := Defaults(tc.cfg)
		if o.LR != tc.lr || o.Epochs != tc.epochs || o.Patience != tc.patience || o.Model != tc.cfg {
			t.Errorf("Defaults(%s) = lr %g, %d epochs, patience %d; want %g, %d, %d", tc.cfg.Name, o.LR, o.Epochs, o.Patience, tc.lr, tc.epochs, tc.patience)
		}
		if o.Schedule != tc.schedule || o.WarmupEpochs != tc.warmup || o.WeightDecay != tc.wd || o.LabelSmoothing != tc.ls {
			t.Errorf("Defaults(%s) recipe = %s, warm-up %v, wd %v, ε %v; want %s, %v, %v, %v", tc.cfg.Name, o.Schedule, o.WarmupEpochs,
				o.WeightDecay, o.LabelSmoothing, tc.schedule, tc.warmup, tc.wd, tc.ls)
		}
		o.DataDir = "data"
		if err := o.Validate(); err != nil {
			t.Errorf("Defaults(%s) with a data folder: %v", tc.cfg.Name, err)
		}
	}
}

func TestValidateNamesTheFlag(t *testing.T) {
	ok := Defaults(alexnet.Small())
	ok.DataDir = "data"
	tiny := alexnet.Small()
	tiny.InputSize = 8
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want string // "" = valid
	}{
		{"defaults", func(*Options) {}, ""},
		{"seed 0 is a seed", func(o *Options) { o.Seed = 0 }, ""},
		{"no data", func(o *Options) { o.DataDir = "" }, "no data folder"},
		{"epochs 0", func(o *Options) { o.Epochs = 0 }, "-epochs 0"},
		{"batch 0", func(o *Options) { o.BatchSize = 0 }, "-batch 0"},
		{"lr 0", func(o *Options) { o.LR = 0 }, "-lr 0"},
		{"lr NaN", func(o *Options) { o.LR = math.NaN() }, "-lr NaN"},
		{"lr Inf", func(o *Options) { o.LR = math.Inf(1) }, "-lr +Inf"},
		{"val 0", func(o *Options) { o.ValFraction = 0 }, "-val 0"},
		{"val 1", func(o *Options) { o.ValFraction = 1 }, "-val 1"},
		{"patience -1", func(o *Options) { o.Patience = -1 }, "-patience -1"},
		{"keep 0", func(o *Options) { o.Keep = 0 }, "-keep 0"},
		{"workers -1", func(o *Options) { o.Workers = -1 }, "-workers -1"},
		{"name with a slash", func(o *Options) { o.RunID = "a/b" }, "-name a/b"},
		{"no runs folder", func(o *Options) { o.RunsDir = "" }, "-runs"},
		{"model too small", func(o *Options) { o.Model = tiny }, "-model small"},
		{"unknown schedule", func(o *Options) { o.Schedule = "step" }, "-schedule \"step\""},
		{"cosine with warm-up", func(o *Options) { o.Schedule, o.WarmupEpochs = ScheduleCosine, 2 }, ""},
		{"warm-up past the end is cut to the run", func(o *Options) { o.WarmupEpochs = float64(o.Epochs + 1) }, ""},
		{"warm-up Inf", func(o *Options) { o.WarmupEpochs = math.Inf(1) }, "-warmup +Inf"},
		{"negative warm-up", func(o *Options) { o.WarmupEpochs = -1 }, "-warmup -1"},
		{"negative weight decay", func(o *Options) { o.WeightDecay = -0.1 }, "-wd -0.1"},
		{"weight decay NaN", func(o *Options) { o.WeightDecay = math.NaN() }, "-wd NaN"},
		{"label smoothing 1", func(o *Options) { o.LabelSmoothing = 1 }, "-label-smoothing 1"},
		{"resume needs nothing else", func(o *Options) { *o = Options{Resume: "runs/x"} }, ""},
		{"resume, negative epochs", func(o *Options) { *o = Options{Resume: "runs/x", Epochs: -1} }, "-epochs -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.edit(&o)
			err := o.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate: %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestOpenFixesTheFolder checks the lifecycle before training: Open writes
// run.json with the run id into the folder that Dir names; a second Open
// of the same id is refused; a run that fails before training starts says
// so (Started false), keeps no state, and can be resumed.
func TestOpenFixesTheFolder(t *testing.T) {
	runs := t.TempDir()
	data := t.TempDir()
	for _, class := range []string{"cat", "dog"} {
		if err := os.MkdirAll(filepath.Join(data, class), 0o755); err != nil {
			t.Fatal(err)
		}
		// Unreadable photos only: the data preparation fails.
		if err := os.WriteFile(filepath.Join(data, class, "1.jpg"), []byte("not a jpeg"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	o := Defaults(alexnet.Small())
	o.DataDir, o.RunsDir, o.RunID, o.Log = data, runs, "r1", io.Discard
	r, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Dir() != filepath.Join(runs, "r1") {
		t.Errorf("Dir() = %s", r.Dir())
	}
	cfg, err := rundir.ReadConfig(r.Dir())
	if err != nil || cfg.RunID != "r1" || cfg.LR != 1e-3 || cfg.Schema != rundir.Schema {
		t.Fatalf("run.json after Open: %+v, %v", cfg, err)
	}
	if _, err := Open(o); err == nil || !strings.Contains(err.Error(), "-resume") {
		t.Errorf("second Open of r1: %v", err)
	}
	var got []metrics.Message
	res, err := r.Train(context.Background(), rundir.SinkFunc(func(m metrics.Message, _ []byte) { got = append(got, m) }))
	if err == nil || !strings.Contains(err.Error(), "readable") {
		t.Fatalf("Train on unreadable photos: %v", err)
	}
	if res.Started || res.Status != metrics.StatusFailed {
		t.Errorf("result %+v; want failed, not started", res)
	}
	if len(got) != 1 {
		t.Fatalf("%d messages; want the run end only", len(got))
	}
	if end, ok := got[0].(*metrics.RunEnd); !ok || end.Status != metrics.StatusFailed || !strings.Contains(end.Error, "readable") {
		t.Errorf("message %#v", got[0])
	}
	if _, err := rundir.ReadState(r.Dir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("state.json after a failed start: %v", err)
	}
	if _, err := Open(Options{Resume: r.Dir(), Log: io.Discard}); err != nil {
		t.Errorf("resume a run that failed before its first checkpoint: %v", err)
	}
}
