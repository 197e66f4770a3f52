package preprocess

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/pawnet/pawnet/shared/imageio"
)

// realPhoto loads a sample photo when the sample data is around (the mage
// test target sets PAWNET_SAMPLE_DIR), else a synthetic gradient; the
// properties below hold for any image.
func realPhoto(t testing.TB, size int) *imageio.RGB {
	t.Helper()
	if dir := os.Getenv("PAWNET_SAMPLE_DIR"); dir != "" {
		data, err := os.ReadFile(filepath.Join(dir, "test", "7.jpg"))
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := imageio.DecodeRGB(data, size, size, 0)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	img := imageio.NewRGB(size, size)
	for i := range img.Pix {
		img.Pix[i] = uint8(i*7 + i/size)
	}
	return img
}

var testStats = Stats{Mean: [3]float64{0.5, 0.45, 0.41}, Std: [3]float64{0.25, 0.24, 0.25}}

func norm(t testing.TB) Normalizer {
	n, err := NewNormalizer(testStats)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func apply(t testing.TB, a Augment, img *imageio.RGB, size int) []float32 {
	t.Helper()
	dst := make([]float32, size*size*3)
	if err := a.Apply(img, size, norm(t), dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestNormalizeFormula(t *testing.T) {
	n := norm(t)
	dst := make([]float32, 3)
	n.Bytes([]uint8{0, 128, 255}, dst)
	want := []float64{(0 - 0.5) / 0.25, (128.0/255 - 0.45) / 0.24, (1 - 0.41) / 0.25}
	for i := range dst {
		if math.Abs(float64(dst[i])-want[i]) > 1e-5 {
			t.Errorf("channel %d: %v, want %v", i, dst[i], want[i])
		}
	}
	if _, err := NewNormalizer(Stats{}); err == nil {
		t.Error("zero std accepted")
	}
}

func TestIdentityAugmentEqualsEval(t *testing.T) {
	for _, size := range []int{32, 64, 227} {
		img := realPhoto(t, size)
		eval := make([]float32, size*size*3)
		Eval(img, size, norm(t), eval)
		got := apply(t, Identity(size, size), img, size)
		for i := range got {
			if got[i] != eval[i] {
				t.Fatalf("size %d: value %d = %v, eval gives %v", size, i, got[i], eval[i])
			}
		}
	}
}

func TestFlipIsExact(t *testing.T) {
	const size = 64
	img := realPhoto(t, size)
	a := Identity(size, size)
	a.Flip = true
	got := apply(t, a, img, size)
	eval := apply(t, Identity(size, size), img, size)
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			for c := 0; c < 3; c++ {
				if got[(y*size+x)*3+c] != eval[(y*size+size-1-x)*3+c] {
					t.Fatalf("(%d,%d,%d) is not the mirror pixel", x, y, c)
				}
			}
		}
	}
}

func TestRotationByQuarterTurn(t *testing.T) {
	// 90° counter-clockwise on a square maps out(x, y) = in(W-1-y, x)
	// exactly with nearest-neighbour sampling.
	const size = 32
	img := realPhoto(t, size)
	a := Identity(size, size)
	a.Angle = 90
	got := apply(t, a, img, size)
	eval := apply(t, Identity(size, size), img, size)
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			if got[(y*size+x)*3] != eval[(x*size+size-1-y)*3] {
				t.Fatalf("pixel (%d,%d) is not the rotated one", x, y)
			}
		}
	}
}

func TestCropBoxWithinBoundsAndScale(t *testing.T) {
	cfg := DefaultAug()
	for _, dims := range [][2]int{{227, 227}, {64, 64}, {500, 375}, {40, 300}} {
		w, h := dims[0], dims[1]
		for i := 0; i < 2000; i++ {
			a := cfg.Sample(RNG(7, 1, i), w, h)
			c := a.Crop
			if c.X < 0 || c.Y < 0 || c.W < 1 || c.H < 1 || c.X+c.W > w || c.Y+c.H > h {
				t.Fatalf("%d×%d: crop %+v out of bounds", w, h, c)
			}
			// Rounding of each side allows a little slack around the scale range,
			// except for the fallback, which is a clamped centre crop.
			frac := float64(c.W*c.H) / float64(w*h)
			ratio := float64(c.W) / float64(c.H)
			inRange := frac >= 0.8-0.02 && frac <= 1.0+1e-9 && ratio >= 0.75-0.03 && ratio <= 4.0/3+0.03
			fallback := c.X == (w-c.W)/2 && c.Y == (h-c.H)/2
			if !inRange && !fallback {
				t.Fatalf("%d×%d: crop %+v has area fraction %.3f and ratio %.3f", w, h, c, frac, ratio)
			}
			if math.Abs(a.Angle) > 10 || a.Brightness < 0.8 || a.Brightness > 1.2 || a.Contrast < 0.8 || a.Contrast > 1.2 || a.Saturation < 0.8 || a.Saturation > 1.2 {
				t.Fatalf("parameters out of range: %+v", a)
			}
		}
	}
}

func TestSeededAndEpochDependent(t *testing.T) {
	const size = 64
	img := realPhoto(t, size)
	cfg := DefaultAug()
	run := func(seed uint64, epoch, index int) []float32 {
		return apply(t, cfg.Sample(RNG(seed, epoch, index), size, size), img, size)
	}
	a, b := run(1, 3, 17), run(1, 3, 17)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same (seed, epoch, index) gave different tensors")
		}
	}
	for _, other := range [][]float32{run(1, 4, 17), run(2, 3, 17), run(1, 3, 18)} {
		same := true
		for i := range a {
			if a[i] != other[i] {
				same = false
				break
			}
		}
		if same {
			t.Error("a different seed, epoch or index gave the same tensor")
		}
	}
	// Same result from another goroutine count: randomness is per sample.
	prev := runtime.GOMAXPROCS(1)
	c := run(1, 3, 17)
	runtime.GOMAXPROCS(prev)
	for i := range a {
		if a[i] != c[i] {
			t.Fatal("result depends on GOMAXPROCS")
		}
	}
}

func TestColorJitterFormulas(t *testing.T) {
	const size = 8
	img := imageio.NewRGB(size, size)
	for i := range img.Pix {
		img.Pix[i] = uint8(40 + i%150)
	}
	one := Stats{Mean: [3]float64{0, 0, 0}, Std: [3]float64{1.0 / 255, 1.0 / 255, 1.0 / 255}} // identity normalization on 0–255
	n, _ := NewNormalizer(one)
	base := make([]float32, size*size*3)
	Identity(size, size).Apply(img, size, n, base)
	cases := []struct {
		name string
		mod  func(*Augment)
		want func(v []float32, i int) float64
	}{
		{"brightness", func(a *Augment) { a.Brightness = 1.2 }, func(v []float32, i int) float64 { return math.Min(255, 1.2*float64(v[i])) }},
		{"saturation", func(a *Augment) { a.Saturation = 0.5 }, func(v []float32, i int) float64 {
			p := i - i%3
			g := 0.299*float64(v[p]) + 0.587*float64(v[p+1]) + 0.114*float64(v[p+2])
			return 0.5*float64(v[i]) + 0.5*g
		}},
		{"contrast", func(a *Augment) { a.Contrast = 0.8 }, func(v []float32, i int) float64 {
			var m float64
			for p := 0; p < len(v); p += 3 {
				m += 0.299*float64(v[p]) + 0.587*float64(v[p+1]) + 0.114*float64(v[p+2])
			}
			m /= float64(len(v) / 3)
			return 0.8*float64(v[i]) + 0.2*m
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := Identity(size, size)
			c.mod(&a)
			got := make([]float32, size*size*3)
			if err := a.Apply(img, size, n, got); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if w := c.want(base, i); math.Abs(float64(got[i])-w) > 1e-3 {
					t.Fatalf("value %d = %v, want %v", i, got[i], w)
				}
			}
		})
	}
}

func TestAccumulatorExact(t *testing.T) {
	var a, b Accumulator
	a.Add([]uint8{0, 0, 0, 255, 255, 255})
	b.Add([]uint8{0, 255, 10, 255, 0, 20})
	a.Merge(b)
	st, err := a.Stats(1)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mean[0] != 0.5 || st.Std[0] != 0.5 || st.Pixels != 4 || st.Images != 2 {
		t.Errorf("stats %+v, want mean 0.5 std 0.5 over 4 pixels", st)
	}
}
