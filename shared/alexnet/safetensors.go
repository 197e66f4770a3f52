package alexnet

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// SafetensorsTensor is one tensor of a safetensors file, as
// ParseSafetensors found it.
type SafetensorsTensor struct {
	Dtype string // the safetensors dtype, e.g. "F32"
	Shape []int
	Data  []byte // the tensor's bytes: a view of the file's, not a copy
}

// ParseSafetensors checks that data is a well-formed safetensors file (any
// safetensors file, not only pawnet's) and returns its "__metadata__" map
// (nil when absent) and its tensors by name. Like the reference
// implementation it requires the tensors to tile the data exactly: no
// gaps, no overlaps, nothing after the last one. It does not check that a
// tensor's bytes match its dtype and shape; Float32s does. Every error
// wraps ErrNotSafetensors.
func ParseSafetensors(data []byte) (map[string]string, map[string]SafetensorsTensor, error) {
	fail := func(format string, args ...any) (map[string]string, map[string]SafetensorsTensor, error) {
		return nil, nil, fmt.Errorf("alexnet: %w: "+format, append([]any{ErrNotSafetensors}, args...)...)
	}
	if len(data) < 8 {
		return fail("%d bytes is shorter than the 8-byte header length", len(data))
	}
	hlen := binary.LittleEndian.Uint64(data)
	rest := uint64(len(data) - 8)
	switch {
	case hlen < 2 || hlen > maxHeaderSize:
		return fail("header length %d is out of range (2..%d)", hlen, maxHeaderSize)
	case hlen > rest:
		return fail("header length %d exceeds the %d bytes that follow (file truncated?)", hlen, rest)
	}
	header := data[8 : 8+hlen]
	if header[0] != '{' {
		return fail("header does not start with '{'")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(header, &raw); err != nil {
		return fail("header is not a JSON object: %v", err)
	}
	body := data[8+hlen:]

	var md map[string]string
	if m, ok := raw["__metadata__"]; ok {
		if err := json.Unmarshal(m, &md); err != nil {
			return fail("__metadata__ is not a map of strings: %v", err)
		}
	}
	infos := make(map[string]tensorInfo, len(raw))
	for name, r := range raw {
		if name == "__metadata__" {
			continue
		}
		var ti tensorInfo
		if err := json.Unmarshal(r, &ti); err != nil {
			return fail("tensor %q: bad header entry: %v", name, err)
		}
		if a, b := ti.DataOffsets[0], ti.DataOffsets[1]; a < 0 || b < a {
			return fail("tensor %q: invalid data offsets [%d, %d]", name, a, b)
		}
		infos[name] = ti
	}
	order := slices.SortedFunc(maps.Keys(infos), func(x, y string) int {
		return cmp.Or(cmp.Compare(infos[x].DataOffsets[0], infos[y].DataOffsets[0]),
			cmp.Compare(infos[x].DataOffsets[1], infos[y].DataOffsets[1]), strings.Compare(x, y))
	})
	end := 0
	tensors := make(map[string]SafetensorsTensor, len(infos))
	for _, name := range order {
		ti := infos[name]
		a, b := ti.DataOffsets[0], ti.DataOffsets[1]
		if b > len(body) {
			return fail("tensor %q: data [%d, %d) runs past the end of the %d data bytes (file truncated?)", name, a, b, len(body))
		}
		if a != end {
			return fail("tensor %q: data starts at %d, want %d (gap or overlap)", name, a, end)
		}
		end = b
		tensors[name] = SafetensorsTensor{Dtype: ti.Dtype, Shape: ti.Shape, Data: body[a:b:b]}
	}
	if end != len(body) {
		return fail("%d bytes after the last tensor", len(body)-end)
	}
	return md, tensors, nil
}

// Float32s decodes an F32, F16 or BF16 tensor into float32 values, after
// checking that its byte count matches its shape. F32 data may be returned
// as a view of the file's bytes (see Load).
func (t SafetensorsTensor) Float32s() ([]float32, error) {
	size := map[string]int{"F32": 4, "F16": 2, "BF16": 2}[t.Dtype]
	if size == 0 {
		return nil, fmt.Errorf("dtype %s (want F32, F16 or BF16)", t.Dtype)
	}
	n := 1
	for _, d := range t.Shape {
		if d < 0 || (d > 0 && n > math.MaxInt32/d) {
			return nil, fmt.Errorf("invalid shape %v", t.Shape)
		}
		n *= d
	}
	if len(t.Data) != size*n {
		return nil, fmt.Errorf("%w: %d data bytes for %s of shape %v, want %d", ErrNotSafetensors, len(t.Data), t.Dtype, t.Shape, size*n)
	}
	switch t.Dtype {
	case "F32":
		return floats(t.Data), nil
	case "F16":
		return halfFloats(t.Data), nil
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(t.Data[2*i:])) << 16)
	}
	return v, nil
}
