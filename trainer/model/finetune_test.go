package model

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pawnet/pawnet/shared/alexnet"
)

// isFeature reports whether a parameter belongs to a conv layer.
func isFeature(name string) bool { return strings.HasPrefix(name, "features.") }

// TestFreezeFeatures trains with the features frozen: their parameters stay
// bit-identical while the dense layers learn, through a checkpoint and
// restore too; unfrozen, they learn again.
func TestFreezeFeatures(t *testing.T) {
	cfg := alexnet.Small()
	rng := rand.New(rand.NewPCG(3, 3))
	x, y := synthetic(rng, cfg, 8)
	m := newModel(t, cfg, 5, Options{BatchSize: 8})
	if m.FeaturesFrozen() {
		t.Fatal("a new model has frozen features")
	}
	if err := m.FreezeFeatures(true); err != nil || !m.FeaturesFrozen() {
		t.Fatalf("FreezeFeatures(true): %v, frozen %v", err, m.FeaturesFrozen())
	}
	start := m.ExportParams()
	trainSteps(t, m, x, y, 8, 3)
	dir := filepath.Join(t.TempDir(), "ckpt")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	r := newModel(t, cfg, 9, Options{BatchSize: 8})
	if err := r.Restore(dir); err != nil {
		t.Fatal(err)
	}
	if !r.FeaturesFrozen() {
		t.Error("the restored model's features are not frozen")
	}
	trainSteps(t, r, x, y, 8, 2)
	after := r.ExportParams()
	for name, v := range start {
		same := bitsEqual(v, after[name])
		if isFeature(name) && !same {
			t.Errorf("frozen %s changed", name)
		}
		if !isFeature(name) && same {
			t.Errorf("%s did not learn", name)
		}
	}
	if err := r.FreezeFeatures(false); err != nil || r.FeaturesFrozen() {
		t.Fatalf("FreezeFeatures(false): %v", err)
	}
	trainSteps(t, r, x, y, 8, 1)
	for name, v := range r.ExportParams() {
		if isFeature(name) && strings.HasSuffix(name, ".weight") && bitsEqual(v, after[name]) {
			t.Errorf("unfrozen %s did not learn", name)
		}
	}
}

// TestFeatureLRScale checks that FeatureLRScale scales the features'
// update and leaves the dense layers' as it is: two models from the same
// seed take one step on the same batch, one with scale 0.1.
func TestFeatureLRScale(t *testing.T) {
	cfg := alexnet.Small()
	rng := rand.New(rand.NewPCG(4, 4))
	x, y := synthetic(rng, cfg, 8)
	const scale = 0.1
	base := newModel(t, cfg, 6, Options{BatchSize: 8, LearningRate: 1e-3})
	scaled := newModel(t, cfg, 6, Options{BatchSize: 8, LearningRate: 1e-3, FeatureLRScale: scale})
	start := base.ExportParams()
	paramsBitsEqual(t, start, scaled.ExportParams())
	trainSteps(t, base, x, y, 8, 1)
	trainSteps(t, scaled, x, y, 8, 1)
	pb, ps := base.ExportParams(), scaled.ExportParams()
	for name, v0 := range start {
		if !isFeature(name) {
			if !bitsEqual(pb[name], ps[name]) {
				t.Errorf("%s: the dense layers' update changed", name)
			}
			continue
		}
		var worst, size float64
		for i := range v0 {
			db, ds := float64(pb[name][i]-v0[i]), float64(ps[name][i]-v0[i])
			worst = math.Max(worst, math.Abs(ds-scale*db))
			size = math.Max(size, math.Abs(db))
		}
		if size == 0 || worst > 1e-3*size {
			t.Errorf("%s: the scaled update differs from %g × the update by up to %g (largest update %g)", name, scale, worst, size)
		}
	}
	if _, err := NewWithOptions(cfg, goBackend(), 1, Options{FeatureLRScale: -1}); err == nil {
		t.Error("a negative FeatureLRScale was accepted")
	}
}
