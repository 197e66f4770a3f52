package workflow

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"

	"github.com/pawnet/pawnet/internal/proc"
	"github.com/pawnet/pawnet/trainer/device"
	"github.com/pawnet/pawnet/trainer/rundir"
)

// defaultAddr is the demo's dashboard address unless PAWNET_ADDR says
// otherwise: loopback only.
const defaultAddr = "127.0.0.1:8080"

// modelFor is the model a workflow trains by default on the system s:
// "full" when trainer/device finds a CUDA GPU with its plugin (the
// training would run there), else "small" for the CPU.
func modelFor(s device.System) string {
	if c, err := device.Discover(s, "auto"); err == nil && c.GPU {
		return "full"
	}
	return "small"
}

// Demo runs the main job on the embedded default (Sample and Wasm first):
// it prepares the sample (separate → stats), starts the server and trains
// the small model on the CPU (the full one on a GPU) while streaming live
// to the page, exports the best weights, scores the sample's test set, and
// keeps serving so that the page classifies dropped photos, until it is
// stopped (proc.Run stops the trainer and its server with it).
func Demo() error {
	mg.Deps(Sample, Wasm)
	train, err := SampleTrain()
	if err != nil {
		return err
	}
	addr := getenv("PAWNET_ADDR")
	if addr == "" {
		addr = defaultAddr
	}
	name := "demo-" + time.Now().Format("20060102-150405")
	args := []string{"train", "-name", name, "-serve", addr, "-static", "static", "-backend", "auto", "-model", modelFor(device.Host()), train}
	fmt.Println("$", Binary, strings.Join(args, " "))
	fmt.Printf("\nOpen http://%s/ to watch the training live. When it finishes, drop cat or dog photos on the page.\n\n", addr)
	cmd := command(nil, Binary, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	done := make(chan error, 1)
	go func() { done <- proc.Run(cmd) }()
	// Score the test set once training has finished (the server goes on).
	for finished := false; !finished; {
		select {
		case err := <-done:
			return err
		case <-time.After(time.Second):
		}
		st, err := rundir.ReadState(filepath.Join(RunsDir, name))
		finished = err == nil && st.Finished
	}
	if _, err := scoreTest(name); err != nil {
		return err
	}
	fmt.Printf("\nThe dashboard stays at http://%s/ with the run's best weights: drop photos on it. Ctrl-C quits.\n", addr)
	return <-done
}

// Train trains on the embedded sample (or PAWNET_DATA) with the model's
// defaults and PAWNET_TRAIN_FLAGS, then, on the sample, writes and scores
// a Kaggle submission for its test set. It prints the wall time of the
// training command and a summary: best val accuracy, val log loss before
// and after the temperature, TTA val figures, and the test set's log loss
// and accuracy uncalibrated, calibrated, and calibrated with TTA.
func Train() error {
	mg.Deps(Build)
	start := time.Now()
	name := start.Format("20060102-150405")
	args := append([]string{"train", "-name", name}, strings.Fields(getenv("PAWNET_TRAIN_FLAGS"))...)
	data := getenv("PAWNET_DATA")
	if data != "" {
		args = append(args, data)
	}
	fmt.Println("$", Binary, strings.Join(args, " "))
	cmd := command(nil, Binary, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := proc.Run(cmd); err != nil {
		return err
	}
	wall := time.Since(start).Seconds()
	fmt.Printf("mage train: wall time %.0fs\n", wall)
	if data != "" {
		return nil
	}
	lines, err := scoreTest(name)
	if err != nil {
		return err
	}
	fmt.Printf("\nmage train summary (runs/%s):\n  wall time %.0fs\n  %s\n", name, wall, validationSummary(filepath.Join(RunsDir, name)))
	for _, l := range lines {
		fmt.Printf("  %s\n", l)
	}
	return nil
}

// scoreTest predicts the sample's test set with a run's weights three
// ways (uncalibrated; calibrated, which is runs/NAME/submission.csv; and
// calibrated with TTA), scores each and returns the lines it printed.
func scoreTest(name string) ([]string, error) {
	dir := filepath.Join(RunsDir, name)
	weights := filepath.Join(dir, rundir.WeightsFile)
	test, labels := filepath.Join(SampleDir, "test"), filepath.Join(SampleDir, "test_labels.csv")
	var lines []string
	for _, v := range []struct {
		what, file string
		flags      []string
	}{
		{"test, uncalibrated", "submission-uncalibrated.csv", []string{"-no-calibration"}},
		{"test, calibrated", "submission.csv", nil},
		{"test, calibrated + TTA", "submission-tta.csv", []string{"-tta"}},
	} {
		sub := filepath.Join(dir, v.file)
		args := append(append([]string{"predict", "-weights", weights, "-csv", sub}, v.flags...), test)
		fmt.Println("$", Binary, strings.Join(args, " "))
		if err := sh.RunWith(goEnv(), Binary, args...); err != nil {
			return nil, err
		}
		out, err := sh.OutputWith(goEnv(), Binary, "score", sub, labels)
		if err != nil {
			return nil, err
		}
		lines = append(lines, fmt.Sprintf("%s: %s", v.what, strings.TrimPrefix(out, "score: ")))
		fmt.Println(lines[len(lines)-1])
	}
	return lines, nil
}

// validationSummary is the best epoch's validation figures of the run in
// dir: accuracy, log loss before and after the temperature, and with TTA.
func validationSummary(dir string) string {
	st, err := rundir.ReadState(dir)
	if err != nil {
		return fmt.Sprintf("validation: %v", err)
	}
	s := fmt.Sprintf("best val acc %.4f at epoch %d; val log loss %.4f", st.BestAcc, st.BestEpoch, st.BestLogLoss)
	if c := st.BestCalibration; c != nil {
		s += fmt.Sprintf(" → %.4f with temperature %.3f; TTA: val acc %.4f, log loss %.4f → %.4f calibrated",
			c.ValLogLossCal, c.Temperature, c.ValAccTTA, c.ValLogLossTTA, c.ValLogLossTTACal)
	}
	return s
}
