package main

import (
	"bytes"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/classify"
	"github.com/pawnet/pawnet/trainer/predict"
	"github.com/pawnet/pawnet/trainer/sample"
)

// TestPredictCAMAndFilters runs `pawnet predict -cam` on two real sample
// photos and a file that is not a photo, and `pawnet filters`: each photo
// gets DIR/<name>.cam.png with the pixels classify's Explain and Overlay
// give in this process, the bad file its error line and no overlay, and
// the filter grid is the PNG predict.FiltersPNG draws (24 tiles, 6×4, for
// Small); -cam with -tta is refused.
func TestPredictCAMAndFilters(t *testing.T) {
	bin := pawnet(t)
	dir := t.TempDir()
	cfg := alexnet.Small()
	meta := alexnet.Metadata{Classes: []string{"cat", "dog"}, Stats: []byte(`{"mean":[0.49,0.47,0.42],"std":[0.25,0.24,0.25],"size":64}`)}
	var buf bytes.Buffer
	if err := alexnet.Save(&buf, cfg, alexnet.InitParams(cfg, 9), meta); err != nil {
		t.Fatal(err)
	}
	w := filepath.Join(dir, "model.safetensors")
	if err := os.WriteFile(w, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sampleDir := os.Getenv("PAWNET_SAMPLE_DIR")
	if sampleDir == "" {
		sampleDir = filepath.Join(os.TempDir(), "pawnet-test-sample")
	}
	if _, err := sample.Make(sampleDir, sample.DefaultCacheDir(), io.Discard); err != nil {
		t.Fatal(err)
	}
	photos := []string{filepath.Join(sampleDir, "test", "3.jpg"), filepath.Join(sampleDir, "test", "4.jpg")}
	bad := filepath.Join(dir, "notes.jpg")
	if err := os.WriteFile(bad, []byte("not a photo"), 0o644); err != nil {
		t.Fatal(err)
	}
	camDir := filepath.Join(dir, "cams")
	out, err := exec.Command(bin, append([]string{"predict", "-weights", w, "-cam", camDir, "-cam-size", "96"}, append(photos, bad)...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("pawnet predict -cam: %v\n%s", err, out)
	}
	m, err := alexnet.LoadFile(w)
	if err != nil {
		t.Fatal(err)
	}
	c, err := classify.New(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range photos {
		cam := filepath.Join(camDir, predict.CAMName(p))
		if !strings.Contains(string(out), p) || !strings.Contains(string(out), "cam "+cam) {
			t.Errorf("output does not list %s with its overlay %s:\n%s", p, cam, out)
		}
		data, _ := os.ReadFile(p)
		e, err := c.Explain(data, false)
		if err != nil {
			t.Fatal(err)
		}
		want, err := c.Overlay(data, e, e.Best, 96, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.ReadFile(cam)
		if err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(bytes.NewReader(f))
		if err != nil {
			t.Fatal(err)
		}
		if got.Bounds() != want.Bounds() {
			t.Fatalf("%s: %v, want %v", cam, got.Bounds(), want.Bounds())
		}
		if d := maxDiff(got, want); d > 1 {
			t.Errorf("%s differs from the in-process overlay by up to %d/255", cam, d)
		}
	}
	if !strings.Contains(string(out), bad+"\terror:") {
		t.Errorf("no error line for %s:\n%s", bad, out)
	}
	if _, err := os.Stat(filepath.Join(camDir, predict.CAMName(bad))); !os.IsNotExist(err) {
		t.Errorf("an overlay was written for the bad file: %v", err)
	}
	if out, err := exec.Command(bin, "predict", "-weights", w, "-cam", camDir, "-tta", photos[0]).CombinedOutput(); err == nil || !strings.Contains(string(out), "-tta") {
		t.Errorf("-cam with -tta: %v\n%s", err, out)
	}

	grid := filepath.Join(dir, "conv1.png")
	out, err = exec.Command(bin, "filters", "-weights", w, "-out", grid, "-scale", "2").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "24 conv1 filters") || !strings.Contains(string(out), "6×4 tiles") {
		t.Fatalf("pawnet filters: %v\n%s", err, out)
	}
	want, g, err := predict.FiltersPNG(m, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(grid); err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s: %d bytes, FiltersPNG %d: %v", grid, len(got), len(want), err)
	}
	if g.Count != 24 || g.Cols != 6 || g.Rows != 4 {
		t.Errorf("grid %+v, want 24 tiles in 6×4", g)
	}
}

// maxDiff is the largest difference of any RGBA channel, 0..255.
func maxDiff(a, b image.Image) int {
	d := 0
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c1 := [4]uint32{}
			c2 := [4]uint32{}
			c1[0], c1[1], c1[2], c1[3] = a.At(x, y).RGBA()
			c2[0], c2[1], c2[2], c2[3] = b.At(x, y).RGBA()
			for i := range c1 {
				d = max(d, abs(int(c1[i]>>8)-int(c2[i]>>8)))
			}
		}
	}
	return d
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
