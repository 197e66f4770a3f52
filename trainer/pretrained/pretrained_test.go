package pretrained

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/gopickle/types"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/preprocess"
)

// The fixtures (see testdata/make_fixture.py): torchvision's AlexNet with
// reduced widths (alexnet.TorchvisionTiny), random weights from PyTorch.
const (
	fixtureZip    = "testdata/alexnet_tiny.pth"                // torch.save zip format, 1000-class head
	fixtureLegacy = "testdata/alexnet_tiny_2class_legacy.pth"  // legacy format, head cut to 2 classes
	fixtureSafe   = "testdata/alexnet_tiny_2class.safetensors" // the 2-class state dict as safetensors
)

func mustRead(t *testing.T, path string) *File {
	t.Helper()
	f, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestReadFixtures reads the three fixtures: the same tensors under
// torchvision's names, bit for bit, the 2-class heads being the first two
// rows of the 1000-class one.
func TestReadFixtures(t *testing.T) {
	ref := mustRead(t, fixtureZip)
	if ref.Format != FormatPyTorch || len(ref.Tensors) != 16 || ref.Stats != nil {
		t.Fatalf("%s: format %s, %d tensors, stats %q", fixtureZip, ref.Format, len(ref.Tensors), ref.Stats)
	}
	tiny := alexnet.TorchvisionTiny()
	for _, p := range tiny.Params() {
		want := slices.Clone(p.Shape)
		if strings.HasPrefix(p.Name, "classifier.6") {
			want[0] = 1000
		}
		if got := ref.Tensors[p.Name].Shape; !slices.Equal(got, want) {
			t.Errorf("%s: %s has shape %v, want %v", fixtureZip, p.Name, got, want)
		}
	}
	head := ref.Tensors["classifier.6.weight"]
	if !slices.ContainsFunc(head.Data, func(v float32) bool { return v != 0 }) {
		t.Fatal("the head is all zeros: the fixture was not read")
	}
	for _, tc := range []struct{ path, format string }{{fixtureLegacy, FormatPyTorch}, {fixtureSafe, FormatSafetensors}} {
		f := mustRead(t, tc.path)
		if f.Format != tc.format || len(f.Tensors) != 16 {
			t.Fatalf("%s: format %s, %d tensors", tc.path, f.Format, len(f.Tensors))
		}
		for name, r := range ref.Tensors {
			want := r.Data
			if name == "classifier.6.weight" {
				want = r.Data[:2*tiny.Dense]
			} else if name == "classifier.6.bias" {
				want = r.Data[:2]
			}
			if got := f.Tensors[name].Data; !slices.Equal(got, want) {
				t.Errorf("%s: %s differs from %s's", tc.path, name, fixtureZip)
			}
		}
	}
}

// TestMatch maps fixtures onto configs: a 1000-class head is replaced, a
// 2-class one kept, any other mismatch is an error naming the tensor and
// both shapes.
func TestMatch(t *testing.T) {
	zipped, legacy := mustRead(t, fixtureZip), mustRead(t, fixtureLegacy)
	wrongShape := mustRead(t, fixtureLegacy)
	wrongShape.Tensors["features.6.weight"] = Tensor{Shape: []int{24, 16, 5, 5}, Data: make([]float32, 24*16*25)}
	missing := mustRead(t, fixtureLegacy)
	delete(missing.Tensors, "classifier.4.bias")
	extra := mustRead(t, fixtureLegacy)
	extra.Tensors["features.1.running_mean"] = Tensor{Shape: []int{8}, Data: make([]float32, 8)}
	badHead := mustRead(t, fixtureZip) // 1000 classes but the wrong input width
	badHead.Tensors["classifier.6.weight"] = Tensor{Shape: []int{1000, 64}, Data: make([]float32, 64000)}
	imagenetTiny := alexnet.TorchvisionTiny()
	imagenetTiny.Classes = 1000
	cases := []struct {
		name     string
		f        *File
		cfg      alexnet.Config
		replaced []string
		classes  int
		err      string
	}{
		{"1000-class head replaced", zipped, alexnet.TorchvisionTiny(), []string{"classifier.6.weight", "classifier.6.bias"}, 1000, ""},
		{"2-class head kept", legacy, alexnet.TorchvisionTiny(), nil, 2, ""},
		{"1000 classes kept", zipped, imagenetTiny, nil, 1000, ""},
		{"other widths", zipped, alexnet.Torchvision(), nil, 0, `tensor "features.0.weight" has shape [8 3 11 11]; model torchvision expects [64 3 11 11]`},
		{"wrong shape", wrongShape, alexnet.TorchvisionTiny(), nil, 0, `tensor "features.6.weight" has shape [24 16 5 5]; model torchvision-tiny expects [24 16 3 3]`},
		{"missing", missing, alexnet.TorchvisionTiny(), nil, 0, `tensor "classifier.4.bias" missing: model torchvision-tiny expects shape [32]`},
		{"unexpected", extra, alexnet.TorchvisionTiny(), nil, 0, `unexpected tensor "features.1.running_mean" (shape [8])`},
		{"head of another width", badHead, alexnet.TorchvisionTiny(), nil, 0, `tensor "classifier.6.weight" has shape [1000 64]; model torchvision-tiny expects [2 32]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.f.Match(tc.cfg)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), tc.f.Path) {
					t.Fatalf("error %v, want one naming %s and containing %q", err, tc.f.Path, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(m.Replaced, tc.replaced) || m.FileClasses != tc.classes {
				t.Errorf("replaced %v of %d classes, want %v of %d", m.Replaced, m.FileClasses, tc.replaced, tc.classes)
			}
			if len(m.Params)+len(m.Replaced) != len(tc.cfg.Params()) {
				t.Errorf("%d params + %d replaced for %d tensors", len(m.Params), len(m.Replaced), len(tc.cfg.Params()))
			}
			for _, p := range tc.cfg.Params() {
				if v, ok := m.Params[p.Name]; ok && len(v) != p.Size() {
					t.Errorf("%s: %d values for shape %v", p.Name, len(v), p.Shape)
				}
			}
		})
	}
}

// TestReadPawnetExport reads pawnet exports, in each variant: their
// tensors (as alexnet.Load expands them) and their stats.
func TestReadPawnetExport(t *testing.T) {
	cfg := alexnet.TorchvisionTiny()
	params := alexnet.InitParams(cfg, 3)
	stats := []byte(`{"mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225],"source":"imagenet"}`)
	for _, v := range alexnet.Variants {
		t.Run(string(v), func(t *testing.T) {
			var buf bytes.Buffer
			if err := alexnet.SaveVariant(&buf, cfg, params, alexnet.Metadata{Stats: stats, Classes: []string{"cat", "dog"}}, v); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "model.safetensors")
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			loaded, err := alexnet.Load(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			f := mustRead(t, path)
			if f.Format != FormatPawnet || string(f.Stats) != string(stats) {
				t.Fatalf("format %s, stats %s", f.Format, f.Stats)
			}
			m, err := f.Match(cfg)
			if err != nil || len(m.Replaced) != 0 {
				t.Fatalf("Match: %v, replaced %v", err, m.Replaced)
			}
			for name, want := range loaded.Params() {
				if !slices.Equal(m.Params[name], want) {
					t.Errorf("%s differs from alexnet.Load's", name)
				}
			}
			if v == alexnet.F32 && !slices.Equal(m.Params["features.0.weight"], params["features.0.weight"]) {
				t.Error("float32 weights changed")
			}
		})
	}
}

// TestReadBad gives Read damaged and foreign files: each error names the
// file and says what is wrong.
func TestReadBad(t *testing.T) {
	dir := t.TempDir()
	zipped, err := os.ReadFile(fixtureZip)
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := os.ReadFile(fixtureLegacy)
	if err != nil {
		t.Fatal(err)
	}
	safe, err := os.ReadFile(fixtureSafe)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := slices.Clone(zipped)
	corrupt[len(corrupt)/2] ^= 0xff // inside a stored tensor: only its CRC-32 tells
	var otherZip bytes.Buffer
	zw := zip.NewWriter(&otherZip)
	w, _ := zw.Create("notes.txt")
	w.Write([]byte("not a model"))
	zw.Close()
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"truncated zip", zipped[:len(zipped)/2], "damaged or truncated PyTorch zip archive"},
		{"zip cut before its directory", zipped[:len(zipped)-30], "damaged or truncated PyTorch zip archive"},
		{"corrupt zip entry", corrupt, "damaged or truncated PyTorch zip archive"},
		{"zip of something else", otherZip.Bytes(), "data.pkl not found"},
		{"text", []byte("this is not a model\n"), "neither a safetensors file nor a PyTorch file"},
		{"empty", nil, "empty file"},
		{"truncated legacy", legacy[:len(legacy)/2], "truncated or damaged PyTorch file"},
		{"legacy cut by 4 bytes", legacy[:len(legacy)-4], "truncated or damaged PyTorch file (legacy format)"},
		{"truncated safetensors", safe[:len(safe)-100], "not a safetensors file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".pth")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Read(path)
			if err == nil {
				t.Fatalf("read %d tensors from a bad file", len(f.Tensors))
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want one naming the file and containing %q", err, tc.want)
			}
		})
	}
	if _, err := Read(filepath.Join(dir, "absent.pth")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}

// TestContiguous checks the copy of strided PyTorch tensors: a transposed
// view, a slice at an offset, and a view past its storage (refused).
func TestContiguous(t *testing.T) {
	storage := &pytorch.FloatStorage{Data: []float32{0, 1, 2, 3, 4, 5, 6, 7}}
	for _, tc := range []struct {
		name         string
		size, stride []int
		offset       int
		want         []float32
		err          string
	}{
		{"whole", []int{2, 4}, []int{4, 1}, 0, []float32{0, 1, 2, 3, 4, 5, 6, 7}, ""},
		{"transposed", []int{4, 2}, []int{1, 4}, 0, []float32{0, 4, 1, 5, 2, 6, 3, 7}, ""},
		{"rows at an offset", []int{1, 3}, []int{4, 1}, 5, []float32{5, 6, 7}, ""},
		{"every other", []int{2, 2}, []int{4, 2}, 0, []float32{0, 2, 4, 6}, ""},
		{"past the storage", []int{2, 4}, []int{4, 1}, 1, nil, "run past its storage"},
		{"expanded", []int{3, 8}, []int{0, 1}, 0, nil, "more than its storage's 8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := contiguous(&pytorch.Tensor{Source: storage, StorageOffset: tc.offset, Size: tc.size, Stride: tc.stride})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(got.Data, tc.want) || !slices.Equal(got.Shape, tc.size) {
				t.Errorf("got %v %v, %v; want %v", got.Shape, got.Data, err, tc.want)
			}
		})
	}
}

// TestStateDictShapes checks the containers stateDict accepts: a state
// dict, one under a training checkpoint's "state_dict" or "model" key,
// DataParallel's "module." names; and refuses what is not one.
func TestStateDictShapes(t *testing.T) {
	tensor := &pytorch.Tensor{Source: &pytorch.FloatStorage{Data: []float32{1, 2}}, Size: []int{2}, Stride: []int{1}}
	dict := func(kv ...any) *types.OrderedDict {
		d := types.NewOrderedDict()
		for i := 0; i < len(kv); i += 2 {
			d.Set(kv[i], kv[i+1])
		}
		return d
	}
	plain := dict("features.0.bias", tensor)
	for _, tc := range []struct {
		name string
		obj  any
		want string // the tensor name found, or the error
	}{
		{"state dict", plain, "features.0.bias"},
		{"checkpoint", dict("epoch", 3, "state_dict", plain), "features.0.bias"},
		{"model key", dict("model", plain, "optimizer", dict()), "features.0.bias"},
		{"DataParallel", dict("module.features.0.bias", tensor), "features.0.bias"},
		{"a module", types.NewList(), "not a state dict"},
		{"not tensors", dict("features.0.bias", "x"), `entry "features.0.bias" is a string, not a tensor`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := stateDict(tc.obj)
			if err != nil {
				if !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want %q", err, tc.want)
				}
				return
			}
			if v, ok := got[tc.want]; !ok || !slices.Equal(v.Data, []float32{1, 2}) || len(got) != 1 {
				t.Errorf("got %v, want only %q", got, tc.want)
			}
		})
	}
}

// hugeStoragePickle is a protocol-2 pickle of a state dict whose one
// tensor, "w", refers to a FloatStorage claiming 10¹⁰ elements (40 GB);
// legacy adds the sixth item (no view) of the legacy format's storage
// tuple.
func hugeStoragePickle(legacy bool) []byte {
	var b bytes.Buffer
	str := func(s string) {
		b.WriteByte('X')
		binary.Write(&b, binary.LittleEndian, uint32(len(s)))
		b.WriteString(s)
	}
	b.WriteString("\x80\x02ccollections\nOrderedDict\n)R")
	str("w")
	b.WriteString("ctorch._utils\n_rebuild_tensor_v2\n(")
	b.WriteString("(")
	str("storage")
	b.WriteString("ctorch\nFloatStorage\n")
	str("0")
	str("cpu")
	b.WriteString("\x8a\x05\x00\xe4\x0b\x54\x02") // LONG1 10_000_000_000
	if legacy {
		b.WriteString("N")
	}
	b.WriteString("tQ")                                                       // the tuple, as a persistent id
	b.WriteString("K\x00K\x0a\x85K\x01\x85\x89ccollections\nOrderedDict\n)R") // offset, size, stride, requires_grad, hooks
	b.WriteString("tRs.")
	return b.Bytes()
}

// TestReadHugeStorageClaim reads PyTorch files, both formats, whose pickle
// claims a 40 GB storage while the file holds 40 bytes of it: a clear
// error, where gopickle would allocate the claim first and end the process
// out of memory.
func TestReadHugeStorageClaim(t *testing.T) {
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	for name, data := range map[string][]byte{"archive/data.pkl": hugeStoragePickle(false), "archive/data/0": make([]byte, 40)} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	var legacy bytes.Buffer
	legacy.Write(legacyMagic)
	legacy.WriteString(".")
	legacy.WriteString("\x80\x02M\xe9\x03.") // protocol version 1001
	legacy.WriteString("\x80\x02}.")         // system info
	legacy.Write(hugeStoragePickle(true))
	legacy.WriteString("\x80\x02]X\x01\x00\x00\x000a.") // storage keys ["0"]
	binary.Write(&legacy, binary.LittleEndian, uint64(10))
	legacy.Write(make([]byte, 40))
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		data []byte
	}{{"zip", zipped.Bytes()}, {"legacy", legacy.Bytes()}} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".pth")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Read(path)
			want := `storage "0" claims 10000000000 elements (40000000000 bytes)`
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v, want one naming the file and saying %s", err, want)
			}
		})
	}
}

// TestModel checks File.Model: the built-in config the tensors fit, with
// the file's own head and ImageNet's normalization, and a clear error for
// a file that fits none.
func TestModel(t *testing.T) {
	missing := mustRead(t, fixtureLegacy)
	delete(missing.Tensors, "features.3.bias")
	for _, tc := range []struct {
		name    string
		f       *File
		classes int
		wantErr string
	}{
		{"1000-class state dict", mustRead(t, fixtureZip), 1000, ""},
		{"2-class legacy state dict", mustRead(t, fixtureLegacy), 2, ""},
		{"2-class safetensors", mustRead(t, fixtureSafe), 2, ""},
		{"a tensor missing", missing, 0, `matches no built-in model config (full: tensor "features.0.weight" has shape [8 3 11 11]`},
	} {
		m, err := tc.f.Model()
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), `torchvision-tiny: tensor "features.3.bias" missing`) {
				t.Errorf("%s: %v, want an error saying %q and why torchvision-tiny does not fit", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c := m.Config(); c.Name != "torchvision-tiny" || c.Classes != tc.classes {
			t.Errorf("%s: config %s with %d classes, want torchvision-tiny with %d", tc.name, c.Name, c.Classes, tc.classes)
		}
		st, err := preprocess.ParseStats(m.Metadata().Stats)
		if err != nil || st.Mean != preprocess.ImageNetStats().Mean || st.Source != preprocess.SourceImageNet {
			t.Errorf("%s: stats %+v, %v; want ImageNet's", tc.name, st, err)
		}
		if !slices.Equal(m.Param("classifier.6.bias"), tc.f.Tensors["classifier.6.bias"].Data) {
			t.Errorf("%s: the head is not the file's", tc.name)
		}
	}
}
