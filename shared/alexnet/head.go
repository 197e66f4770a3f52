package alexnet

import (
	"fmt"
	"maps"
	"slices"
)

// WithHead returns a Model that computes as m with its last layer
// (classifier.6) replaced by w ([classes × Dense], row-major, PyTorch's
// layout) and the bias b ([classes]), with meta as its metadata. The new
// layer is stored as a file of variant v stores it (Int8: quantized per row
// with Quantize, computed on the int8 values as a loaded int8 file is; F16:
// rounded to half floats; F32: as given), so that the Model gives what
// saving it with SaveVariant(v) and loading the file gives. It is how a
// head taught in the browser (shared/teach) classifies without a second
// copy of the network.
//
// The new Model shares every other layer with m: nothing else is copied.
// The conv layers LoadDeferred left for Prepare are shared unprepared, and
// each Model's Prepare would then build its own transforms: Prepare m
// first. Neither Model may be used concurrently with the other's Prepare.
func (m *Model) WithHead(w, b []float32, meta Metadata, v Variant) (*Model, error) {
	k := len(b)
	if k < 1 || len(w) != k*m.cfg.Dense {
		return nil, fmt.Errorf("alexnet: a head of %d weights for %d classes; model %s takes %d features (want %d weights)",
			len(w), k, m.cfg.Name, m.cfg.Dense, k*m.cfg.Dense)
	}
	if _, err := ParseVariant(string(v)); err != nil {
		return nil, err
	}
	cfg := m.cfg
	cfg.Classes = k
	if err := checkMeta(cfg, meta); err != nil {
		return nil, err
	}
	name := DenseNames[2]
	params, quant := maps.Clone(m.params), maps.Clone(m.quant)
	if quant == nil {
		quant = map[string]quantized{}
	}
	delete(params, name+".weight")
	delete(quant, name+".weight")
	params[name+".bias"] = slices.Clone(b)
	last := denseLayer{nin: cfg.Dense, nout: k, bias: params[name+".bias"]}
	switch v {
	case Int8:
		q, scale := Quantize(w, k)
		quant[name+".weight"] = quantized{q: q, scale: scale}
		last.q, last.scale = q, scale
	case F16:
		h := make([]float32, len(w))
		for i, f := range w {
			h[i] = HalfToFloat32(Float32ToHalf(f))
		}
		params[name+".weight"], last.w = h, h
	default:
		c := slices.Clone(w)
		params[name+".weight"], last.w = c, c
	}
	n := &Model{cfg: cfg, meta: meta, params: params, quant: quant, conv: m.conv}
	n.dense = [3]denseLayer{m.dense[0], m.dense[1], last}
	return n, nil
}
