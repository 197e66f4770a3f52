package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/classify"
)

// TestTeach teaches two classes named by their folders from real sample
// photos, with a damaged file among them: the file is named and the rest
// used; `pawnet predict` reads the taught weights and prints the taught
// classes' probabilities, those shared/classify computes from the file; a
// class folder without photos is refused; -curve prints the k-shot table.
func TestTeach(t *testing.T) {
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
	tree := classTree(t, 6)
	for from, to := range map[string]string{"cat": "tabby", "dog": "rex"} {
		if err := os.Rename(filepath.Join(tree, from), filepath.Join(tree, to)); err != nil {
			t.Fatal(err)
		}
	}
	broken := filepath.Join(tree, "tabby", "broken.jpg")
	if err := os.WriteFile(broken, []byte("\xff\xd8 not a whole photo"), 0o644); err != nil {
		t.Fatal(err)
	}
	taught := filepath.Join(dir, "taught.safetensors")
	out, err := exec.Command(bin, "teach", "-weights", w, "-out", taught, tree).CombinedOutput()
	if err != nil {
		t.Fatalf("pawnet teach: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "\r") {
		t.Errorf("teach: a carriage return in output to a pipe:\n%q", out)
	}
	folderOut := out
	for _, want := range []string{"features: 13/13 photos", "skipped " + broken, "classes: rex 6, tabby 6", "cross-validation (5 folds): accuracy", "wrote " + taught + " (fp32, 2 classes: rex, tabby)"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("teach output lacks %q:\n%s", want, out)
		}
	}

	photo := filepath.Join(tree, "rex", "dog.0.jpg")
	out, err = exec.Command(bin, "predict", "-weights", taught, photo).CombinedOutput()
	if err != nil {
		t.Fatalf("pawnet predict: %v\n%s", err, out)
	}
	m, err := alexnet.LoadFile(taught)
	if err != nil {
		t.Fatal(err)
	}
	c, err := classify.New(m)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(photo)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Classify(data, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("P(rex)=%.4f\tP(tabby)=%.4f", p.Probs[0], p.Probs[1]); !strings.Contains(string(out), want) {
		t.Errorf("predict output lacks %q:\n%s", want, out)
	}

	// The same class folders in a zip, under one top folder: read in
	// place, the same report and the same head.
	zipped := filepath.Join(dir, "pets.zip")
	zipTree(t, tree, "pets", zipped)
	fromZip := filepath.Join(dir, "from-zip.safetensors")
	zout, err := exec.Command(bin, "teach", "-weights", w, "-out", fromZip, zipped).CombinedOutput()
	if err != nil {
		t.Fatalf("pawnet teach of a zip: %v\n%s", err, zout)
	}
	cv := func(out []byte) string {
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "cross-validation") {
				return l
			}
		}
		return ""
	}
	if !strings.Contains(string(zout), "classes: rex 6, tabby 6") || cv(zout) == "" || cv(zout) != cv(folderOut) {
		t.Errorf("teach of the zip:\n%s\nof the folder:\n%s", zout, folderOut)
	}
	if a, b := mustRead(t, taught), mustRead(t, fromZip); !bytes.Equal(a, b) {
		t.Error("the head taught from the zip differs from the folder's")
	}

	if err := os.Mkdir(filepath.Join(tree, "fox"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(bin, "teach", "-weights", w, "-out", taught, tree).CombinedOutput()
	if err == nil || !strings.Contains(string(out), `class folder "`+filepath.Join(tree, "fox")+`" has no photos`) {
		t.Errorf("teach with an empty class folder: %v\n%s", err, out)
	}

	sampleDir := os.Getenv("PAWNET_SAMPLE_DIR") // as classTree made it
	if sampleDir == "" {
		sampleDir = filepath.Join(os.TempDir(), "pawnet-test-sample")
	}
	out, err = exec.Command(bin, "teach", "-curve", "-weights", w, "-labels", filepath.Join(sampleDir, "test_labels.csv"), "-k", "1,3", "-draws", "2",
		filepath.Join(sampleDir, "test")).CombinedOutput()
	if err != nil {
		t.Fatalf("pawnet teach -curve: %v\n%s", err, out)
	}
	for _, want := range []string{"k-shot learning curve: small, 200 labelled test photos; 2 draws per k", "\n1 | ", "\n3 | "} {
		if !strings.Contains(string(out), want) {
			t.Errorf("curve output lacks %q:\n%s", want, out)
		}
	}
}

// zipTree writes the files under dir into a new zip at dst, each under
// top/ (the layout of a folder zipped from its parent).
func zipTree(t *testing.T, dir, top, dst string) {
	t.Helper()
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		w, err := zw.Create(top + "/" + filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	})
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
