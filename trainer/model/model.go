// Package model is pawnet's GoMLX training model: the AlexNet graph for an
// alexnet.Config, one Adam training step at a time, evaluation logits,
// atomic checkpoints of the whole training state, and the bridge to the
// PyTorch-layout parameters that shared/alexnet's pure-Go inference reads.
//
// Layouts inside the GoMLX store are NHWC activations, HWIO conv kernels
// [kh, kw, in, out] and [in, out] dense weights; ExportParams and LoadParams
// convert to and from alexnet.Params() (OIHW, [out, in], PyTorch's CHW
// flatten order for classifier.1).
//
// The ops that differ per backend (convolution, max-pool) are chosen in one
// place, OpsFor: native Convolve/MaxPool on XLA; on the pure-Go backend,
// activations kept channels first ([C, N, H, W]) up to the last conv, each
// conv one MatMul of the kernel by a patch matrix of strided Slices, and a
// strided-Slice max-pool.
//
// Building: the default build links XLA through cgo (plugins are only looked
// up when an "xla" backend is requested); a pure-Go build needs -tags noxla,
// and CGO_ENABLED=0 requires it. GOEXPERIMENT=simd enables the Go
// backend's AVX2 matmul, about 1.3× faster per Small() step and 4-5× per
// Full() step on this machine (see bench_test.go).
//
// A Model is not safe for concurrent use.
package model

import (
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/layers/activation"
	mlmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/loss"
	"github.com/gomlx/gomlx/ml/train/metric"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/pawnet/pawnet/shared/alexnet"
)

// DefaultLearningRate is Adam's learning rate when Options.LearningRate is 0.
const DefaultLearningRate = 1e-4

// Options tune a Model beyond its Config. The zero value is valid.
type Options struct {
	// LearningRate for Adam; 0 means DefaultLearningRate. It can be changed
	// later with SetLearningRate without recompiling.
	LearningRate float64
	// FeatureLRScale multiplies the learning rate of the conv layers (the
	// features) relative to the dense layers': 0.1 fine-tunes pretrained
	// features ten times more gently than the new head. 0 means 1.
	FeatureLRScale float64

	// BatchSize is the one batch size the graphs are compiled for. Every
	// TrainStep with fewer examples (the last partial batch of an epoch) is
	// padded to it with zero images whose loss is masked out, so it gives
	// the same gradient as an unpadded step of n examples and never
	// recompiles; Logits runs in chunks of it. 0 means: fixed by the first
	// TrainStep call.
	BatchSize int

	// Ops overrides the backend's op set (see OpsFor); nil picks OpsFor.
	Ops *Ops

	// BF16 computes activations and matmuls/convolutions in bfloat16 (mixed
	// precision, meant for the GPU): parameters, their gradients and Adam's
	// state stay float32 (master weights); each parameter is cast to bf16
	// where it is used, and the logits are cast back to float32 for the
	// loss.
	BF16 bool

	// WeightDecay, when > 0, makes the optimizer AdamW with this decoupled
	// weight decay (applied to every parameter, biases included, as
	// GoMLX's Adam does).
	WeightDecay float64

	// LabelSmoothing, in [0, 1), trains against (1−ε)·onehot + ε/classes
	// instead of the one-hot label (see SmoothedCrossEntropy).
	LabelSmoothing float64

	// Devices is how many of the backend's devices a training step is
	// split over (data parallel, see ResolveDevices): 0 is all of them,
	// which is one on the pure-Go backend. More than the backend has is an
	// error. Evaluation (Logits) runs on the first device.
	Devices int
}

// Model is an AlexNet with its GoMLX variables, Adam optimizer state and
// compiled train/eval graphs.
type Model struct {
	cfg     alexnet.Config
	opts    Options
	backend compute.Backend
	ops     Ops
	store   *mlmodel.Store
	trainer *train.Trainer
	eval    *mlmodel.Exec
	// evalStale: the variables changed since eval was compiled. The Go
	// backend asks GoMLX (PreferConstantsForVariables) to embed variables
	// as constants in graphs built outside training, so eval holds the
	// values it was compiled with and is rebuilt before its next use.
	evalStale bool
	batch     int // compiled batch size, 0 until fixed
	vars      []paramVar
	dp        *dataParallel // nil on one device
}

// paramVar ties one alexnet.ParamSpec to its GoMLX variable.
type paramVar struct {
	spec  alexnet.ParamSpec // export name and PyTorch shape
	path  string            // store path
	shape []int             // store (GoMLX) shape
	layer int               // conv index 0..4, or 5..7 for dense
}

// Store paths of the parameters: /alexnet/conv{1..5}/{weights,biases} and
// /alexnet/fc{6,7,8}/{weights,biases}.
const paramScope = "/alexnet"

var layerNames = [alexnet.NumConv + 3]string{"conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"}

// Store paths of the optimizer's learning rate, as GoMLX's optimizers create it.
var learningRatePath = mlmodel.JoinPath("/", optimizer.Scope, optimizer.ParamLearningRate)

func paramVars(cfg alexnet.Config) []paramVar {
	specs := cfg.Params() // weight, bias per layer, in layer order
	vars := make([]paramVar, len(specs))
	for i, spec := range specs {
		layer := i / 2
		name := "weights"
		if i%2 == 1 {
			name = "biases"
		}
		pv := paramVar{spec: spec, path: mlmodel.JoinPath(paramScope, layerNames[layer], name), layer: layer}
		switch s := spec.Shape; {
		case len(s) == 4: // OIHW -> HWIO
			pv.shape = []int{s[2], s[3], s[1], s[0]}
		case len(s) == 2: // [out, in] -> [in, out]
			pv.shape = []int{s[1], s[0]}
		default:
			pv.shape = append([]int(nil), s...)
		}
		vars[i] = pv
	}
	return vars
}

// New builds an AlexNet for cfg on backend with default Options, its
// weights He-initialized (biases zero) from seed. Dropout and any other
// randomness also derive from seed.
func New(cfg alexnet.Config, backend compute.Backend, seed int64) (*Model, error) {
	return NewWithOptions(cfg, backend, seed, Options{})
}

// NewWithOptions is New with Options.
func NewWithOptions(cfg alexnet.Config, backend compute.Backend, seed int64, opts Options) (m *Model, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.FeatureLRScale < 0 {
		return nil, fmt.Errorf("model: negative feature learning-rate scale %g", opts.FeatureLRScale)
	}
	if backend == nil {
		return nil, errors.New("model: nil backend")
	}
	if opts.LearningRate < 0 || opts.BatchSize < 0 {
		return nil, fmt.Errorf("model: negative learning rate %g or batch size %d", opts.LearningRate, opts.BatchSize)
	}
	if opts.WeightDecay < 0 || !(opts.LabelSmoothing >= 0 && opts.LabelSmoothing < 1) {
		return nil, fmt.Errorf("model: weight decay %g must be ≥ 0 and label smoothing %g in [0, 1)", opts.WeightDecay, opts.LabelSmoothing)
	}
	if opts.LearningRate == 0 {
		opts.LearningRate = DefaultLearningRate
	}
	devices, err := ResolveDevices(backend, opts.Devices, opts.BatchSize)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	m = &Model{cfg: cfg, opts: opts, backend: backend, batch: opts.BatchSize, vars: paramVars(cfg)}
	if devices > 1 {
		if m.dp, err = newDataParallel(devices); err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
	}
	if opts.Ops != nil {
		m.ops = *opts.Ops
	} else {
		m.ops = OpsFor(backend)
	}
	err = catch(func() error {
		m.store = mlmodel.NewStore()
		if err := m.store.SetRNGStateFromSeed(seed); err != nil {
			return err
		}
		// Create the parameters now (He init for weights, zeros for biases:
		// GoMLX's default initializer, whose fan-in is in*kh*kw for HWIO and in
		// for [in, out]), so they exist before the first step.
		root := m.store.RootScope()
		for _, pv := range m.vars {
			root.At("alexnet").At("%s", layerNames[pv.layer]).
				VariableWithShape(mlmodel.BasePath(pv.path), shapes.Make(dtypes.Float32, pv.shape...))
		}
		if err := m.store.InitializeVariables(backend, nil); err != nil {
			return err
		}
		lossFn := loss.SparseCategoricalCrossEntropyLogits
		if opts.LabelSmoothing > 0 {
			lossFn = SmoothedCrossEntropy(opts.LabelSmoothing)
		}
		adam := optimizer.Adam().LearningRate(opts.LearningRate)
		if opts.WeightDecay > 0 {
			adam = adam.WeightDecay(opts.WeightDecay)
		}
		m.trainer = train.NewTrainer(backend, m.store, m.buildLogits, lossFn, m.withFeatureLR(adam.Done()),
			[]metric.Interface{metric.NewBaseMetric("Correct", "ok", "count", correctGraph, nil)}, nil)
		// NewTrainer deletes the learning-rate variable; create it so that
		// SetLearningRate and checkpoints see it from the start.
		return m.SetLearningRate(opts.LearningRate)
	})
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	return m, nil
}

// correctGraph counts the examples (mask respected) whose arg-max logit is
// the label. It is the third training metric.
func correctGraph(_ *mlmodel.Scope, labels, predictions []*graph.Node) *graph.Node {
	logits := predictions[0]
	labels0 := graph.Squeeze(labels[0], -1)
	hit := graph.Equal(graph.ArgMax(logits, -1, labels0.DType()), labels0)
	if len(labels) > 1 {
		hit = graph.And(hit, labels[1])
	}
	return graph.ReduceAllSum(graph.ConvertDType(hit, logits.DType()))
}

// buildLogits is the AlexNet graph: x is [N, S, S, 3] float32, already
// normalized; the result is [N, Classes] logits. Dropout is active only in
// training graphs.
func (m *Model) buildLogits(scope *mlmodel.Scope, x *graph.Node) *graph.Node {
	return m.buildNet(scope, x, nil)
}

// buildNet is buildLogits; when lastConv is not nil it is called with the
// last conv's output (after ReLU, before its pool), the node Grad-CAM
// explains.
func (m *Model) buildNet(scope *mlmodel.Scope, x *graph.Node, lastConv func(*graph.Node)) *graph.Node {
	g := x.Graph()
	cfg := m.cfg
	param := func(i int) *graph.Node { return m.store.GetVariable(m.vars[i].path).NodeValue(g) }
	h := x
	if m.opts.BF16 {
		f32 := param
		param = func(i int) *graph.Node { return graph.ConvertDType(f32(i), dtypes.BFloat16) }
		h = graph.ConvertDType(h, dtypes.BFloat16)
	}
	biasShape := []int{1, 1, 1, 0} // the channel axis is set per layer
	channelAxis := 3
	if m.ops.ChannelsFirst {
		h = graph.TransposeAllAxes(h, 3, 0, 1, 2) // NHWC → CNHW
		biasShape, channelAxis = []int{0, 1, 1, 1}, 0
	}
	for i := range alexnet.NumConv {
		h = m.ops.Conv(h, param(2*i), cfg.Strides[i], cfg.Pads[i])
		biasShape[channelAxis] = cfg.Channels[i]
		h = graph.Add(h, graph.Reshape(param(2*i+1), biasShape...))
		h = activation.Relu(h)
		pool := m.ops.MaxPool
		if m.ops.ChannelsFirst && i == alexnet.NumConv-1 {
			// Back to NHWC for the last pool and the dense layers, so that
			// Grad-CAM's node and the flatten order are the same for every
			// op set.
			h = graph.TransposeAllAxes(h, 1, 2, 3, 0)
			pool = sliceMaxPool
		}
		if lastConv != nil && i == alexnet.NumConv-1 {
			lastConv(h)
		}
		if alexnet.PoolAfter(i) {
			h = pool(h, alexnet.PoolWindow, alexnet.PoolStride)
		}
	}
	// NHWC flatten: feature (y*s + x)*C + c. ExportParams permutes fc6's
	// rows to PyTorch's c*s*s + y*s + x.
	h = graph.Reshape(h, h.Shape().Dimensions[0], cfg.FlatFeatures())
	for j := range 3 {
		hidden := j < 2
		if hidden {
			// torchvision order: Dropout before each hidden Linear
			// (classifier.0 and classifier.3).
			h = layers.DropoutStatic(scope, h, cfg.Dropout)
		}
		li := alexnet.NumConv + j
		out := m.vars[2*li].shape[1]
		h = graph.MatMul(h, param(2*li))
		h = graph.Add(h, graph.Reshape(param(2*li+1), 1, out))
		if hidden {
			h = activation.Relu(h)
		}
	}
	if m.opts.BF16 {
		h = graph.ConvertDType(h, dtypes.Float32)
	}
	return h
}

// Config returns the model's configuration.
func (m *Model) Config() alexnet.Config { return m.cfg }

// Ops returns the op set the graphs are built with.
func (m *Model) Ops() Ops { return m.ops }

// Backend returns the backend the model runs on.
func (m *Model) Backend() compute.Backend { return m.backend }

// BatchSize is the compiled batch size, 0 while not yet fixed.
func (m *Model) BatchSize() int { return m.batch }

// LearningRate returns Adam's current learning rate.
func (m *Model) LearningRate() float64 { return m.opts.LearningRate }

// SetLearningRate changes Adam's learning rate from the next step on. It
// only sets a variable, so nothing is recompiled.
func (m *Model) SetLearningRate(lr float64) error {
	if !(lr > 0) {
		return fmt.Errorf("model: learning rate %g must be positive", lr)
	}
	return catch(func() error {
		t := tensors.FromScalar(float32(lr))
		v := m.store.GetVariable(learningRatePath)
		if v == nil {
			var err error
			if v, err = m.store.CreateVariable(learningRatePath, t); err != nil {
				return err
			}
		} else if err := v.SetValue(t); err != nil {
			return err
		}
		v.SetTrainable(false)
		m.opts.LearningRate = lr
		return nil
	})
}

// GlobalStep is the number of training steps taken (restored by Restore).
func (m *Model) GlobalStep() int64 {
	v := m.store.GetVariable(mlmodel.JoinPath("/", optimizer.GlobalStepVariableName))
	if v == nil || !v.HasValue() {
		return 0
	}
	var step int64
	_ = catch(func() error { step = tensors.ToScalar[int64](v.MustValue()); return nil })
	return step
}

// imageLen is the number of float32 values of one input image.
func (m *Model) imageLen() int { return m.cfg.InputSize * m.cfg.InputSize * 3 }

// inputTensor copies n images into a fresh [batch, S, S, 3] tensor, zero
// padded after the first n.
func (m *Model) inputTensor(x []float32, n, batch int) *tensors.Tensor {
	s := m.cfg.InputSize
	t := tensors.FromShape(shapes.Make(dtypes.Float32, batch, s, s, 3))
	tensors.MustMutableFlatData(t, func(flat []float32) { copy(flat, x[:n*m.imageLen()]) })
	return t
}

// TrainStep runs one Adam step on n examples: x holds n NHWC images
// (n*S*S*3 float32, already normalized), y their labels in [0, Classes).
// It returns the mean cross-entropy loss over the n examples and how many of
// them the model (before the update, with dropout) classified correctly.
//
// n may be smaller than the compiled batch size (the last partial batch):
// the batch is zero-padded and the padded examples are masked out of the
// loss, the gradient and the count, so nothing recompiles. n larger than
// the compiled batch size is an error.
func (m *Model) TrainStep(x []float32, y []int32, n int) (lossValue float32, correct int, err error) {
	if err := m.checkInput(x, n); err != nil {
		return 0, 0, err
	}
	if len(y) < n {
		return 0, 0, fmt.Errorf("model: %d labels for %d examples", len(y), n)
	}
	for i, l := range y[:n] {
		if l < 0 || int(l) >= m.cfg.Classes {
			return 0, 0, fmt.Errorf("model: label %d of example %d out of [0,%d)", l, i, m.cfg.Classes)
		}
	}
	if m.batch == 0 {
		if _, err := ResolveDevices(m.backend, m.Devices(), n); err != nil {
			return 0, 0, fmt.Errorf("model: %w", err)
		}
		m.batch = n
	}
	if n > m.batch {
		return 0, 0, fmt.Errorf("model: batch of %d examples exceeds the compiled batch size %d", n, m.batch)
	}
	err = catch(func() error {
		xt := m.inputTensor(x, n, m.batch)
		yt := tensors.FromShape(shapes.Make(dtypes.Int32, m.batch, 1))
		tensors.MustMutableFlatData(yt, func(flat []int32) { copy(flat, y[:n]) })
		mask := tensors.FromShape(shapes.Make(dtypes.Bool, m.batch))
		tensors.MustMutableFlatData(mask, func(flat []bool) {
			for i := range n {
				flat[i] = true
			}
		})
		batch := train.Batch{Inputs: []*tensors.Tensor{xt}, Labels: []*tensors.Tensor{yt, mask}}
		var metrics []*tensors.Tensor
		var err error
		if m.dp != nil {
			metrics, err = m.dp.trainStep(m.trainer, batch)
		} else {
			metrics, err = m.trainer.TrainStep(batch)
		}
		if err != nil {
			return err
		}
		defer func() {
			for _, t := range metrics {
				_ = t.FinalizeAll()
			}
		}()
		m.evalStale = true
		// Metrics: batch loss, moving-average loss, then correctGraph.
		lossValue = tensors.ToScalar[float32](metrics[0])
		correct = int(tensors.ToScalar[float32](metrics[2]) + 0.5)
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("model: train step: %w", err)
	}
	return lossValue, correct, nil
}

func (m *Model) checkInput(x []float32, n int) error {
	if n <= 0 {
		return fmt.Errorf("model: batch of %d examples", n)
	}
	if len(x) < n*m.imageLen() {
		return fmt.Errorf("model: %d input values for %d images of %d×%d×3", len(x), n, m.cfg.InputSize, m.cfg.InputSize)
	}
	return nil
}

// Logits returns the [n, Classes] logits (row-major) of n NHWC images in
// evaluation mode (no dropout). Any n works: once the batch size is fixed
// (Options.BatchSize or the first TrainStep), the images run in chunks of
// it, the last one zero-padded, so only one eval graph is compiled. Before
// that, each distinct n compiles its own graph (and does not fix the batch
// size).
func (m *Model) Logits(x []float32, n int) ([]float32, error) {
	if err := m.checkInput(x, n); err != nil {
		return nil, err
	}
	chunk := m.batch
	if chunk == 0 {
		chunk = n
	}
	out := make([]float32, 0, n*m.cfg.Classes)
	err := catch(func() error {
		if m.eval != nil && m.evalStale {
			m.eval.Finalize()
			m.eval = nil
		}
		if m.eval == nil {
			m.evalStale = false
			e, err := mlmodel.NewExec(m.backend, m.store, func(scope *mlmodel.Scope, x *graph.Node) *graph.Node {
				m.store.SetTraining(x.Graph(), false)
				return m.buildLogits(scope, x)
			})
			if err != nil {
				return err
			}
			m.eval = e.WithName("AlexNetLogits")
		}
		il := m.imageLen()
		for off := 0; off < n; off += chunk {
			c := min(chunk, n-off)
			xt := m.inputTensor(x[off*il:], c, chunk)
			res, err := m.eval.Call(xt)
			_ = xt.FinalizeAll()
			if err != nil {
				return err
			}
			tensors.MustConstFlatData(res[0], func(flat []float32) {
				out = append(out, flat[:c*m.cfg.Classes]...)
			})
			for _, t := range res {
				_ = t.FinalizeAll()
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("model: logits: %w", err)
	}
	return out, nil
}

// resetGraphs drops every compiled graph, needed when variables are removed.
func (m *Model) resetGraphs() {
	m.trainer.ResetComputationGraphs()
	if m.eval != nil {
		m.eval.Finalize()
		m.eval = nil
	}
}

// catch runs fn and turns a panic (GoMLX reports most errors by panicking)
// into an error.
func catch(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = e
			} else {
				err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
			}
		}
	}()
	return fn()
}
