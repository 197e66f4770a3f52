// Command prescale is an experiment, not part of pawnet: it measures the
// eval transform of photos much larger than the training photos, with and
// without the first downscale to the training photos' median size
// (preprocess.EvalPhoto, which shared/classify applies).
//
// No labelled full-size photos are reachable here, so it makes them: each
// labelled test photo is enlarged -scale times (nearest neighbour, so the
// enlargement is as sharp as it can be, then JPEG quality 92) and
// classified both ways with the same weights. It prints accuracy and log
// loss per way, with the original photos for reference. Run it with, e.g.:
//
//	go run ./experiments/prescale -weights runs/NAME/model.safetensors \
//	    -test data/sample/test -labels data/sample/test_labels.csv -scale 16
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"os"

	"golang.org/x/image/draw"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/classify"
	"github.com/pawnet/pawnet/shared/imageio"
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/predict"
)

func main() {
	weights := flag.String("weights", "", "exported weights (required)")
	test := flag.String("test", "", "folder of test/N.jpg photos (required)")
	labels := flag.String("labels", "", "its id,label CSV, 1 = dog (required)")
	scale := flag.Int("scale", 16, "enlargement factor")
	flag.Parse()
	if *weights == "" || *test == "" || *labels == "" || *scale < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*weights, *test, *labels, *scale); err != nil {
		fmt.Fprintln(os.Stderr, "prescale:", err)
		os.Exit(1)
	}
}

func run(weights, test, labelsPath string, scale int) error {
	m, err := alexnet.LoadFile(weights)
	if err != nil {
		return err
	}
	c, err := classify.New(m)
	if err != nil {
		return err
	}
	if c.TypicalSide == 0 {
		return fmt.Errorf("%s records no training photo sizes (export it with a newer pawnet train)", weights)
	}
	f, err := os.Open(labelsPath)
	if err != nil {
		return err
	}
	labels, err := predict.ReadCSV(f)
	f.Close()
	if err != nil {
		return err
	}
	files, skipped, err := predict.Files([]string{test})
	if err != nil {
		return err
	}
	for _, b := range skipped {
		fmt.Fprintf(os.Stderr, "skipped %s\n", b)
	}
	dog := metrics.DogIndex(c.Classes)
	type score struct {
		n            int
		correct      int
		logLoss      float64
		w, h, pw, ph int
	}
	ways := []string{"original photos", fmt.Sprintf("%d× enlarged, resized in one step", scale), fmt.Sprintf("%d× enlarged, first downscaled to the training median", scale)}
	scores := make([]score, len(ways))
	for _, photo := range files {
		id, err := predict.ID(photo.Path)
		if err != nil {
			continue
		}
		y, ok := labels[id]
		if !ok {
			continue
		}
		data, err := photo.Read()
		if err != nil {
			return err
		}
		big, err := enlarge(data, scale)
		if err != nil {
			return fmt.Errorf("%s: %w", photo.Path, err)
		}
		for k, way := range []struct {
			data    []byte
			typical int
		}{{data, c.TypicalSide}, {big, 0}, {big, c.TypicalSide}} {
			cc := *c
			cc.TypicalSide = way.typical
			p, err := cc.Classify(way.data, false)
			if err != nil {
				return fmt.Errorf("%s: %w", photo.Path, err)
			}
			s := &scores[k]
			s.n++
			if (p.Best == dog) == (y > 0.5) {
				s.correct++
			}
			s.logLoss += metrics.LogLoss(float64(p.Probs[dog]), y)
			s.w, s.h, s.pw, s.ph = p.Resample.Width, p.Resample.Height, p.Resample.PrescaledWidth, p.Resample.PrescaledHeight
		}
	}
	fmt.Printf("weights %s (training photos' median longer side %d px, temperature %.3f), %d labelled photos\n", weights, c.TypicalSide, c.Temperature, scores[0].n)
	for k, s := range scores {
		if s.n == 0 {
			return fmt.Errorf("no labelled photo in %s", test)
		}
		fmt.Printf("%-52s %dx%d: accuracy %.4f, log loss %.4f\n", ways[k], s.w, s.h, float64(s.correct)/float64(s.n), s.logLoss/float64(s.n))
	}
	return nil
}

// enlarge decodes a photo and re-encodes it scale times larger.
func enlarge(data []byte, scale int) ([]byte, error) {
	img, _, err := imageio.Decode(data, 0)
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx()*scale, b.Dy()*scale))
	draw.NearestNeighbor.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 92}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
