package sample

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/pawnet/pawnet/trainer/fsutil"
)

// CompetitionName is the file name of Kaggle's download of the
// competition.
const CompetitionName = "dogs-vs-cats-redux-kernels-edition.zip"

// CompetitionZip writes out, atomically, a zip in the exact layout of
// Kaggle's download of "Dogs vs. Cats Redux" from the sample folder dir
// (Make's Kaggle layout; train photos already separated into train/cat/
// and train/dog/ are taken too): train.zip holding train/cat.N.jpg and
// train/dog.N.jpg, test.zip holding test/N.jpg, and sample_submission.csv
// (id,label; the test ids in numeric order, label 0.5). The photos are
// deflated inside the inner zips; nested (zip.Store or zip.Deflate) is how
// the inner zips are stored in the outer one. It returns the number of
// train and test photos.
func CompetitionZip(dir, out string, nested uint16) (train, test int, err error) {
	trainFiles, err := photosUnder(filepath.Join(dir, "train"))
	if err != nil {
		return 0, 0, err
	}
	testFiles, err := photosUnder(filepath.Join(dir, "test"))
	if err != nil {
		return 0, 0, err
	}
	var ids []int
	for _, f := range testFiles {
		id, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(f), filepath.Ext(f)))
		if err != nil {
			return 0, 0, fmt.Errorf("%s: not a Kaggle test name (N.jpg)", f)
		}
		ids = append(ids, id)
	}
	sort.Ints(ids)
	var csv bytes.Buffer
	csv.WriteString("id,label\n")
	for _, id := range ids {
		fmt.Fprintf(&csv, "%d,0.5\n", id)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return 0, 0, err
	}
	err = fsutil.WriteAtomic(out, func(f *os.File) error {
		w := zip.NewWriter(f)
		for _, part := range []struct {
			name  string
			files []string
		}{{"test", testFiles}, {"train", trainFiles}} {
			if err := addInnerZip(w, part.name, part.files, nested); err != nil {
				return err
			}
		}
		cw, err := w.Create("sample_submission.csv")
		if err != nil {
			return err
		}
		if _, err := cw.Write(csv.Bytes()); err != nil {
			return err
		}
		return w.Close()
	})
	return len(trainFiles), len(testFiles), err
}

// addInnerZip writes name.zip, holding name/<base of each file>, into w,
// through a temporary file (removed at once), so memory stays bounded.
func addInnerZip(w *zip.Writer, name string, files []string, method uint16) error {
	tmp, err := os.CreateTemp("", "pawnet-"+name+"-*.zip")
	if err != nil {
		return err
	}
	os.Remove(tmp.Name())
	defer tmp.Close()
	iw := zip.NewWriter(tmp)
	for _, p := range files {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		h := &zip.FileHeader{Name: name + "/" + filepath.Base(p), Method: zip.Deflate, Modified: fi.ModTime()}
		ew, err := iw.CreateHeader(h)
		if err != nil {
			return err
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(ew, src)
		src.Close()
		if err != nil {
			return err
		}
	}
	if err := iw.Close(); err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	ow, err := w.CreateHeader(&zip.FileHeader{Name: name + ".zip", Method: method})
	if err != nil {
		return err
	}
	_, err = io.Copy(ow, tmp)
	return err
}

// photosUnder lists the .jpg files below dir, sorted by base name.
func photosUnder(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.EqualFold(filepath.Ext(p), ".jpg") {
			out = append(out, p)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return filepath.Base(out[i]) < filepath.Base(out[j]) })
	return out, err
}
