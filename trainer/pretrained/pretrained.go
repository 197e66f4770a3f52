// Package pretrained reads the weights that `pawnet train -init` starts
// from, and matches them to a model configuration:
//
//   - a PyTorch state dict (.pth, .pt), as torch.save writes it: its zip
//     format (PyTorch ≥ 1.6) or the legacy one, read with
//     github.com/nlpodyssey/gopickle, which unpickles without running code;
//   - a safetensors file: pawnet's own export (any variant; its
//     normalization stats come along) or a conversion of a state dict.
//
// Tensor names are torchvision's AlexNet's, which are pawnet's too
// (alexnet.Params): features.{0,3,6,8,10} and classifier.{1,4,6}, weights
// and biases, in PyTorch layouts.
package pretrained

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/gopickle/types"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/preprocess"
)

// Formats of the files Read accepts.
const (
	FormatPyTorch     = "pytorch"     // a torch.save state dict
	FormatSafetensors = "safetensors" // any safetensors file
	FormatPawnet      = "pawnet"      // pawnet's own export (a safetensors file with pawnet metadata)
)

// Tensor is one float tensor of a weights file: its shape and its values,
// row-major (contiguous, whatever the strides were in the file).
type Tensor struct {
	Shape []int
	Data  []float32
}

// File is a weights file read by Read.
type File struct {
	Path    string
	Format  string // FormatPyTorch, FormatSafetensors or FormatPawnet
	Tensors map[string]Tensor
	// Stats is the normalization stats.json recorded in a pawnet export;
	// nil for other files (their normalization is not recorded in them).
	Stats json.RawMessage
}

// Read reads a weights file: a safetensors file when it is one (by its
// content, whatever its name), else a PyTorch state dict. Every error
// names the file and says what is wrong with it.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f := &File{Path: path}
	switch {
	case len(data) == 0:
		err = errors.New("empty file")
	case isSafetensors(data):
		err = f.readSafetensors(data)
	default:
		f.Format = FormatPyTorch
		f.Tensors, err = readPyTorch(path, data)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// isSafetensors tells a safetensors file (an 8-byte header length, then a
// JSON object) from a PyTorch one (a zip archive or a pickle stream).
func isSafetensors(data []byte) bool {
	return len(data) >= 9 && data[8] == '{' && !bytes.HasPrefix(data, []byte("PK"))
}

func (f *File) readSafetensors(data []byte) error {
	md, ts, err := alexnet.ParseSafetensors(data)
	if err != nil {
		return err
	}
	if _, ok := md[alexnet.MetaFormat]; ok {
		m, err := alexnet.Load(data)
		if err != nil {
			return err
		}
		f.Format, f.Stats, f.Tensors = FormatPawnet, m.Metadata().Stats, map[string]Tensor{}
		params := m.Params()
		for _, p := range m.Config().Params() {
			f.Tensors[p.Name] = Tensor{Shape: p.Shape, Data: params[p.Name]}
		}
		return nil
	}
	f.Format, f.Tensors = FormatSafetensors, make(map[string]Tensor, len(ts))
	for name, t := range ts {
		v, err := t.Float32s()
		if err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
		f.Tensors[name] = Tensor{Shape: slices.Clone(t.Shape), Data: v}
	}
	return nil
}

// readPyTorch reads a torch.save file. A zip archive is checked whole
// (every entry read to its end, which verifies its CRC-32) before it is
// unpickled, so that a damaged or truncated file is reported as such.
func readPyTorch(path string, data []byte) (tensors map[string]Tensor, err error) {
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		if err := checkZip(data); err != nil {
			return nil, fmt.Errorf("damaged or truncated PyTorch zip archive: %w", err)
		}
	case !bytes.HasPrefix(data, legacyMagic):
		return nil, errors.New("neither a safetensors file nor a PyTorch file (torch.save's zip format or its legacy format)")
	}
	// gopickle allocates each storage at the size its pickle claims before
	// reading a byte of it: a damaged size would end the process (Go's
	// out-of-memory is fatal, not a panic), so every claim is checked
	// against the bytes the file holds first.
	if err := checkStorageSizes(data); err != nil {
		return nil, err
	}
	defer func() { // gopickle panics on some malformed legacy files
		if p := recover(); p != nil {
			tensors, err = nil, fmt.Errorf("not a readable PyTorch state dict: %v", p)
		}
	}()
	obj, err := pytorch.Load(path)
	if err != nil {
		return nil, fmt.Errorf("not a readable PyTorch state dict: %w", err)
	}
	if !bytes.HasPrefix(data, []byte("PK")) {
		if err := checkLegacyTail(obj, data); err != nil {
			return nil, err
		}
	}
	return stateDict(obj)
}

// checkLegacyTail checks that a legacy file ends with its storages, whole.
// The format ends with every storage (sorted by an internal key, so in no
// order known here), each as an 8-byte element count and the elements;
// gopickle does not notice a file cut inside the last few hundred
// elements, which shifts where the storages must start.
func checkLegacyTail(obj any, data []byte) error {
	sizes := map[int][]int{} // element count → element sizes of the storages of that count
	seen := map[any]bool{}
	total, count := 0, 0
	entries, _ := dictEntries(obj)
	for _, v := range entries {
		t, ok := v.(*pytorch.Tensor)
		if !ok || seen[t.Source] {
			continue
		}
		seen[t.Source] = true
		n, size := 0, 0
		switch s := t.Source.(type) {
		case *pytorch.FloatStorage:
			n, size = len(s.Data), 4
		case *pytorch.HalfStorage:
			n, size = len(s.Data), 2
		case *pytorch.BFloat16Storage:
			n, size = len(s.Data), 2
		case *pytorch.DoubleStorage:
			n, size = len(s.Data), 8
		default:
			continue // stateDict reports it
		}
		sizes[n] = append(sizes[n], size)
		total += 8 + n*size
		count++
	}
	pos := len(data) - total
	for i := range count {
		if pos < 0 || pos+8 > len(data) {
			return fmt.Errorf("truncated or damaged PyTorch file (legacy format): its %d storages need more bytes than it has", count)
		}
		n := int(binary.LittleEndian.Uint64(data[pos:]))
		if len(sizes[n]) == 0 || n < 0 {
			return fmt.Errorf("truncated or damaged PyTorch file (legacy format): storage %d of %d does not end the file whole", i+1, count)
		}
		size := sizes[n][0]
		sizes[n] = sizes[n][1:]
		pos += 8 + n*size
	}
	return nil
}

// legacyMagic starts a file in torch.save's legacy format: a protocol-2
// pickle of the integer 0x1950a86a20f9469cfc6c.
var legacyMagic = []byte("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19")

// storageRef is one storage a PyTorch pickle refers to: its class (e.g.
// "FloatStorage"), its key and its claimed number of elements.
type storageRef struct {
	class string
	key   string
	numel int
}

// anyClass stands for every class a pickle names while its storages are
// listed: it can be called, constructed and given state, and does
// nothing, so no tensor is built.
type anyClass struct{ module, name string }

func (c *anyClass) Call(...any) (any, error)  { return c, nil }
func (c *anyClass) PyNew(...any) (any, error) { return c, nil }
func (c *anyClass) PySetState(any) error      { return nil }

// listStorages unpickles r without loading anything and returns the
// storages it refers to.
func listStorages(r io.Reader) ([]storageRef, error) {
	var refs []storageRef
	u := pickle.NewUnpickler(r)
	u.FindClass = func(module, name string) (any, error) { return &anyClass{module, name}, nil }
	u.PersistentLoad = func(id any) (any, error) {
		t, ok := id.(*types.Tuple)
		if !ok || t.Len() < 5 || t.Get(0) != "storage" {
			return nil, nil
		}
		ref := storageRef{}
		if c, ok := t.Get(1).(*anyClass); ok {
			ref.class = c.name
		}
		ref.key, _ = t.Get(2).(string)
		n, ok := t.Get(4).(int)
		if !ok {
			return nil, fmt.Errorf("storage %q: its size %v is not an integer", ref.key, t.Get(4))
		}
		ref.numel = n
		refs = append(refs, ref)
		return nil, nil
	}
	_, err := u.Load()
	return refs, err
}

// bytes returns the bytes ref's claim needs, and false when the claim is
// negative or its size overflows.
func (ref storageRef) bytes() (uint64, bool) {
	size := uint64(elementSize(ref.class))
	need := uint64(ref.numel) * size
	return need, ref.numel >= 0 && need/size == uint64(ref.numel)
}

// elementSize is the size in bytes of one element of a storage class.
func elementSize(class string) int {
	switch strings.TrimSuffix(class, "Storage") {
	case "Double", "Long", "ComplexFloat":
		return 8
	case "Float", "Int":
		return 4
	case "Half", "BFloat16", "Short":
		return 2
	}
	return 1
}

// checkStorageSizes checks, before gopickle allocates them, that the
// storages a PyTorch file's pickle claims fit in the file: in the zip
// format each storage's entry must hold its elements; in the legacy format
// all of them, with their 8-byte counts, must fit in the file.
func checkStorageSizes(data []byte) error {
	damaged := func(ref storageRef, need uint64, have int64) error {
		return fmt.Errorf("truncated or damaged PyTorch file: storage %q claims %d elements (%d bytes) but the file holds %d bytes for it", ref.key, ref.numel, need, have)
	}
	if bytes.HasPrefix(data, []byte("PK")) {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return err
		}
		entries := map[string]*zip.File{}
		for _, f := range zr.File {
			entries[path.Base(f.Name)] = f
		}
		pkl, ok := entries["data.pkl"]
		if !ok {
			return errors.New("not a PyTorch zip archive: data.pkl not found")
		}
		if pkl.UncompressedSize64 > 64<<20 {
			return fmt.Errorf("damaged PyTorch file: data.pkl claims %d bytes", pkl.UncompressedSize64)
		}
		rc, err := pkl.Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		refs, err := listStorages(rc)
		if err != nil {
			return fmt.Errorf("not a readable PyTorch state dict: %w", err)
		}
		for _, ref := range refs {
			f, ok := entries[ref.key]
			if !ok {
				return fmt.Errorf("damaged PyTorch file: storage %q has no data entry", ref.key)
			}
			if need, valid := ref.bytes(); !valid || f.UncompressedSize64 < need {
				return damaged(ref, need, int64(f.UncompressedSize64))
			}
		}
		return nil
	}
	// Legacy: magic number, protocol version and system info pickles, then
	// the object pickle with the storages' claims, then the storages.
	r := bytes.NewReader(data)
	for range 3 {
		u := pickle.NewUnpickler(r)
		if _, err := u.Load(); err != nil {
			return fmt.Errorf("not a readable PyTorch file (legacy format): %w", err)
		}
	}
	refs, err := listStorages(r)
	if err != nil {
		return fmt.Errorf("not a readable PyTorch state dict: %w", err)
	}
	var total uint64
	seen := map[string]bool{}
	for _, ref := range refs {
		if seen[ref.key] {
			continue
		}
		seen[ref.key] = true
		need, valid := ref.bytes()
		if !valid || need > uint64(len(data)) {
			return damaged(ref, need, int64(len(data)))
		}
		total += 8 + need
		if total > uint64(len(data)) {
			return fmt.Errorf("truncated or damaged PyTorch file (legacy format): its storages claim more bytes than its %d", len(data))
		}
	}
	return nil
}

// checkZip opens a zip archive held in memory and reads every entry to
// its end, which makes archive/zip verify each entry's CRC-32.
func checkZip(data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	for _, e := range zr.File {
		rc, err := e.Open()
		if err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
	}
	return nil
}

// stateDict turns an unpickled state dict (an OrderedDict or dict of
// tensors, possibly under a "state_dict" or "model" key of a training
// checkpoint's dict) into named float tensors. A "module." prefix on every
// name (nn.DataParallel's) is dropped.
func stateDict(obj any) (map[string]Tensor, error) {
	entries, ok := dictEntries(obj)
	if !ok {
		return nil, fmt.Errorf("holds a %T, not a state dict; save one with torch.save(model.state_dict(), path)", obj)
	}
	for _, key := range []string{"state_dict", "model"} {
		if inner, ok := entries[key]; ok {
			if e, ok := dictEntries(inner); ok {
				entries = e
				break
			}
		}
	}
	out := make(map[string]Tensor, len(entries))
	for name, v := range entries {
		t, ok := v.(*pytorch.Tensor)
		if !ok {
			return nil, fmt.Errorf("entry %q is a %T, not a tensor; save a state dict with torch.save(model.state_dict(), path)", name, v)
		}
		ct, err := contiguous(t)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		out[name] = ct
	}
	names := slices.Collect(maps.Keys(out))
	if len(names) > 0 && !slices.ContainsFunc(names, func(n string) bool { return !strings.HasPrefix(n, "module.") }) {
		trimmed := make(map[string]Tensor, len(out))
		for n, t := range out {
			trimmed[strings.TrimPrefix(n, "module.")] = t
		}
		out = trimmed
	}
	return out, nil
}

// dictEntries returns the string-keyed entries of an unpickled dict.
func dictEntries(obj any) (map[string]any, bool) {
	out := map[string]any{}
	switch d := obj.(type) {
	case *types.OrderedDict:
		for k, e := range d.Map {
			s, ok := k.(string)
			if !ok {
				return nil, false
			}
			out[s] = e.Value
		}
	case *types.Dict:
		for _, e := range *d {
			s, ok := e.Key.(string)
			if !ok {
				return nil, false
			}
			out[s] = e.Value
		}
	default:
		return nil, false
	}
	return out, true
}

// contiguous copies a PyTorch tensor's elements, following its storage
// offset and strides, into a row-major float32 slice.
func contiguous(t *pytorch.Tensor) (Tensor, error) {
	var src []float32
	switch s := t.Source.(type) {
	case *pytorch.FloatStorage:
		src = s.Data
	case *pytorch.HalfStorage:
		src = s.Data
	case *pytorch.BFloat16Storage:
		src = s.Data
	case *pytorch.DoubleStorage:
		src = make([]float32, len(s.Data))
		for i, v := range s.Data {
			src[i] = float32(v)
		}
	default:
		return Tensor{}, fmt.Errorf("storage %T is not a float type", t.Source)
	}
	if len(t.Stride) != len(t.Size) {
		return Tensor{}, fmt.Errorf("%d strides for %d dimensions", len(t.Stride), len(t.Size))
	}
	n := 1
	last := t.StorageOffset // the largest storage index the tensor reads
	for i, d := range t.Size {
		if d < 0 || t.Stride[i] < 0 {
			return Tensor{}, fmt.Errorf("invalid size %v or stride %v", t.Size, t.Stride)
		}
		if d == 0 {
			n = 0
			break
		}
		if n > math.MaxInt32/d || t.Stride[i] > math.MaxInt32/d {
			return Tensor{}, fmt.Errorf("size %v or strides %v out of range", t.Size, t.Stride)
		}
		n *= d
		last += (d - 1) * t.Stride[i]
	}
	if n > len(src) { // an expanded view (a stride 0), or a size no storage has
		return Tensor{}, fmt.Errorf("size %v has %d elements, more than its storage's %d; save contiguous tensors", t.Size, n, len(src))
	}
	if t.StorageOffset < 0 || (n > 0 && last >= len(src)) {
		return Tensor{}, fmt.Errorf("size %v, strides %v and offset %d run past its storage of %d elements", t.Size, t.Stride, t.StorageOffset, len(src))
	}
	out := Tensor{Shape: slices.Clone(t.Size)}
	if n == len(src) && t.StorageOffset == 0 && isRowMajor(t.Size, t.Stride) {
		out.Data = src // the whole storage, in order: no copy
		return out, nil
	}
	out.Data = make([]float32, n)
	if n == 0 {
		return out, nil
	}
	idx := make([]int, len(t.Size))
	for i := range out.Data {
		off := t.StorageOffset
		for d, k := range idx {
			off += k * t.Stride[d]
		}
		out.Data[i] = src[off]
		for d := len(idx) - 1; d >= 0; d-- { // next index, row-major
			if idx[d]++; idx[d] < t.Size[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out, nil
}

// isRowMajor reports whether strides are those of a contiguous row-major
// tensor of that size (dimensions of size 1 may have any stride).
func isRowMajor(size, stride []int) bool {
	want := 1
	for i := len(size) - 1; i >= 0; i-- {
		if size[i] != 1 && stride[i] != want {
			return false
		}
		want *= size[i]
	}
	return true
}

// Match is how a File's tensors map onto a configuration.
type Match struct {
	// Params holds every tensor of cfg.Params() that the file provides,
	// in alexnet.Params' names and PyTorch layouts.
	Params map[string][]float32
	// Replaced lists the tensors of the classification head
	// (classifier.6) when the file's head has another number of classes:
	// they are not in Params and keep the model's fresh initialization.
	Replaced []string
	// FileClasses is the number of outputs of the file's head.
	FileClasses int
}

// headName is the classification head: its rows are the classes.
var headName = alexnet.DenseNames[2]

// Match maps the file's tensors onto cfg. The names must be exactly those
// of cfg.Params(), each with cfg's shape, except that a head
// (classifier.6) with another number of classes (ImageNet's 1000 for a
// 2-class model) is left out, to be replaced. Anything else (a missing
// tensor, an unexpected one, another shape) is an error naming the tensor,
// the shape the config expects and the shape found.
func (f *File) Match(cfg alexnet.Config) (*Match, error) {
	m := &Match{Params: map[string][]float32{}}
	specs := cfg.Params()
	known := map[string]bool{}
	for _, p := range specs {
		known[p.Name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(f.Tensors)) {
		if !known[name] {
			return nil, fmt.Errorf("%s: unexpected tensor %q (shape %v): model %s has only %s", f.Path, name, f.Tensors[name].Shape, cfg.Name, paramNames(specs))
		}
	}
	// The head is replaced when its weight has cfg's input width but
	// another number of rows, and its bias has as many entries.
	w, wok := f.Tensors[headName+".weight"]
	b, bok := f.Tensors[headName+".bias"]
	replace := wok && bok && len(w.Shape) == 2 && w.Shape[1] == cfg.Dense && w.Shape[0] != cfg.Classes &&
		slices.Equal(b.Shape, w.Shape[:1])
	for _, p := range specs {
		t, ok := f.Tensors[p.Name]
		if !ok {
			return nil, fmt.Errorf("%s: tensor %q missing: model %s expects shape %v", f.Path, p.Name, cfg.Name, p.Shape)
		}
		if replace && strings.HasPrefix(p.Name, headName+".") {
			m.Replaced = append(m.Replaced, p.Name)
			m.FileClasses = w.Shape[0]
			continue
		}
		if !slices.Equal(t.Shape, p.Shape) {
			return nil, fmt.Errorf("%s: tensor %q has shape %v; model %s expects %v", f.Path, p.Name, t.Shape, cfg.Name, p.Shape)
		}
		m.Params[p.Name] = t.Data
	}
	if !replace {
		m.FileClasses = cfg.Classes
	}
	return m, nil
}

func paramNames(specs []alexnet.ParamSpec) string {
	var layers []string
	for _, p := range specs {
		if l := strings.TrimSuffix(p.Name, ".weight"); l != p.Name {
			layers = append(layers, l)
		}
	}
	return strings.Join(layers, ", ") + " (weight and bias each)"
}

// Describe names a file's format for the log.
func (f *File) Describe() string {
	switch f.Format {
	case FormatPyTorch:
		return "a PyTorch state dict"
	case FormatPawnet:
		return "a pawnet export"
	}
	return "a safetensors file"
}

// Model returns the file as a model for inference and teaching, its own
// head kept (ImageNet's 1000 classes for torchvision's weights): the
// built-in configuration (alexnet.Names) whose tensors the file holds
// exactly, with the head's class count. Its normalization is that of a
// pawnet export, else ImageNet's (the one torchvision's weights expect).
// Its classes are unnamed: a pawnet export is read whole, with its class
// names and calibration, by alexnet.LoadFile.
func (f *File) Model() (*alexnet.Model, error) {
	head, ok := f.Tensors[headName+".bias"]
	if !ok || len(head.Shape) != 1 || head.Shape[0] < 1 {
		return nil, fmt.Errorf("%s: no classification head (tensor %q with one dimension)", f.Path, headName+".bias")
	}
	var tried []string
	for _, name := range alexnet.Names {
		cfg, err := alexnet.ByName(name)
		if err != nil {
			return nil, err
		}
		cfg.Classes = head.Shape[0]
		m, err := f.Match(cfg)
		if err != nil {
			tried = append(tried, name+": "+strings.TrimPrefix(err.Error(), f.Path+": "))
			continue
		}
		stats := f.Stats
		if stats == nil {
			if stats, err = json.Marshal(preprocess.ImageNetStats()); err != nil {
				return nil, err
			}
		}
		model, err := alexnet.NewModel(cfg, m.Params, alexnet.Metadata{Variant: alexnet.F32, Stats: stats})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		return model, nil
	}
	return nil, fmt.Errorf("%s matches no built-in model config (%s)", f.Path, strings.Join(tried, "; "))
}
