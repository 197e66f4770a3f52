package predict

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pawnet/pawnet/internal/fixtures"
	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/classify"
	"github.com/pawnet/pawnet/shared/preprocess"
	"github.com/pawnet/pawnet/trainer/dataset"
	"github.com/pawnet/pawnet/trainer/model"
)

// statsOf computes real stats on a few sample photos.
func statsOf(t *testing.T) preprocess.Stats {
	ds, err := dataset.Scan(fixtures.ClassTree(t, 20))
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := dataset.ComputeStats(ds.Items, nil, 227, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestSharedInferenceMatchesTrainingGraph checks that the browser's
// pure-Go forward pass and the GoMLX training graph give the same logits
// on the same weights and real photos.
func TestSharedInferenceMatchesTrainingGraph(t *testing.T) {
	st := statsOf(t)
	norm, _ := preprocess.NewNormalizer(st)
	backend, err := model.Backend("go")
	if err != nil {
		t.Fatal(err)
	}
	test := filepath.Join(fixtures.SampleDir(t), "test")
	for _, cfg := range []alexnet.Config{alexnet.Small(), alexnet.Full()} {
		t.Run(cfg.Name, func(t *testing.T) {
			const n = 2
			var x []float32
			for _, f := range []string{"3.jpg", "4.jpg"} {
				data, err := os.ReadFile(filepath.Join(test, f))
				if err != nil {
					t.Fatal(err)
				}
				v, err := preprocess.EvalBytes(data, cfg.InputSize, 0, norm)
				if err != nil {
					t.Fatal(err)
				}
				x = append(x, v...)
			}
			m, err := model.NewWithOptions(cfg, backend, 7, model.Options{BatchSize: n})
			if err != nil {
				t.Fatal(err)
			}
			want, err := m.Logits(x, n)
			if err != nil {
				t.Fatal(err)
			}
			shared, err := alexnet.NewModel(cfg, m.ExportParams(), alexnet.Metadata{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := shared.Forward(x, n)
			if err != nil {
				t.Fatal(err)
			}
			var worst float64
			for i := range want {
				worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
			}
			t.Logf("%s: logits %v vs %v, max |Δ| = %.2g", cfg.Name, got, want, worst)
			if worst > 1e-4 {
				t.Errorf("max |Δlogit| = %g > 1e-4", worst)
			}
		})
	}
}

func TestPredictSubmissionAndScore(t *testing.T) {
	st := statsOf(t)
	stats, _ := json.Marshal(st)
	cfg := alexnet.Small()
	w := filepath.Join(t.TempDir(), "w.safetensors")
	if _, err := model.WriteWeights(w, cfg, alexnet.InitParams(cfg, 3), alexnet.Metadata{Stats: stats, Classes: []string{"cat", "dog"}}); err != nil {
		t.Fatal(err)
	}
	m, err := alexnet.LoadFile(w)
	if err != nil {
		t.Fatal(err)
	}
	c, err := classify.New(m)
	if err != nil {
		t.Fatal(err)
	}
	// The sample's test set plus a bad file in a copy of the folder.
	sample := fixtures.SampleDir(t)
	dir := t.TempDir()
	ents, _ := os.ReadDir(filepath.Join(sample, "test"))
	for _, e := range ents {
		fixtures.Link(t, filepath.Join(sample, "test", e.Name()), filepath.Join(dir, e.Name()))
	}
	os.WriteFile(filepath.Join(dir, "201.jpg"), []byte("not a photo"), 0o644)
	files, skipped, err := Files([]string{dir})
	if err != nil || len(files) != 201 || len(skipped) != 0 {
		t.Fatalf("%d files, skipped %v, %v", len(files), skipped, err)
	}
	single := Run(c, files, false, 1, nil)
	for _, tc := range []struct {
		tta   bool
		batch int
	}{{false, 8}, {true, 8}, {false, 32}, {true, 1}} {
		tta := tc.tta
		res := Run(c, files, tta, tc.batch, nil)
		if !tta {
			// Batching changes nothing but the speed.
			for i, r := range res {
				if r.Path != single[i].Path || (r.Err == nil) != (single[i].Err == nil) {
					t.Fatalf("batch %d: result %d is %s (err %v), batch 1 %s (err %v)", tc.batch, i, r.Path, r.Err, single[i].Path, single[i].Err)
				}
				for k := range r.Probs {
					if d := math.Abs(float64(r.Probs[k] - single[i].Probs[k])); d > 1e-6 {
						t.Fatalf("batch %d: %s P[%d] = %v, batch 1 %v", tc.batch, r.Path, k, r.Probs[k], single[i].Probs[k])
					}
				}
			}
		}
		bad := 0
		for _, r := range res {
			if r.Err != nil {
				bad++
				continue
			}
			if s := r.Probs[0] + r.Probs[1]; math.Abs(float64(s)-1) > 1e-5 {
				t.Fatalf("%s: probabilities sum to %v", r.Path, s)
			}
		}
		if bad != 1 {
			t.Fatalf("tta=%v: %d failures, want only 201.jpg", tta, bad)
		}
		var sub bytes.Buffer
		n, skipped := WriteSubmission(&sub, res, 1, 0.005)
		if n != 200 || len(skipped) != 1 {
			t.Fatalf("%d rows, skipped %v", n, skipped)
		}
		pred, err := ReadCSV(&sub)
		if err != nil {
			t.Fatal(err)
		}
		for id, p := range pred {
			if p < 0.005 || p > 0.995 {
				t.Fatalf("id %d: label %v not clipped", id, p)
			}
		}
		f, _ := os.Open(filepath.Join(sample, "test_labels.csv"))
		labels, err := ReadCSV(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		s, err := ScoreSubmission(pred, labels)
		if err != nil || s.N != 200 || s.Missing != 0 || math.IsNaN(s.LogLoss) || s.LogLoss > math.Log(1/0.005) {
			t.Fatalf("score %+v, %v", s, err)
		}
		// The labels themselves score perfectly (up to the clip).
		perfect, _ := ScoreSubmission(labels, labels)
		if perfect.Accuracy != 1 || perfect.LogLoss > 1e-12 {
			t.Errorf("perfect submission scores %+v", perfect)
		}
	}
	if _, err := ReadCSV(strings.NewReader("a,b\n1,2\n")); err == nil {
		t.Error("a CSV without the id,label header was accepted")
	}
}
