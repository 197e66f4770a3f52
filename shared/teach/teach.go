// Package teach trains a new last layer (classifier.6) on a user's own
// labelled photos, as Teachable Machine does: the exported network's
// penultimate activations (classify.Classifier.Features) go into a softmax
// regression with 2 to MaxClasses classes. It is pure Go, so `pawnet teach`
// and the browser's worker run the same code and get the same head.
//
// The fit is done properly for a handful of photos: the features are
// standardized, each photo's horizontal mirror is a second example of it,
// the classes are weighted to count equally, the L2 weight decay is chosen
// by stratified k-fold cross-validation (a photo and its mirror always in
// the same fold), and the temperature is fitted on the out-of-fold logits.
// The result is the base model's weights with classifier.6 replaced, a
// normal export that every reader loads.
//
// The regression is solved in the span of the training examples (the
// representer theorem holds for an L2 penalty), so a step costs
// O(classes × examples²) whatever the width of the features: 4096 for the
// full model.
package teach

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/metrics"
)

// MaxClasses is the most classes a head can be taught.
const MaxClasses = 10

// DefaultLambdas are the L2 weight decays cross-validation chooses from.
var DefaultLambdas = []float64{1e-3, 1e-2, 1e-1, 1, 10}

// NoCVLambda is the weight decay used when a class has a single photo, so
// that nothing can be held out.
const NoCVLambda = 1.0

// Options tune Fit. The zero value is valid.
type Options struct {
	Seed uint64 // folds' shuffling
	// Folds of the cross-validation; 0: min(5, the smallest class's photo
	// count). Fewer than 2 photos in a class: no cross-validation.
	Folds   int
	Lambdas []float64 // nil: DefaultLambdas
	MaxIter int       // L-BFGS iterations per fit; 0: 200
	// Progress, when not nil, is told how the fit advances.
	Progress func(Progress)
}

// Progress is one step of Fit: Done of Total fits so far, and during the
// final fit its loss at each iteration.
type Progress struct {
	Stage       string // "cross-validation" or "final"
	Done, Total int
	Iter        int
	Loss        float64
}

// Report describes a taught head; it is stored in the export's metadata
// (alexnet.MetaTaught).
type Report struct {
	Classes []string `json:"classes"`
	Photos  []int    `json:"photos"` // per class
	Lambda  float64  `json:"lambda"` // the chosen L2 weight decay
	// Folds is the number of cross-validation folds; 0 when a class had a
	// single photo, and then the CV figures are absent.
	Folds      int     `json:"folds"`
	CVAccuracy float64 `json:"cv_accuracy,omitempty"`
	// CVLogLoss is the out-of-fold log loss with the fitted temperature.
	CVLogLoss   float64 `json:"cv_log_loss,omitempty"`
	Temperature float64 `json:"temperature"`
	Seed        uint64  `json:"seed"`
	// Separates says whether the cross-validation shows that the photos'
	// features separate the classes (see Separates): only then does the
	// page classify with the head by itself. Chance is the accuracy of
	// always guessing the largest class.
	Separates bool    `json:"separates"`
	Chance    float64 `json:"chance"`
	// Losses is the final fit's training loss per iteration, for a curve.
	Losses []float64 `json:"-"`
}

// Head is a taught last layer.
type Head struct {
	// W is [classes, features] row-major and B [classes]: classifier.6's
	// weight and bias, applied to the raw (unstandardized) features.
	W, B   []float32
	Report Report
}

// Fit teaches a head. features[i] is photo i's penultimate activations
// followed by its mirror's (classify.Classifier.Features); labels[i] is its
// class, an index into classes.
func Fit(features [][]float32, labels []int, classes []string, opt Options) (*Head, error) {
	k := len(classes)
	if k < 2 || k > MaxClasses {
		return nil, fmt.Errorf("teach: %d classes; a head needs 2 to %d", k, MaxClasses)
	}
	if len(features) != len(labels) {
		return nil, fmt.Errorf("teach: %d feature rows for %d labels", len(features), len(labels))
	}
	counts := make([]int, k)
	for i, y := range labels {
		if y < 0 || y >= k {
			return nil, fmt.Errorf("teach: photo %d has class %d, not in [0, %d)", i, y, k)
		}
		counts[y]++
	}
	for c, n := range counts {
		if n == 0 {
			return nil, fmt.Errorf("teach: class %q has no photos", classes[c])
		}
	}
	if len(features[0]) == 0 || len(features[0])%2 != 0 {
		return nil, fmt.Errorf("teach: a photo has %d feature values; want its features and its mirror's", len(features[0]))
	}
	d := len(features[0]) / 2
	for i, f := range features {
		if len(f) != 2*d {
			return nil, fmt.Errorf("teach: photo %d has %d feature values, photo 0 has %d", i, len(f), 2*d)
		}
	}
	if opt.Lambdas == nil {
		opt.Lambdas = DefaultLambdas
	}
	if opt.MaxIter == 0 {
		opt.MaxIter = 200
	}
	folds := opt.Folds
	if folds == 0 {
		folds = min(5, slices.Min(counts))
	}
	folds = min(folds, slices.Min(counts))
	if folds < 2 {
		folds = 0
	}
	rep := Report{Classes: slices.Clone(classes), Photos: counts, Folds: folds, Seed: opt.Seed, Lambda: NoCVLambda, Temperature: 1}
	total := folds*len(opt.Lambdas) + 1
	done := 0
	progress := func(p Progress) {
		if opt.Progress != nil {
			p.Done, p.Total = done, total
			opt.Progress(p)
		}
	}

	if folds > 0 {
		fold := assignFolds(labels, k, folds, opt.Seed)
		oof := make([][]float32, len(opt.Lambdas)) // per λ, [photos × k] logits
		for l := range oof {
			oof[l] = make([]float32, len(labels)*k)
		}
		for f := range folds {
			var train, test []int
			for i := range labels {
				if fold[i] == f {
					test = append(test, i)
				} else {
					train = append(train, i)
				}
			}
			p := newProblem(features, labels, k, train)
			cross := p.cross(features, test)
			var warm []float64 // each λ starts from the previous one's optimum
			for _, l := range byStrength(opt.Lambdas) {
				sol, err := p.solve(opt.Lambdas[l], opt.MaxIter, warm, nil)
				if err != nil {
					return nil, err
				}
				warm = sol.x
				logits := sol.scores(cross, len(test))
				for j, i := range test {
					copy(oof[l][i*k:(i+1)*k], logits[j*k:(j+1)*k])
				}
				done++
				progress(Progress{Stage: "cross-validation"})
			}
		}
		best, bestLoss := 0, math.Inf(1)
		for l := range opt.Lambdas {
			if loss := meanLogLoss(oof[l], labels, k, 1); loss < bestLoss || (loss == bestLoss && opt.Lambdas[l] > opt.Lambdas[best]) {
				best, bestLoss = l, loss
			}
		}
		rep.Lambda = opt.Lambdas[best]
		rep.Temperature = metrics.FitTemperature(oof[best], labels, k)
		rep.CVLogLoss = meanLogLoss(oof[best], labels, k, rep.Temperature)
		right := 0
		for i, y := range labels {
			if alexnet.Argmax(oof[best][i*k:(i+1)*k]) == y {
				right++
			}
		}
		rep.CVAccuracy = float64(right) / float64(len(labels))
	}
	rep.Chance = chance(rep.Photos)
	rep.Separates = Separates(rep)

	all := make([]int, len(labels))
	for i := range all {
		all[i] = i
	}
	p := newProblem(features, labels, k, all)
	sol, err := p.solve(rep.Lambda, opt.MaxIter, nil, func(iter int, loss float64) {
		rep.Losses = append(rep.Losses, loss)
		progress(Progress{Stage: "final", Iter: iter, Loss: loss})
	})
	if err != nil {
		return nil, err
	}
	done++
	progress(Progress{Stage: "final", Iter: len(rep.Losses), Loss: sol.loss})
	w, b := p.primal(sol)
	return &Head{W: w, B: b, Report: rep}, nil
}

// Separates reports whether a head's cross-validation shows that its
// photos' features separate the classes, rather than a head that knows
// nothing: there was a cross-validation, its accuracy beats chance (the
// largest class's share) by at least two standard errors of chance over
// that many photos, and its calibrated log loss is at most 90% of the
// class prior's entropy (the log loss of knowing only how many photos
// each class has): a head whose calibrated probabilities stay near the
// prior explains almost nothing even when its argmax is right a little
// more often than chance.
func Separates(r Report) bool {
	n := 0
	for _, c := range r.Photos {
		n += c
	}
	if r.Folds == 0 || n == 0 {
		return false
	}
	p0 := chance(r.Photos)
	margin := 2 * math.Sqrt(p0*(1-p0)/float64(n))
	var entropy float64
	for _, c := range r.Photos {
		if c > 0 {
			q := float64(c) / float64(n)
			entropy -= q * math.Log(q)
		}
	}
	return r.CVAccuracy >= p0+margin && r.CVLogLoss <= 0.9*entropy
}

// chance is the accuracy of always guessing the class with the most
// photos.
func chance(photos []int) float64 {
	n, most := 0, 0
	for _, c := range photos {
		n += c
		most = max(most, c)
	}
	if n == 0 {
		return 0
	}
	return float64(most) / float64(n)
}

// assignFolds gives each photo a fold: each class's photos shuffled with
// seed and dealt round-robin, so every fold holds every class.
func assignFolds(labels []int, k, folds int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 0x7eac4))
	fold := make([]int, len(labels))
	for c := range k {
		var idx []int
		for i, y := range labels {
			if y == c {
				idx = append(idx, i)
			}
		}
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		for j, i := range idx {
			fold[i] = j % folds
		}
	}
	return fold
}

// meanLogLoss is the mean negative log-likelihood of softmax(logits/t).
func meanLogLoss(logits []float32, labels []int, k int, t float64) float64 {
	sum := 0.0
	for i, y := range labels {
		p := alexnet.TemperedProbabilities(logits[i*k:(i+1)*k], t)
		sum -= math.Log(math.Max(float64(p[y]), 1e-15))
	}
	return sum / float64(len(labels))
}

// problem is one regression: the standardized training rows (each photo
// and its mirror) and, since the L2 optimum lies in their span, their
// coordinates in an orthonormal basis of that span (from the Gram matrix's
// eigendecomposition): the regression is solved on those r ≤ rows
// coordinates, as well conditioned as on the d features but much smaller.
type problem struct {
	k, d      int
	mu, sigma []float64  // standardization of the training rows
	z         *mat.Dense // rows × d standardized
	coords    *mat.Dense // rows × r: the rows in the basis
	proj      *mat.Dense // r × rows: Λ^-½·Uᵀ, maps Z·vᵀ to v's coordinates
	y         []int
	weight    []float64 // per row; Σ = 1
	rows      int
}

func newProblem(features [][]float32, labels []int, k int, photos []int) *problem {
	d := len(features[0]) / 2
	n := 2 * len(photos)
	p := &problem{k: k, d: d, rows: n, mu: make([]float64, d), sigma: make([]float64, d), y: make([]int, n), weight: make([]float64, n)}
	raw := func(r int) []float32 { // row r: photo r/2, plain or mirror
		f := features[photos[r/2]]
		return f[(r%2)*d : (r%2+1)*d]
	}
	for r := range n {
		for j, v := range raw(r) {
			p.mu[j] += float64(v)
		}
	}
	for j := range p.mu {
		p.mu[j] /= float64(n)
	}
	for r := range n {
		for j, v := range raw(r) {
			dv := float64(v) - p.mu[j]
			p.sigma[j] += dv * dv
		}
	}
	for j := range p.sigma {
		p.sigma[j] = math.Sqrt(p.sigma[j] / float64(n))
		if p.sigma[j] < 1e-6 {
			p.sigma[j] = 1 // a constant feature: centered to 0 anyway
		}
	}
	p.z = mat.NewDense(n, d, nil)
	counts := make([]int, k)
	for r := range n {
		row := p.z.RawRowView(r)
		for j, v := range raw(r) {
			row[j] = (float64(v) - p.mu[j]) / p.sigma[j]
		}
		p.y[r] = labels[photos[r/2]]
		counts[p.y[r]]++
	}
	present := 0
	for _, c := range counts {
		if c > 0 {
			present++
		}
	}
	for r := range n { // each class present weighs the same in total
		p.weight[r] = 1 / float64(present*counts[p.y[r]])
	}

	// G = Z·Zᵀ = U·Λ·Uᵀ; the basis Q = Λ^-½·Uᵀ·Z is orthonormal, and the
	// rows' coordinates in it are U·Λ^½. Directions with a negligible
	// eigenvalue (duplicate or constant rows) are dropped.
	gram := mat.NewSymDense(n, nil)
	gram.SymOuterK(1, p.z)
	var eig mat.EigenSym
	if !eig.Factorize(gram, true) {
		panic("teach: eigendecomposition of the Gram matrix failed")
	}
	vals := eig.Values(nil)
	var u mat.Dense
	eig.VectorsTo(&u)
	top := slices.Max(vals)
	var keep []int
	for i, v := range vals {
		if v > 1e-9*top && v > 0 {
			keep = append(keep, i)
		}
	}
	r := len(keep)
	p.coords = mat.NewDense(n, max(r, 1), nil)
	p.proj = mat.NewDense(max(r, 1), n, nil)
	for c, i := range keep {
		s := math.Sqrt(vals[i])
		for row := range n {
			p.coords.Set(row, c, u.At(row, i)*s)
			p.proj.Set(c, row, u.At(row, i)/s)
		}
	}
	return p
}

// cross returns the coordinates (r × photos) in the basis of the plain
// (not mirrored) rows of the test photos, standardized with the training
// rows' statistics.
func (p *problem) cross(features [][]float32, photos []int) *mat.Dense {
	t := mat.NewDense(len(photos), p.d, nil)
	for i, ph := range photos {
		row := t.RawRowView(i)
		for j, v := range features[ph][:p.d] {
			row[j] = (float64(v) - p.mu[j]) / p.sigma[j]
		}
	}
	var zt, c mat.Dense
	zt.Mul(p.z, t.T()) // rows × photos
	c.Mul(p.proj, &zt)
	return &c
}

// solution is a fit in the basis: W = γ·Q.
type solution struct {
	k     int
	gamma *mat.Dense // k × r
	b     []float64
	loss  float64
	x     []float64 // γ then b, to start another fit from
}

// scores returns the [n × k] logits of the n columns of coords.
func (s solution) scores(coords *mat.Dense, n int) []float32 {
	var sc mat.Dense
	sc.Mul(s.gamma, coords) // k × n
	out := make([]float32, n*s.k)
	for i := range n {
		for c := range s.k {
			out[i*s.k+c] = float32(sc.At(c, i) + s.b[c])
		}
	}
	return out
}

// byStrength returns the indices of lambdas from the strongest decay to
// the weakest: each fit then starts near its optimum from the one before.
func byStrength(lambdas []float64) []int {
	idx := make([]int, len(lambdas))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(lambdas[b], lambdas[a]) })
	return idx
}

// solve minimizes the class-weighted cross-entropy plus (λ/2)·‖W‖² (=
// ‖γ‖², the basis being orthonormal) with L-BFGS from x0 (nil: zero).
// record, when not nil, gets the loss at each iteration.
func (p *problem) solve(lambda float64, maxIter int, x0 []float64, record func(iter int, loss float64)) (solution, error) {
	k, n := p.k, p.rows
	_, r := p.coords.Dims()
	nG := k * r
	eval := func(grad, x []float64) float64 {
		gamma := mat.NewDense(k, r, x[:nG])
		b := x[nG:]
		var sc mat.Dense
		sc.Mul(gamma, p.coords.T()) // k × n
		loss := 0.0
		var ds *mat.Dense
		if grad != nil {
			ds = mat.NewDense(k, n, nil)
		}
		logit := make([]float64, k)
		for i := range n {
			m := math.Inf(-1)
			for c := range k {
				logit[c] = sc.At(c, i) + b[c]
				m = math.Max(m, logit[c])
			}
			sum := 0.0
			for c := range k {
				sum += math.Exp(logit[c] - m)
			}
			lse := m + math.Log(sum)
			loss += p.weight[i] * (lse - logit[p.y[i]])
			if ds != nil {
				for c := range k {
					g := math.Exp(logit[c] - lse)
					if c == p.y[i] {
						g--
					}
					ds.Set(c, i, p.weight[i]*g)
				}
			}
		}
		for _, v := range x[:nG] {
			loss += lambda / 2 * v * v
		}
		if grad != nil {
			// ∂/∂γ = dS·coords + λγ, ∂/∂b = Σ_i dS.
			g := mat.NewDense(k, r, grad[:nG])
			g.Mul(ds, p.coords)
			for i, v := range x[:nG] {
				grad[i] += lambda * v
			}
			for c := range k {
				grad[nG+c] = mat.Sum(ds.RowView(c))
			}
		}
		return loss
	}
	prob := optimize.Problem{
		Func: func(x []float64) float64 { return eval(nil, x) },
		Grad: func(grad, x []float64) { eval(grad, x) },
	}
	settings := &optimize.Settings{MajorIterations: maxIter, GradientThreshold: 1e-6}
	if record != nil {
		settings.Recorder = recorder(record)
	}
	if x0 == nil {
		x0 = make([]float64, nG+k)
	}
	res, err := optimize.Minimize(prob, x0, settings, &optimize.LBFGS{})
	if err != nil && res == nil {
		return solution{}, fmt.Errorf("teach: %w", err)
	}
	// Stopping at the iteration limit or on a flat line search still
	// leaves a usable optimum of a convex problem.
	x := slices.Clone(res.X)
	return solution{k: k, gamma: mat.NewDense(k, r, x[:nG]), b: x[nG:], loss: res.F, x: x}, nil
}

// primal returns W (in the raw features' units) and b: W = γ·Q =
// γ·Λ^-½·Uᵀ·Z, then the standardization folded in.
func (p *problem) primal(s solution) ([]float32, []float32) {
	var gp, wz mat.Dense
	gp.Mul(s.gamma, p.proj) // k × rows
	wz.Mul(&gp, p.z)        // k × d
	w := make([]float32, p.k*p.d)
	b := make([]float32, p.k)
	for c := range p.k {
		shift := s.b[c]
		for j := range p.d {
			v := wz.At(c, j) / p.sigma[j]
			w[c*p.d+j] = float32(v)
			shift -= v * p.mu[j]
		}
		b[c] = float32(shift)
	}
	return w, b
}

// recorder adapts a callback to optimize.Recorder.
type recorder func(iter int, loss float64)

func (r recorder) Init() error { return nil }

func (r recorder) Record(loc *optimize.Location, op optimize.Operation, st *optimize.Stats) error {
	if op&optimize.MajorIteration != 0 {
		r(st.MajorIterations, loc.F)
	}
	return nil
}

// Apply returns base's weights with its last layer replaced by the head:
// the same architecture with the head's classes, their names and the
// fitted temperature in the metadata, and the Report as alexnet.MetaTaught.
// The base's normalization stats are kept. It fails when the head was
// taught on features of another width (another architecture).
func (h *Head) Apply(base *alexnet.Model) (alexnet.Config, map[string][]float32, alexnet.Metadata, error) {
	meta, err := h.metadata(base)
	if err != nil {
		return alexnet.Config{}, nil, alexnet.Metadata{}, err
	}
	cfg := base.Config()
	params := base.Params()
	last := alexnet.DenseNames[2]
	params[last+".weight"] = slices.Clone(h.W)
	params[last+".bias"] = slices.Clone(h.B)
	cfg.Classes = len(h.B)
	return cfg, params, meta, nil
}

// Model returns base with its last layer replaced by the head, as loading
// the export Apply makes, saved in base's variant, would give: the head is
// stored as that variant stores it (alexnet.Model.WithHead), and the
// metadata is Apply's. It shares base's other layers (nothing is copied),
// so it is how the browser's worker classifies with a taught head. It
// fails as Apply does.
func (h *Head) Model(base *alexnet.Model) (*alexnet.Model, error) {
	meta, err := h.metadata(base)
	if err != nil {
		return nil, err
	}
	v := meta.Variant
	if v == "" {
		v = alexnet.F32
	}
	return base.WithHead(h.W, h.B, meta, v)
}

// metadata is the metadata of base with the head: its classes, their
// fitted temperature, the cross-validated figures and the Report as
// alexnet.MetaTaught. It fails when the head does not fit base.
func (h *Head) metadata(base *alexnet.Model) (alexnet.Metadata, error) {
	cfg := base.Config()
	k := len(h.B)
	if k < 2 || len(h.W) != k*cfg.Dense {
		return alexnet.Metadata{}, fmt.Errorf("teach: the head takes %d features; model %s has %d (it was taught on another architecture)",
			len(h.W)/max(k, 1), cfg.Name, cfg.Dense)
	}
	if len(h.Report.Classes) != k {
		return alexnet.Metadata{}, fmt.Errorf("teach: a head of %d classes names %d", k, len(h.Report.Classes))
	}
	meta := base.Metadata()
	meta.Classes = slices.Clone(h.Report.Classes)
	meta.Temperature = h.Report.Temperature
	meta.BestEpoch, meta.ValAcc, meta.ValLogLoss = 0, h.Report.CVAccuracy, h.Report.CVLogLoss
	taught, err := json.Marshal(h.Report)
	if err != nil {
		return alexnet.Metadata{}, err
	}
	meta.Taught = taught
	return meta, nil
}

// ErrNoHead reports weights whose last layer was not taught.
var ErrNoHead = errors.New("teach: these weights have no taught head")

// ReadReport returns the Report of taught weights.
func ReadReport(meta alexnet.Metadata) (Report, error) {
	var r Report
	if len(meta.Taught) == 0 {
		return r, ErrNoHead
	}
	err := json.Unmarshal(meta.Taught, &r)
	return r, err
}
