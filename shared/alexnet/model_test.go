package alexnet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// tinyConfigs are small custom architectures that exercise the edge cases
// of the fast path: odd channel counts (a partial GEMM row panel), output
// sides that are not a multiple of the GEMM column panel, an even kernel,
// stride > 1 after the first layer, padding larger than needed, and dense
// widths that are not a multiple of the dot-product row block.
var tinyConfigs = []Config{
	{
		Name: "tiny-odd", InputSize: 35,
		Channels: [NumConv]int{5, 7, 9, 3, 6},
		Kernels:  [NumConv]int{5, 3, 3, 2, 2},
		Strides:  [NumConv]int{2, 1, 1, 1, 1},
		Pads:     [NumConv]int{1, 1, 1, 1, 0},
		Dense:    10, Classes: 3,
	},
	{
		// 47 → 23 → pool 11 → 11 → pool 5 → 4 → 5 → 5 → pool 2: the
		// classifier sees a 9×2×2 map, so the flatten order matters.
		Name: "tiny-strided", InputSize: 47,
		Channels: [NumConv]int{8, 4, 6, 2, 9},
		Kernels:  [NumConv]int{3, 5, 3, 2, 3},
		Strides:  [NumConv]int{2, 1, 2, 1, 1},
		Pads:     [NumConv]int{0, 2, 2, 1, 1},
		Dense:    17, Classes: 2,
	},
}

// refForward is the obviously correct forward pass: direct nested loops in
// float64 over one NHWC image, in PyTorch's NCHW terms.
func refForward(cfg Config, params map[string][]float32, img []float32) []float64 {
	side, ch := cfg.InputSize, 3
	act := make([]float64, ch*side*side)
	for y := range side {
		for x := range side {
			for c := range ch {
				act[(c*side+y)*side+x] = float64(img[(y*side+x)*3+c])
			}
		}
	}
	for i := range NumConv {
		w, b := params[ConvNames[i]+".weight"], params[ConvNames[i]+".bias"]
		k, s, p, cout := cfg.Kernels[i], cfg.Strides[i], cfg.Pads[i], cfg.Channels[i]
		o := (side+2*p-k)/s + 1
		out := make([]float64, cout*o*o)
		for co := range cout {
			for oy := range o {
				for ox := range o {
					sum := float64(b[co])
					for ci := range ch {
						for ky := range k {
							for kx := range k {
								y, x := oy*s+ky-p, ox*s+kx-p
								if y < 0 || y >= side || x < 0 || x >= side {
									continue
								}
								sum += float64(w[((co*ch+ci)*k+ky)*k+kx]) * act[(ci*side+y)*side+x]
							}
						}
					}
					out[(co*o+oy)*o+ox] = math.Max(sum, 0)
				}
			}
		}
		act, side, ch = out, o, cout
		if PoolAfter(i) {
			po := (side-3)/2 + 1
			pooled := make([]float64, ch*po*po)
			for c := range ch {
				for oy := range po {
					for ox := range po {
						m := math.Inf(-1)
						for dy := range 3 {
							for dx := range 3 {
								m = math.Max(m, act[(c*side+2*oy+dy)*side+2*ox+dx])
							}
						}
						pooled[(c*po+oy)*po+ox] = m
					}
				}
			}
			act, side = pooled, po
		}
	}
	// act is already flattened in (C, H, W) order.
	for i, name := range DenseNames {
		w, b := params[name+".weight"], params[name+".bias"]
		out := make([]float64, len(b))
		for o := range out {
			sum := float64(b[o])
			for j, v := range act {
				sum += float64(w[o*len(act)+j]) * v
			}
			if i < 2 {
				sum = math.Max(sum, 0)
			}
			out[o] = sum
		}
		act = out
	}
	return act
}

// randomInput returns n NHWC images of standard normal values.
func randomInput(cfg Config, n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n*cfg.InputSize*cfg.InputSize*3)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// randomBiases gives the zero biases of InitParams random values, so that
// the test sees a bias applied to the wrong channel.
func randomBiases(cfg Config, params map[string][]float32, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 2))
	for _, p := range cfg.Params() {
		if len(p.Shape) == 1 {
			for i := range params[p.Name] {
				params[p.Name][i] = float32(rng.NormFloat64() * 0.1)
			}
		}
	}
}

func TestForwardMatchesReference(t *testing.T) {
	cases := []struct {
		cfg Config
		n   int
	}{
		{tinyConfigs[0], 1},
		{tinyConfigs[0], 3},
		{tinyConfigs[1], 1},
		{tinyConfigs[1], 4},
		{Small(), 1},
		{Small(), 3},
	}
	// Every case runs with the default choice of conv algorithm per layer
	// and with Winograd forced off, i.e. im2col + GEMM everywhere.
	modes := []struct {
		name string
		tile map[int]int
	}{
		{"default", winogradTile},
		{"im2col", map[int]int{}},
		{"winograd-2", map[int]int{2: 2, 3: 2, 4: 2, 5: 2}},
		{"winograd-4", map[int]int{2: 4, 3: 4, 4: 4, 5: 4}},
	}
	defer func(saved map[int]int) { winogradTile = saved }(winogradTile)
	for _, mode := range modes {
		for i, tc := range cases {
			t.Run(fmt.Sprintf("%s/%s/n%d", mode.name, tc.cfg.Name, tc.n), func(t *testing.T) {
				winogradTile = mode.tile
				if err := tc.cfg.Validate(); err != nil {
					t.Fatal(err)
				}
				params := InitParams(tc.cfg, uint64(i))
				randomBiases(tc.cfg, params, uint64(i))
				m, err := NewModel(tc.cfg, params, Metadata{})
				if err != nil {
					t.Fatal(err)
				}
				wino := 0
				for _, l := range m.conv {
					if l.wino != nil {
						wino++
					}
				}
				x := randomInput(tc.cfg, tc.n, uint64(100+i))
				got, err := m.Forward(x, tc.n)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != tc.n*tc.cfg.Classes {
					t.Fatalf("got %d logits, want %d", len(got), tc.n*tc.cfg.Classes)
				}
				per := tc.cfg.InputSize * tc.cfg.InputSize * 3
				worst := 0.0
				for img := range tc.n {
					want := refForward(tc.cfg, params, x[img*per:(img+1)*per])
					scale := 1.0
					for _, v := range want {
						scale = math.Max(scale, math.Abs(v))
					}
					for c, w := range want {
						g := float64(got[img*tc.cfg.Classes+c])
						d := math.Abs(g - w)
						worst = math.Max(worst, d/scale)
						if !(d <= 1e-4*scale) {
							t.Errorf("image %d logit %d: got %.7g, want %.7g (|Δ| %.3g, scale %.3g)", img, c, g, w, d, scale)
						}
					}
				}
				t.Logf("%d Winograd layers, max |Δ|/scale %.2g", wino, worst)
			})
		}
	}
}

// TestWinogradMatrices checks the 1-D transforms in float64:
// Aᵀ[(G g) ⊙ (Bᵀ d)] must equal the correlation y_i = Σ_j d_{i+j} g_j.
func TestWinogradMatrices(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ m, r int }{{2, 3}, {4, 3}, {6, 3}, {2, 5}, {4, 5}, {2, 2}, {4, 2}, {3, 4}} {
		at, g, bt := winogradMatrices(tc.m, tc.r)
		a := tc.m + tc.r - 1
		d := make([]float64, a)
		f := make([]float64, tc.r)
		for i := range d {
			d[i] = rng.NormFloat64()
		}
		for i := range f {
			f[i] = rng.NormFloat64()
		}
		prod := make([]float64, a)
		for k := range a {
			gf, bd := 0.0, 0.0
			for j := range tc.r {
				gf += g[k*tc.r+j] * f[j]
			}
			for j := range a {
				bd += bt[k*a+j] * d[j]
			}
			prod[k] = gf * bd
		}
		for i := range tc.m {
			got, want := 0.0, 0.0
			for k := range a {
				got += at[i*a+k] * prod[k]
			}
			for j := range tc.r {
				want += d[i+j] * f[j]
			}
			if math.Abs(got-want) > 1e-9*(1+math.Abs(want)) {
				t.Errorf("F(%d,%d): y[%d] = %v, want %v", tc.m, tc.r, i, got, want)
			}
		}
	}
}

// TestForwardFull checks the full-size network, with its Winograd layers,
// against the float64 reference on one image.
func TestForwardFull(t *testing.T) {
	if testing.Short() {
		t.Skip("58M random parameters and a 1.1 GMAC float64 reference")
	}
	cfg := Full()
	params := InitParams(cfg, 1)
	randomBiases(cfg, params, 1)
	m, err := NewModel(cfg, params, Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	x := randomInput(cfg, 1, 7)
	logits, err := m.Forward(x, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(logits) != cfg.Classes {
		t.Fatalf("got %d logits, want %d", len(logits), cfg.Classes)
	}
	want := refForward(cfg, params, x)
	scale := 1.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(v))
	}
	for c, w := range want {
		g := float64(logits[c])
		if d := math.Abs(g - w); !(d <= 1e-4*scale) {
			t.Errorf("logit %d: got %.7g, want %.7g (|Δ| %.3g, scale %.3g)", c, g, w, d, scale)
		}
	}
	t.Logf("logits %v, reference %v", logits, want)
}

func TestForwardBadInput(t *testing.T) {
	cfg := tinyConfigs[0]
	m, err := NewModel(cfg, InitParams(cfg, 1), Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	per := cfg.InputSize * cfg.InputSize * 3
	for _, tc := range []struct {
		name string
		len  int
		n    int
	}{
		{"short", per - 1, 1},
		{"long", 2*per + 1, 2},
		{"wrong n", per, 2},
		{"negative n", 0, -1},
	} {
		if _, err := m.Forward(make([]float32, tc.len), tc.n); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	out, err := m.Forward(nil, 0)
	if err != nil || len(out) != 0 {
		t.Errorf("n=0: got %v, %v", out, err)
	}
}

// TestForwardConcurrent checks that concurrent calls, which use separate
// scratch buffers, give the same results as sequential ones (run with -race).
func TestForwardConcurrent(t *testing.T) {
	cfg := tinyConfigs[1]
	m, err := NewModel(cfg, InitParams(cfg, 3), Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	inputs := [][]float32{randomInput(cfg, 1, 1), randomInput(cfg, 2, 2), randomInput(cfg, 1, 3)}
	ns := []int{1, 2, 1}
	want := make([][]float32, len(inputs))
	for i := range inputs {
		want[i], _ = m.Forward(inputs[i], ns[i])
	}
	var wg sync.WaitGroup
	for i := range inputs {
		wg.Go(func() {
			for range 5 {
				got, err := m.Forward(inputs[i], ns[i])
				if err != nil {
					t.Error(err)
					return
				}
				for j := range got {
					if got[j] != want[i][j] {
						t.Errorf("input %d: got %v, want %v", i, got, want[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

func TestPredictAndProbabilities(t *testing.T) {
	for _, tc := range []struct {
		name   string
		logits []float32
		want   []float32
	}{
		{"equal", []float32{3, 3}, []float32{0.5, 0.5}},
		{"huge", []float32{1000, 0}, []float32{1, 0}},
		{"tiny", []float32{-1000, -1000, -1000, -1000}, []float32{0.25, 0.25, 0.25, 0.25}},
		{"ln3", []float32{float32(math.Log(3)), 0}, []float32{0.75, 0.25}},
		{"empty", nil, []float32{}},
	} {
		got := Probabilities(tc.logits)
		if len(got) != len(tc.want) {
			t.Fatalf("%s: got %v, want %v", tc.name, got, tc.want)
		}
		for i := range got {
			if math.Abs(float64(got[i]-tc.want[i])) > 1e-6 {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			}
		}
	}

	cfg := tinyConfigs[0]
	m, err := NewModel(cfg, InitParams(cfg, 5), Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	x := randomInput(cfg, 2, 9)
	logits, _ := m.Forward(x, 2)
	probs, err := m.Predict(x, 2)
	if err != nil {
		t.Fatal(err)
	}
	for img := range 2 {
		row := probs[img*cfg.Classes : (img+1)*cfg.Classes]
		want := Probabilities(logits[img*cfg.Classes : (img+1)*cfg.Classes])
		sum := float32(0)
		for c := range row {
			sum += row[c]
			if row[c] != want[c] {
				t.Errorf("image %d: Predict %v, Probabilities(Forward) %v", img, row, want)
			}
		}
		if math.Abs(float64(sum)-1) > 1e-6 {
			t.Errorf("image %d: probabilities sum to %v", img, sum)
		}
	}
}

func TestInitParams(t *testing.T) {
	cfg := Small()
	a, b := InitParams(cfg, 42), InitParams(cfg, 42)
	for _, p := range cfg.Params() {
		v := a[p.Name]
		if len(v) != numElems(p.Shape) {
			t.Fatalf("%s: %d values for shape %v", p.Name, len(v), p.Shape)
		}
		var sum, sq float64
		for i, x := range v {
			if x != b[p.Name][i] {
				t.Fatalf("%s: same seed, different values", p.Name)
			}
			sum += float64(x)
			sq += float64(x) * float64(x)
		}
		if len(p.Shape) == 1 {
			if sq != 0 {
				t.Errorf("%s: bias not zero", p.Name)
			}
			continue
		}
		std := math.Sqrt(sq/float64(len(v)) - (sum/float64(len(v)))*(sum/float64(len(v))))
		want := math.Sqrt(2 / float64(numElems(p.Shape[1:])))
		if len(v) >= 1000 && math.Abs(std/want-1) > 0.1 {
			t.Errorf("%s: std %.4g, want %.4g", p.Name, std, want)
		}
	}
	if InitParams(cfg, 43)["features.0.weight"][0] == a["features.0.weight"][0] {
		t.Error("different seeds give the same first weight")
	}
}

func TestNewModelErrors(t *testing.T) {
	cfg := tinyConfigs[0]
	good := InitParams(cfg, 1)
	for _, tc := range []struct {
		name   string
		mutate func(map[string][]float32, *Config, *Metadata)
		want   string
	}{
		{"missing", func(p map[string][]float32, _ *Config, _ *Metadata) { delete(p, "features.6.bias") }, `missing tensor "features.6.bias"`},
		{"length", func(p map[string][]float32, _ *Config, _ *Metadata) {
			p["classifier.4.weight"] = p["classifier.4.weight"][1:]
		}, `"classifier.4.weight" has 99 elements, want 100`},
		{"extra", func(p map[string][]float32, _ *Config, _ *Metadata) { p["features.1.weight"] = nil }, `unexpected tensor "features.1.weight"`},
		{"config", func(_ map[string][]float32, c *Config, _ *Metadata) { c.Kernels[2] = 0 }, "conv3"},
		{"classes", func(_ map[string][]float32, _ *Config, m *Metadata) { m.Classes = []string{"cat", "dog"} }, "2 class names for a model with 3 classes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := make(map[string][]float32)
			for k, v := range good {
				p[k] = v
			}
			c, meta := cfg, Metadata{}
			tc.mutate(p, &c, &meta)
			_, err := NewModel(c, p, meta)
			if err == nil || !contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
