package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/trainer/onnx"
)

// TestExport runs pawnet export on a float32-only weights file (an export
// from before the variants): -variants writes the fp16 and int8 files
// beside it, -onnx the ONNX model (the bytes onnx.Write gives), and bad
// uses are refused.
func TestExport(t *testing.T) {
	bin := pawnet(t)
	dir := t.TempDir()
	cfg := alexnet.Small()
	params := alexnet.InitParams(cfg, 4)
	w := filepath.Join(dir, "model.safetensors")
	var buf bytes.Buffer
	if err := alexnet.Save(&buf, cfg, params, alexnet.Metadata{Classes: []string{"cat", "dog"}}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	onnxPath := filepath.Join(dir, "model.onnx")
	for _, tc := range []struct {
		args []string
		ok   bool
		want string
	}{
		{[]string{"export", "-weights", w, "-variants", "-onnx", onnxPath}, true, "wrote " + onnxPath},
		{[]string{"export", "-weights", alexnet.VariantPath(w, alexnet.Int8), "-variants"}, false, "give the float32 file"},
		{[]string{"export", "-weights", w}, false, "usage: pawnet export"},
		{[]string{"export", "-weights", filepath.Join(dir, "missing.safetensors"), "-onnx", onnxPath}, false, "no such file"},
	} {
		out, err := exec.Command(bin, tc.args...).CombinedOutput()
		if (err == nil) != tc.ok || !strings.Contains(string(out), tc.want) {
			t.Errorf("pawnet %v: %v\n%s\nwant ok=%v and %q", tc.args, err, out, tc.ok, tc.want)
		}
	}
	for _, v := range alexnet.Variants[1:] {
		m, err := alexnet.LoadFile(alexnet.VariantPath(w, v))
		if err != nil || m.Metadata().Variant != v {
			t.Errorf("%s variant: %v", v, err)
		}
	}
	var want bytes.Buffer
	if err := onnx.Write(&want, cfg, params); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(onnxPath); err != nil || !bytes.Equal(got, want.Bytes()) {
		t.Errorf("model.onnx: %d bytes, onnx.Write %d: %v", len(got), want.Len(), err)
	}
}
