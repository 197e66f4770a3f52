//go:build mage

package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/magefile/mage/sh"

	"github.com/pawnet/pawnet/trainer/rundir"
)

// scoreTest predicts the sample's test set with a run's weights three
// ways (uncalibrated; calibrated, which is runs/NAME/submission.csv; and
// calibrated with TTA), scores each and returns the lines it printed.
func scoreTest(name string) ([]string, error) {
	weights := filepath.Join("runs", name, rundir.WeightsFile)
	test, labels := filepath.Join(sampleDir, "test"), filepath.Join(sampleDir, "test_labels.csv")
	var lines []string
	for _, v := range []struct{ what, file string }{
		{"test, uncalibrated", "submission-uncalibrated.csv"},
		{"test, calibrated", "submission.csv"},
		{"test, calibrated + TTA", "submission-tta.csv"},
	} {
		sub := filepath.Join("runs", name, v.file)
		args := []string{"predict", "-weights", weights, "-csv", sub}
		if strings.Contains(v.what, "uncalibrated") {
			args = append(args, "-no-calibration")
		}
		if strings.Contains(v.what, "TTA") {
			args = append(args, "-tta")
		}
		args = append(args, test)
		fmt.Println("$", binary, strings.Join(args, " "))
		if err := sh.RunWith(env(), binary, args...); err != nil {
			return nil, err
		}
		out, err := sh.OutputWith(env(), binary, "score", sub, labels)
		if err != nil {
			return nil, err
		}
		lines = append(lines, fmt.Sprintf("%s: %s", v.what, strings.TrimPrefix(out, "score: ")))
		fmt.Println(lines[len(lines)-1])
	}
	return lines, nil
}

// validationSummary is the best epoch's validation figures of a run:
// accuracy, log loss before and after the temperature, and with TTA.
func validationSummary(name string) string {
	st, err := rundir.ReadState(filepath.Join("runs", name))
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
