package model

import (
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/train/loss"
)

// SmoothedCrossEntropy is the training loss with label smoothing ε: the
// cross-entropy of the logits against (1−ε)·onehot(label) + ε/classes. Its
// labels are GoMLX's sparse ones ([batch, 1] integers) with the optional
// mask after them, as loss.SparseCategoricalCrossEntropyLogits takes, so
// padded examples stay out of the mean. ε = 0 is plain cross-entropy.
func SmoothedCrossEntropy(eps float64) loss.LossFn {
	return func(labels, logits []*graph.Node) *graph.Node {
		l := logits[0]
		k := l.Shape().Dimensions[l.Rank()-1]
		sparse := graph.Reshape(labels[0], labels[0].Shape().Dimensions[:labels[0].Rank()-1]...)
		onehot := graph.OneHot(sparse, k, l.DType())
		target := graph.AddScalar(graph.MulScalar(onehot, 1-eps), eps/float64(k))
		return loss.CategoricalCrossEntropyLogits(append([]*graph.Node{target}, labels[1:]...), logits)
	}
}
