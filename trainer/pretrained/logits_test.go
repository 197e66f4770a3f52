package pretrained

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pawnet/pawnet/internal/fixtures"
	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/preprocess"
	"github.com/pawnet/pawnet/trainer/model"
)

var update = flag.Bool("update", false, "recompute testdata/alexnet_tiny_logits.json with PyTorch (/usr/bin/python3 with torch)")

// logitsFile holds the logits PyTorch computed for two sample photos with
// the zip fixture (make_fixture.py logits).
const logitsFile = "testdata/alexnet_tiny_logits.json"

// logitPhotos are the sample photos (Kaggle layout) of logitsFile.
var logitPhotos = []string{"train/cat.0.jpg", "train/dog.0.jpg"}

type torchLogits struct {
	Torch  string      `json:"torch"`
	Photos []string    `json:"photos"`
	Logits [][]float64 `json:"logits"`
}

// TestTorchLogits loads the fixture's 1000-class state dict into pawnet's
// GoMLX model and into the pure-Go inference model, and checks that both
// give PyTorch's logits on two real sample photos (preprocessed by
// pawnet: resized to 224 px, ImageNet normalization) to within 1e-4.
func TestTorchLogits(t *testing.T) {
	cfg := alexnet.TorchvisionTiny()
	cfg.Classes = 1000
	m, err := mustRead(t, fixtureZip).Match(cfg)
	if err != nil || len(m.Replaced) != 0 {
		t.Fatalf("Match: %v, replaced %v", err, m.Replaced)
	}
	norm, err := preprocess.NewNormalizer(preprocess.ImageNetStats())
	if err != nil {
		t.Fatal(err)
	}
	sample := fixtures.SampleDir(t)
	var x []float32
	for _, p := range logitPhotos {
		data, err := os.ReadFile(filepath.Join(sample, p))
		if err != nil {
			t.Fatal(err)
		}
		img, err := preprocess.EvalBytes(data, cfg.InputSize, 0, norm)
		if err != nil {
			t.Fatal(err)
		}
		x = append(x, img...)
	}
	if *update {
		writeTorchLogits(t, x)
	}
	raw, err := os.ReadFile(logitsFile)
	if err != nil {
		t.Fatal(err)
	}
	var want torchLogits
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if len(want.Logits) != len(logitPhotos) {
		t.Fatalf("%s: %d rows for %d photos", logitsFile, len(want.Logits), len(logitPhotos))
	}

	backend, err := model.Backend("go")
	if err != nil {
		t.Fatal(err)
	}
	gm, err := model.New(cfg, backend, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := gm.LoadParams(m.Params); err != nil {
		t.Fatal(err)
	}
	gomlx, err := gm.Logits(x, len(logitPhotos))
	if err != nil {
		t.Fatal(err)
	}
	inf, err := alexnet.NewModel(cfg, m.Params, alexnet.Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	pure, err := inf.Forward(x, len(logitPhotos))
	if err != nil {
		t.Fatal(err)
	}
	fm, err := mustRead(t, fixtureZip).Model()
	if err != nil {
		t.Fatal(err)
	}
	viaModel, err := fm.Forward(x, len(logitPhotos))
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]float32{"GoMLX model": gomlx, "pure-Go inference": pure, "File.Model": viaModel} {
		var worst, largest float64
		for i, row := range want.Logits {
			if len(row) != cfg.Classes {
				t.Fatalf("%s: row %d has %d logits", logitsFile, i, len(row))
			}
			for j, w := range row {
				worst = math.Max(worst, math.Abs(float64(got[i*cfg.Classes+j])-w))
				largest = math.Max(largest, math.Abs(w))
			}
		}
		t.Logf("%s: largest |logit| %.3g, max |Δ| vs PyTorch %s: %.3g", name, largest, want.Torch, worst)
		if worst > 1e-4 || largest == 0 {
			t.Errorf("%s: logits differ from PyTorch's by up to %g (> 1e-4)", name, worst)
		}
	}
}

// writeTorchLogits runs make_fixture.py logits on the inputs x and writes
// its output to logitsFile.
func writeTorchLogits(t *testing.T, x []float32) {
	in := filepath.Join(t.TempDir(), "inputs.f32")
	buf := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(in, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", append([]string{"testdata/make_fixture.py", "logits", in}, logitPhotos...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make_fixture.py logits: %v", err)
	}
	if err := os.WriteFile(logitsFile, out, 0o644); err != nil {
		t.Fatal(err)
	}
}
