// Package predict classifies files and folders with exported weights,
// writes Kaggle submissions (id,label with label = P(dog), clipped) and
// scores them against known labels.
package predict

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/pawnet/pawnet/shared/classify"
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/dataset"
)

// Result is the prediction for one file, or the reason it failed.
type Result struct {
	Path string
	classify.Prediction
	Err error
}

// Files expands the arguments: files as given, folders (or symlinks to
// folders) walked for photos with dataset.FindPhotos, sorted. Only regular
// files, or symlinks to them, are listed (see dataset.Classify): any other
// argument or entry, such as a named pipe or a dangling symlink, is
// returned in skipped with the reason, and so is a folder below an
// argument that cannot be listed. A zip file (the competition's zip,
// test.zip, or any zip of photos) is read in place: its test photos, as
// dataset.OpenZip(a, "test") finds them, are listed as photos of that
// zip's file system, and the entries it refuses are in skipped. An
// argument that does not exist, or a zip that cannot be read at all, is
// an error.
func Files(args []string) (files []dataset.Photo, skipped []dataset.BadFile, err error) {
	for _, a := range args {
		st, err := os.Stat(a)
		if err == nil && st.Mode().IsRegular() && dataset.IsZipName(a) {
			z, err := dataset.OpenZip(a, "test")
			if err != nil {
				return nil, nil, err
			}
			for _, name := range z.Photos {
				files = append(files, z.Photo(name))
			}
			skipped = append(skipped, z.Skipped...)
			continue
		}
		if err != nil {
			if _, lerr := os.Lstat(a); lerr != nil {
				return nil, nil, err
			}
			// A symlink that does not resolve: Classify says why.
		}
		if err != nil || !st.IsDir() {
			if err := dataset.Classify(a, nil); err != nil {
				skipped = append(skipped, dataset.BadFile{Path: a, Err: err})
			} else {
				files = append(files, dataset.OnDisk(a))
			}
			continue
		}
		found, err := dataset.FindPhotos(a)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range found.Photos {
			rel, err := filepath.Rel(a, p)
			if err != nil {
				return nil, nil, err
			}
			files = append(files, dataset.InDir(a, rel))
		}
		skipped = append(skipped, found.Skipped...)
	}
	return files, skipped, nil
}

// Run classifies each file, batch files per forward pass (see
// classify.ClassifyBatch; batch < 1 means 1); a bad file gets its error in
// its Result and does not stop the others. each, if not nil, sees every
// Result in file order. The files are read from their file systems
// (dataset.Photo.Read: a folder or a zip), each batch's in parallel, while the batch before
// it is classified: at most two batches of file bytes are held.
func Run(c *classify.Classifier, files []dataset.Photo, tta bool, batch int, each func(Result)) []Result {
	batch = max(batch, 1)
	res := make([]Result, 0, len(files))
	type read struct {
		chunk []dataset.Photo
		data  [][]byte
		errs  []error
	}
	reads := make(chan read, 1)
	go func() {
		defer close(reads)
		for lo := 0; lo < len(files); lo += batch {
			r := read{chunk: files[lo:min(lo+batch, len(files))]}
			r.data, r.errs = make([][]byte, len(r.chunk)), make([]error, len(r.chunk))
			var wg sync.WaitGroup
			for i, f := range r.chunk {
				wg.Go(func() { r.data[i], r.errs[i] = f.Read() })
			}
			wg.Wait()
			reads <- r
		}
	}()
	for r := range reads {
		chunk, data, readErr := r.chunk, r.data, r.errs
		preds, errs := c.ClassifyBatch(data, tta)
		for i, f := range chunk {
			r := Result{Path: f.Path, Prediction: preds[i], Err: cmp.Or(readErr[i], errs[i])}
			if each != nil {
				each(r)
			}
			res = append(res, r)
		}
	}
	return res
}

// ID returns the Kaggle id of a test file: its numeric base name.
func ID(path string) (int, error) {
	stem := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	id, err := strconv.Atoi(stem)
	if err != nil {
		return 0, fmt.Errorf("%s: not a Kaggle test file name (want N.jpg)", path)
	}
	return id, nil
}

// WriteSubmission writes id,label rows sorted by id, label = P(class
// dogIndex) clipped to [clip, 1−clip]. Failed files are skipped and
// returned as errors.
func WriteSubmission(w io.Writer, results []Result, dogIndex int, clip float64) (written int, skipped []error) {
	return WriteSubmissionIn(w, results, dogIndex, clip, nil)
}

// WriteSubmissionIn is WriteSubmission in the row order of order (the
// ids of Kaggle's sample_submission.csv, ReadOrder), when it is not nil:
// every id of order gets one row, in order; an id without a prediction
// gets 0.5 (the log loss of knowing nothing) and is reported among the
// errors, and so is a prediction whose id is not in order (left out).
// written is the number of rows written.
func WriteSubmissionIn(w io.Writer, results []Result, dogIndex int, clip float64, order []int) (written int, skipped []error) {
	type row struct {
		id int
		p  float64
	}
	var rows []row
	for _, r := range results {
		if r.Err != nil {
			skipped = append(skipped, fmt.Errorf("%s: %w", r.Path, r.Err))
			continue
		}
		id, err := ID(r.Path)
		if err != nil {
			skipped = append(skipped, err)
			continue
		}
		p := math.Min(math.Max(float64(r.Probs[dogIndex]), clip), 1-clip)
		rows = append(rows, row{id, p})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].id < rows[j].id })
	if order != nil {
		got := make(map[int]float64, len(rows))
		for _, r := range rows {
			got[r.id] = r.p
		}
		inOrder := make([]row, len(order))
		missing := 0
		for i, id := range order {
			p, ok := got[id]
			if !ok {
				p = 0.5
				missing++
			}
			delete(got, id)
			inOrder[i] = row{id, p}
		}
		if missing > 0 {
			skipped = append(skipped, fmt.Errorf("%d ids of the sample submission have no prediction; written as 0.5", missing))
		}
		for _, r := range rows {
			if _, ok := got[r.id]; ok {
				skipped = append(skipped, fmt.Errorf("id %d is not in the sample submission; left out", r.id))
			}
		}
		rows = inOrder
	}
	fmt.Fprintln(w, "id,label")
	for _, r := range rows {
		fmt.Fprintf(w, "%d,%s\n", r.id, strconv.FormatFloat(r.p, 'f', -1, 64))
	}
	return len(rows), skipped
}

// Score is the result of scoring a submission.
type Score struct {
	N        int
	LogLoss  float64 // Kaggle's: probabilities clipped to [1e-15, 1−1e-15]
	Accuracy float64 // label > 0.5 counts as dog
	Missing  int     // labelled ids without a prediction
}

// ReadOrder reads the ids of an id,label CSV (Kaggle's
// sample_submission.csv) in their order; a repeated id is an error.
func ReadOrder(r io.Reader) ([]int, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 || len(rows[0]) < 2 || rows[0][0] != "id" || rows[0][1] != "label" {
		return nil, fmt.Errorf("want a header id,label")
	}
	seen := map[int]bool{}
	out := make([]int, 0, len(rows)-1)
	for i, r := range rows[1:] {
		id, err := strconv.Atoi(r[0])
		if err != nil || seen[id] {
			return nil, fmt.Errorf("row %d: %v: not a new numeric id", i+2, r)
		}
		seen[id] = true
		out = append(out, id)
	}
	return out, nil
}

// ReadCSV reads an id,label CSV into a map.
func ReadCSV(r io.Reader) (map[int]float64, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 || len(rows[0]) < 2 || rows[0][0] != "id" || rows[0][1] != "label" {
		return nil, fmt.Errorf("want a header id,label")
	}
	out := map[int]float64{}
	for i, r := range rows[1:] {
		id, err1 := strconv.Atoi(r[0])
		v, err2 := strconv.ParseFloat(r[1], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("row %d: %v is not id,label", i+2, r)
		}
		out[id] = v
	}
	return out, nil
}

// ScoreSubmission compares predictions with 0/1 labels.
func ScoreSubmission(pred, labels map[int]float64) (Score, error) {
	var s Score
	for id, y := range labels {
		p, ok := pred[id]
		if !ok {
			s.Missing++
			continue
		}
		s.LogLoss += metrics.LogLoss(p, y)
		if (p > 0.5) == (y > 0.5) {
			s.Accuracy++
		}
		s.N++
	}
	if s.N == 0 {
		return s, fmt.Errorf("no submission id matches a labelled id")
	}
	s.LogLoss /= float64(s.N)
	s.Accuracy /= float64(s.N)
	return s, nil
}
