// Package onnx writes pawnet's AlexNet as an ONNX model (opset 13), so that
// ONNX Runtime (onnxruntime-web in a browser, or any ONNX runtime) runs the
// same network on the same weights. It encodes the few protobuf messages
// it needs itself (ModelProto, GraphProto, NodeProto, TensorProto,
// ValueInfoProto) rather than pull in a protobuf library.
//
// The graph takes "input", float32 [N, 3, S, S] (NCHW, normalized as the
// weights' pawnet.stats say, like PyTorch's), and gives "logits", float32
// [N, classes]: Conv + Relu ×5 with MaxPool 3/2 after conv1, conv2 and
// conv5, Flatten, Gemm + Relu, Gemm + Relu, Gemm. Dropout is left out
// (inference). The initializers keep the safetensors' names and PyTorch
// layouts.
package onnx

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/pawnet/pawnet/shared/alexnet"
)

// Opset is the ONNX operator set version the model declares.
const Opset = 13

// irVersion is the ONNX IR version matching opset 13 (ONNX 1.8).
const irVersion = 7

// ONNX TensorProto data types and AttributeProto types.
const (
	dtFloat   = 1
	attrInt   = 2
	attrInts  = 7
	attrFloat = 1
)

// Write encodes the model of cfg with params (float32, cfg.Params()
// layout) to w.
func Write(w io.Writer, cfg alexnet.Config, params map[string][]float32) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	var g msg
	x := "input"
	for i := range alexnet.NumConv {
		name := alexnet.ConvNames[i]
		k, s, p := cfg.Kernels[i], cfg.Strides[i], cfg.Pads[i]
		g.bytes(1, node("Conv", name, []string{x, name + ".weight", name + ".bias"}, name+".conv",
			ints("kernel_shape", k, k), ints("strides", s, s), ints("pads", p, p, p, p)))
		g.bytes(1, node("Relu", name+".relu", []string{name + ".conv"}, name+".relu"))
		x = name + ".relu"
		if alexnet.PoolAfter(i) {
			g.bytes(1, node("MaxPool", name+".pool", []string{x}, name+".pool",
				ints("kernel_shape", alexnet.PoolWindow, alexnet.PoolWindow), ints("strides", alexnet.PoolStride, alexnet.PoolStride)))
			x = name + ".pool"
		}
	}
	g.bytes(1, node("Flatten", "flatten", []string{x}, "flat", intAttr("axis", 1)))
	x = "flat"
	for i, name := range alexnet.DenseNames {
		out := name + ".gemm"
		if i == len(alexnet.DenseNames)-1 {
			out = "logits"
		}
		g.bytes(1, node("Gemm", name, []string{x, name + ".weight", name + ".bias"}, out,
			intAttr("transB", 1), floatAttr("alpha", 1), floatAttr("beta", 1)))
		x = out
		if i < len(alexnet.DenseNames)-1 {
			g.bytes(1, node("Relu", name+".relu", []string{x}, name+".relu"))
			x = name + ".relu"
		}
	}
	g.str(2, "pawnet-alexnet-"+cfg.Name)
	// The initializers (field 5) are most of the bytes: their headers are
	// encoded here and their data streamed below, so that Write holds no
	// copy of the parameters.
	type initializer struct {
		head []byte // the TensorProto up to its raw data's bytes
		data []float32
	}
	var inits []initializer
	graphLen := len(g.b)
	for _, p := range cfg.Params() {
		v, ok := params[p.Name]
		if !ok || len(v) != p.Size() {
			return fmt.Errorf("onnx: tensor %q missing or of the wrong size", p.Name)
		}
		in := initializer{head: tensorHead(p.Name, p.Shape, len(v)), data: v}
		inits = append(inits, in)
		size := len(in.head) + 4*len(v)
		graphLen += fieldHeadLen(5, size) + size
	}
	var tail msg
	tail.bytes(11, valueInfo("input", "N", 3, cfg.InputSize, cfg.InputSize))
	tail.bytes(12, valueInfo("logits", "N", cfg.Classes))
	graphLen += len(tail.b)

	bw := bufio.NewWriterSize(w, 1<<16)
	var m msg
	m.varint(1, irVersion)
	m.str(2, "pawnet")
	m.tag(7, 2)
	m.b = binary.AppendUvarint(m.b, uint64(graphLen))
	m.b = append(m.b, g.b...)
	bw.Write(m.b)
	chunk := make([]byte, 0, 1<<16)
	for _, in := range inits {
		var h msg
		h.tag(5, 2)
		h.b = binary.AppendUvarint(h.b, uint64(len(in.head)+4*len(in.data)))
		bw.Write(h.b)
		bw.Write(in.head)
		for off := 0; off < len(in.data); off += cap(chunk) / 4 {
			chunk = chunk[:0]
			for _, f := range in.data[off:min(off+cap(chunk)/4, len(in.data))] {
				chunk = binary.LittleEndian.AppendUint32(chunk, math.Float32bits(f))
			}
			bw.Write(chunk)
		}
	}
	bw.Write(tail.b)
	var opset msg
	opset.str(1, "")
	opset.varint(2, Opset)
	var last msg
	last.bytes(8, opset.b)
	bw.Write(last.b)
	return bw.Flush() // bufio keeps the first write error
}

// fieldHeadLen is the length of a length-delimited field's tag and length.
func fieldHeadLen(field, size int) int {
	var b [2 * binary.MaxVarintLen64]byte
	n := len(binary.AppendUvarint(b[:0], uint64(field<<3|2)))
	return n + len(binary.AppendUvarint(b[:0], uint64(size)))
}

// msg is a protobuf message being encoded.
type msg struct{ b []byte }

func (m *msg) tag(field, wire int) { m.b = binary.AppendUvarint(m.b, uint64(field<<3|wire)) }

func (m *msg) varint(field int, v int64) {
	m.tag(field, 0)
	m.b = binary.AppendUvarint(m.b, uint64(v))
}

func (m *msg) bytes(field int, data []byte) {
	m.tag(field, 2)
	m.b = binary.AppendUvarint(m.b, uint64(len(data)))
	m.b = append(m.b, data...)
}

func (m *msg) str(field int, s string) { m.bytes(field, []byte(s)) }

func (m *msg) float(field int, f float32) {
	m.tag(field, 5)
	m.b = binary.LittleEndian.AppendUint32(m.b, math.Float32bits(f))
}

// node encodes a NodeProto.
func node(op, name string, inputs []string, output string, attrs ...[]byte) []byte {
	var n msg
	for _, in := range inputs {
		n.str(1, in)
	}
	n.str(2, output)
	n.str(3, name)
	n.str(4, op)
	for _, a := range attrs {
		n.bytes(5, a)
	}
	return n.b
}

// ints encodes an AttributeProto of type INTS.
func ints(name string, vs ...int) []byte {
	var a msg
	a.str(1, name)
	for _, v := range vs {
		a.varint(8, int64(v))
	}
	a.varint(20, attrInts)
	return a.b
}

// intAttr encodes an AttributeProto of type INT.
func intAttr(name string, v int) []byte {
	var a msg
	a.str(1, name)
	a.varint(3, int64(v))
	a.varint(20, attrInt)
	return a.b
}

// floatAttr encodes an AttributeProto of type FLOAT.
func floatAttr(name string, f float32) []byte {
	var a msg
	a.str(1, name)
	a.float(2, f)
	a.varint(20, attrFloat)
	return a.b
}

// tensorHead encodes a float32 TensorProto of n values up to its raw
// little-endian data (field 9), whose n·4 bytes follow it.
func tensorHead(name string, shape []int, n int) []byte {
	var t msg
	for _, d := range shape {
		t.varint(1, int64(d))
	}
	t.varint(2, dtFloat)
	t.str(8, name)
	t.tag(9, 2)
	t.b = binary.AppendUvarint(t.b, uint64(4*n))
	return t.b
}

// valueInfo encodes a ValueInfoProto of a float32 tensor whose first
// dimension is the symbolic batch and the others dims.
func valueInfo(name, batch string, dims ...int) []byte {
	var shape msg
	var d msg
	d.str(2, batch)
	shape.bytes(1, d.b)
	for _, v := range dims {
		var d msg
		d.varint(1, int64(v))
		shape.bytes(1, d.b)
	}
	var tt msg
	tt.varint(1, dtFloat)
	tt.bytes(2, shape.b)
	var typ msg
	typ.bytes(1, tt.b)
	var vi msg
	vi.str(1, name)
	vi.bytes(2, typ.b)
	return vi.b
}
