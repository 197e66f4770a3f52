// Package classify turns a photo's bytes into class probabilities with
// exported weights: decode, the eval transform with the run's stats.json,
// and the pure-Go AlexNet forward pass. `pawnet predict` and the browser
// both call it, so their answers agree.
package classify

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/preprocess"
)

// Classifier holds loaded weights and their normalization.
type Classifier struct {
	Model   *alexnet.Model
	Norm    preprocess.Normalizer
	Size    int
	Classes []string
	// MaxPixels limits the declared size of a photo (0: the default 40 MP).
	MaxPixels int
	// Temperature divides the logits before the softmax: the calibration
	// fitted after training (alexnet.Metadata.Temperature), so the
	// probabilities are calibrated. 0 or 1: none.
	Temperature float64
	// TypicalSide is the training photos' median longer side (from the
	// stats' photo sizes): a photo more than preprocess.PrescaleFactor
	// times larger is first downscaled to it (see preprocess.EvalPhoto).
	// 0: photos are resized to the input size in one step.
	TypicalSide int
}

// New prepares a classifier from a loaded weights file; the file must carry
// the normalization stats and class names in its metadata.
func New(m *alexnet.Model) (*Classifier, error) {
	meta := m.Metadata()
	if len(meta.Stats) == 0 {
		return nil, errors.New("classify: the weights file has no normalization stats (pawnet.stats)")
	}
	st, err := preprocess.ParseStats(meta.Stats)
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	norm, err := preprocess.NewNormalizer(st)
	if err != nil {
		return nil, err
	}
	classes := meta.Classes
	if len(classes) == 0 {
		for i := 0; i < m.Config().Classes; i++ {
			classes = append(classes, fmt.Sprintf("class%d", i))
		}
	}
	c := &Classifier{Model: m, Norm: norm, Size: m.Config().InputSize, Classes: classes, Temperature: meta.Temperature}
	if st.Photos != nil {
		c.TypicalSide = st.Photos.Median
	}
	return c, nil
}

// Prediction is the result for one photo.
type Prediction struct {
	Probs []float32 // per class, summing to 1
	Best  int       // index of the most likely class
	Label string    // its name
	// Resample says how the photo was resized to the input: its size, and
	// whether it was first downscaled to the training photos' size.
	Resample preprocess.Resample
}

// Tensor decodes a photo and applies the eval transform.
func (c *Classifier) Tensor(data []byte) ([]float32, error) {
	x, _, err := c.tensor(data)
	return x, err
}

func (c *Classifier) tensor(data []byte) ([]float32, preprocess.Resample, error) {
	return preprocess.EvalPhoto(data, c.Size, c.MaxPixels, c.Norm, c.TypicalSide)
}

// Classify predicts one photo. With tta it averages the probabilities of
// the photo and its horizontal mirror.
func (c *Classifier) Classify(data []byte, tta bool) (Prediction, error) {
	preds, errs := c.ClassifyBatch([][]byte{data}, tta)
	return preds[0], errs[0]
}

// ClassifyBatch predicts several photos with one forward pass, which is
// faster per photo than one pass each (the dense layers read their weights
// once per batch, and natively the photos are spread over the cores). The
// photos are decoded in parallel on native platforms. A photo that cannot
// be decoded gets its error at its index, and the others are classified.
func (c *Classifier) ClassifyBatch(photos [][]byte, tta bool) ([]Prediction, []error) {
	preds := make([]Prediction, len(photos))
	copies := 1
	if tta {
		copies = 2
	}
	x, idx, errs := c.decode(photos, tta, func(i int, rs preprocess.Resample) { preds[i].Resample = rs })
	if len(idx) == 0 {
		return preds, errs
	}
	logits, err := c.Model.Forward(x, len(idx)*copies)
	if err != nil {
		for _, i := range idx {
			errs[i] = err
		}
		return preds, errs
	}
	k := c.Model.Config().Classes
	for b, i := range idx {
		probs := make([]float32, k)
		for j := range copies {
			off := (b*copies + j) * k
			for cl, p := range alexnet.TemperedProbabilities(logits[off:off+k], c.Temperature) {
				probs[cl] += p / float32(copies)
			}
		}
		best := alexnet.Argmax(probs)
		preds[i] = Prediction{Probs: probs, Best: best, Label: c.Classes[best], Resample: preds[i].Resample}
	}
	return preds, errs
}

// decode turns the photos into one batch of eval tensors (in parallel on
// native platforms), each followed by its mirror when mirror is set. idx
// lists the photos in the batch, in order; a photo that cannot be decoded
// is left out with its error at its index. resampled, when not nil, is
// told how each decoded photo was resized.
func (c *Classifier) decode(photos [][]byte, mirror bool, resampled func(int, preprocess.Resample)) (x []float32, idx []int, errs []error) {
	errs = make([]error, len(photos))
	tensors := make([][]float32, len(photos))
	parallel(len(photos), func(i int) {
		t, rs, err := c.tensor(photos[i])
		if err != nil {
			errs[i] = err
			return
		}
		if resampled != nil {
			resampled(i, rs)
		}
		if mirror {
			t = append(t, preprocess.Mirror(t, c.Size)...)
		}
		tensors[i] = t
	})
	n := 0
	for _, t := range tensors {
		n += len(t)
	}
	x = make([]float32, 0, n)
	for i, t := range tensors {
		if t != nil {
			x = append(x, t...)
			idx = append(idx, i)
		}
	}
	return x, idx, errs
}

// Features returns each photo's penultimate activations
// (alexnet.Model.Embed, the input of the last layer) followed by its
// horizontal mirror's: 2 × Config.Dense values per photo, for training a
// new last layer (shared/teach). A photo that cannot be decoded gets its
// error at its index and a nil row.
func (c *Classifier) Features(photos [][]byte) ([][]float32, []error) {
	out := make([][]float32, len(photos))
	x, idx, errs := c.decode(photos, true, nil)
	if len(idx) == 0 {
		return out, errs
	}
	emb, err := c.Model.Embed(x, 2*len(idx))
	if err != nil {
		for _, i := range idx {
			errs[i] = err
		}
		return out, errs
	}
	d := 2 * c.Model.Config().Dense
	for b, i := range idx {
		out[i] = emb[b*d : (b+1)*d : (b+1)*d]
	}
	return out, errs
}

// parallel runs fn(0..n-1) on up to GOMAXPROCS goroutines (on js/wasm, one:
// in order, on the caller's).
func parallel(n int, fn func(i int)) {
	w := min(n, runtime.GOMAXPROCS(0))
	if w <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range w {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		})
	}
	wg.Wait()
}
