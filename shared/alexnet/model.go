package alexnet

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
)

// Model is an AlexNet ready for inference: its configuration, metadata and
// weights, with the conv weights transformed for the fast kernels.
//
// Forward, Predict and the accessors are safe for concurrent use. Each
// Forward call borrows a set of scratch buffers from the Model (8 MB per
// image worker for Full, plus the dense activations) and returns it
// afterwards, so repeated calls allocate nothing but their result.
//
// How it computes (Full, 1.13 GMAC per image by direct convolution):
//
//   - conv1 (11×11 stride 4): im2col into packed panels + a register-blocked
//     GEMM (gemm.go), whose micro-kernel is scalar, wasm SIMD
//     (archsimd.Float32x4, with GOEXPERIMENT=simd and Go ≥ 1.27; it adds
//     the bias and applies ReLU in vectors as it stores) or AVX2+FMA
//     (archsimd.Float32x8, GOEXPERIMENT=simd on amd64).
//   - conv2 (5×5) and conv3–5 (3×3), stride 1: Winograd F(3×3, 5×5) and
//     F(4×4, 3×3) (winograd.go), whose α² GEMMs use the same kernels and
//     whose transforms work on eight tiles at a time (in wasm SIMD, a
//     whole transform in vector registers). This cuts the conv
//     multiply-adds from 1.08 G to about 0.45 G, at the cost of 54 MB of
//     transformed conv weights (the file's conv weights are 9 MB) and a
//     relative error of about 2e-5 on the logits. LoadDeferred leaves
//     conv3–5's transforms (50 MB) for Prepare: until then those layers
//     run on im2col + GEMM.
//   - the max-pools: by output row (conv.go; in wasm SIMD four columns at
//     a time).
//   - fc6–fc8: an 8-row dot-product kernel reading the weights in place
//     (dense.go), also with scalar and SIMD versions; with an int8 file's
//     weights, the same on the int8 values (dense_int8.go).
//
// Measured on this project's 2-core AMD EPYC, shared with other work, so
// ranges (BenchmarkForwardFull, BenchmarkBrowserInference; the Chromium
// SIMD figure is the page's ms per photo, decode and both classes'
// Grad-CAM included, at load average 4–6; the forward pass alone,
// BenchmarkBrowserGradCAM's ms-forward, 51–54 ms; per stage under node,
// BenchmarkForwardFullStages):
//
//	                                scalar kernels   SIMD kernels
//	Chromium (wasm), 1 worker, 1 img  300–356 ms       102 ms (was 114–146)
//	amd64, 2 threads, batch 1         93–108 ms        22–25 ms
//	amd64, 2 threads, batch 8         110–141 ms/img   15–19 ms/img
type Model struct {
	cfg    Config
	meta   Metadata
	params map[string][]float32
	quant  map[string]quantized // int8 weights (dense_int8.go)
	conv   [NumConv]convLayer
	dense  [3]denseLayer

	mu   sync.Mutex
	free []*scratch

	sumsOnce sync.Once
	sums     *denseLayer // Grad-CAM's channel sums of fc6 (gradcam.go)
}

// scratch holds the buffers one Forward call needs.
type scratch struct {
	imgs          []*imgScratch // one per image worker
	feats, h1, h2 []float32     // batch activations of the dense layers
}

// imgScratch holds the buffers one image's conv stack needs.
type imgScratch struct {
	a, b, col []float32
}

// NewModel builds a Model from in-memory parameters, keyed and shaped as
// cfg.Params() describes (PyTorch layouts, flattened row-major). cfg may be
// any valid configuration, built-in or not.
//
// The conv weights are copied into the GEMM's packed layout; the dense
// weights and all biases are not copied: the Model keeps params' slices, so
// the caller must not modify them while the Model is in use.
func NewModel(cfg Config, params map[string][]float32, meta Metadata) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkParams(cfg, params); err != nil {
		return nil, err
	}
	if err := checkMeta(cfg, meta); err != nil {
		return nil, err
	}
	return newModel(cfg, params, nil, meta)
}

// newModel builds a Model from checked parameters: the float32 ones in
// params, and the weights that are int8 in quant (nil for none). The dense
// layers compute on int8 weights as they are; int8 conv weights are
// expanded one layer at a time into one buffer, which newConvLayer only
// reads (it packs or transforms them).
func newModel(cfg Config, params map[string][]float32, quant map[string]quantized, meta Metadata) (*Model, error) {
	return newModelDeferred(cfg, params, quant, meta, false)
}

// newModelDeferred is newModel; with deferred set, the conv layers whose
// Winograd transform deferWinograd defers start on im2col + GEMM, until
// Prepare.
func newModelDeferred(cfg Config, params map[string][]float32, quant map[string]quantized, meta Metadata, deferred bool) (*Model, error) {
	m := &Model{cfg: cfg, meta: meta, params: maps.Clone(params), quant: quant}
	side := cfg.InputSize
	var convBuf []float32
	for i := range NumConv {
		var w []float32
		w, convBuf = m.convWeights(i, convBuf)
		m.conv[i] = newConvLayerDeferred(cfg, i, side, w, params[ConvNames[i]+".bias"], deferred)
		side = m.conv[i].pooled
	}
	in := cfg.FlatFeatures()
	outs := [3]int{cfg.Dense, cfg.Dense, cfg.Classes}
	for i, name := range DenseNames {
		m.dense[i] = denseLayer{
			nin: in, nout: outs[i],
			w: params[name+".weight"], bias: params[name+".bias"],
			relu: i < 2,
		}
		if q, ok := quant[name+".weight"]; ok {
			m.dense[i].q, m.dense[i].scale = q.q, q.scale
		}
		in = outs[i]
	}
	return m, nil
}

// Prepare builds the Winograd transforms that LoadDeferred left out, so
// that the passes after it run at full speed; it does nothing for a Model
// that has none left. It must not run concurrently with any other method
// of m.
func (m *Model) Prepare() {
	var buf []float32
	for i := range m.conv {
		if m.conv[i].winoM == 0 {
			continue
		}
		var w []float32
		w, buf = m.convWeights(i, buf)
		m.conv[i].prepare(w)
	}
	// The borrowed buffers of a pass may be too small for the new layers.
	col := m.colSize()
	m.mu.Lock()
	m.free = slices.DeleteFunc(m.free, func(s *scratch) bool {
		return slices.ContainsFunc(s.imgs, func(is *imgScratch) bool { return len(is.col) < col })
	})
	m.mu.Unlock()
}

// convWeights returns conv layer i's OIHW weights in float32: its
// parameter, or its int8 weights expanded into buf (grown if needed, and
// returned for the next call).
func (m *Model) convWeights(i int, buf []float32) (w, grown []float32) {
	name := ConvNames[i] + ".weight"
	if q, ok := m.quant[name]; ok {
		buf = q.floatsInto(buf)
		return buf, buf
	}
	return m.params[name], buf
}

// Prepared reports whether m has no Winograd transform left for Prepare.
func (m *Model) Prepared() bool {
	for i := range m.conv {
		if m.conv[i].winoM != 0 {
			return false
		}
	}
	return true
}

// Config returns the model's configuration.
func (m *Model) Config() Config { return m.cfg }

// Metadata returns the metadata the model was built or loaded with.
func (m *Model) Metadata() Metadata { return m.meta }

// Params returns the model's parameters in cfg.Params() layout, as given to
// NewModel or read by Load; Save(w, m.Config(), m.Params(), m.Metadata())
// writes them back. The slices are shared with the Model: do not modify them.
//
// A Model loaded from an int8 file keeps its weights as int8; Params
// expands them to float32 (q·scale) on each call, in new slices (233 MB
// for Full), so that every caller sees float32 weights.
func (m *Model) Params() map[string][]float32 {
	p := maps.Clone(m.params)
	for name, q := range m.quant {
		p[name] = q.floatsInto(nil)
	}
	return p
}

// Param returns the parameter name (cfg.Params() layout) as Params does,
// expanding only that one when it is int8; nil for an unknown name.
func (m *Model) Param(name string) []float32 {
	if q, ok := m.quant[name]; ok {
		return q.floatsInto(nil)
	}
	return m.params[name]
}

// getScratch borrows a scratch set with buffers for n images.
func (m *Model) getScratch(n int) *scratch {
	m.mu.Lock()
	var s *scratch
	if k := len(m.free); k > 0 {
		s = m.free[k-1]
		m.free = m.free[:k-1]
	}
	m.mu.Unlock()
	if s == nil {
		s = new(scratch)
	}
	imgWorkers := min(n, workers())
	for len(s.imgs) < imgWorkers {
		s.imgs = append(s.imgs, m.newImgScratch())
	}
	s.feats = grow(s.feats, n*m.cfg.FlatFeatures())
	s.h1 = grow(s.h1, n*m.cfg.Dense)
	s.h2 = grow(s.h2, n*m.cfg.Dense)
	return s
}

func (m *Model) putScratch(s *scratch) {
	m.mu.Lock()
	m.free = append(m.free, s)
	m.mu.Unlock()
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

func (m *Model) newImgScratch() *imgScratch {
	act := 3 * m.cfg.InputSize * m.cfg.InputSize
	for i := range m.conv {
		l := &m.conv[i]
		act = max(act, l.cout*l.out*l.out)
	}
	return &imgScratch{a: make([]float32, act), b: make([]float32, act), col: make([]float32, m.colSize())}
}

// colSize is the number of scratch floats the conv layers' patches need.
func (m *Model) colSize() int {
	col := 0
	for i := range m.conv {
		col = max(col, m.conv[i].colSize())
	}
	return col
}

// Forward runs the network in evaluation mode on n images and returns
// n×Classes logits, image-major. x holds the images in NHWC order
// (n × InputSize × InputSize × 3), already normalized.
//
// The semantics are PyTorch's AlexNet in eval mode: each conv (stride and
// zero padding from the Config) adds its bias and applies ReLU; a 3×3
// stride-2 max-pool without padding follows conv1, conv2 and conv5; the
// last feature map is flattened in (C, H, W) order; fc6 and fc7 apply ReLU;
// dropout is the identity.
//
// On native platforms with GOMAXPROCS > 1 the work is split over
// goroutines: over images when n > 1, over output pixels of each conv when
// n = 1, and over output neurons of the dense layers. On js/wasm it runs on
// the calling goroutine.
func (m *Model) Forward(x []float32, n int) ([]float32, error) {
	return m.forward(x, n, nil)
}

// Embed returns the penultimate activations of n NHWC images: fc7's output
// after ReLU, the input of the last layer (classifier.6), n × Config.Dense
// values row-major. A new head trained on them (shared/teach) replaces
// exactly that layer.
func (m *Model) Embed(x []float32, n int) ([]float32, error) {
	out := make([]float32, n*m.cfg.Dense)
	_, err := m.forwardEmbed(x, n, nil, out)
	return out, err
}

// forward is Forward; with keep (n = 1 only) it also copies the last conv's
// output (after ReLU, before its pool) and the hidden dense activations
// into keep, for Grad-CAM.
func (m *Model) forward(x []float32, n int, keep *activations) ([]float32, error) {
	return m.forwardEmbed(x, n, keep, nil)
}

// forwardEmbed is forward; with embed it also copies the n images' fc7
// activations into embed.
func (m *Model) forwardEmbed(x []float32, n int, keep *activations, embed []float32) ([]float32, error) {
	side := m.cfg.InputSize
	per := side * side * 3
	if n < 0 || len(x) != n*per {
		return nil, fmt.Errorf("alexnet: Forward got %d floats for %d images of %d×%d×3", len(x), n, side, side)
	}
	logits := make([]float32, n*m.cfg.Classes)
	if n == 0 {
		return logits, nil
	}
	s := m.getScratch(n)
	defer m.putScratch(s)

	flat := m.cfg.FlatFeatures()
	imgWorkers := min(n, workers())
	var last []float32
	if keep != nil {
		last = keep.last
	}
	if imgWorkers == 1 {
		for img := range n {
			m.features(s.feats[img*flat:(img+1)*flat], x[img*per:(img+1)*per], s.imgs[0], n == 1, last)
		}
	} else {
		var next atomic.Int64
		parallel(imgWorkers, 1, func(lo, hi int) {
			for w := lo; w < hi; w++ {
				for {
					img := int(next.Add(1) - 1)
					if img >= n {
						break
					}
					m.features(s.feats[img*flat:(img+1)*flat], x[img*per:(img+1)*per], s.imgs[w], false, nil)
				}
			}
		})
	}
	ins := [3][]float32{s.feats, s.h1, s.h2}
	outs := [3][]float32{s.h1, s.h2, logits}
	for i := range m.dense {
		l := &m.dense[i]
		parallel(l.nout, 64, func(lo, hi int) {
			l.forwardRows(outs[i], ins[i], n, lo, hi)
		})
	}
	if keep != nil {
		copy(keep.h1, s.h1)
		copy(keep.h2, s.h2)
	}
	copy(embed, s.h2[:n*m.cfg.Dense])
	return logits, nil
}

// features runs the conv stack on one NHWC image and writes the flattened
// (C, H, W) feature map to out. When last is not nil, it also copies the
// last conv's output (after ReLU, before its pool) into it.
func (m *Model) features(out, img []float32, s *imgScratch, par bool, last []float32) {
	cur, other := s.a, s.b
	toCHW(cur, img, m.cfg.InputSize)
	for i := range m.conv {
		l := &m.conv[i]
		l.forward(other, cur, s.col, par)
		if last != nil && i == len(m.conv)-1 {
			copy(last, other[:l.cout*l.out*l.out])
		}
		if l.pool {
			maxPool(cur, other, l.cout, l.out)
		} else {
			cur, other = other, cur
		}
	}
	copy(out, cur[:len(out)])
}

// toCHW writes the side×side NHWC image img (3 channels) to dst in CHW
// order.
func toCHW(dst, img []float32, side int) {
	plane := side * side
	r, g, b := dst[:plane], dst[plane:2*plane], dst[2*plane:3*plane]
	for p := range plane {
		px := img[3*p : 3*p+3]
		r[p], g[p], b[p] = px[0], px[1], px[2]
	}
}

// Predict runs Forward and returns n×Classes class probabilities
// (the softmax of each image's logits).
func (m *Model) Predict(x []float32, n int) ([]float32, error) {
	logits, err := m.Forward(x, n)
	if err != nil {
		return nil, err
	}
	c := m.cfg.Classes
	for i := range n {
		copy(logits[i*c:(i+1)*c], Probabilities(logits[i*c:(i+1)*c]))
	}
	return logits, nil
}

// Probabilities returns the softmax of one image's logits, computed in
// float64 after subtracting the largest logit so that it neither overflows
// nor underflows to all zeros.
func Probabilities(logits []float32) []float32 {
	p := make([]float32, len(logits))
	if len(logits) == 0 {
		return p
	}
	hi := math.Inf(-1)
	for _, v := range logits {
		hi = max(hi, float64(v))
	}
	sum := 0.0
	e := make([]float64, len(logits))
	for i, v := range logits {
		e[i] = math.Exp(float64(v) - hi)
		sum += e[i]
	}
	for i := range p {
		p[i] = float32(e[i] / sum)
	}
	return p
}

// InitParams returns freshly initialized parameters for cfg, keyed and
// shaped as cfg.Params() describes: He (Kaiming) normal weights with
// standard deviation sqrt(2 / fan_in), where fan_in is in·kh·kw for a conv
// and in for a dense layer, and zero biases. The same seed gives the same
// parameters on every platform.
func InitParams(cfg Config, seed uint64) map[string][]float32 {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	params := make(map[string][]float32)
	for _, p := range cfg.Params() {
		v := make([]float32, numElems(p.Shape))
		if len(p.Shape) > 1 {
			fanIn := numElems(p.Shape[1:])
			std := math.Sqrt(2 / float64(fanIn))
			for i := range v {
				v[i] = float32(rng.NormFloat64() * std)
			}
		}
		params[p.Name] = v
	}
	return params
}

// Argmax returns the index of the largest value (the first on ties; 0 for
// an empty slice).
func Argmax(p []float32) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}
