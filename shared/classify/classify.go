// Package classify turns a photo's bytes into class probabilities with
// exported weights: decode, the eval transform with the run's stats.json,
// and the pure-Go AlexNet forward pass. `pawnet predict` and the browser
// both call it, so their answers agree.
package classify

import (
	"errors"
	"fmt"

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
	return &Classifier{Model: m, Norm: norm, Size: m.Config().InputSize, Classes: classes}, nil
}

// Prediction is the result for one photo.
type Prediction struct {
	Probs []float32 // per class, summing to 1
	Best  int       // index of the most likely class
	Label string    // its name
}

// Tensor decodes a photo and applies the eval transform.
func (c *Classifier) Tensor(data []byte) ([]float32, error) {
	return preprocess.EvalBytes(data, c.Size, c.MaxPixels, c.Norm)
}

// Classify predicts one photo. With tta it averages the probabilities of
// the photo and its horizontal mirror.
func (c *Classifier) Classify(data []byte, tta bool) (Prediction, error) {
	x, err := c.Tensor(data)
	if err != nil {
		return Prediction{}, err
	}
	n := 1
	if tta {
		x = append(x, mirror(x, c.Size)...)
		n = 2
	}
	logits, err := c.Model.Forward(x, n)
	if err != nil {
		return Prediction{}, err
	}
	k := len(logits) / n
	probs := make([]float32, k)
	for i := 0; i < n; i++ {
		for j, p := range alexnet.Probabilities(logits[i*k : (i+1)*k]) {
			probs[j] += p / float32(n)
		}
	}
	best := alexnet.Argmax(probs)
	return Prediction{Probs: probs, Best: best, Label: c.Classes[best]}, nil
}

// mirror returns an HWC image flipped horizontally.
func mirror(x []float32, size int) []float32 {
	out := make([]float32, len(x))
	for y := 0; y < size; y++ {
		for u := 0; u < size; u++ {
			copy(out[(y*size+u)*3:(y*size+u)*3+3], x[(y*size+size-1-u)*3:(y*size+size-1-u)*3+3])
		}
	}
	return out
}
