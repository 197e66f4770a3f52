package model

import (
	"fmt"

	"github.com/gomlx/gomlx/core/graph"
	mlmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/pawnet/pawnet/shared/alexnet"
)

// Fine-tuning controls: frozen features and a lower learning rate for the
// features than for the dense layers (the "head").

// featureVars are the parameters of the conv layers (the features), the
// first 2·NumConv of m.vars.
func (m *Model) featureVars() []*mlmodel.Variable {
	vs := make([]*mlmodel.Variable, 0, 2*alexnet.NumConv)
	for _, pv := range m.vars[:2*alexnet.NumConv] {
		vs = append(vs, m.store.GetVariable(pv.path))
	}
	return vs
}

// FreezeFeatures makes the conv layers' weights and biases untrainable
// (frozen) or trainable again. Frozen parameters get no gradient and no
// optimizer update, so they stay bit-identical, and the train step skips
// their backward pass. Changing the setting recompiles the train step at
// its next call; Adam's moments of the features start from zero when they
// are first trained. The setting is saved in checkpoints.
func (m *Model) FreezeFeatures(frozen bool) error {
	return catch(func() error {
		changed := false
		for _, v := range m.featureVars() {
			if v == nil {
				return fmt.Errorf("model: freeze: a feature variable is missing")
			}
			if v.Trainable == frozen {
				v.SetTrainable(!frozen)
				changed = true
			}
		}
		if changed {
			m.resetGraphs()
		}
		return nil
	})
}

// FeaturesFrozen reports whether the conv layers are frozen (see
// FreezeFeatures).
func (m *Model) FeaturesFrozen() bool {
	v := m.featureVars()[0]
	return v != nil && !v.Trainable
}

// featureLR scales the update the wrapped optimizer gives each feature
// parameter by scale. Adam's step (and AdamW's decay) is proportional to
// its learning rate, so this is Adam with a learning rate scale times
// lower for the features, and it follows any change of the learning rate.
type featureLR struct {
	optimizer.Interface
	m     *Model
	scale float64
}

// withFeatureLR wraps opt when Options.FeatureLRScale asks for it.
func (m *Model) withFeatureLR(opt optimizer.Interface) optimizer.Interface {
	if s := m.opts.FeatureLRScale; s == 0 || s == 1 {
		return opt
	}
	return featureLR{Interface: opt, m: m, scale: m.opts.FeatureLRScale}
}

// UpdateGraph implements optimizer.Interface.
func (o featureLR) UpdateGraph(scope *mlmodel.Scope, g *graph.Graph, loss *graph.Node) {
	vars := o.m.featureVars()
	before := make([]*graph.Node, len(vars))
	for i, v := range vars {
		if v.Trainable && v.InUseByGraph(g) {
			before[i] = v.NodeValue(g)
		}
	}
	o.Interface.UpdateGraph(scope, g, loss)
	for i, v := range vars {
		if before[i] == nil {
			continue
		}
		step := graph.Sub(v.NodeValue(g), before[i])
		v.SetNodeValue(graph.Add(before[i], graph.MulScalar(step, o.scale)))
	}
}
