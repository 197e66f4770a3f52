package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	mlmodel "github.com/gomlx/gomlx/ml/model"

	"github.com/pawnet/pawnet/internal/fixtures"
	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/preprocess"
)

// camNorm normalizes the sample photos for these tests (roughly the
// sample's own statistics; any fixed normalization serves).
var camNorm = preprocess.Stats{Mean: [3]float64{0.49, 0.47, 0.42}, Std: [3]float64{0.25, 0.24, 0.25}}

// samplePhotos returns the eval tensors (size×size NHWC) and labels of the
// first n cats and n dogs of the sample's train folder (from offset on).
func samplePhotos(t testing.TB, size, offset, n int) ([]float32, []int32) {
	t.Helper()
	norm, err := preprocess.NewNormalizer(camNorm)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(fixtures.SampleDir(t), "train")
	var x []float32
	var y []int32
	for i := offset; i < offset+n; i++ {
		for label, cls := range []string{"cat", "dog"} {
			data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%s.%d.jpg", cls, i)))
			if err != nil {
				t.Fatal(err)
			}
			img, err := preprocess.EvalBytes(data, size, 0, norm)
			if err != nil {
				t.Fatal(err)
			}
			x = append(x, img...)
			y = append(y, int32(label))
		}
	}
	return x, y
}

// autodiffLastConv takes, with GoMLX's autodiff on the training graph in
// eval mode, the gradient of logits[class] with respect to the last conv's
// output (after ReLU, before its pool) for one NHWC image. It returns the
// logits, that output and the gradient, both in (C, H, W) order.
func autodiffLastConv(t testing.TB, m *Model, x []float32, class int) (logits, act, grad []float32) {
	t.Helper()
	var exec *mlmodel.Exec
	err := catch(func() error {
		var err error
		exec, err = mlmodel.NewExec(m.backend, m.store, func(scope *mlmodel.Scope, img, onehot *graph.Node) []*graph.Node {
			m.store.SetTraining(img.Graph(), false)
			var a *graph.Node
			lg := m.buildNet(scope, img, func(n *graph.Node) { a = n })
			y := graph.ReduceAllSum(graph.Mul(lg, onehot))
			return []*graph.Node{lg, a, graph.Gradient(y, a)[0]}
		})
		if err != nil {
			return err
		}
		s := m.cfg.InputSize
		xt := tensors.FromShape(shapes.Make(dtypes.Float32, 1, s, s, 3))
		tensors.MustMutableFlatData(xt, func(flat []float32) { copy(flat, x) })
		oh := make([]float32, m.cfg.Classes)
		oh[class] = 1
		res, err := exec.Call(xt, tensors.FromFlatDataAndDimensions(oh, 1, m.cfg.Classes))
		if err != nil {
			return err
		}
		logits = tensors.MustCopyFlatData[float32](res[0])
		act = hwcToCHW(tensors.MustCopyFlatData[float32](res[1]), res[1].Shape().Dimensions)
		grad = hwcToCHW(tensors.MustCopyFlatData[float32](res[2]), res[2].Shape().Dimensions)
		return nil
	})
	if exec != nil {
		exec.Finalize()
	}
	if err != nil {
		t.Fatal(err)
	}
	return logits, act, grad
}

// hwcToCHW reorders a [1, H, W, C] tensor's data to (C, H, W).
func hwcToCHW(v []float32, dims []int) []float32 {
	h, w, c := dims[1], dims[2], dims[3]
	out := make([]float32, len(v))
	for y := range h {
		for x := range w {
			for k := range c {
				out[(k*h+y)*w+x] = v[(y*w+x)*c+k]
			}
		}
	}
	return out
}

// relErr is ‖a−b‖ / ‖b‖.
func relErr(a, b []float32) float64 {
	var num, den float64
	for i := range b {
		d := float64(a[i]) - float64(b[i])
		num += d * d
		den += float64(b[i]) * float64(b[i])
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

var trained struct {
	once   sync.Once
	params map[string][]float32
	acc    float64
	err    error
}

// trainedSmall trains Small from seed 1 on 1600 sample photos (800 per
// class, no augmentation) for 8 epochs with Adam at lr 1e-3, batch 32, and
// returns its parameters and its accuracy on 200 other sample photos.
// About 50 s on two cores; shared by the tests of this file.
func trainedSmall(t *testing.T) map[string][]float32 {
	t.Helper()
	trained.once.Do(func() {
		cfg := alexnet.Small()
		x, y := samplePhotos(t, cfg.InputSize, 0, 800)
		m, err := NewWithOptions(cfg, goBackend(), 1, Options{LearningRate: 1e-3, BatchSize: 32})
		if err != nil {
			trained.err = err
			return
		}
		per := cfg.InputSize * cfg.InputSize * 3
		rng := rand.New(rand.NewPCG(1, 2))
		bx := make([]float32, 32*per)
		by := make([]int32, 32)
		for range 8 {
			order := rng.Perm(len(y))
			for b := 0; b+32 <= len(order); b += 32 {
				for i, j := range order[b : b+32] {
					copy(bx[i*per:(i+1)*per], x[j*per:(j+1)*per])
					by[i] = y[j]
				}
				if _, _, err := m.TrainStep(bx, by, 32); err != nil {
					trained.err = err
					return
				}
			}
		}
		trained.params = m.ExportParams()
		vx, vy := samplePhotos(t, cfg.InputSize, 800, 100)
		lg, err := m.Logits(vx, len(vy))
		if err != nil {
			trained.err = err
			return
		}
		ok := 0
		for i, l := range vy {
			if alexnet.Argmax(lg[i*2:i*2+2]) == int(l) {
				ok++
			}
		}
		trained.acc = float64(ok) / float64(len(vy))
	})
	if trained.err != nil {
		t.Fatal(trained.err)
	}
	return trained.params
}

// TestGradCAMMatchesAutodiff checks the hand-written backward pass of
// shared/alexnet (LastConvGradient, and GradCAM's channel weights and maps)
// against GoMLX's autodiff of the same network with the same weights, on
// real sample photos: trained weights for Small, He-initialized weights
// with random biases for Full (training Full is out of reach of a test on
// the CPU), for both classes.
func TestGradCAMMatchesAutodiff(t *testing.T) {
	if testing.Short() {
		t.Skip("trains Small and runs Full through GoMLX")
	}
	cases := []struct {
		name   string
		cfg    alexnet.Config
		params func(t *testing.T) map[string][]float32
		photos int
	}{
		{"small", alexnet.Small(), trainedSmall, 4},
		{"full", alexnet.Full(), func(*testing.T) map[string][]float32 {
			p := alexnet.InitParams(alexnet.Full(), 7)
			rng := rand.New(rand.NewPCG(7, 8))
			for _, s := range alexnet.Full().Params() {
				if len(s.Shape) == 1 {
					for i := range p[s.Name] {
						p[s.Name][i] = float32(rng.NormFloat64() * 0.05)
					}
				}
			}
			return p
		}, 1},
	}
	const tol = 1e-4
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			params := c.params(t)
			gm := newModel(t, c.cfg, 1, Options{})
			if err := gm.LoadParams(params); err != nil {
				t.Fatal(err)
			}
			am, err := alexnet.NewModel(c.cfg, params, alexnet.Metadata{})
			if err != nil {
				t.Fatal(err)
			}
			x, _ := samplePhotos(t, c.cfg.InputSize, 850, c.photos/2+c.photos%2)
			per := c.cfg.InputSize * c.cfg.InputSize * 3
			worst := [4]float64{}
			for i := range c.photos {
				img := x[i*per : (i+1)*per]
				cam, err := am.GradCAM(img, 0, 1)
				if err != nil {
					t.Fatal(err)
				}
				for class := range c.cfg.Classes {
					wantLogits, wantAct, wantGrad := autodiffLastConv(t, gm, img, class)
					logits, act, grad, err := am.LastConvGradient(img, class)
					if err != nil {
						t.Fatal(err)
					}
					// α from autodiff: the spatial mean of its gradient.
					plane := cam.Side * cam.Side
					wantAlpha := make([]float32, len(wantGrad)/plane)
					for k := range wantAlpha {
						var s float64
						for _, v := range wantGrad[k*plane : (k+1)*plane] {
							s += float64(v)
						}
						wantAlpha[k] = float32(s / float64(plane))
					}
					wantMap := alexnet.CAMMap(wantAct, wantAlpha, cam.Side)
					errs := [4]float64{
						relErr(act, wantAct),
						relErr(grad, wantGrad),
						relErr(cam.Weights[class], wantAlpha),
						relErr(cam.Maps[class], wantMap),
					}
					t.Logf("photo %d class %d: logits %v vs autodiff %v; relative error: activations %.2g, gradient %.2g, α %.2g, map %.2g",
						i, class, logits, wantLogits, errs[0], errs[1], errs[2], errs[3])
					for j, e := range errs {
						worst[j] = max(worst[j], e)
					}
					if !slices.Equal(logits, cam.Logits) {
						t.Errorf("photo %d: LastConvGradient's logits %v differ from GradCAM's %v", i, logits, cam.Logits)
					}
				}
			}
			fmt.Printf("gradcam parity %s: worst relative error vs GoMLX autodiff over %d photos × %d classes: activations %.2g, gradient %.2g, α %.2g, map %.2g (limit %g)\n",
				c.name, c.photos, c.cfg.Classes, worst[0], worst[1], worst[2], worst[3], tol)
			for j, what := range []string{"activations", "gradient", "α", "map"} {
				if worst[j] > tol {
					t.Errorf("%s: relative error %.3g > %g", what, worst[j], tol)
				}
			}
		})
	}
}

// spearman is the rank correlation of a and b (Pearson's correlation of
// their ranks, ties sharing their mean rank); ok is false when either is
// constant.
func spearman(a, b []float32) (rho float64, ok bool) {
	ra, rb := ranks(a), ranks(b)
	n := float64(len(a))
	var ma, mb float64
	for i := range ra {
		ma += ra[i] / n
		mb += rb[i] / n
	}
	var sab, saa, sbb float64
	for i := range ra {
		da, db := ra[i]-ma, rb[i]-mb
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	if saa == 0 || sbb == 0 {
		return 0, false
	}
	return sab / math.Sqrt(saa*sbb), true
}

// ranks returns the 1-based ranks of v, ties getting their mean rank.
func ranks(v []float32) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case v[a] < v[b]:
			return -1
		case v[a] > v[b]:
			return 1
		}
		return 0
	})
	r := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && v[idx[j+1]] == v[idx[i]] {
			j++
		}
		for k := i; k <= j; k++ {
			r[idx[k]] = float64(i+j)/2 + 1
		}
		i = j + 1
	}
	return r
}

// TestGradCAMSanity is the model-randomization check of Adebayo et al.
// 2018 ("Sanity Checks for Saliency Maps"): a saliency method that explains
// the model must give clearly different maps when the trained weights are
// replaced by random ones, while an explanation that only reflects the
// photo (an edge detector) would not change. For 100 held-out sample
// photos it compares the Grad-CAM map of the trained Small model's
// predicted class with the map of the same class from randomly
// re-initialized weights (alexnet.InitParams, three seeds), by Spearman
// rank correlation, and as a control with the map from the trained weights
// perturbed by 0.2% noise, which must stay the same.
//
// Threshold: a method that fails the check (in the paper, guided
// backpropagation and guided Grad-CAM) keeps rank correlations near 1
// under randomization; unrelated maps give 0. The test asks for a mean
// below 0.5, halfway, and for the control to stay above 0.9, so the
// measure itself is shown able to see two maps agree.
func TestGradCAMSanity(t *testing.T) {
	if testing.Short() {
		t.Skip("trains Small")
	}
	cfg := alexnet.Small()
	params := trainedSmall(t)
	newAlex := func(p map[string][]float32) *alexnet.Model {
		m, err := alexnet.NewModel(cfg, p, alexnet.Metadata{})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	trainedM := newAlex(params)
	noisy := make(map[string][]float32, len(params))
	rng := rand.New(rand.NewPCG(3, 4))
	for name, v := range params {
		var ss float64
		for _, f := range v {
			ss += float64(f) * float64(f)
		}
		rms := math.Sqrt(ss / float64(len(v)))
		w := make([]float32, len(v))
		for i, f := range v {
			w[i] = f + float32(0.002*rms*rng.NormFloat64())
		}
		noisy[name] = w
	}
	noisyM := newAlex(noisy)
	var randoms []*alexnet.Model
	for seed := range uint64(3) {
		randoms = append(randoms, newAlex(alexnet.InitParams(cfg, 100+seed)))
	}
	x, _ := samplePhotos(t, cfg.InputSize, 850, 50)
	per := cfg.InputSize * cfg.InputSize * 3
	var sumRand, sumCtl float64
	var nRand, nCtl, flat int
	for i := range len(x) / per {
		img := x[i*per : (i+1)*per]
		tc, err := trainedM.GradCAM(img)
		if err != nil {
			t.Fatal(err)
		}
		class := alexnet.Argmax(tc.Logits)
		want := tc.Maps[class]
		nc, err := noisyM.GradCAM(img, class)
		if err != nil {
			t.Fatal(err)
		}
		if r, ok := spearman(want, nc.Maps[class]); ok {
			sumCtl += r
			nCtl++
		} else {
			flat++
		}
		for _, rm := range randoms {
			rc, err := rm.GradCAM(img, class)
			if err != nil {
				t.Fatal(err)
			}
			if r, ok := spearman(want, rc.Maps[class]); ok {
				sumRand += r
				nRand++
			} else {
				flat++
			}
		}
	}
	if nRand < 100 || nCtl < 50 {
		t.Fatalf("only %d random and %d control comparisons had two non-flat maps (%d flat)", nRand, nCtl, flat)
	}
	meanRand, meanCtl := sumRand/float64(nRand), sumCtl/float64(nCtl)
	fmt.Printf("gradcam sanity (Small trained to %.1f%% on 200 held-out photos): mean Spearman ρ of the maps, trained vs re-initialized: %.3f (%d pairs); trained vs trained+0.2%% noise: %.3f (%d pairs); %d flat maps skipped\n",
		100*trained.acc, meanRand, nRand, meanCtl, nCtl, flat)
	if meanRand >= 0.5 {
		t.Errorf("maps from random weights correlate with the trained model's (mean ρ %.3f ≥ 0.5): Grad-CAM would not be explaining the model", meanRand)
	}
	if meanCtl <= 0.9 {
		t.Errorf("control: maps of slightly perturbed weights correlate only %.3f ≤ 0.9", meanCtl)
	}
}
