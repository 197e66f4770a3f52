package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestKaggleZip runs the whole path on a real zip in the layout of
// Kaggle's download (the sample's photos, pawnet kagglezip): pack, stats,
// train and predict read it in place, the pack and stats.json go beside
// it and nothing else is written there, and the submission follows
// sample_submission.csv.
func TestKaggleZip(t *testing.T) {
	bin := pawnet(t)
	tmp := t.TempDir()
	data := filepath.Join(tmp, "kaggle")
	zip := filepath.Join(data, "dogs-vs-cats-redux-kernels-edition.zip")
	runs, sub := filepath.Join(tmp, "runs"), filepath.Join(tmp, "sub.csv")
	weights := filepath.Join(runs, "z", "model.safetensors")
	for _, s := range []struct {
		args []string
		want []string
	}{
		{[]string{"kagglezip", "-sample", filepath.Join(tmp, "sample"), "-out", zip, "-nested", "store"}, []string{"train.zip with 1800 photos, test.zip with 200"}},
		{[]string{"pack", "-size", "64", zip}, []string{"decode+resize: 1800/1800 img", "built 1800 photos at 64 px", "dogs-vs-cats-redux-kernels-edition.train.pawnet-64.pack"}},
		{[]string{"pack", "-size", "64", zip}, []string{"pack: current"}},
		{[]string{"stats", "-size", "64", zip}, []string{"reading the pack", "checked 1800 photos (1440 train, 360 val), 0 unreadable", "over 1440 images"}},
		{[]string{"train", "-epochs", "1", "-runs", runs, "-name", "z", zip}, []string{"1440 train, 360 val photos of [cat dog] at 64 px", "stats: " + filepath.Join(data, "dogs-vs-cats-redux-kernels-edition.stats.json"), "finished after 1 epochs"}},
		{[]string{"predict", "-weights", weights, "-tta", "-csv", sub, zip}, []string{"submission: 200 rows in the order of " + zip + "/sample_submission.csv", "wrote 200 rows to " + sub, "(200 of them predicted)", zip + "/test.zip/test/1.jpg\tP(cat)=", "predict: 200/200 photos"}},
		{[]string{"score", sub, filepath.Join(tmp, "sample", "test_labels.csv")}, []string{"score: 200 photos"}},
	} {
		out, err := runCLI(t, bin, s.args...)
		if err != nil {
			t.Fatalf("pawnet %v: %v\n%s", s.args, err, out)
		}
		for _, w := range s.want {
			if !strings.Contains(out, w) {
				t.Fatalf("pawnet %v: output lacks %q:\n%s", s.args, w, out)
			}
		}
		// Output to a pipe gets progress as plain lines, never frames.
		if strings.Contains(out, "\r") {
			t.Errorf("pawnet %v: a carriage return in output to a pipe:\n%q", s.args, out)
		}
	}
	ents, _ := os.ReadDir(data)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	want := []string{"dogs-vs-cats-redux-kernels-edition.stats.json", "dogs-vs-cats-redux-kernels-edition.train.pawnet-64.pack", "dogs-vs-cats-redux-kernels-edition.zip"}
	if !slices.Equal(names, want) {
		t.Errorf("beside the zip: %v, want %v", names, want)
	}
	if out, err := runCLI(t, bin, "separate", zip); err == nil || !strings.Contains(out, "read it in place") {
		t.Errorf("separate of a zip: %v\n%s", err, out)
	}
	csv, _ := os.ReadFile(sub)
	if !strings.HasPrefix(string(csv), "id,label\n1,") || strings.Count(string(csv), "\n") != 201 {
		t.Errorf("submission starts %.40q, %d lines", csv, strings.Count(string(csv), "\n"))
	}
}
