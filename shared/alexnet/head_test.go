package alexnet

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestWithHead replaces Small's last layer by a three-class head in each
// variant: the Model computes what saving the head in that variant and
// loading the file computes (logits and Grad-CAM), the base Model is left
// as it was, and a head of the wrong width is refused.
func TestWithHead(t *testing.T) {
	params, _ := savedSmall(t)
	cfg := Small()
	const k = 3
	rng := rand.New(rand.NewPCG(3, 4))
	w, b := make([]float32, k*cfg.Dense), make([]float32, k)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.05)
	}
	for i := range b {
		b[i] = float32(rng.NormFloat64())
	}
	meta := testMeta
	meta.Classes = []string{"tabby", "collie", "parrot"}
	x := randomInput(cfg, 2, 9)
	for _, v := range Variants {
		t.Run(string(v), func(t *testing.T) {
			var file bytes.Buffer
			if err := SaveVariant(&file, cfg, params, testMeta, v); err != nil {
				t.Fatal(err)
			}
			base, err := LoadDeferred(file.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			base.Prepare()
			before, err := base.Forward(x, 2)
			if err != nil {
				t.Fatal(err)
			}
			m := meta
			m.Variant = v
			taught, err := base.WithHead(w, b, m, v)
			if err != nil {
				t.Fatal(err)
			}
			if taught.Config().Classes != k || taught.Metadata().Classes[2] != "parrot" {
				t.Errorf("taught model: config %v, classes %v", taught.Config(), taught.Metadata().Classes)
			}

			// The reference: the head saved in the variant and loaded.
			ref := base.Params()
			ref[DenseNames[2]+".weight"], ref[DenseNames[2]+".bias"] = w, b
			rcfg := cfg
			rcfg.Classes = k
			var saved bytes.Buffer
			if err := SaveVariant(&saved, rcfg, ref, meta, v); err != nil {
				t.Fatal(err)
			}
			want, err := Load(saved.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			got, err := taught.Forward(x, 2)
			if err != nil {
				t.Fatal(err)
			}
			exp, err := want.Forward(x, 2)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxRelDiff(got, exp); d > 1e-5 {
				t.Errorf("logits %v, saved and loaded %v: relative difference %.3g", got, exp, d)
			}
			if p := taught.Param(DenseNames[2] + ".weight"); len(p) != len(w) || maxRelDiff(p, want.Param(DenseNames[2]+".weight")) > 1e-6 {
				t.Errorf("the taught model's classifier.6.weight differs from the saved file's")
			}
			cam, err := taught.GradCAM(x[:len(x)/2], 0, 1, 2)
			if err != nil {
				t.Fatal(err)
			}
			wcam, err := want.GradCAM(x[:len(x)/2], 0, 1, 2)
			if err != nil {
				t.Fatal(err)
			}
			for c := range k {
				if d := maxRelDiff(cam.Maps[c], wcam.Maps[c]); d > 1e-4 {
					t.Errorf("Grad-CAM map %d differs by %.3g", c, d)
				}
			}

			after, err := base.Forward(x, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(before) || maxRelDiff(after, before) != 0 {
				t.Errorf("the base model changed: %v, was %v", after, before)
			}
		})
	}

	base, err := NewModel(cfg, params, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := base.WithHead(w[:k*cfg.Dense-1], b, meta, F32); err == nil || !strings.Contains(err.Error(), "takes 512 features") {
		t.Errorf("a head of the wrong width: %v", err)
	}
	if _, err := base.WithHead(w, b, testMeta, F32); err == nil {
		t.Error("two class names for three classes: no error")
	}
}

// maxRelDiff is max |a−b| over max |b|.
func maxRelDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d, m := 0.0, 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
		m = math.Max(m, math.Abs(float64(b[i])))
	}
	if m == 0 {
		return d
	}
	return d / m
}
