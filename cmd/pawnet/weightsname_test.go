package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pawnet/pawnet/trainer/rundir"
)

// tinyWeights is the name testweights.go gives the PyTorch fixture in the
// pawnettest build, with the fixture's SHA-256 prefix.
const tinyWeights = "alexnet_tiny-f806544d.pth"

// pawnetTest builds the CLI with -tags pawnettest (torchvision:alexnet-tiny
// names the fixture).
func pawnetTest(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pawnet")
	out, err := exec.Command("go", "build", "-tags", "pawnettest", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// colorPhotos writes n small JPEGs of each class, one flat colour per
// class with noise, so that the folder is a trainable two-class set.
func colorPhotos(t *testing.T, dir string, n int) {
	t.Helper()
	for ci, cls := range []string{"cat", "dog"} {
		if err := os.MkdirAll(filepath.Join(dir, cls), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			img := image.NewRGBA(image.Rect(0, 0, 48, 48))
			for p := range img.Pix {
				img.Pix[p] = uint8(60 + 120*ci + (p*7+i*13)%40)
			}
			img.Set(0, 0, color.White)
			var b bytes.Buffer
			if err := jpeg.Encode(&b, img, nil); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, cls, cls+"."+strconv.Itoa(i)+".jpg"), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestTrainInitByName runs `pawnet train -init torchvision:alexnet-tiny
// -model torchvision-tiny` against a loopback server holding the fixture
// as a published file: the first run downloads it into PAWNET_WEIGHTS_DIR,
// checks it and trains from it (run.json records the cached file); the
// second uses the cache without a request; an unknown name and a server
// without the file fail before any run folder is made, saying what to do.
func TestTrainInitByName(t *testing.T) {
	fixture, err := os.ReadFile("../../trainer/pretrained/testdata/alexnet_tiny.pth")
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(fixture); !strings.Contains(tinyWeights, "-"+hex.EncodeToString(sum[:])[:8]+".") {
		t.Fatalf("%s does not carry the fixture's SHA-256 prefix %x", tinyWeights, sum[:4])
	}
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path != "/models/"+tinyWeights {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(fixture))
	}))
	defer srv.Close()

	bin := pawnetTest(t)
	data, cache, runs := t.TempDir(), filepath.Join(t.TempDir(), "weights"), filepath.Join(t.TempDir(), "runs")
	colorPhotos(t, data, 6)
	cached := filepath.Join(cache, tinyWeights)
	train := func(name, weights, base string) (string, error) {
		t.Helper()
		cmd := exec.Command(bin, "train", "-backend", "go", "-model", "torchvision-tiny", "-init", weights,
			"-epochs", "1", "-batch", "4", "-runs", runs, "-name", name, data)
		cmd.Env = append(os.Environ(), "PAWNET_WEIGHTS_URL="+base, "PAWNET_WEIGHTS_DIR="+cache)
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(5 * time.Minute):
				cmd.Process.Kill()
			}
		}()
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := train("first", "torchvision:alexnet-tiny", srv.URL+"/models")
	if err != nil {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	for _, want := range []string{"weights: " + cached + " (downloaded; SHA-256 f806544d… checked)", "ImageNet's mean and std", "best val acc"} {
		if !strings.Contains(out, want) {
			t.Errorf("first run's output lacks %q:\n%s", want, out)
		}
	}
	if got, _ := os.ReadFile(cached); !bytes.Equal(got, fixture) {
		t.Errorf("%s does not hold the fixture (%d bytes)", cached, len(got))
	}
	c, err := rundir.ReadConfig(filepath.Join(runs, "first"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Init != cached {
		t.Errorf("run.json init %q, want the cached file %q", c.Init, cached)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d requests for the first run, want 1", n)
	}

	out, err = train("second", "torchvision:alexnet-tiny", srv.URL+"/models")
	if err != nil || !strings.Contains(out, "weights: "+cached+" (cached;") {
		t.Errorf("second run: %v, want the cached file used:\n%s", err, out)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d requests after the second run, want still 1", n)
	}

	// teach learns a head on the named weights' features (the cache is
	// used); predict refuses their ImageNet head and takes the taught file.
	run := func(args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "PAWNET_WEIGHTS_URL="+srv.URL+"/models", "PAWNET_WEIGHTS_DIR="+cache)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	taught := filepath.Join(t.TempDir(), "taught.safetensors")
	out, err = run("teach", "-weights", "torchvision:alexnet-tiny", "-out", taught, data)
	if err != nil || !strings.Contains(out, "wrote "+taught+" (fp32, 2 classes: cat, dog)") {
		t.Errorf("teach: %v\n%s", err, out)
	}
	out, err = run("predict", "-weights", "torchvision:alexnet-tiny", filepath.Join(data, "cat", "cat.0.jpg"))
	if err == nil || !strings.Contains(out, "not a cat/dog model") || !strings.Contains(out, "pawnet teach -weights torchvision:alexnet-tiny") {
		t.Errorf("predict -weights torchvision:alexnet-tiny: %v, want a refusal saying what to do:\n%s", err, out)
	}
	out, err = run("predict", "-weights", taught, filepath.Join(data, "cat", "cat.0.jpg"))
	if err != nil || !strings.Contains(out, "cat.0.jpg") {
		t.Errorf("predict -weights taught: %v\n%s", err, out)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d requests after teach and predict, want still 1", n)
	}

	for _, tc := range []struct {
		name, weights, base string
		want                []string
	}{
		{"unknown", "torchvision:vgg16", srv.URL + "/models", []string{"-init torchvision:vgg16: unknown weights", "torchvision:alexnet"}},
		{"missing", "torchvision:alexnet", srv.URL + "/models", []string{"-init torchvision:alexnet:", "404 Not Found", srv.URL + "/models/alexnet-owt-7be5be79.pth",
			"copy it to " + filepath.Join(cache, "alexnet-owt-7be5be79.pth")}},
	} {
		out, err := train(tc.name, tc.weights, tc.base)
		if err == nil {
			t.Errorf("%s: succeeded:\n%s", tc.name, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.name, w, out)
			}
		}
		if _, err := os.Stat(filepath.Join(runs, tc.name)); !os.IsNotExist(err) {
			t.Errorf("%s: a run folder was made: %v", tc.name, err)
		}
	}
}
