package main

import (
	"archive/zip"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pawnet/pawnet/trainer/sample"
)

// runKaggleZip writes the sample in the layout of Kaggle's competition
// download (sample.CompetitionZip), to try the zip path without Kaggle.
func runKaggleZip(args []string) error {
	fs := flag.NewFlagSet("kagglezip", flag.ExitOnError)
	dir := fs.String("sample", "data/sample", "the photo folder in Kaggle's layout (train/, test/); the sample is written there first when it has no train/")
	out := fs.String("out", "data/"+sample.CompetitionName, "the zip to write")
	nested := fs.String("nested", "deflate", "how train.zip and test.zip are stored in it: deflate or store")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: pawnet kagglezip [-sample data/sample] [-out data/"+sample.CompetitionName+"] [-nested deflate|store]\n\n"+
			"Writes the sample as Kaggle's download: train.zip (train/cat.N.jpg, train/dog.N.jpg), test.zip (test/N.jpg) and sample_submission.csv.")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	method := map[string]uint16{"deflate": zip.Deflate, "store": zip.Store}
	m, ok := method[*nested]
	if !ok || fs.NArg() != 0 {
		fs.Usage()
		os.Exit(2)
	}
	if fi, err := os.Stat(filepath.Join(*dir, "train")); err != nil || !fi.IsDir() {
		if _, err := sample.Make(*dir, sample.DefaultCacheDir(), os.Stderr); err != nil {
			return err
		}
	}
	train, test, err := sample.CompetitionZip(*dir, *out, m)
	if err != nil {
		return err
	}
	fi, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Printf("kagglezip: wrote %s (%.1f MB): train.zip with %d photos, test.zip with %d, sample_submission.csv (inner zips %sd)\n",
		*out, float64(fi.Size())/1e6, train, test, *nested)
	return nil
}
