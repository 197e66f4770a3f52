package alexnet

import (
	"math"
	"testing"
	"time"
)

// TestGradCAMChannelSums checks GradCAM's shortcut: its channel weights α
// must equal the spatial mean of LastConvGradient's full gradient, and its
// map CAMMap of the activations and α, for built-in and odd configurations
// and every class. (trainer/model checks both against GoMLX's autodiff.)
func TestGradCAMChannelSums(t *testing.T) {
	cfgs := append([]Config{Small()}, tinyConfigs...)
	for _, cfg := range cfgs {
		t.Run(cfg.Name, func(t *testing.T) {
			params := InitParams(cfg, 3)
			randomBiases(cfg, params, 4)
			m, err := NewModel(cfg, params, Metadata{})
			if err != nil {
				t.Fatal(err)
			}
			x := randomInput(cfg, 1, 5)
			classes := make([]int, cfg.Classes)
			for i := range classes {
				classes[i] = i
			}
			cam, err := m.GradCAM(x, classes...)
			if err != nil {
				t.Fatal(err)
			}
			want, err := m.Forward(x, 1)
			if err != nil || !equalF32(cam.Logits, want) {
				t.Fatalf("GradCAM logits %v, Forward %v (%v)", cam.Logits, want, err)
			}
			for c := range cfg.Classes {
				_, act, grad, err := m.LastConvGradient(x, c)
				if err != nil {
					t.Fatal(err)
				}
				plane := cam.Side * cam.Side
				var num, den float64
				for k, a := range cam.Weights[c] {
					var s float64
					for _, g := range grad[k*plane : (k+1)*plane] {
						s += float64(g)
					}
					d := float64(a) - s/float64(plane)
					num += d * d
					den += s * s / float64(plane*plane)
				}
				if e := math.Sqrt(num / den); !(e < 1e-5) {
					t.Errorf("class %d: α differs from the gradient's spatial mean by %.3g (relative)", c, e)
				}
				if got := CAMMap(act, cam.Weights[c], cam.Side); !equalF32(got, cam.Maps[c]) {
					t.Errorf("class %d: map differs from CAMMap of its own α", c)
				}
				lo, hi := float32(1), float32(0)
				for _, v := range cam.Maps[c] {
					lo, hi = min(lo, v), max(hi, v)
				}
				if lo != 0 || (hi != 1 && hi != 0) {
					t.Errorf("class %d: map spans %v..%v, want 0..1", c, lo, hi)
				}
			}
		})
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestGradCAMRejects checks the errors: a wrong input size and a class
// out of range.
func TestGradCAMRejects(t *testing.T) {
	small, err := NewModel(Small(), InitParams(Small(), 1), Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		x       []float32
		classes []int
	}{
		{"short input", make([]float32, 10), nil},
		{"two images", randomInput(Small(), 2, 1), nil},
		{"class -1", randomInput(Small(), 1, 1), []int{-1}},
		{"class 2", randomInput(Small(), 1, 1), []int{0, 2}},
	} {
		if _, err := small.GradCAM(c.x, c.classes...); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

// BenchmarkGradCAM measures Grad-CAM's cost next to the forward pass it
// adds to, on one image, alternating plain Forward and GradCAM calls so
// that both see the same machine load:
//
//	go test -run '^$' -bench GradCAM ./shared/alexnet/
//
// It reports ms-forward, ms-gradcam (the forward pass with the map of the
// predicted class) and overhead-% (their difference in % of the forward
// pass); and, timed on their own after each GradCAM call, the steps that
// Grad-CAM adds to the forward pass (the head's backward pass, α, the map:
// ms-backward, and backward-% of ms-forward), which is less at the mercy of
// a loaded machine than a difference of two noisy times. "2class" asks for
// both classes' maps.
func BenchmarkGradCAM(b *testing.B) {
	for _, cfg := range []Config{Full(), Small()} {
		for _, classes := range [][]int{nil, {0, 1}} {
			name := cfg.Name + "/1class"
			if classes != nil {
				name = cfg.Name + "/2class"
			}
			b.Run(name, func(b *testing.B) {
				m := benchModel(b, cfg)
				x := randomInput(cfg, 1, 2)
				if _, err := m.GradCAM(x, classes...); err != nil { // warm up, channel sums
					b.Fatal(err)
				}
				act := m.newActivations()
				logits, err := m.forward(x, 1, act)
				if err != nil {
					b.Fatal(err)
				}
				var fwd, cam, back time.Duration
				for b.Loop() {
					t0 := time.Now()
					if _, err := m.Forward(x, 1); err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					if _, err := m.GradCAM(x, classes...); err != nil {
						b.Fatal(err)
					}
					t2 := time.Now()
					m.explain(act, logits, classes)
					fwd += t1.Sub(t0)
					cam += t2.Sub(t1)
					back += time.Since(t2)
				}
				b.ReportMetric(fwd.Seconds()*1e3/float64(b.N), "ms-forward")
				b.ReportMetric(cam.Seconds()*1e3/float64(b.N), "ms-gradcam")
				b.ReportMetric(100*(cam.Seconds()-fwd.Seconds())/fwd.Seconds(), "overhead-%")
				b.ReportMetric(back.Seconds()*1e3/float64(b.N), "ms-backward")
				b.ReportMetric(100*back.Seconds()/fwd.Seconds(), "backward-%")
			})
		}
	}
}

// TestAxpyKernel checks the build's axpy kernel against the scalar one on
// lengths around its vector widths (FMA kernels round once: 1e-6 relative).
func TestAxpyKernel(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 33, 2048} {
		x := randomInput(Config{InputSize: 1}, n, uint64(n))[:n]
		y0 := randomInput(Config{InputSize: 1}, n, uint64(n)+100)[:n]
		y1 := append([]float32(nil), y0...)
		axpy(y0, 0.37, x)
		axpyKernel(y1, 0.37, x)
		for i := range y0 {
			if d := math.Abs(float64(y0[i] - y1[i])); d > 1e-6*(1+math.Abs(float64(y0[i]))) {
				t.Fatalf("n=%d: element %d: kernel %v, scalar %v", n, i, y1[i], y0[i])
			}
		}
	}
}
