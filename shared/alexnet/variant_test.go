package alexnet

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestSaveLoadVariants writes Small in each variant and loads it back: the
// header declares the variant's dtypes (and the int8 scales), the biases
// are exact, the weights are what the variant's rounding gives, and a
// loaded file re-saved in the same variant gives the same bytes.
func TestSaveLoadVariants(t *testing.T) {
	params, _ := savedSmall(t)
	cfg := Small()
	for _, tc := range []struct {
		v      Variant
		dtype  string
		maxRel float64 // largest |w' − w| / max|w| of a weight tensor's row
	}{
		{F32, "F32", 0},
		{F16, "F16", 1.0 / 2048},
		{Int8, "I8", 0.5 / 127},
	} {
		t.Run(string(tc.v), func(t *testing.T) {
			var buf bytes.Buffer
			if err := SaveVariant(&buf, cfg, params, testMeta, tc.v); err != nil {
				t.Fatal(err)
			}
			data := buf.Bytes()
			var header map[string]json.RawMessage
			if err := json.Unmarshal(data[8:8+binary.LittleEndian.Uint64(data)], &header); err != nil {
				t.Fatal(err)
			}
			for _, p := range cfg.Params() {
				var ti tensorInfo
				json.Unmarshal(header[p.Name], &ti)
				want := "F32"
				if len(p.Shape) > 1 {
					want = tc.dtype
				}
				if ti.Dtype != want {
					t.Errorf("%s: dtype %s, want %s", p.Name, ti.Dtype, want)
				}
				_, hasScale := header[p.Name+ScaleSuffix]
				if hasScale != (want == "I8") {
					t.Errorf("%s: scale tensor present %v", p.Name, hasScale)
				}
			}
			m, err := Load(data)
			if err != nil {
				t.Fatal(err)
			}
			if m.Metadata().Variant != tc.v {
				t.Errorf("loaded variant %q", m.Metadata().Variant)
			}
			all := m.Params()
			for _, p := range cfg.Params() {
				if got := m.Param(p.Name); !slices.Equal(got, all[p.Name]) {
					t.Errorf("Param(%q) differs from Params()[%q]", p.Name, p.Name)
				}
			}
			if m.Param("no.such.weight") != nil {
				t.Error("Param of an unknown name is not nil")
			}
			got := m.Params()
			for _, p := range cfg.Params() {
				w, g := params[p.Name], got[p.Name]
				rows := p.Shape[0]
				n := len(w) / rows
				for r := range rows {
					hi := 0.0
					for _, v := range w[r*n : (r+1)*n] {
						hi = math.Max(hi, math.Abs(float64(v)))
					}
					for i := r * n; i < (r+1)*n; i++ {
						d := math.Abs(float64(g[i] - w[i]))
						if len(p.Shape) == 1 && d != 0 {
							t.Fatalf("%s[%d]: bias %v, want %v exactly", p.Name, i, g[i], w[i])
						}
						if d > tc.maxRel*hi*1.0001 {
							t.Fatalf("%s[%d]: %v, want %v within %.3g·%.3g", p.Name, i, g[i], w[i], tc.maxRel, hi)
						}
					}
				}
			}
			var again bytes.Buffer
			if err := SaveVariant(&again, cfg, got, m.Metadata(), tc.v); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again.Bytes(), data) {
				t.Error("SaveVariant(Load(f)) differs from f")
			}
			t.Logf("%s: %d bytes", tc.v, len(data))
		})
	}
}

// TestLoadVariantErrors checks that damaged variant files are refused with
// a message naming the problem.
func TestLoadVariantErrors(t *testing.T) {
	params, _ := savedSmall(t)
	var buf bytes.Buffer
	if err := SaveVariant(&buf, Small(), params, testMeta, Int8); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"unknown variant", `"pawnet.variant":"int8"`, `"pawnet.variant":"int4"`, "unknown pawnet.variant"},
		{"no scale", `"features.0.weight_scale"`, `"features.0.weight_scalf"`, "missing tensor \"features.0.weight_scale\""},
		{"variant says fp16", `"pawnet.variant":"int8"`, `"pawnet.variant":"fp16"`, "dtype I8, want F16"},
		{"scale dtype", `"features.0.weight_scale":{"dtype":"F32"`, `"features.0.weight_scale":{"dtype":"I32"`, "must be F32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(editHeader(good, tc.old, tc.new))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestHalfFloat checks the half-float conversions: every half survives the
// round trip through float32, and float32 values round to the nearest
// half, ties to even, overflowing to infinity.
func TestHalfFloat(t *testing.T) {
	for h := range 1 << 16 {
		f := HalfToFloat32(uint16(h))
		back := Float32ToHalf(f)
		if f != f { // NaN stays NaN
			if back&0x7c00 != 0x7c00 || back&0x3ff == 0 {
				t.Fatalf("NaN %#04x → %#04x", h, back)
			}
			continue
		}
		if back != uint16(h) {
			t.Fatalf("half %#04x → %v → %#04x", h, f, back)
		}
	}
	for _, tc := range []struct {
		f    float32
		want uint16
	}{
		{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65520, 0x7c00}, {1e9, 0x7c00},
		{float32(math.Inf(-1)), 0xfc00},
		{1 + 1.0/2048, 0x3c00},             // tie: to even (down)
		{1 + 3.0/2048, 0x3c02},             // tie: to even (up)
		{1 + 1.0/2048 + 1.0/65536, 0x3c01}, // just above the tie
		{float32(math.Ldexp(1, -24)), 0x0001},
		{float32(math.Ldexp(1, -25)), 0},      // tie with 0: to even
		{float32(math.Ldexp(1.5, -25)), 1},    // above the tie
		{float32(math.Ldexp(3, -25)), 0x0002}, // tie between 1 and 2 ulps: to even
		{float32(math.Ldexp(1, -14)), 0x0400}, // smallest normal
	} {
		if got := Float32ToHalf(tc.f); got != tc.want {
			t.Errorf("Float32ToHalf(%g) = %#04x, want %#04x", tc.f, got, tc.want)
		}
	}
	// Random values: no half is nearer than the one chosen.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		f := float32(rng.NormFloat64() * math.Pow(2, float64(rng.IntN(40)-30)))
		h := Float32ToHalf(f)
		got := float64(HalfToFloat32(h))
		for _, nb := range []uint16{h - 1, h + 1} {
			if nb&0x7c00 == 0x7c00 || (nb^h)&0x8000 != 0 {
				continue
			}
			if d := math.Abs(float64(HalfToFloat32(nb)) - float64(f)); d < math.Abs(got-float64(f)) {
				t.Fatalf("%g rounds to %g, but %g is nearer", f, got, HalfToFloat32(nb))
			}
		}
	}
}

// TestQuantize checks the symmetric per-row quantization.
func TestQuantize(t *testing.T) {
	for _, tc := range []struct {
		name  string
		w     []float32
		rows  int
		q     []int8
		scale []float32
	}{
		{"one row", []float32{1.27, -0.635, 0, 0.005}, 1, []int8{127, -64, 0, 1}, []float32{0.01}},
		{"zero row", []float32{0, 0, 2.54, -1}, 2, []int8{0, 0, 127, -50}, []float32{0, 0.02}},
		{"negative max", []float32{-3, 1.5}, 1, []int8{-127, 64}, []float32{3.0 / 127}},
		{"empty", nil, 0, []int8{}, []float32{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, scale := Quantize(tc.w, tc.rows)
			for i := range tc.q {
				if q[i] != tc.q[i] {
					t.Errorf("q = %v, want %v", q, tc.q)
					break
				}
			}
			for i := range tc.scale {
				if math.Abs(float64(scale[i]-tc.scale[i])) > 1e-7 {
					t.Errorf("scale = %v, want %v", scale, tc.scale)
					break
				}
			}
		})
	}
}

// TestVariantPath checks the variant file names.
func TestVariantPath(t *testing.T) {
	for _, tc := range []struct {
		v          Variant
		path, want string
	}{
		{F32, "runs/a/model.safetensors", "runs/a/model.safetensors"},
		{Int8, "runs/a/model.safetensors", "runs/a/model.int8.safetensors"},
		{F16, "w", "w.fp16.safetensors"},
	} {
		if got := VariantPath(tc.path, tc.v); got != tc.want {
			t.Errorf("VariantPath(%q, %s) = %q, want %q", tc.path, tc.v, got, tc.want)
		}
	}
}
