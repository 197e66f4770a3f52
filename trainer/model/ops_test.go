package model

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// goBackend is the pure-Go backend shared by all tests.
var goBackend = sync.OnceValue(func() compute.Backend {
	b, err := Backend(GoBackendName)
	if err != nil {
		panic(err)
	}
	return b
})

func randTensor64(rng *rand.Rand, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return tensors.FromFlatDataAndDimensions(v, dims...)
}

func flat64(t *testing.T, x *tensors.Tensor) []float64 {
	t.Helper()
	v, err := tensors.CopyFlatData[float64](x)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// maxRelDiff is max|a-b| / max(1, max|b|).
func maxRelDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var d, scale float64 = 0, 1
	for i := range a {
		d = max(d, math.Abs(a[i]-b[i]))
		scale = max(scale, math.Abs(b[i]))
	}
	return d / scale
}

func TestSliceMaxPoolEqualsMaxPool(t *testing.T) {
	cases := []struct {
		name           string
		dims           []int
		window, stride int
	}{
		{"alexnet 3x3/2 odd", []int{2, 15, 15, 3}, 3, 2},
		{"alexnet 3x3/2 even", []int{1, 8, 8, 4}, 3, 2},
		{"3x3/2 non-square", []int{2, 9, 7, 2}, 3, 2},
		{"smallest 3x3", []int{1, 3, 3, 5}, 3, 2},
		{"2x2/2", []int{1, 6, 6, 1}, 2, 2},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := randTensor64(rng, tc.dims...)
			outs, err := graph.CallOnceN(goBackend(), func(x *graph.Node) []*graph.Node {
				return []*graph.Node{
					sliceMaxPool(x, tc.window, tc.stride),
					nativeMaxPool(x, tc.window, tc.stride),
				}
			}, x)
			if err != nil {
				t.Fatal(err)
			}
			if !outs[0].Shape().Equal(outs[1].Shape()) {
				t.Fatalf("shapes differ: slices %s, MaxPool %s", outs[0].Shape(), outs[1].Shape())
			}
			if d := maxRelDiff(flat64(t, outs[0]), flat64(t, outs[1])); d != 0 {
				t.Errorf("slice max-pool differs from graph.MaxPool by %g", d)
			}
		})
	}
}

func TestSliceMaxPoolGradientFiniteDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	dims := []int{2, 7, 7, 2}
	x := randTensor64(rng, dims...)
	ho := (dims[1]-3)/2 + 1
	r := randTensor64(rng, dims[0], ho, ho, dims[3]) // random upstream weights
	lossFn := func(x, r *graph.Node) *graph.Node { return graph.ReduceAllSum(graph.Mul(sliceMaxPool(x, 3, 2), r)) }
	grad, err := graph.CallOnce(goBackend(), func(x, r *graph.Node) *graph.Node {
		return graph.Gradient(lossFn(x, r), x)[0]
	}, x, r)
	if err != nil {
		t.Fatal(err)
	}
	analytic := flat64(t, grad)

	lossExec := graph.MustNewExec(goBackend(), lossFn)
	lossAt := func(v []float64) float64 {
		out := lossExec.MustCall1(tensors.FromFlatDataAndDimensions(v, dims...), r)
		return tensors.ToScalar[float64](out)
	}
	xv := flat64(t, x)
	const eps = 1e-6
	var worst float64
	for i := range xv {
		orig := xv[i]
		xv[i] = orig + eps
		up := lossAt(xv)
		xv[i] = orig - eps
		down := lossAt(xv)
		xv[i] = orig
		fd := (up - down) / (2 * eps)
		worst = max(worst, math.Abs(fd-analytic[i]))
	}
	if worst > 1e-6 {
		t.Errorf("slice max-pool gradient differs from finite differences by up to %g", worst)
	}
	t.Logf("max |analytic - finite difference| = %.3g over %d inputs", worst, len(xv))
}

func TestIm2colConvEqualsConvolve(t *testing.T) {
	cases := []struct {
		name                string
		n, size, in, out, k int
		stride, pad         int
		checkGradients      bool
	}{
		{name: "conv1 full 11x11/4 pad 0", n: 1, size: 39, in: 3, out: 4, k: 11, stride: 4, pad: 0},
		{name: "conv1 small 11x11/4 pad 2", n: 2, size: 64, in: 3, out: 5, k: 11, stride: 4, pad: 2},
		{name: "conv2 5x5 pad 2", n: 2, size: 7, in: 4, out: 6, k: 5, stride: 1, pad: 2, checkGradients: true},
		{name: "conv3 3x3 pad 1", n: 2, size: 6, in: 5, out: 3, k: 3, stride: 1, pad: 1, checkGradients: true},
		{name: "3x3 stride 2 pad 1", n: 1, size: 8, in: 2, out: 3, k: 3, stride: 2, pad: 1, checkGradients: true},
		{name: "1x1", n: 2, size: 4, in: 3, out: 2, k: 1, stride: 1, pad: 0, checkGradients: true},
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := randTensor64(rng, tc.n, tc.size, tc.size, tc.in)
			kernel := randTensor64(rng, tc.k, tc.k, tc.in, tc.out)
			outs, err := graph.CallOnceN(goBackend(), func(x, kernel *graph.Node) []*graph.Node {
				a := im2colConv(x, kernel, tc.stride, tc.pad)
				b := nativeConv(x, kernel, tc.stride, tc.pad)
				res := []*graph.Node{a, b}
				if tc.checkGradients {
					// Same random upstream gradient for both.
					r := graph.Sin(graph.Iota(x.Graph(), b.Shape(), 3))
					ga := graph.Gradient(graph.ReduceAllSum(graph.Mul(a, r)), x, kernel)
					gb := graph.Gradient(graph.ReduceAllSum(graph.Mul(b, r)), x, kernel)
					res = append(res, ga[0], gb[0], ga[1], gb[1])
				}
				return res
			}, x, kernel)
			if err != nil {
				t.Fatal(err)
			}
			if !outs[0].Shape().Equal(outs[1].Shape()) {
				t.Fatalf("shapes differ: im2col %s, Convolve %s", outs[0].Shape(), outs[1].Shape())
			}
			if d := maxRelDiff(flat64(t, outs[0]), flat64(t, outs[1])); d > 1e-12 {
				t.Errorf("im2col conv differs from graph.Convolve by %g (relative)", d)
			}
			for i, what := range []string{"d/dx", "d/dkernel"} {
				if !tc.checkGradients {
					break
				}
				if d := maxRelDiff(flat64(t, outs[2+2*i]), flat64(t, outs[3+2*i])); d > 1e-12 {
					t.Errorf("im2col conv %s differs from graph.Convolve's by %g (relative)", what, d)
				}
			}
		})
	}
}
