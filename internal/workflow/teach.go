package workflow

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/magefile/mage/mg"

	"github.com/pawnet/pawnet/trainer/fsutil"
	"github.com/pawnet/pawnet/trainer/sample"
)

// teachDir is where mage teach lays out its three classes.
const teachDir = "data/teach"

// Teach prints what `pawnet teach` does with a run's weights
// (PAWNET_WEIGHTS, default the newest runs/*/model.safetensors, e.g. the
// demo's): the k-shot learning curve on the sample's held-out test photos
// against the run's own head, then a class the run never saw taught beside
// cat and dog: 10 sample photos of each and 10 photos of toy blocks
// (sample.Shapes) in data/teach/, with the three-class cross-validated
// accuracy, written to data/teach/taught.safetensors.
func Teach() error {
	mg.Deps(Sample)
	weights := getenv("PAWNET_WEIGHTS")
	if weights == "" {
		var err error
		if weights, err = newestWeights(RunsDir); err != nil {
			return err
		}
	}
	if err := run(Binary, "teach", "-curve", "-weights", weights, "-labels", filepath.Join(SampleDir, "test_labels.csv"), filepath.Join(SampleDir, "test")); err != nil {
		return err
	}
	if err := os.RemoveAll(teachDir); err != nil {
		return err
	}
	for _, class := range []string{"cat", "dog"} {
		for i := range 10 {
			name := fmt.Sprintf("%s.%d.jpg", class, i)
			src := filepath.Join(SampleDir, "train", class, name) // separated by demo or train
			if _, err := os.Stat(src); err != nil {
				src = filepath.Join(SampleDir, "train", name)
			}
			data, err := os.ReadFile(src)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Join(teachDir, class), 0o755); err != nil {
				return err
			}
			if err := fsutil.WriteFileAtomic(filepath.Join(teachDir, class, name), data); err != nil {
				return err
			}
		}
	}
	if _, err := sample.Shapes(filepath.Join(teachDir, "toy blocks"), 10, 32, 1); err != nil {
		return err
	}
	return run(Binary, "teach", "-weights", weights, "-out", filepath.Join(teachDir, "taught.safetensors"), teachDir)
}
