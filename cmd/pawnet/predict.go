package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/classify"
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/dataset"
	"github.com/pawnet/pawnet/trainer/fsutil"
	"github.com/pawnet/pawnet/trainer/predict"
	"github.com/pawnet/pawnet/trainer/progress"
)

func runPredict(args []string) error {
	fs := flag.NewFlagSet("predict", flag.ExitOnError)
	weights := fs.String("weights", "", "exported weights (a run's model.safetensors)")
	tta := fs.Bool("tta", false, "average the photo and its horizontal mirror")
	csvOut := fs.String("csv", "", "write a Kaggle submission (id,label = P(dog)) for test/N.jpg files")
	clip := fs.Float64("clip", 0.005, "clip P(dog) in the submission to [clip, 1-clip]")
	batch := fs.Int("batch", 8, "photos per forward pass (batched inference is faster per photo)")
	camDir := fs.String("cam", "", "write each photo's Grad-CAM overlay (its predicted class's heatmap over the photo) to DIR/<name>.cam.png; one photo per forward pass, no -tta")
	camOpacity := fs.Float64("cam-opacity", 0.5, "opacity of the heatmap in the -cam overlays (0..1)")
	camSize := fs.Int("cam-size", 256, "longer side of the -cam overlays in pixels, the photo resized up or down (0: the photo's size)")
	raw := fs.Bool("no-calibration", false, "ignore the export's temperature: uncalibrated probabilities")
	sampleSub := fs.String("sample", "", "Kaggle's sample_submission.csv: -csv writes its rows in its order (default: the one in the competition zip, when a zip is given)")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: pawnet predict -weights W [-tta] [-no-calibration] [-batch 8] [-csv submission.csv [-sample sample_submission.csv]] [-cam DIR] FILE_OR_DIR_OR_ZIP...\n\nA zip (Kaggle's competition zip, or test.zip) is read in place.")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	if *batch < 1 {
		return fmt.Errorf("-batch %d: want at least 1", *batch)
	}
	if *weights == "" || fs.NArg() == 0 {
		fs.Usage()
		os.Exit(2)
	}
	if *camDir != "" && *tta {
		return fmt.Errorf("-cam explains one forward pass of each photo; it cannot be combined with -tta")
	}
	if *camOpacity < 0 || *camOpacity > 1 || *camSize < 0 {
		return fmt.Errorf("-cam-opacity %g must be in [0,1] and -cam-size %d not negative", *camOpacity, *camSize)
	}
	if err := refuseImageNetHead("weights", *weights); err != nil {
		return err
	}
	m, err := alexnet.LoadFile(*weights)
	if err != nil {
		return err
	}
	c, err := classify.New(m)
	if err != nil {
		return err
	}
	switch {
	case *raw:
		c.Temperature = 0
		fmt.Fprintln(os.Stderr, "calibration: off (-no-calibration)")
	case c.Temperature > 0:
		fmt.Fprintf(os.Stderr, "calibration: temperature %.4g from %s\n", c.Temperature, *weights)
	default:
		fmt.Fprintf(os.Stderr, "calibration: none (%s has no temperature)\n", *weights)
	}
	files, skipped, err := predict.Files(fs.Args())
	if err != nil {
		return err
	}
	for _, b := range skipped {
		fmt.Printf("%s\terror: %v\n", b.Path, b.Err)
	}
	var order []int
	if *csvOut != "" {
		if order, err = submissionOrder(*sampleSub, fs.Args()); err != nil {
			return err
		}
	}
	failed := len(skipped)
	show := func(r predict.Result, cam string) {
		if r.Err != nil {
			failed++
			fmt.Printf("%s\terror: %v\n", r.Path, r.Err)
			return
		}
		fmt.Printf("%s\t", r.Path)
		for i, p := range r.Probs {
			fmt.Printf("P(%s)=%.4f\t", c.Classes[i], p)
		}
		fmt.Printf("→ %s", r.Label)
		if r.Resample.Prescaled {
			fmt.Printf("\t(resized %s)", r.Resample)
		}
		if cam != "" {
			fmt.Printf("\tcam %s", cam)
		}
		fmt.Println()
	}
	var results []predict.Result
	if *camDir != "" {
		if err := os.MkdirAll(*camDir, 0o755); err != nil {
			return err
		}
		for _, f := range files {
			r, cam := predict.CAM(c, f, *camDir, *camSize, *camOpacity)
			show(r, cam)
			results = append(results, r)
		}
	} else {
		bar := progress.New(os.Stderr, len(files), "predict", "photos")
		results = predict.Run(c, files, *tta, *batch, func(r predict.Result) { show(r, ""); bar.Add(1) })
		bar.Finish()
	}
	if *csvOut != "" {
		var buf bytes.Buffer
		n, skipped := predict.WriteSubmissionIn(&buf, results, metrics.DogIndex(c.Classes), *clip, order)
		for _, e := range skipped {
			fmt.Fprintf(os.Stderr, "not in the submission: %v\n", e)
		}
		if err := fsutil.WriteFileAtomic(*csvOut, buf.Bytes()); err != nil {
			return err
		}
		if order != nil {
			fmt.Fprintf(os.Stderr, "wrote %d rows to %s, in the sample submission's order (%d of them predicted)\n", n, *csvOut, n-countMissing(order, results))
		} else {
			fmt.Fprintf(os.Stderr, "wrote %d rows to %s\n", n, *csvOut)
		}
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "%d of %d files could not be classified\n", failed, len(files)+len(skipped))
	}
	return nil
}

// submissionOrder reads the row order of the submission: the ids of the
// sample submission at path, else of the sample_submission.csv in the
// first competition zip among args; nil when there is none.
func submissionOrder(path string, args []string) ([]int, error) {
	var data []byte
	var err error
	from := path
	if path != "" {
		if data, err = dataset.ReadRegular(path); err != nil {
			return nil, err
		}
	} else {
		for _, a := range args {
			if !dataset.IsZipName(a) {
				continue
			}
			if data, err = dataset.ReadZipEntry(a, "sample_submission.csv", 16<<20); err == nil {
				from = a + "/sample_submission.csv"
				break
			}
		}
		if data == nil {
			return nil, nil
		}
	}
	order, err := predict.ReadOrder(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	fmt.Fprintf(os.Stderr, "submission: %d rows in the order of %s\n", len(order), from)
	return order, nil
}

// countMissing counts the ids of order that no good result has.
func countMissing(order []int, results []predict.Result) int {
	have := map[int]bool{}
	for _, r := range results {
		if id, err := predict.ID(r.Path); err == nil && r.Err == nil {
			have[id] = true
		}
	}
	n := 0
	for _, id := range order {
		if !have[id] {
			n++
		}
	}
	return n
}

func runScore(args []string) error {
	fs := flag.NewFlagSet("score", flag.ExitOnError)
	plot := fs.String("plot", "", "also write a 10-bin reliability diagram of P(dog) to this PNG file")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: pawnet score [-plot reliability.png] submission.csv test_labels.csv")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	if fs.NArg() != 2 {
		fs.Usage()
		os.Exit(2)
	}
	read := func(p string) (map[int]float64, error) {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		m, err := predict.ReadCSV(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		return m, nil
	}
	pred, err := read(fs.Arg(0))
	if err != nil {
		return err
	}
	labels, err := read(fs.Arg(1))
	if err != nil {
		return err
	}
	s, err := predict.ScoreSubmission(pred, labels)
	if err != nil {
		return err
	}
	fmt.Printf("score: %d photos, log loss %.4f, accuracy %.4f", s.N, s.LogLoss, s.Accuracy)
	if s.Missing > 0 {
		fmt.Printf(", %d labelled ids missing from the submission", s.Missing)
	}
	bins := predict.ReliabilityBins(pred, labels, 10)
	fmt.Printf(", ECE %.4f\n", metrics.ExpectedCalibrationError(bins))
	if *plot != "" {
		fmt.Println("reliability (P(dog) bin: photos, mean P(dog), fraction of dogs):")
		for _, b := range bins {
			fmt.Printf("  %.1f–%.1f: %4d  %.3f  %.3f\n", b.Lo, b.Hi, b.Count, b.Confidence, b.Frequency)
		}
		img, err := predict.ReliabilityPNG(bins, fmt.Sprintf("%s: log loss %.4f, accuracy %.4f", filepath.Base(fs.Arg(0)), s.LogLoss, s.Accuracy))
		if err != nil {
			return err
		}
		if err := fsutil.WriteFileAtomic(*plot, img); err != nil {
			return err
		}
		fmt.Printf("wrote %s\n", *plot)
	}
	return nil
}
