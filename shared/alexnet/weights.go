package alexnet

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"unsafe"
)

// FormatVersion is the version of pawnet's exported weights format, stored
// under MetaFormat. Load rejects files written with another version.
const FormatVersion = 1

// Keys of the safetensors "__metadata__" map written by Save. Every value is
// a string, as the safetensors format requires.
const (
	MetaFormat     = "pawnet.format"      // FormatVersion, decimal
	MetaConfig     = "pawnet.config"      // Config as JSON
	MetaStats      = "pawnet.stats"       // normalization stats.json, verbatim
	MetaClasses    = "pawnet.classes"     // class names as a JSON array of strings
	MetaBestEpoch  = "pawnet.best_epoch"  // decimal int
	MetaValAcc     = "pawnet.val_acc"     // float64, shortest round-trip form
	MetaValLogLoss = "pawnet.val_logloss" // float64, shortest round-trip form
	MetaVariant    = "pawnet.variant"     // the Variant, when not F32
	// MetaTemperature is the calibration temperature (float64, shortest
	// round-trip form), present when one was fitted.
	MetaTemperature = "pawnet.temperature"
	// MetaTaught describes a last layer taught on a user's photos
	// (shared/teach), as JSON, verbatim; absent in a training run's export.
	MetaTaught = "pawnet.taught"
)

// maxHeaderSize is the largest JSON header Load accepts; it matches the
// limit of the reference safetensors implementation (100 MB).
const maxHeaderSize = 100_000_000

// ErrNotSafetensors is wrapped by every Load error that means the bytes are
// not a well-formed safetensors file (too short, bad header length, header
// not JSON, tensor data past the end of the file).
var ErrNotSafetensors = errors.New("not a safetensors file")

// Metadata is what an exported weights file records besides the tensors.
type Metadata struct {
	// Format is the weights format version read by Load. Save ignores it
	// and always writes FormatVersion.
	Format int
	// Variant is how Load found the weights stored (F32, F16 or Int8;
	// Model.Params returns them as float32 in every case). Save ignores
	// it: its argument decides.
	Variant Variant
	// Stats is the normalization stats.json of the training run, verbatim;
	// this package does not interpret it. Empty means absent.
	Stats json.RawMessage
	// Classes names the outputs in logit order, e.g. ["cat", "dog"]. Empty,
	// or one name per class.
	Classes []string
	// BestEpoch is the epoch whose weights were exported.
	BestEpoch int
	// ValAcc and ValLogLoss are the validation accuracy and log loss of
	// those weights.
	ValAcc     float64
	ValLogLoss float64
	// Temperature is the calibration temperature fitted on the validation
	// logits after training: probabilities are softmax(logits/T) (see
	// TemperedProbabilities). 0 means none was fitted (T = 1).
	Temperature float64
	// Taught is set when the last layer was taught on a user's photos
	// (shared/teach.Report as JSON, verbatim); empty for a training run's
	// export.
	Taught json.RawMessage
}

// checkMeta validates meta against cfg.
func checkMeta(cfg Config, meta Metadata) error {
	if len(meta.Classes) != 0 && len(meta.Classes) != cfg.Classes {
		return fmt.Errorf("alexnet: %d class names for a model with %d classes", len(meta.Classes), cfg.Classes)
	}
	if len(meta.Stats) != 0 && !json.Valid(meta.Stats) {
		return errors.New("alexnet: metadata stats are not valid JSON")
	}
	if t := meta.Temperature; t < 0 || math.IsNaN(t) || math.IsInf(t, 0) {
		return fmt.Errorf("alexnet: temperature %v must be positive (or 0: none)", t)
	}
	return nil
}

// checkKnownConfig reports whether cfg is valid and has the architecture of
// the built-in configuration of the same name. Dropout is ignored: it plays
// no part in inference; so is the number of classes: a last layer taught on
// a user's photos (shared/teach) has its own.
func checkKnownConfig(cfg Config) error {
	want, err := ByName(cfg.Name)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	got := cfg
	got.Dropout, got.Classes = want.Dropout, want.Classes
	if got != want {
		return fmt.Errorf("alexnet: config %q differs from the built-in one: got {%v}, want {%v}", cfg.Name, cfg, want)
	}
	return nil
}

// checkParams verifies that params holds exactly the tensors of cfg.Params()
// with the right number of elements.
func checkParams(cfg Config, params map[string][]float32) error {
	specs := cfg.Params()
	for _, p := range specs {
		v, ok := params[p.Name]
		if !ok {
			return fmt.Errorf("alexnet: missing tensor %q", p.Name)
		}
		if len(v) != numElems(p.Shape) {
			return fmt.Errorf("alexnet: tensor %q has %d elements, want %d for shape %v", p.Name, len(v), numElems(p.Shape), p.Shape)
		}
	}
	if len(params) != len(specs) {
		for name := range params {
			if !slices.ContainsFunc(specs, func(p ParamSpec) bool { return p.Name == name }) {
				return fmt.Errorf("alexnet: unexpected tensor %q for config %q", name, cfg.Name)
			}
		}
	}
	return nil
}

// tensorInfo is one tensor entry of a safetensors header.
type tensorInfo struct {
	Dtype       string `json:"dtype"`
	Shape       []int  `json:"shape"`
	DataOffsets [2]int `json:"data_offsets"`
}

// Save writes cfg, params and meta to w as a standard safetensors file: an
// 8-byte little-endian header length, a JSON header padded with spaces to a
// multiple of 8 bytes, then every tensor as little-endian float32 ("F32"),
// contiguous and in cfg.Params() order. The header lists the tensors in the
// same order with their PyTorch shapes, so
// safetensors.torch.load_file gives a state dict for torchvision's AlexNet
// layout. The metadata goes in "__metadata__" under the Meta* keys.
//
// cfg must be a built-in configuration (see ByName) and params must hold
// exactly its tensors. Save does not write atomically; the trainer writes
// weights files with model.WriteWeights, which does.
func Save(w io.Writer, cfg Config, params map[string][]float32, meta Metadata) error {
	return SaveVariant(w, cfg, params, meta, F32)
}

// SaveVariant is Save with the weights stored as variant v (see Variant);
// F32 is exactly Save.
func SaveVariant(w io.Writer, cfg Config, params map[string][]float32, meta Metadata, v Variant) error {
	if err := checkKnownConfig(cfg); err != nil {
		return err
	}
	if err := checkParams(cfg, params); err != nil {
		return err
	}
	if err := checkMeta(cfg, meta); err != nil {
		return err
	}
	tensors, err := encodeTensors(cfg, params, v)
	if err != nil {
		return err
	}
	header, err := encodeHeader(cfg, meta, v, tensors)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	bw.Write(n[:])
	bw.Write(header)
	for _, t := range tensors {
		if err := t.write(bw); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// encodeHeader builds the padded JSON header. encoding/json would sort the
// tensor names; writing the object by hand keeps them in Params() order.
func encodeHeader(cfg Config, meta Metadata, v Variant, tensors []tensorData) ([]byte, error) {
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	classes := meta.Classes
	if classes == nil {
		classes = []string{}
	}
	classesJSON, err := json.Marshal(classes)
	if err != nil {
		return nil, err
	}
	md := map[string]string{
		MetaFormat:     strconv.Itoa(FormatVersion),
		MetaConfig:     string(cfgJSON),
		MetaClasses:    string(classesJSON),
		MetaBestEpoch:  strconv.Itoa(meta.BestEpoch),
		MetaValAcc:     strconv.FormatFloat(meta.ValAcc, 'g', -1, 64),
		MetaValLogLoss: strconv.FormatFloat(meta.ValLogLoss, 'g', -1, 64),
	}
	if v != F32 {
		md[MetaVariant] = string(v)
	}
	if meta.Temperature > 0 {
		md[MetaTemperature] = strconv.FormatFloat(meta.Temperature, 'g', -1, 64)
	}
	if len(meta.Stats) != 0 {
		md[MetaStats] = string(meta.Stats)
	}
	if len(meta.Taught) != 0 {
		md[MetaTaught] = string(meta.Taught)
	}
	mdJSON, err := json.Marshal(md)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(`{"__metadata__":`)
	b.Write(mdJSON)
	off := 0
	for _, t := range tensors {
		size := t.size()
		info, err := json.Marshal(tensorInfo{Dtype: t.dtype, Shape: t.shape, DataOffsets: [2]int{off, off + size}})
		if err != nil {
			return nil, err
		}
		name, _ := json.Marshal(t.name)
		b.WriteByte(',')
		b.Write(name)
		b.WriteByte(':')
		b.Write(info)
		off += size
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	return b.Bytes(), nil
}

// nativeLittleEndian reports whether float32 values are stored in memory in
// little-endian byte order (true on wasm, amd64 and arm64).
var nativeLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// writeFloats writes v as little-endian float32.
func writeFloats(w io.Writer, v []float32) error {
	if len(v) == 0 {
		return nil
	}
	if nativeLittleEndian {
		_, err := w.Write(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v)))
		return err
	}
	buf := make([]byte, 4*min(len(v), 1<<14))
	for len(v) > 0 {
		n := min(len(v), len(buf)/4)
		for i, f := range v[:n] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(f))
		}
		if _, err := w.Write(buf[:4*n]); err != nil {
			return err
		}
		v = v[n:]
	}
	return nil
}

// LoadFile reads a weights file written by Save and returns
// the model; see Load.
func LoadFile(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Load(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Load parses a safetensors file written by Save, checks its format
// version, configuration, tensor names, dtypes and shapes, and returns a
// Model ready for inference.
//
// On little-endian platforms, when the tensor data is 4-byte aligned in
// data (always the case for Save's output held in a Go-allocated slice), the
// dense-layer weights are not copied: the Model reads them from data, so
// loading a 233 MB file costs no second copy. The weights of an int8 file
// are not copied either: the dense layers compute on the int8 values and
// their scales, and the conv layers' weights are expanded one layer at a
// time into one buffer as they are transformed for the kernels (see
// dense_int8.go). The caller must then not modify data while the Model is
// in use. Elsewhere the tensors are decoded into fresh slices.
func Load(data []byte) (*Model, error) { return load(data, false) }

// LoadDeferred is Load, except that the conv layers whose Winograd filter
// transform is largest (the 3×3 ones, see deferWinograd) start on im2col +
// GEMM: same results within float32 rounding, a faster load and slower
// passes until Prepare transforms them. The browser's classifier loads so
// and prepares once it has answered the first photo.
func LoadDeferred(data []byte) (*Model, error) { return load(data, true) }

// load is Load, or LoadDeferred with deferred set.
func load(data []byte, deferred bool) (*Model, error) {
	d, err := decode(data)
	if err != nil {
		return nil, err
	}
	return newModelDeferred(d.cfg, d.params, d.quant, d.meta, deferred)
}

// decoded is a parsed and validated weights file.
type decoded struct {
	cfg    Config
	meta   Metadata
	params map[string][]float32 // every tensor but those in quant
	quant  map[string]quantized // the weights of an int8 file
}

// decode parses and validates a weights file. The weights of an int8 file
// stay int8, in quant.
func decode(data []byte) (decoded, error) {
	var (
		cfg  Config
		meta Metadata
	)
	fail := func(format string, args ...any) (decoded, error) {
		return decoded{}, fmt.Errorf("alexnet: "+format, args...)
	}
	md, infos, err := ParseSafetensors(data)
	if err != nil {
		return decoded{}, err
	}
	if md == nil {
		return fail("no __metadata__: not a pawnet weights file")
	}
	format, ok := md[MetaFormat]
	if !ok {
		return fail("no %s in metadata: not a pawnet weights file", MetaFormat)
	}
	if v, err := strconv.Atoi(format); err != nil || v != FormatVersion {
		return fail("unsupported weights format version %q (this build reads %d)", format, FormatVersion)
	}
	meta.Format = FormatVersion
	cfgJSON, ok := md[MetaConfig]
	if !ok {
		return fail("no %s in metadata", MetaConfig)
	}
	dec := json.NewDecoder(strings.NewReader(cfgJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return fail("invalid %s: %v", MetaConfig, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fail("invalid %s: data after the JSON object", MetaConfig)
	}
	if err := checkKnownConfig(cfg); err != nil {
		return fail("invalid %s: %v", MetaConfig, strings.TrimPrefix(err.Error(), "alexnet: "))
	}
	if err := decodeMeta(md, &meta); err != nil {
		return fail("%v", err)
	}
	if err := checkMeta(cfg, meta); err != nil {
		return fail("%v", strings.TrimPrefix(err.Error(), "alexnet: "))
	}

	variant := F32
	if v, ok := md[MetaVariant]; ok {
		var err error
		if variant, err = ParseVariant(v); err != nil {
			return fail("unknown %s %q (this build reads %v)", MetaVariant, v, Variants)
		}
	}
	meta.Variant = variant
	specs := cfg.Params()
	params := make(map[string][]float32, len(specs))
	quant := make(map[string]quantized)
	for _, p := range specs {
		ti, ok := infos[p.Name]
		if !ok {
			return fail("missing tensor %q (config %q)", p.Name, cfg.Name)
		}
		want := tensorDtype(variant, p)
		if ti.Dtype != want {
			return fail("tensor %q has dtype %s, want %s in a %s file", p.Name, ti.Dtype, want, variant)
		}
		if !slices.Equal(ti.Shape, p.Shape) {
			return fail("tensor %q has shape %v, want %v (config %q)", p.Name, ti.Shape, p.Shape, cfg.Name)
		}
		if len(ti.Data) != dtypeSize[want]*numElems(p.Shape) {
			return fail("%w: tensor %q: %d data bytes for shape %v, want %d", ErrNotSafetensors, p.Name, len(ti.Data), p.Shape, dtypeSize[want]*numElems(p.Shape))
		}
		delete(infos, p.Name)
		switch want {
		case "F32":
			params[p.Name] = floats(ti.Data)
		case "F16":
			params[p.Name] = halfFloats(ti.Data)
		case "I8":
			name := p.Name + ScaleSuffix
			si, ok := infos[name]
			if !ok {
				return fail("missing tensor %q for the int8 tensor %q", name, p.Name)
			}
			if si.Dtype != "F32" || !slices.Equal(si.Shape, p.Shape[:1]) || len(si.Data) != 4*p.Shape[0] {
				return fail("tensor %q must be F32 of shape %v", name, p.Shape[:1])
			}
			delete(infos, name)
			quant[p.Name] = quantized{q: int8s(ti.Data), scale: floats(si.Data)}
		}
	}
	if len(infos) != 0 {
		names := slices.Sorted(maps.Keys(infos))
		return fail("unexpected tensor %q for config %q", names[0], cfg.Name)
	}
	return decoded{cfg: cfg, meta: meta, params: params, quant: quant}, nil
}

// decodeMeta parses the optional pawnet metadata entries.
func decodeMeta(md map[string]string, meta *Metadata) error {
	if s, ok := md[MetaStats]; ok {
		if !json.Valid([]byte(s)) {
			return fmt.Errorf("%s is not valid JSON", MetaStats)
		}
		meta.Stats = json.RawMessage(s)
	}
	if s, ok := md[MetaTaught]; ok {
		if !json.Valid([]byte(s)) {
			return fmt.Errorf("%s is not valid JSON", MetaTaught)
		}
		meta.Taught = json.RawMessage(s)
	}
	if s, ok := md[MetaClasses]; ok {
		if err := json.Unmarshal([]byte(s), &meta.Classes); err != nil {
			return fmt.Errorf("invalid %s: %v", MetaClasses, err)
		}
	}
	if s, ok := md[MetaBestEpoch]; ok {
		v, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("invalid %s: %v", MetaBestEpoch, err)
		}
		meta.BestEpoch = v
	}
	for key, dst := range map[string]*float64{MetaValAcc: &meta.ValAcc, MetaValLogLoss: &meta.ValLogLoss} {
		if s, ok := md[key]; ok {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return fmt.Errorf("invalid %s: %v", key, err)
			}
			*dst = v
		}
	}
	if s, ok := md[MetaTemperature]; ok {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("invalid %s %q: want a positive number", MetaTemperature, s)
		}
		meta.Temperature = v
	}
	return nil
}

// floats returns the little-endian float32 values in b (len(b) a multiple
// of 4). On a little-endian platform with b 4-byte aligned it returns a view
// of b's memory, not a copy.
func floats(b []byte) []float32 {
	n := len(b) / 4
	if n == 0 {
		return []float32{}
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	if nativeLittleEndian && uintptr(p)%unsafe.Alignof(float32(0)) == 0 {
		return unsafe.Slice((*float32)(p), n)
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}
