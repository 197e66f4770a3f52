package alexnet

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

var testMeta = Metadata{
	Stats:       json.RawMessage(`{"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}`),
	Classes:     []string{"cat", "dog"},
	BestEpoch:   7,
	ValAcc:      0.8125,
	ValLogLoss:  0.4142135623730951,
	Temperature: 1.375,
}

// savedSmall returns a Small model's parameters and their weights file.
func savedSmall(t testing.TB) (map[string][]float32, []byte) {
	t.Helper()
	cfg := Small()
	params := InitParams(cfg, 11)
	randomBiases(cfg, params, 11)
	var buf bytes.Buffer
	if err := Save(&buf, cfg, params, testMeta); err != nil {
		t.Fatal(err)
	}
	return params, buf.Bytes()
}

func TestSaveLoadRoundTrip(t *testing.T) {
	params, data := savedSmall(t)
	check := func(t *testing.T, m *Model) {
		t.Helper()
		if m.Config() != Small() {
			t.Errorf("config %v, want %v", m.Config(), Small())
		}
		want := testMeta
		want.Format = FormatVersion
		want.Variant = F32
		if got := m.Metadata(); !reflect.DeepEqual(got, want) {
			t.Errorf("metadata %+v, want %+v", got, want)
		}
		got := m.Params()
		if len(got) != len(params) {
			t.Fatalf("%d tensors, want %d", len(got), len(params))
		}
		for name, v := range params {
			g := got[name]
			if len(g) != len(v) {
				t.Fatalf("%s: %d values, want %d", name, len(g), len(v))
			}
			for i := range v {
				if math.Float32bits(g[i]) != math.Float32bits(v[i]) {
					t.Fatalf("%s[%d]: %v, want %v", name, i, g[i], v[i])
				}
			}
		}
	}

	t.Run("bytes", func(t *testing.T) {
		m, err := Load(data)
		if err != nil {
			t.Fatal(err)
		}
		check(t, m)
		// Saving the loaded model gives the same bytes.
		var again bytes.Buffer
		if err := Save(&again, m.Config(), m.Params(), m.Metadata()); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Bytes(), data) {
			t.Error("Save(Load(f)) differs from f")
		}
		// Weights are views of data, not copies.
		w := m.Params()["classifier.1.weight"]
		p := uintptr(unsafe.Pointer(&w[0]))
		lo := uintptr(unsafe.Pointer(&data[0]))
		if nativeLittleEndian && (p < lo || p >= lo+uintptr(len(data))) {
			t.Error("classifier.1.weight was copied out of the file bytes")
		}
	})
	t.Run("misaligned", func(t *testing.T) {
		// Tensor data at an address that is not 4-byte aligned is copied.
		buf := make([]byte, len(data)+1)
		shifted := buf[1:]
		copy(shifted, data)
		m, err := Load(shifted)
		if err != nil {
			t.Fatal(err)
		}
		check(t, m)
	})
	t.Run("same logits", func(t *testing.T) {
		m1, _ := NewModel(Small(), params, testMeta)
		m2, err := Load(data)
		if err != nil {
			t.Fatal(err)
		}
		x := randomInput(Small(), 1, 3)
		a, _ := m1.Forward(x, 1)
		b, _ := m2.Forward(x, 1)
		if !slices.Equal(a, b) {
			t.Errorf("logits %v after Load, %v before", b, a)
		}
	})
}

// TestSaveLayout checks the bytes against the safetensors format: header
// length, space padding to 8 bytes, tensors in Params() order with
// contiguous offsets, all-string metadata, and nothing after the data.
func TestSaveLayout(t *testing.T) {
	_, data := savedSmall(t)
	n := binary.LittleEndian.Uint64(data)
	if n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	header := data[8 : 8+n]
	if trimmed := bytes.TrimRight(header, " "); !bytes.HasSuffix(trimmed, []byte("}")) || len(header)-len(trimmed) >= 8 {
		t.Errorf("header is not a JSON object padded with fewer than 8 spaces: ...%q", header[len(header)-16:])
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	var names []string
	off := 0
	for dec.More() {
		tok, _ := dec.Token()
		name := tok.(string)
		if name == "__metadata__" {
			var md map[string]string
			if err := dec.Decode(&md); err != nil {
				t.Fatalf("__metadata__ is not a map of strings: %v", err)
			}
			for _, k := range []string{MetaFormat, MetaConfig, MetaStats, MetaClasses, MetaBestEpoch, MetaValAcc, MetaValLogLoss} {
				if _, ok := md[k]; !ok {
					t.Errorf("metadata lacks %s", k)
				}
			}
			continue
		}
		var ti tensorInfo
		if err := dec.Decode(&ti); err != nil {
			t.Fatal(err)
		}
		if ti.Dtype != "F32" || ti.DataOffsets[0] != off || ti.DataOffsets[1]-off != 4*numElems(ti.Shape) {
			t.Errorf("%s: %+v, want F32 from %d", name, ti, off)
		}
		off = ti.DataOffsets[1]
		names = append(names, name)
	}
	var want []string
	for _, p := range Small().Params() {
		want = append(want, p.Name)
	}
	if !slices.Equal(names, want) {
		t.Errorf("tensor order %v, want %v", names, want)
	}
	if 8+int(n)+off != len(data) {
		t.Errorf("file is %d bytes, header and data make %d", len(data), 8+int(n)+off)
	}
}

// rawTensor is one tensor for writeRaw.
type rawTensor struct {
	name  string
	dtype string
	shape []int
	data  []byte
}

// writeRaw writes a safetensors file with arbitrary contents, to build
// files that Save refuses to write.
func writeRaw(md map[string]string, tensors []rawTensor) []byte {
	header := map[string]any{}
	if md != nil {
		header["__metadata__"] = md
	}
	off := 0
	for _, t := range tensors {
		header[t.name] = tensorInfo{Dtype: t.dtype, Shape: t.shape, DataOffsets: [2]int{off, off + len(t.data)}}
		off += len(t.data)
	}
	h, _ := json.Marshal(header)
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(out, h...)
	for _, t := range tensors {
		out = append(out, t.data...)
	}
	return out
}

// smallRaw returns Small's metadata and tensors in writeRaw form.
func smallRaw(params map[string][]float32) (map[string]string, []rawTensor) {
	cfg := Small()
	cfgJSON, _ := json.Marshal(cfg)
	md := map[string]string{MetaFormat: "1", MetaConfig: string(cfgJSON)}
	var ts []rawTensor
	for _, p := range cfg.Params() {
		var b bytes.Buffer
		writeFloats(&b, params[p.Name])
		ts = append(ts, rawTensor{p.Name, "F32", p.Shape, b.Bytes()})
	}
	return md, ts
}

func TestLoadErrors(t *testing.T) {
	params, good := savedSmall(t)
	hlen := int(binary.LittleEndian.Uint64(good))
	dataStart := 8 + hlen

	if _, err := Load(writeRaw(smallRaw(params))); err != nil {
		t.Fatalf("writeRaw builds an unreadable file: %v", err)
	}

	// raw builds a file from Small's tensors after edit changes them.
	raw := func(edit func(md map[string]string, ts []rawTensor) []rawTensor) []byte {
		md, ts := smallRaw(params)
		return writeRaw(md, edit(md, ts))
	}
	withLen := func(n uint64) []byte {
		b := slices.Clone(good)
		binary.LittleEndian.PutUint64(b, n)
		return b
	}
	cases := []struct {
		name     string
		data     []byte
		want     string
		notSafet bool // error wraps ErrNotSafetensors
	}{
		{"empty", nil, "0 bytes is shorter than the 8-byte header length", true},
		{"cut at 5", good[:5], "5 bytes is shorter", true},
		{"cut at 8", good[:8], "header length " + itoa(hlen) + " exceeds the 0 bytes", true},
		{"cut in header", good[:8+hlen/2], "exceeds the " + itoa(hlen/2) + " bytes that follow (file truncated?)", true},
		{"cut after header", good[:dataStart], `tensor "features.0.weight": data [0, 34848) runs past the end of the 0 data bytes (file truncated?)`, true},
		{"cut in conv data", good[:dataStart+100000], "runs past the end of the 100000 data bytes", true},
		{"cut last byte", good[:len(good)-1], `tensor "classifier.6.bias": data [`, true},
		{"trailing bytes", append(slices.Clone(good), 0, 0, 0, 0), "4 bytes after the last tensor", true},
		{"zero header length", withLen(0), "header length 0 is out of range", true},
		{"huge header length", withLen(1 << 62), "out of range", true},
		{"flipped length byte", func() []byte { b := slices.Clone(good); b[7] ^= 0x80; return b }(), "out of range", true},
		{"length too long", withLen(uint64(hlen + 8)), "header is not a JSON object", true},
		{"length too short", withLen(uint64(hlen - 8)), "header is not a JSON object", true},
		{"not JSON", func() []byte { b := slices.Clone(good); b[8] = '['; return b }(), "header does not start with '{'", true},
		{"garbage", []byte("PK\x03\x04 this is a zip file, not weights"), "out of range", true},
		{"overlap", editHeader(good, `"data_offsets":[34848,34944]`, `"data_offsets":[34852,34948]`), `tensor "features.0.bias": data starts at 34852, want 34848 (gap or overlap)`, true},
		{"negative offset", editHeader(good, `"data_offsets":[34848,34944]`, `"data_offsets":[-4,34944]`), `tensor "features.0.bias": invalid data offsets [-4, 34944]`, true},
		{"no metadata", func() []byte { _, ts := smallRaw(params); return writeRaw(nil, ts) }(), "no __metadata__: not a pawnet weights file", false},
		{"no format", raw(func(md map[string]string, ts []rawTensor) []rawTensor { delete(md, MetaFormat); return ts }), "no pawnet.format in metadata: not a pawnet weights file", false},
		{"future format", raw(func(md map[string]string, ts []rawTensor) []rawTensor { md[MetaFormat] = "2"; return ts }), `unsupported weights format version "2" (this build reads 1)`, false},
		{"no config", raw(func(md map[string]string, ts []rawTensor) []rawTensor { delete(md, MetaConfig); return ts }), "no pawnet.config in metadata", false},
		{"config not JSON", raw(func(md map[string]string, ts []rawTensor) []rawTensor { md[MetaConfig] = "full"; return ts }), "invalid pawnet.config", false},
		{"unknown config", raw(func(md map[string]string, ts []rawTensor) []rawTensor {
			md[MetaConfig] = strings.Replace(md[MetaConfig], `"small"`, `"medium"`, 1)
			return ts
		}), `invalid pawnet.config: unknown model config "medium"`, false},
		{"altered config", raw(func(md map[string]string, ts []rawTensor) []rawTensor {
			md[MetaConfig] = strings.Replace(md[MetaConfig], `"input_size":64`, `"input_size":65`, 1)
			return ts
		}), `config "small" differs from the built-in one`, false},
		{"config with trailing data", raw(func(md map[string]string, ts []rawTensor) []rawTensor { md[MetaConfig] += " {}"; return ts }), "invalid pawnet.config: data after the JSON object", false},
		{"invalid config", raw(func(md map[string]string, ts []rawTensor) []rawTensor {
			md[MetaConfig] = strings.Replace(md[MetaConfig], `"classes":2`, `"classes":0`, 1)
			return ts
		}), "must be positive", false},
		{"missing tensor", raw(func(_ map[string]string, ts []rawTensor) []rawTensor { return slices.Delete(ts, 3, 4) }), `missing tensor "features.3.bias" (config "small")`, false},
		{"extra tensor", raw(func(_ map[string]string, ts []rawTensor) []rawTensor {
			return append(ts, rawTensor{"features.1.weight", "F32", []int{1}, make([]byte, 4)})
		}), `unexpected tensor "features.1.weight"`, false},
		{"wrong shape", raw(func(_ map[string]string, ts []rawTensor) []rawTensor { ts[2].shape = []int{64, 24, 25, 1}; return ts }), `tensor "features.3.weight" has shape [64 24 25 1], want [64 24 5 5]`, false},
		{"transposed dense", raw(func(_ map[string]string, ts []rawTensor) []rawTensor { ts[14].shape = []int{512, 2}; return ts }), `tensor "classifier.6.weight" has shape [512 2], want [2 512]`, false},
		{"F16", raw(func(_ map[string]string, ts []rawTensor) []rawTensor {
			ts[15].dtype = "F16"
			ts[15].data = ts[15].data[:4]
			return ts
		}), `tensor "classifier.6.bias" has dtype F16, want F32`, false},
		{"size mismatch", raw(func(_ map[string]string, ts []rawTensor) []rawTensor { ts[15].data = ts[15].data[:4]; return ts }), `tensor "classifier.6.bias": 4 data bytes for shape [2], want 8`, true},
		{"bad stats", raw(func(md map[string]string, ts []rawTensor) []rawTensor { md[MetaStats] = "{"; return ts }), "pawnet.stats is not valid JSON", false},
		{"bad epoch", raw(func(md map[string]string, ts []rawTensor) []rawTensor { md[MetaBestEpoch] = "seven"; return ts }), "invalid pawnet.best_epoch", false},
		{"class count", raw(func(md map[string]string, ts []rawTensor) []rawTensor { md[MetaClasses] = `["cat"]`; return ts }), "1 class names for a model with 2 classes", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Load(tc.data)
			if err == nil {
				t.Fatalf("no error (model %v)", m.Config())
			}
			if !contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if got := errors.Is(err, ErrNotSafetensors); got != tc.notSafet {
				t.Errorf("errors.Is(err, ErrNotSafetensors) = %v, want %v", got, tc.notSafet)
			}
			if !strings.HasPrefix(err.Error(), "alexnet: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}

	// Truncating anywhere gives an error, never a panic or a model.
	for cut := 0; cut < len(good); cut += 1 + cut/3 {
		if _, err := Load(good[:cut]); err == nil {
			t.Fatalf("file cut at %d of %d bytes loads", cut, len(good))
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadFile(filepath.Join(dir, "absent.safetensors")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: %v", err)
	}
	path := filepath.Join(dir, "short.safetensors")
	os.WriteFile(path, []byte("1234"), 0o644)
	if _, err := LoadFile(path); err == nil || !contains(err.Error(), path) || !errors.Is(err, ErrNotSafetensors) {
		t.Errorf("short file: %v", err)
	}
}

func TestSaveErrors(t *testing.T) {
	params := InitParams(Small(), 1)
	tiny := tinyConfigs[0]
	for _, tc := range []struct {
		name   string
		cfg    Config
		params map[string][]float32
		meta   Metadata
		want   string
	}{
		{"custom config", tiny, InitParams(tiny, 1), Metadata{}, `unknown model config "tiny-odd"`},
		{"wrong params", Small(), InitParams(tiny, 1), Metadata{}, `"features.0.weight" has 375 elements, want 8712`},
		{"bad stats", Small(), params, Metadata{Stats: json.RawMessage("{")}, "stats are not valid JSON"},
		{"classes", Small(), params, Metadata{Classes: []string{"cat"}}, "1 class names"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Save(&buf, tc.cfg, tc.params, tc.meta)
			if err == nil || !contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes before failing", buf.Len())
			}
		})
	}
}

// editHeader replaces old by new in the header of a weights file and
// re-pads the header.
func editHeader(file []byte, old, new string) []byte {
	n := binary.LittleEndian.Uint64(file)
	h := bytes.TrimRight(file[8:8+n], " ")
	if !bytes.Contains(h, []byte(old)) {
		panic("editHeader: " + old + " not in header")
	}
	h = bytes.Replace(h, []byte(old), []byte(new), 1)
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(out, h...)
	return append(out, file[8+n:]...)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
