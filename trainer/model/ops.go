package model

import (
	"fmt"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/core/tensors/images"
)

// Ops are the graph building blocks whose best implementation depends on
// the backend. This is the one place where the choice is made; the network
// (see buildLogits) only calls Conv and MaxPool.
//
// Tensors are NHWC: x is [N, H, W, C] and a conv kernel is HWIO
// [kh, kw, in, out].
type Ops struct {
	// Name identifies the op set in logs and benchmarks: "native" or "im2col".
	Name string
	// Conv is a 2-D convolution of x with kernel, with the same stride on both
	// spatial axes and pad zeros on each of the four borders. No bias.
	Conv func(x, kernel *graph.Node, stride, pad int) *graph.Node
	// MaxPool is a max-pool with a square window and stride, no padding.
	MaxPool func(x *graph.Node, window, stride int) *graph.Node
	// ChannelsFirst: Conv and MaxPool take and give [C, N, H, W] tensors
	// instead of NHWC (the network transposes in and out once).
	ChannelsFirst bool
}

// NativeOps uses GoMLX's own graph.Convolve and graph.MaxPool, which XLA
// lowers to cuDNN on GPU. On the pure-Go backend the convolution is a slow
// single-threaded loop and MaxPool has no gradient (no SelectAndScatterMax),
// so NativeOps is only for XLA there, or for forward-only comparisons.
var NativeOps = Ops{Name: "native", Conv: nativeConv, MaxPool: nativeMaxPool}

// Im2colOps builds the convolution on NHWC tensors as an im2col gather
// followed by one MatMul (the Go backend's only parallel, blocked kernel)
// and the max-pool as the elementwise Max of window² strided Slices, whose
// gradient the Go backend can compute. Forward values equal NativeOps (up
// to float summation order in the conv). It is the Go backend's op set
// (OpsFor); BenchmarkTrainStepOps compares it with the others.
var Im2colOps = Ops{Name: "im2col", Conv: im2colConv, MaxPool: sliceMaxPool}

// XLABackendName is what an XLA backend's Name() returns.
const XLABackendName = "xla"

// OpsFor returns the op set for a backend: NativeOps for XLA (CPU or CUDA),
// Im2colOps for everything else, the pure-Go backend included. On
// gomlx/compute v0.1.14 Im2colOps takes about 30% less time per Small()
// train step than CNHWOps, and 2–3× less than either with the backend's
// own max-pool (BenchmarkTrainStepOps; docs/gomlx-cpu-notes.md). Note that
// the Go backend's Name() is "Go Backend"; "go" is its String() and its
// GOMLX_BACKEND name.
func OpsFor(backend compute.Backend) Ops {
	if backend.Name() == XLABackendName {
		return NativeOps
	}
	return Im2colOps
}

func nativeConv(x, kernel *graph.Node, stride, pad int) *graph.Node {
	return graph.Convolve(x, kernel).
		StridePerAxis(stride, stride).
		PaddingPerDim([][2]int{{pad, pad}, {pad, pad}}).
		Done()
}

func nativeMaxPool(x *graph.Node, window, stride int) *graph.Node {
	// MaxPool's default is PadSame: NoPadding must be explicit.
	return graph.MaxPool(x).Window(window).Strides(stride).NoPadding().Done()
}

// cnhwNativeMaxPool is nativeMaxPool on [C, N, H, W]: the pool reads the
// two leading axes as batch and channels (window 1 on both), so their
// order does not matter.
func cnhwNativeMaxPool(x *graph.Node, window, stride int) *graph.Node {
	return graph.MaxPool(x).ChannelsAxis(images.ChannelsFirst).Window(window).Strides(stride).NoPadding().Done()
}

// zeroPadHW zero-pads the two spatial axes of an NHWC tensor by
// concatenating zero blocks. It does not use graph.Pad because GoMLX
// v0.28.2 defines no gradient for Pad; Concatenate's gradient is a Slice.
func zeroPadHW(x *graph.Node, pad int) *graph.Node {
	if pad == 0 {
		return x
	}
	g := x.Graph()
	d := x.Shape().Dimensions
	zw := graph.Zeros(g, shapes.Make(x.DType(), d[0], d[1], pad, d[3]))
	x = graph.Concatenate([]*graph.Node{zw, x, zw}, 2)
	zh := graph.Zeros(g, shapes.Make(x.DType(), d[0], pad, d[2]+2*pad, d[3]))
	return graph.Concatenate([]*graph.Node{zh, x, zh}, 1)
}

// im2colStarts returns the start row of every kernel-row run of the patches
// of an [n, hp, wp, c] padded input seen as [n*hp*wp, c] rows: one run per
// (image, out y, out x, ky), each k rows (= k*c floats) long and contiguous.
func im2colStarts(n, hp, wp, k, stride, ho, wo int) *tensors.Tensor {
	idx := make([]int32, 0, n*ho*wo*k)
	for b := range n {
		for oy := range ho {
			for ox := range wo {
				for ky := range k {
					idx = append(idx, int32((b*hp+oy*stride+ky)*wp+ox*stride))
				}
			}
		}
	}
	return tensors.FromFlatDataAndDimensions(idx, len(idx), 1)
}

// im2colConv gathers the patches into an [n*ho*wo, k*k*c] matrix and
// multiplies it by the [k*k*c, out] kernel. The gather copies whole kernel
// rows (GatherSlices of k pixels) rather than single pixels: 20-30% less
// CPU per Small() train step than a per-pixel Gather, measured.
func im2colConv(x, kernel *graph.Node, stride, pad int) *graph.Node {
	g := x.Graph()
	x = zeroPadHW(x, pad)
	dims := x.Shape().Dimensions
	n, hp, wp, c := dims[0], dims[1], dims[2], dims[3]
	kd := kernel.Shape().Dimensions
	k, out := kd[0], kd[3]
	if kd[1] != k || kd[2] != c {
		panic(fmt.Sprintf("im2colConv: kernel %v does not match input channels %d (want square HWIO)", kd, c))
	}
	if n*hp*wp >= 1<<31 {
		panic("im2colConv: input too large for int32 gather indices")
	}
	ho, wo := (hp-k)/stride+1, (wp-k)/stride+1
	var patches *graph.Node
	rows := graph.Reshape(x, n*hp*wp, c)
	if k == 1 && stride == 1 {
		patches = rows
	} else {
		start := graph.ConstTensor(g, im2colStarts(n, hp, wp, k, stride, ho, wo))
		// [n*ho*wo*k, k, c]; as a matrix, column (ky*k+kx)*c+ci matches the
		// HWIO kernel flattened below.
		patches = graph.GatherSlices(rows, []int{0}, start, []int{k}, false)
		patches = graph.Reshape(patches, n*ho*wo, k*k*c)
	}
	y := graph.MatMul(patches, graph.Reshape(kernel, k*k*c, out))
	return graph.Reshape(y, n, ho, wo, out)
}

// CNHWOps keeps the activations channels first, [C, N, H, W], so that each
// conv is one MatMul of the kernel [out, k·k·C] by a patch matrix
// [k·k·C, N·H·W] built from strided Slices concatenated on axis 0: the
// pixels axis is the last of both the patches and the output, which is the
// layout the Go backend's DotGeneral runs without transposing them, in the
// forward pass and in both gradients.
var CNHWOps = Ops{Name: "cnhw", Conv: cnhwConv, MaxPool: cnhwMaxPool, ChannelsFirst: true}

// CNHWPoolOps is CNHWOps with the backend's own max-pool (ReduceWindow,
// whose gradient is SelectAndScatter) instead of window² strided Slices.
var CNHWPoolOps = Ops{Name: "cnhw+pool", Conv: cnhwConv, MaxPool: cnhwNativeMaxPool, ChannelsFirst: true}

// Im2colPoolOps is Im2colOps with the backend's own max-pool.
var Im2colPoolOps = Ops{Name: "im2col+pool", Conv: im2colConv, MaxPool: nativeMaxPool}

// GoBackendOpSets are the op sets the pure-Go backend can train with, for
// BenchmarkTrainStepOps and TestOpSetsTrainAlike.
var GoBackendOpSets = []Ops{CNHWOps, CNHWPoolOps, Im2colOps, Im2colPoolOps, NativeOps}

// cnhwConv is the convolution of CNHWOps: x is [C, N, H, W], the kernel
// HWIO; the result is [out, N, Ho, Wo].
func cnhwConv(x, kernel *graph.Node, stride, pad int) *graph.Node {
	x = zeroPadAxes(x, pad, 2, 3)
	dims := x.Shape().Dimensions
	c, n, hp, wp := dims[0], dims[1], dims[2], dims[3]
	kd := kernel.Shape().Dimensions
	k, out := kd[0], kd[3]
	if kd[1] != k || kd[2] != c {
		panic(fmt.Sprintf("cnhwConv: kernel %v does not match input channels %d (want square HWIO)", kd, c))
	}
	ho, wo := (hp-k)/stride+1, (wp-k)/stride+1
	parts := make([]*graph.Node, 0, k*k)
	for ky := range k {
		for kx := range k {
			parts = append(parts, graph.Slice(x,
				graph.AxisRange(),
				graph.AxisRange(),
				graph.AxisRange(ky, ky+stride*(ho-1)+1).Stride(stride),
				graph.AxisRange(kx, kx+stride*(wo-1)+1).Stride(stride)))
		}
	}
	patches := parts[0]
	if len(parts) > 1 {
		patches = graph.Concatenate(parts, 0) // row (ky*k+kx)*C+ci: the HWIO kernel's flattened row
	}
	w := graph.Transpose(graph.Reshape(kernel, k*k*c, out), 0, 1) // [out, k*k*C]
	y := graph.MatMul(w, graph.Reshape(patches, k*k*c, n*ho*wo))
	return graph.Reshape(y, out, n, ho, wo)
}

// cnhwMaxPool is sliceMaxPool on [C, N, H, W].
func cnhwMaxPool(x *graph.Node, window, stride int) *graph.Node {
	dims := x.Shape().Dimensions
	ho, wo := (dims[2]-window)/stride+1, (dims[3]-window)/stride+1
	var out *graph.Node
	for dy := range window {
		for dx := range window {
			s := graph.Slice(x,
				graph.AxisRange(),
				graph.AxisRange(),
				graph.AxisRange(dy, dy+stride*(ho-1)+1).Stride(stride),
				graph.AxisRange(dx, dx+stride*(wo-1)+1).Stride(stride))
			if out == nil {
				out = s
			} else {
				out = graph.Max(out, s)
			}
		}
	}
	return out
}

// zeroPadAxes zero-pads two axes of x by pad on both sides, concatenating
// zero blocks (see zeroPadHW).
func zeroPadAxes(x *graph.Node, pad int, axes ...int) *graph.Node {
	if pad == 0 {
		return x
	}
	for _, a := range axes {
		d := slices.Clone(x.Shape().Dimensions)
		d[a] = pad
		z := graph.Zeros(x.Graph(), shapes.Make(x.DType(), d...))
		x = graph.Concatenate([]*graph.Node{z, x, z}, a)
	}
	return x
}

func sliceMaxPool(x *graph.Node, window, stride int) *graph.Node {
	dims := x.Shape().Dimensions
	ho, wo := (dims[1]-window)/stride+1, (dims[2]-window)/stride+1
	var out *graph.Node
	for dy := range window {
		for dx := range window {
			s := graph.Slice(x,
				graph.AxisRange(),
				graph.AxisRange(dy, dy+stride*(ho-1)+1).Stride(stride),
				graph.AxisRange(dx, dx+stride*(wo-1)+1).Stride(stride),
				graph.AxisRange())
			if out == nil {
				out = s
			} else {
				out = graph.Max(out, s)
			}
		}
	}
	return out
}
