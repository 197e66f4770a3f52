package workflow

import (
	"archive/zip"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/pawnet/pawnet/internal/torchpeer"
	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/trainer/device"
	"github.com/pawnet/pawnet/trainer/fsutil"
)

// Kaggle runs the whole path on Kaggle's competition zip as downloaded
// (dogs-vs-cats-redux-kernels-edition.zip, or its train.zip with the
// test.zip beside it): pack, stats and train read the zip in place (the
// pack and stats.json go beside it), then predict writes
// runs/NAME/submission.csv from its test photos with TTA, in
// sample_submission.csv's order. The small model on the CPU, the full one
// when a GPU is found (PAWNET_MODEL overrides: a model config name);
// PAWNET_EPOCHS sets the epochs (default: the model's).
func Kaggle(zip string) error {
	mg.Deps(Build)
	model := getenv("PAWNET_MODEL")
	if model == "" {
		model = modelFor(device.Host())
	}
	cfg, err := alexnet.ByName(model)
	if err != nil {
		return fmt.Errorf("PAWNET_MODEL: %w", err)
	}
	size := strconv.Itoa(cfg.InputSize)
	test := zip // the competition zip holds test.zip; else test.zip beside train.zip
	if strings.EqualFold(filepath.Base(zip), "train.zip") {
		test = filepath.Join(filepath.Dir(zip), "test.zip")
	}
	name := "kaggle-" + time.Now().Format("20060102-150405")
	train := []string{"train", "-model", model, "-name", name, "-backend", "auto"}
	if e := getenv("PAWNET_EPOCHS"); e != "" {
		train = append(train, "-epochs", e)
	}
	sub := filepath.Join(RunsDir, name, "submission.csv")
	for _, args := range [][]string{
		{"pack", "-size", size, zip},
		{"stats", "-size", size, zip},
		append(train, zip),
		{"predict", "-weights", filepath.Join(RunsDir, name, "model.safetensors"), "-tta", "-csv", sub, test},
	} {
		if err := run(Binary, args...); err != nil {
			return err
		}
	}
	fmt.Printf("\nsubmission: %s (upload it to Kaggle)\n", sub)
	return nil
}

// KaggleBench makes a zip in the competition's exact layout from the
// sample (pawnet kagglezip; with PAWNET_KAGGLE_SYNTH=N, from N
// Kaggle-sized 500×375 synthetic photos plus the sample's test set), and
// the same photos extracted and separated into a folder, then times
// packing (at 64 px, PAWNET_SIZE) and stats from the zip and from the
// folder side by side, then trains one epoch of the small model from the
// zip and predicts the test photos from the zip and from the folder, with
// the peak memory (VmHWM) of each stage.
func KaggleBench() error {
	mg.Deps(Build)
	dir := ".cache/kagglebench"
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	src, folder := filepath.Join(dir, "src"), filepath.Join(dir, "folder")
	zip := filepath.Join(dir, "dogs-vs-cats-redux-kernels-edition.zip")
	size := strconv.Itoa(envInt("PAWNET_SIZE", 64))
	runs := filepath.Join(dir, "runs")
	weights := filepath.Join(runs, "zip", "model.safetensors")
	if err := run(Binary, "sample", "-out", SampleDir); err != nil {
		return err
	}
	if n := envInt("PAWNET_KAGGLE_SYNTH", 0); n > 0 {
		if err := run(Binary, "synth", "-n", strconv.Itoa(n), "-from", SampleDir, "-out", src); err != nil {
			return err
		}
		if err := linkTree(filepath.Join(SampleDir, "test"), filepath.Join(src, "test")); err != nil {
			return err
		}
	} else if err := linkTree(SampleDir, src); err != nil {
		return err
	}
	if err := linkTree(filepath.Join(src, "train"), folder); err != nil {
		return err
	}
	if err := run(Binary, "separate", folder); err != nil {
		return err
	}
	var rows []scaleRow
	for _, st := range []struct {
		stage string
		args  []string
	}{
		{"kagglezip (write the zip)", []string{"kagglezip", "-sample", src, "-out", zip}},
		{"pack from the zip", []string{"pack", "-size", size, zip}},
		{"pack from the folder", []string{"pack", "-size", size, folder}},
		{"stats from the zip (its pack)", []string{"stats", "-size", size, zip}},
		{"stats from the folder (its pack)", []string{"stats", "-size", size, folder}},
		{"train 1 epoch from the zip", []string{"train", "-epochs", "1", "-runs", runs, "-name", "zip", zip}},
		{"predict -tta from the zip", []string{"predict", "-weights", weights, "-tta", "-csv", filepath.Join(dir, "zip.csv"), zip}},
		{"predict -tta from the folder", []string{"predict", "-weights", weights, "-tta", "-csv", filepath.Join(dir, "folder.csv"), filepath.Join(src, "test")}},
	} {
		r, err := measure(st.stage, nil, Binary, st.args...)
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}
	fi, err := os.Stat(zip)
	if err != nil {
		return err
	}
	fmt.Printf("\n%d photos; zip %.1f MB; pack side %s px; %d cores\n", countPhotos(folder), float64(fi.Size())/1e6, size, runtime.NumCPU())
	fmt.Printf("%-34s %9s %10s\n", "stage", "seconds", "peak RSS")
	for _, r := range rows {
		fmt.Printf("%-34s %9.2f %10s\n", r.stage, r.secs, mib(r.rss))
	}
	return nil
}

// linkTree hard-links (or copies) every file below src to the same place
// below dst.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		if !d.Type().IsRegular() || strings.HasSuffix(p, ".pack") || filepath.Base(p) == "stats.json" {
			return nil
		}
		if os.Link(p, to) == nil {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, data, 0o644)
	})
}

// SubmitBench times a Kaggle submission end to end, side by side with
// PyTorch, for the small and the full model: a test.zip of
// PAWNET_SUBMIT_N (default 12,500, Kaggle's test set) synthetic 500×375
// JPEGs named test/N.jpg (pawnet synth, written once under
// .cache/submitbench), scored from the zip to the CSV by `pawnet predict
// -csv` and by scripts/torch_bench.py submit (PIL decode, a DataLoader of
// 2 workers, torch.no_grad, 2 threads) at batch 32 and 128, the faster
// being PyTorch's figure. The small model is the newest trained run (see
// benchWeights), the full one random full-size weights (the time does not
// depend on the values). Each model prints a BenchmarkSubmission line
// (seconds, photos/s, torch/pawnet, peak RSS of each side) that
// internal/benchdoc reads.
func SubmitBench() error {
	mg.Deps(Build)
	py := torchpeer.Python()
	if py == "" {
		return fmt.Errorf("mage submitBench: no python3 imports torch (apt-get install python3-torch libopenblas0-pthread)")
	}
	script, err := torchpeer.Script()
	if err != nil {
		return err
	}
	n := envInt("PAWNET_SUBMIT_N", 12500)
	dir := ".cache/submitbench"
	zipPath := filepath.Join(dir, fmt.Sprintf("test-%d.zip", n))
	if _, err := os.Stat(zipPath); err != nil {
		src := filepath.Join(dir, "src")
		if err := os.RemoveAll(src); err != nil {
			return err
		}
		if err := run(Binary, "sample", "-out", SampleDir); err != nil {
			return err
		}
		if err := run(Binary, "synth", "-n", strconv.Itoa(n), "-from", SampleDir, "-out", src); err != nil {
			return err
		}
		if err := writeTestZip(filepath.Join(src, "train"), zipPath); err != nil {
			return err
		}
		if err := os.RemoveAll(src); err != nil {
			return err
		}
	}
	if err := benchWeights(); err != nil {
		return err
	}
	small, err := newestWeights(RunsDir)
	if err != nil {
		return err
	}
	full := filepath.Join(dir, "full-random.safetensors")
	if err := writeRandomFull(small, full); err != nil {
		return err
	}
	for _, m := range []struct{ name, weights string }{{"small", small}, {"full", full}} {
		ours, err := measure("pawnet "+m.name, nil, Binary, "predict", "-weights", m.weights, "-csv", filepath.Join(dir, m.name+"-pawnet.csv"), zipPath)
		if err != nil {
			return err
		}
		var theirs scaleRow
		for _, batch := range []string{"32", "128"} {
			r, err := measure("torch "+m.name, nil, py, script, "submit", "--device", "cpu", "--threads", "2", "--workers", "2", "--batch", batch,
				"--weights", m.weights, "--zip", zipPath, "--csv", filepath.Join(dir, m.name+"-torch.csv"))
			if err != nil {
				return err
			}
			fmt.Print(r.out)
			if theirs.secs == 0 || r.secs < theirs.secs {
				theirs = r
			}
		}
		fmt.Printf("BenchmarkSubmission/%s\t1\t%d ns/op\t%.2f s\t%.1f photos/s\t%.2f torch-s\t%.3f torch/pawnet\t%.0f peak-MB\t%.0f torch-peak-MB\n",
			m.name, int64(ours.secs*1e9), ours.secs, float64(n)/ours.secs, theirs.secs, theirs.secs/ours.secs, float64(ours.rss)/(1<<20), float64(theirs.rss)/(1<<20))
	}
	return nil
}

// writeTestZip writes the photos under src as a deflated zip of
// test/1.jpg … test/N.jpg, in Kaggle's test.zip layout.
func writeTestZip(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	return fsutil.WriteAtomic(dst, func(f *os.File) error {
		zw := zip.NewWriter(f)
		for i, e := range entries {
			data, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				return err
			}
			w, err := zw.Create(fmt.Sprintf("test/%d.jpg", i+1))
			if err != nil {
				return err
			}
			if _, err := w.Write(data); err != nil {
				return err
			}
		}
		return zw.Close()
	})
}

// writeRandomFull writes random full-size AlexNet weights with the
// metadata (stats, classes) of the weights at like.
func writeRandomFull(like, dst string) error {
	m, err := alexnet.LoadFile(like)
	if err != nil {
		return err
	}
	meta := m.Metadata()
	cfg := alexnet.Full()
	return fsutil.WriteAtomic(dst, func(f *os.File) error {
		return alexnet.Save(f, cfg, alexnet.InitParams(cfg, 1), alexnet.Metadata{Classes: meta.Classes, Stats: meta.Stats})
	})
}
