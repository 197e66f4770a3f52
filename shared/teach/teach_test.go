package teach

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/classify"
	"github.com/pawnet/pawnet/shared/preprocess"
)

// blobs returns n photos per class of d-wide features (each photo's row
// then a slightly moved mirror row), the classes' centres apart by sep.
func blobs(k, n, d int, sep float64, seed uint64) ([][]float32, []int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	centres := make([][]float64, k)
	for c := range centres {
		centres[c] = make([]float64, d)
		for j := range centres[c] {
			centres[c][j] = rng.NormFloat64() * sep
		}
	}
	var feats [][]float32
	var labels []int
	for c := range k {
		for range n {
			f := make([]float32, 2*d)
			for j := range d {
				v := centres[c][j] + rng.NormFloat64()
				f[j] = float32(math.Max(v, 0)) // ReLU activations, as fc7's
				f[d+j] = float32(math.Max(v+0.1*rng.NormFloat64(), 0))
			}
			feats = append(feats, f)
			labels = append(labels, c)
		}
	}
	return feats, labels
}

func TestFitSeparable(t *testing.T) {
	feats, labels := blobs(3, 6, 40, 1.5, 1)
	classes := []string{"cat", "dog", "fox"}
	var stages []string
	h, err := Fit(feats, labels, classes, Options{Seed: 7, Progress: func(p Progress) {
		if len(stages) == 0 || stages[len(stages)-1] != p.Stage {
			stages = append(stages, p.Stage)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := h.Report
	if r.Folds != 5 || r.CVAccuracy < 0.9 || !(r.Temperature > 0) || !slices.Contains(DefaultLambdas, r.Lambda) {
		t.Errorf("report %+v", r)
	}
	if !slices.Equal(stages, []string{"cross-validation", "final"}) || len(r.Losses) == 0 {
		t.Errorf("progress stages %v, %d losses", stages, len(r.Losses))
	}
	if !slices.Equal(r.Photos, []int{6, 6, 6}) {
		t.Errorf("photos per class %v", r.Photos)
	}
	// The head, applied to the raw features, classifies its photos.
	d := 40
	right := 0
	for i, f := range feats {
		if argmax(scores(h, f[:d])) == labels[i] {
			right++
		}
	}
	if right != len(labels) {
		t.Errorf("%d of %d training photos right", right, len(labels))
	}
	// Deterministic for a seed.
	again, err := Fit(feats, labels, classes, Options{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.W, h.W) || !slices.Equal(again.B, h.B) || again.Report.CVAccuracy != r.CVAccuracy {
		t.Error("two fits with the same seed differ")
	}
}

// TestSolveMatchesPrimal checks the span form against the primal one: the
// logits α·G + b of the training rows equal W·x + b of the raw features,
// and the gradient is zero at the optimum of a well-posed problem.
func TestSolveMatchesPrimal(t *testing.T) {
	feats, labels := blobs(2, 5, 30, 0.5, 3)
	all := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	p := newProblem(feats, labels, 2, all)
	sol, err := p.solve(0.1, 500, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, b := p.primal(sol)
	h := &Head{W: w, B: b}
	cross := p.cross(feats, all)
	span := sol.scores(cross, len(all))
	for i, f := range feats {
		got := scores(h, f[:30])
		for c := range 2 {
			if d := math.Abs(float64(got[c] - span[i*2+c])); d > 1e-3*(1+math.Abs(float64(span[i*2+c]))) {
				t.Fatalf("photo %d class %d: primal %g, span %g", i, c, got[c], span[i*2+c])
			}
		}
	}
}

func TestFitRejects(t *testing.T) {
	feats, labels := blobs(2, 3, 8, 1, 2)
	for _, tc := range []struct {
		name    string
		feats   [][]float32
		labels  []int
		classes []string
		want    string
	}{
		{"one class", feats, make([]int, len(labels)), []string{"cat"}, "1 classes"},
		{"eleven classes", feats, labels, strings.Split("a b c d e f g h i j k", " "), "11 classes"},
		{"a class without photos", feats, labels, []string{"cat", "dog", "fox"}, `class "fox" has no photos`},
		{"label out of range", feats, append(labels[:len(labels)-1:len(labels)-1], 5), []string{"cat", "dog"}, "class 5"},
		{"widths differ", append(feats[:len(feats)-1:len(feats)-1], make([]float32, 4)), labels, []string{"cat", "dog"}, "4 feature values"},
		{"rows and labels", feats[:2], labels, []string{"cat", "dog"}, "2 feature rows"},
	} {
		if _, err := Fit(tc.feats, tc.labels, tc.classes, Options{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestFitSinglePhotoPerClass(t *testing.T) {
	feats, labels := blobs(2, 1, 8, 2, 4)
	h, err := Fit(feats, labels, []string{"cat", "dog"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if h.Report.Folds != 0 || h.Report.Lambda != NoCVLambda || h.Report.Temperature != 1 || h.Report.CVAccuracy != 0 {
		t.Errorf("report %+v", h.Report)
	}
}

// TestApplyOnSamplePhotos teaches a head on real sample photos' features
// from a small model and saves it as an export: it loads, keeps the base's
// other layers, names the classes, and classify gives the taught head's
// probabilities. A head taught on another architecture is refused.
func TestApplyOnSamplePhotos(t *testing.T) {
	dir := os.Getenv("PAWNET_SAMPLE_DIR")
	if dir == "" {
		t.Skip("PAWNET_SAMPLE_DIR not set (go tool mage test sets it)")
	}
	base := model(t, alexnet.Small())
	c, err := classify.New(base)
	if err != nil {
		t.Fatal(err)
	}
	var photos [][]byte
	var labels []int
	for i := range 8 {
		for cl, name := range []string{"cat", "dog"} {
			b, err := os.ReadFile(filepath.Join(dir, "train", name+"."+itoa(i)+".jpg"))
			if err != nil {
				t.Skip(err)
			}
			photos = append(photos, b)
			labels = append(labels, cl)
		}
	}
	feats, errs := c.Features(photos)
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	h, err := Fit(feats, labels, []string{"my cat", "my dog"}, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	cfg, params, meta, err := h.Apply(base)
	if err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	if err := alexnet.Save(&file, cfg, params, meta); err != nil {
		t.Fatal(err)
	}
	taught, err := alexnet.Load(file.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(taught.Param("classifier.4.weight"), base.Param("classifier.4.weight")) {
		t.Error("fc7 changed")
	}
	rep, err := ReadReport(taught.Metadata())
	if err != nil || rep.Folds != 5 || !slices.Equal(rep.Classes, []string{"my cat", "my dog"}) {
		t.Errorf("report %+v, %v", rep, err)
	}
	tc, err := classify.New(taught)
	if err != nil {
		t.Fatal(err)
	}
	pred, err := tc.Classify(photos[0], false)
	if err != nil {
		t.Fatal(err)
	}
	want := alexnet.TemperedProbabilities(scores(h, feats[0][:cfg.Dense]), h.Report.Temperature)
	for i := range want {
		if math.Abs(float64(pred.Probs[i]-want[i])) > 1e-4 {
			t.Errorf("P(%s) = %g from the export, %g from the head", tc.Classes[i], pred.Probs[i], want[i])
		}
	}
	if _, err := ReadReport(base.Metadata()); err != ErrNoHead {
		t.Errorf("ReadReport of untaught weights: %v", err)
	}

	tiny := model(t, alexnet.TorchvisionTiny())
	if _, _, _, err := h.Apply(tiny); err == nil || !strings.Contains(err.Error(), "another architecture") {
		t.Errorf("Apply on another architecture: %v", err)
	}
}

func model(t *testing.T, cfg alexnet.Config) *alexnet.Model {
	t.Helper()
	stats, err := json.Marshal(preprocess.ImageNetStats())
	if err != nil {
		t.Fatal(err)
	}
	m, err := alexnet.NewModel(cfg, alexnet.InitParams(cfg, 1), alexnet.Metadata{Stats: stats, Classes: []string{"cat", "dog"}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func scores(h *Head, x []float32) []float32 {
	k := len(h.B)
	d := len(h.W) / k
	out := make([]float32, k)
	for c := range k {
		s := float64(h.B[c])
		for j := range d {
			s += float64(h.W[c*d+j]) * float64(x[j])
		}
		out[c] = float32(s)
	}
	return out
}

func argmax(v []float32) int { return alexnet.Argmax(v) }

func itoa(i int) string { return string(rune('0' + i)) }

// TestSeparates fits heads on classes whose features are apart and on
// classes drawn from the same distribution (a head that knows nothing, as
// cats, dogs and "other animals" in the features of a model trained on
// 32-px photos), then checks the rule on hand-made reports.
func TestSeparates(t *testing.T) {
	for _, tc := range []struct {
		name string
		sep  float64
		want bool
	}{{"apart", 1.5, true}, {"the same", 0, false}} {
		t.Run(tc.name, func(t *testing.T) {
			feats, labels := blobs(3, 25, 40, tc.sep, 9)
			h, err := Fit(feats, labels, []string{"cat", "dog", "other"}, Options{Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			r := h.Report
			if r.Separates != tc.want || math.Abs(r.Chance-1.0/3) > 1e-12 {
				t.Errorf("separates %v, want %v (chance %.3f, CV accuracy %.3f, log loss %.3f, temperature %.2f)", r.Separates, tc.want, r.Chance, r.CVAccuracy, r.CVLogLoss, r.Temperature)
			}
		})
	}
	ln3 := math.Log(3)
	for _, tc := range []struct {
		name string
		r    Report
		want bool
	}{
		// The reported case: 48% over 75 photos is 2.7 standard errors above
		// a third, but the calibrated probabilities stay near a third each.
		{"above chance, near-uniform probabilities", Report{Photos: []int{25, 25, 25}, Folds: 5, CVAccuracy: 0.48, CVLogLoss: 0.99 * ln3}, false},
		{"informative probabilities, accuracy within the noise", Report{Photos: []int{5, 5, 5}, Folds: 5, CVAccuracy: 0.55, CVLogLoss: 0.7 * ln3}, false},
		{"both", Report{Photos: []int{25, 25, 25}, Folds: 5, CVAccuracy: 0.6, CVLogLoss: 0.8 * ln3}, true},
		{"no cross-validation", Report{Photos: []int{1, 1}, Folds: 0, CVAccuracy: 1, CVLogLoss: 0}, false},
		// Unbalanced: always "cat" is right 80% of the time.
		{"the largest class's share", Report{Photos: []int{40, 10}, Folds: 5, CVAccuracy: 0.82, CVLogLoss: 0.3}, false},
	} {
		if got := Separates(tc.r); got != tc.want {
			t.Errorf("%s: Separates = %v, want %v", tc.name, got, tc.want)
		}
	}
}
