package model

import (
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/trainer/fsutil"
)

// ExportParams returns every parameter under its alexnet.Params() name, in
// PyTorch layout: conv weights OIHW [out, in, kh, kw], dense weights
// [out, in], biases [out]; classifier.1's input columns are in PyTorch's
// (C, H, W) flatten order. The slices are fresh copies.
//
// Reading a variable can only fail if the backend cannot hand a tensor back
// (a broken device); ExportParams then panics, as it has no error to return.
func (m *Model) ExportParams() map[string][]float32 {
	out := make(map[string][]float32, len(m.vars))
	err := catch(func() error {
		for i, pv := range m.vars {
			v := m.store.GetVariable(pv.path)
			if v == nil {
				return fmt.Errorf("variable %s missing", pv.path)
			}
			t, err := v.Value()
			if err != nil {
				return err
			}
			data, err := tensors.CopyFlatData[float32](t)
			if err != nil {
				return err
			}
			out[pv.spec.Name] = m.toExport(i, data)
		}
		return nil
	})
	if err != nil {
		panic(fmt.Errorf("model: export: %w", err))
	}
	return out
}

// LoadParams sets every parameter from a map in ExportParams' names and
// layouts; it is ExportParams' exact (bit-identical) inverse. All names of
// alexnet.Params() must be present with the right sizes, and no others.
// Optimizer state and the global step are left as they are.
func (m *Model) LoadParams(params map[string][]float32) error {
	values := make([]*tensors.Tensor, len(m.vars))
	known := make(map[string]bool, len(m.vars))
	for i, pv := range m.vars {
		known[pv.spec.Name] = true
		data, ok := params[pv.spec.Name]
		if !ok {
			return fmt.Errorf("model: load: parameter %s missing", pv.spec.Name)
		}
		if want := pv.spec.Size(); len(data) != want {
			return fmt.Errorf("model: load: %s has %d values, want %d for shape %v", pv.spec.Name, len(data), want, pv.spec.Shape)
		}
		values[i] = tensors.FromFlatDataAndDimensions(m.fromExport(i, data), pv.shape...)
	}
	var extra []string
	for name := range params {
		if !known[name] {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return fmt.Errorf("model: load: unknown parameters %q for config %s", extra, m.cfg.Name)
	}
	m.evalStale = true
	return catch(func() error {
		for i, pv := range m.vars {
			if err := m.store.GetVariable(pv.path).SetValue(values[i]); err != nil {
				return fmt.Errorf("model: load %s: %w", pv.spec.Name, err)
			}
		}
		return nil
	})
}

// fc6Perm maps PyTorch's flattened feature index c*s*s + y*s + x to this
// model's NHWC index (y*s + x)*C + c.
func (m *Model) fc6Perm() []int {
	_, s := m.cfg.LayerSizes()
	c := m.cfg.Channels[alexnet.NumConv-1]
	perm := make([]int, s*s*c)
	for ci := range c {
		for p := range s * s {
			perm[ci*s*s+p] = p*c + ci
		}
	}
	return perm
}

// toExport converts parameter i from store layout to PyTorch layout.
func (m *Model) toExport(i int, data []float32) []float32 {
	pv := m.vars[i]
	out := make([]float32, len(data))
	switch len(pv.shape) {
	case 4: // HWIO [kh, kw, in, o] -> OIHW [o, in, kh, kw]
		kh, kw, in, o := pv.shape[0], pv.shape[1], pv.shape[2], pv.shape[3]
		for y := range kh {
			for x := range kw {
				for ci := range in {
					src := ((y*kw+x)*in + ci) * o
					for co := range o {
						out[((co*in+ci)*kh+y)*kw+x] = data[src+co]
					}
				}
			}
		}
	case 2: // [in, o] -> [o, in], fc6 rows permuted to CHW order
		in, o := pv.shape[0], pv.shape[1]
		var perm []int
		if pv.layer == alexnet.NumConv {
			perm = m.fc6Perm()
		}
		for pi := range in {
			src := pi
			if perm != nil {
				src = perm[pi]
			}
			for co := range o {
				out[co*in+pi] = data[src*o+co]
			}
		}
	default:
		copy(out, data)
	}
	return out
}

// fromExport converts parameter i from PyTorch layout to store layout.
func (m *Model) fromExport(i int, data []float32) []float32 {
	pv := m.vars[i]
	out := make([]float32, len(data))
	switch len(pv.shape) {
	case 4:
		kh, kw, in, o := pv.shape[0], pv.shape[1], pv.shape[2], pv.shape[3]
		for y := range kh {
			for x := range kw {
				for ci := range in {
					dst := ((y*kw+x)*in + ci) * o
					for co := range o {
						out[dst+co] = data[((co*in+ci)*kh+y)*kw+x]
					}
				}
			}
		}
	case 2:
		in, o := pv.shape[0], pv.shape[1]
		var perm []int
		if pv.layer == alexnet.NumConv {
			perm = m.fc6Perm()
		}
		for pi := range in {
			dst := pi
			if perm != nil {
				dst = perm[pi]
			}
			for co := range o {
				out[dst*o+co] = data[co*in+pi]
			}
		}
	default:
		copy(out, data)
	}
	return out
}

// WriteWeights writes an exported weights file (alexnet.Save: safetensors
// with the run's metadata) at path, and its compact variants beside it
// (alexnet.VariantPath: model.fp16.safetensors, model.int8.safetensors,
// which the dashboard downloads instead), each atomically and readable by
// all (a web server serves them). The float32 file is written last, so
// when it changes its variants are already there. It returns the float32
// file's size in bytes.
func WriteWeights(path string, cfg alexnet.Config, params map[string][]float32, meta alexnet.Metadata) (size int64, err error) {
	return WriteVariants(path, cfg, params, meta, alexnet.F16, alexnet.Int8, alexnet.F32)
}

// WriteVariants writes the given variants of an export (path names the
// float32 file; see alexnet.VariantPath), in that order, each atomically,
// and returns the size of the last one written.
func WriteVariants(path string, cfg alexnet.Config, params map[string][]float32, meta alexnet.Metadata, variants ...alexnet.Variant) (size int64, err error) {
	for _, v := range variants {
		err = fsutil.WriteAtomic(alexnet.VariantPath(path, v), func(f *os.File) error {
			if err := alexnet.SaveVariant(f, cfg, params, meta, v); err != nil {
				return err
			}
			size, err = f.Seek(0, io.SeekCurrent)
			return err
		})
		if err != nil {
			return 0, err
		}
	}
	return size, nil
}
