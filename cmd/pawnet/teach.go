package main

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/classify"
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/shared/teach"
	"github.com/pawnet/pawnet/trainer/dataset"
	"github.com/pawnet/pawnet/trainer/fsutil"
	"github.com/pawnet/pawnet/trainer/predict"
	"github.com/pawnet/pawnet/trainer/progress"
)

func runTeach(args []string) error {
	fs := flag.NewFlagSet("teach", flag.ExitOnError)
	weights := fs.String("weights", "", "weights whose features the new last layer learns from: a run's model.safetensors (any variant), or ImageNet's: torchvision:alexnet (downloaded once, see pawnet train -init) or a torchvision AlexNet .pth")
	out := fs.String("out", "taught.safetensors", "where to write the weights with the taught last layer")
	seed := fs.Uint64("seed", 1, "seed of the cross-validation folds (and of -curve's draws)")
	folds := fs.Int("folds", 0, "cross-validation folds (0: up to 5, at most the smallest class's photo count)")
	batch := fs.Int("batch", 16, "photos per forward pass while computing features")
	curve := fs.Bool("curve", false, "instead of teaching: print the k-shot learning curve on a labelled test folder (DIR holds N.jpg, -labels its id,label CSV)")
	labelsCSV := fs.String("labels", "", "with -curve: test_labels.csv (id,label with 1 = dog)")
	shots := fs.String("k", "1,3,5,10,20", "with -curve: photos per class to teach with")
	draws := fs.Int("draws", 5, "with -curve: random draws per k")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: pawnet teach -weights W [-out taught.safetensors] DIR\n       pawnet teach -curve -weights W -labels test_labels.csv TEST_DIR\n\n"+
			"DIR holds one folder of photos per class (2 to 10 classes, named as you like). A new last layer is trained on the\n"+
			"network's features of your photos, its weight decay chosen and its accuracy measured by cross-validation.")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	if *weights == "" || fs.NArg() != 1 || *batch < 1 {
		fs.Usage()
		os.Exit(2)
	}
	if *curve {
		if err := refuseImageNetHead("weights", *weights); err != nil {
			return fmt.Errorf("-curve compares the taught head with the weights' own cat/dog head: %w", err)
		}
	}
	m, err := loadFeatureWeights(*weights)
	if err != nil {
		return err
	}
	c, err := classify.New(m)
	if err != nil {
		return err
	}
	if *curve {
		ks, err := parseInts(*shots)
		if err != nil {
			return fmt.Errorf("-k: %w", err)
		}
		return teachCurve(c, fs.Arg(0), *labelsCSV, ks, *draws, *seed, *batch)
	}

	ds, err := dataset.Scan(fs.Arg(0))
	if err != nil {
		return err
	}
	for _, s := range ds.Skipped {
		fmt.Fprintf(os.Stderr, "skipped %s: %v\n", s.Path, s.Err)
	}
	if ds.Zip == nil { // a zip's folders are classes only when they hold photos
		if err := emptyClasses(fs.Arg(0), ds.Classes); err != nil {
			return err
		}
	}
	if len(ds.Classes) > teach.MaxClasses {
		return fmt.Errorf("%s has %d class folders; a head is taught at most %d classes", fs.Arg(0), len(ds.Classes), teach.MaxClasses)
	}
	photos := make([]dataset.Photo, len(ds.Items))
	labels := make([]int, len(ds.Items))
	for i, it := range ds.Items {
		photos[i], labels[i] = it.Photo, it.Label
	}
	t0 := time.Now()
	feats, ok := features(c, photos, *batch)
	var kept [][]float32
	var keptLabels []int
	for i := range photos {
		if ok[i] {
			kept = append(kept, feats[i])
			keptLabels = append(keptLabels, labels[i])
		}
	}
	if len(kept) == 0 {
		return fmt.Errorf("no readable photos in %s", fs.Arg(0))
	}
	tf := time.Since(t0)
	t1 := time.Now()
	show, done := teachProgress()
	h, err := teach.Fit(kept, keptLabels, ds.Classes, teach.Options{Seed: *seed, Folds: *folds, Progress: show})
	done()
	if err != nil {
		return err
	}
	tt := time.Since(t1)
	printReport(h.Report)
	fmt.Printf("time: features %.2fs for %d photos, teaching %.3fs\n", tf.Seconds(), len(kept), tt.Seconds())
	cfg, params, meta, err := h.Apply(m)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := alexnet.SaveVariant(&buf, cfg, params, meta, m.Metadata().Variant); err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(*out, buf.Bytes()); err != nil {
		return err
	}
	fmt.Printf("wrote %s (%s, %d classes: %s)\n", *out, variantName(m.Metadata().Variant), cfg.Classes, strings.Join(h.Report.Classes, ", "))
	return nil
}

// emptyClasses fails when a folder of dir (a class the user meant) is not
// among the classes Scan found photos in.
func emptyClasses(dir string, classes []string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && !slices.Contains(classes, e.Name()) {
			return fmt.Errorf("class folder %q has no photos; add some or remove the folder", filepath.Join(dir, e.Name()))
		}
	}
	return nil
}

func variantName(v alexnet.Variant) string {
	if v == "" {
		return string(alexnet.F32)
	}
	return string(v)
}

// features computes the teach features of each file, batch photos per
// forward pass; ok[i] is false for a file that could not be read or
// decoded, which is reported on stderr.
func features(c *classify.Classifier, files []dataset.Photo, batch int) (feats [][]float32, ok []bool) {
	feats = make([][]float32, len(files))
	ok = make([]bool, len(files))
	bar := progress.New(os.Stderr, len(files), "features", "photos")
	defer bar.Finish()
	for lo := 0; lo < len(files); lo += batch {
		hi := min(lo+batch, len(files))
		photos := make([][]byte, hi-lo)
		readErr := make([]error, hi-lo)
		for i := range photos {
			photos[i], readErr[i] = files[lo+i].Read()
		}
		f, errs := c.Features(photos)
		for i := range photos {
			err := readErr[i]
			if err == nil {
				err = errs[i]
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "skipped %s: %v\n", files[lo+i].Path, err)
				continue
			}
			feats[lo+i], ok[lo+i] = f[i], true
		}
		bar.Set(hi)
	}
	return feats, ok
}

// teachProgress shows Fit's progress on one stderr line (plain lines every
// few seconds when stderr is not a terminal); done ends it.
func teachProgress() (show func(teach.Progress), done func()) {
	l := progress.NewLine(os.Stderr)
	return func(p teach.Progress) {
		if p.Stage == "final" {
			l.Printf("teaching: fit %d/%d, final fit iteration %d, loss %.4f", p.Done, p.Total, p.Iter, p.Loss)
			return
		}
		l.Printf("teaching: fit %d/%d (cross-validation)", p.Done, p.Total)
	}, l.Done
}

func printReport(r teach.Report) {
	var counts []string
	for i, n := range r.Photos {
		counts = append(counts, fmt.Sprintf("%s %d", r.Classes[i], n))
	}
	fmt.Printf("classes: %s\n", strings.Join(counts, ", "))
	if r.Folds == 0 {
		fmt.Printf("cross-validation: none (a class has a single photo); weight decay %g, temperature 1\n", r.Lambda)
		fmt.Println("warning: too few photos to tell whether the head knows these classes; drop a few more photos per class")
		return
	}
	fmt.Printf("cross-validation (%d folds): accuracy %.4f (chance %.4f), log loss %.4f (calibrated); weight decay %g, temperature %.4g\n",
		r.Folds, r.CVAccuracy, r.Chance, r.CVLogLoss, r.Lambda, r.Temperature)
	if !r.Separates {
		fmt.Println("warning: these photos' features do not separate the classes (accuracy not clearly above chance, or calibrated probabilities close to the class shares); more photos per class, or weights trained on full-size photos, would separate them better")
	}
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// teachCurve prints the k-shot learning curve: for each k, draws times, k
// photos per class drawn from the labelled test folder teach a head, and
// the rest of the folder is classified by it and by the run's own head.
func teachCurve(c *classify.Classifier, dir, labelsCSV string, ks []int, draws int, seed uint64, batch int) error {
	if labelsCSV == "" {
		return fmt.Errorf("-curve needs -labels (the test folder's id,label CSV)")
	}
	f, err := os.Open(labelsCSV)
	if err != nil {
		return err
	}
	labelMap, err := predict.ReadCSV(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", labelsCSV, err)
	}
	dog := metrics.DogIndex(c.Classes)
	if dog < 0 || len(c.Classes) != 2 {
		return fmt.Errorf("-curve compares with the run's cat/dog head; these weights have classes %v", c.Classes)
	}
	var paths []dataset.Photo
	var labels []int
	ids := slices.Sorted(func(yield func(int) bool) {
		for id := range labelMap {
			if !yield(id) {
				return
			}
		}
	})
	for _, id := range ids {
		paths = append(paths, dataset.InDir(dir, strconv.Itoa(id)+".jpg"))
		y := 1 - dog // cat
		if labelMap[id] >= 0.5 {
			y = dog
		}
		labels = append(labels, y)
	}
	feats, ok := features(c, paths, batch)
	var pool []int
	for i := range paths {
		if ok[i] {
			pool = append(pool, i)
		}
	}
	// The run's head on the same features: classifier.6 of the weights.
	w, b := c.Model.Param(alexnet.DenseNames[2]+".weight"), c.Model.Param(alexnet.DenseNames[2]+".bias")
	d := c.Model.Config().Dense
	runRight := make([]bool, len(paths))
	for _, i := range pool {
		runRight[i] = alexnet.Argmax(linear(w, b, feats[i][:d])) == labels[i]
	}
	fmt.Printf("k-shot learning curve: %s, %d labelled test photos; %d draws per k; accuracy on the photos not drawn (mean ± half the spread)\n",
		c.Model.Config().Name, len(pool), draws)
	fmt.Println("k per class | taught head | the run's head | taught head's CV accuracy | teach ms")
	for _, k := range ks {
		var taught, run, cv, ms []float64
		for draw := range draws {
			rng := rand.New(rand.NewPCG(seed, uint64(draw)))
			var train [][]float32
			var trainLabels []int
			picked := map[int]bool{}
			for cl := range 2 {
				var idx []int
				for _, i := range pool {
					if labels[i] == cl {
						idx = append(idx, i)
					}
				}
				if len(idx) <= k {
					return fmt.Errorf("k %d: only %d photos of %s", k, len(idx), c.Classes[cl])
				}
				rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
				for _, i := range idx[:k] {
					train = append(train, feats[i])
					trainLabels = append(trainLabels, cl)
					picked[i] = true
				}
			}
			t0 := time.Now()
			h, err := teach.Fit(train, trainLabels, c.Classes, teach.Options{Seed: seed + uint64(draw)})
			if err != nil {
				return err
			}
			ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
			var rightT, rightR, n int
			for _, i := range pool {
				if picked[i] {
					continue
				}
				n++
				if alexnet.Argmax(linear(h.W, h.B, feats[i][:d])) == labels[i] {
					rightT++
				}
				if runRight[i] {
					rightR++
				}
			}
			taught = append(taught, float64(rightT)/float64(n))
			run = append(run, float64(rightR)/float64(n))
			cv = append(cv, h.Report.CVAccuracy)
		}
		cvCell := "—"
		if k >= 2 {
			cvCell = spread(cv)
		}
		fmt.Printf("%d | %s | %s | %s | %.1f\n", k, spread(taught), spread(run), cvCell, mean(ms))
	}
	return nil
}

func linear(w, b, x []float32) []float32 {
	k := len(b)
	d := len(x)
	out := make([]float32, k)
	for c := range k {
		s := float64(b[c])
		for j, v := range x {
			s += float64(w[c*d+j]) * float64(v)
		}
		out[c] = float32(s)
	}
	return out
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// spread formats values as a percentage mean ± half their range.
func spread(v []float64) string {
	lo, hi := slices.Min(v), slices.Max(v)
	return fmt.Sprintf("%.1f%% ± %.1f", 100*mean(v), 100*(hi-lo)/2)
}
