package train

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pawnet/pawnet/internal/fixtures"
	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/shared/preprocess"
	"github.com/pawnet/pawnet/trainer/pretrained"
	"github.com/pawnet/pawnet/trainer/rundir"
)

// fixture is the PyTorch state dict of torchvision's AlexNet with reduced
// widths (alexnet.TorchvisionTiny) and ImageNet's 1000-class head.
const fixture = "../pretrained/testdata/alexnet_tiny.pth"

// syncBuffer is a log that training goroutines may write concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestInitFreezeResume trains from the PyTorch fixture on real sample
// photos: -init loads it and replaces its 1000-class head, the run uses
// and records ImageNet's normalization, -freeze-features 1 keeps the conv
// weights bit-identical through epoch 1, and a resume continues the run
// (without loading the file again) and unfreezes them in epoch 2.
func TestInitFreezeResume(t *testing.T) {
	want, err := pretrained.Read(fixture)
	if err != nil {
		t.Fatal(err)
	}
	o := Defaults(alexnet.TorchvisionTiny())
	o.DataDir, o.RunsDir, o.RunID, o.Epochs, o.BatchSize = fixtures.ClassTree(t, 40), t.TempDir(), "ft", 1, 16
	o.Init, o.FreezeFeatures, o.FeatureLRScale = fixture, 1, 0.5
	log := &syncBuffer{}
	o.Log = log
	res, err := openAndTrain(context.Background(), o, nil)
	if err != nil || res.Status != metrics.StatusFinished {
		t.Fatalf("epoch 1: %v (%s)\n%s", err, res.Status, log)
	}
	for _, line := range []string{
		"init: " + fixture + " (a PyTorch state dict): 14 of 16 tensors loaded; its 1000-class head (classifier.6.weight, classifier.6.bias) replaced by a freshly initialized 2-class one",
		"stats: ImageNet's mean and std",
		"epoch 1: conv layers frozen until epoch 1 (-freeze-features)",
	} {
		if !strings.Contains(log.String(), line) {
			t.Errorf("log lacks %q:\n%s", line, log)
		}
	}
	after1 := finalParams(t, res.RunDir)
	for name, w := range want.Tensors {
		same := slices.Equal(after1[name], w.Data)
		switch {
		case strings.HasPrefix(name, "features.") && !same:
			t.Errorf("%s changed in the frozen epoch", name)
		case strings.HasPrefix(name, "classifier.1") && same:
			t.Errorf("%s did not learn", name)
		}
	}

	// The normalization is recorded in the run and in the export.
	st, err := preprocess.LoadStats(filepath.Join(res.RunDir, rundir.StatsFile))
	if err != nil || st.Source != preprocess.SourceImageNet || st.Mean != preprocess.ImageNetStats().Mean {
		t.Errorf("run stats.json: %+v, %v", st, err)
	}
	m, err := alexnet.LoadFile(res.Weights)
	if err != nil {
		t.Fatal(err)
	}
	var exported preprocess.Stats
	if err := json.Unmarshal(m.Metadata().Stats, &exported); err != nil || exported.Source != preprocess.SourceImageNet || exported.Std != preprocess.ImageNetStats().Std {
		t.Errorf("export stats %s: %v", m.Metadata().Stats, err)
	}
	cfg, err := rundir.ReadConfig(res.RunDir)
	if err != nil || cfg.Init != fixture || cfg.FreezeFeatures != 1 || cfg.FeatureLRScale != 0.5 {
		t.Errorf("run.json fine-tuning fields %+v, %v", cfg.FineTune, err)
	}

	log2 := &syncBuffer{}
	res, err = openAndTrain(context.Background(), Options{Resume: res.RunDir, Epochs: 2, Log: log2}, nil)
	if err != nil || res.Status != metrics.StatusFinished || res.Epochs != 2 {
		t.Fatalf("resume: %v (%s, %d epochs)\n%s", err, res.Status, res.Epochs, log2)
	}
	if strings.Contains(log2.String(), "init:") || !strings.Contains(log2.String(), "epoch 2: conv layers unfrozen") {
		t.Errorf("resume log:\n%s", log2)
	}
	after2 := finalParams(t, res.RunDir)
	if slices.Equal(after2["features.0.weight"], after1["features.0.weight"]) {
		t.Error("features.0.weight did not learn once unfrozen")
	}
}

// TestInitRejected checks that Open refuses bad -init files and options
// before it creates the run folder, with the file's problem in the error.
func TestInitRejected(t *testing.T) {
	dir := t.TempDir()
	truncated := filepath.Join(dir, "cut.pth")
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated, data[:len(data)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"other architecture", func(o *Options) { o.Model = alexnet.Torchvision() },
			`tensor "features.0.weight" has shape [8 3 11 11]; model torchvision expects [64 3 11 11]`},
		{"truncated", func(o *Options) { o.Init = truncated }, "damaged or truncated PyTorch zip archive"},
		{"missing", func(o *Options) { o.Init = filepath.Join(dir, "absent.pth") }, "no such file"},
		{"freeze", func(o *Options) { o.FreezeFeatures = -1 }, "-freeze-features -1"},
		{"scale", func(o *Options) { o.FeatureLRScale = -0.1 }, "-feature-lr-scale -0.1"},
		{"norm", func(o *Options) { o.Norm = "cifar" }, `-norm "cifar"`},
		{"resume", func(o *Options) { o.Resume = filepath.Join(dir, "runs", "r") }, "-init " + fixture + ": a resumed run continues from its checkpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Defaults(alexnet.TorchvisionTiny())
			o.DataDir, o.RunsDir, o.RunID, o.Init = "data", filepath.Join(dir, "runs"), "r", fixture
			tc.edit(&o)
			if _, err := Open(o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v, want an error containing %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(o.RunsDir, "r")); !os.IsNotExist(err) {
				t.Errorf("the run folder was created: %v", err)
			}
		})
	}
}
