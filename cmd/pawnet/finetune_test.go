package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrainInitFlags checks that pawnet train passes -init and the
// fine-tuning flags through: bad weights or values stop it with a message
// naming the problem, before any run folder is made.
func TestTrainInitFlags(t *testing.T) {
	bin := pawnet(t)
	fixture, err := filepath.Abs("../../trainer/pretrained/testdata/alexnet_tiny.pth")
	if err != nil {
		t.Fatal(err)
	}
	data, runs := t.TempDir(), filepath.Join(t.TempDir(), "runs")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-model", "torchvision", "-init", fixture}, `tensor "features.0.weight" has shape [8 3 11 11]; model torchvision expects [64 3 11 11]`},
		{[]string{"-model", "torchvision-tiny", "-init", filepath.Join(data, "none.pth")}, "no such file"},
		{[]string{"-model", "torchvision-tiny", "-freeze-features", "-2"}, "-freeze-features -2: must be 0"},
		{[]string{"-model", "torchvision-tiny", "-norm", "cifar"}, `-norm "cifar"`},
		{[]string{"-model", "alexnet"}, "unknown model config \"alexnet\" (want one of full, small, torchvision, torchvision-tiny)"},
	} {
		args := append(append([]string{"train", "-runs", runs, "-backend", "go"}, tc.args...), data)
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("pawnet %v: %v\n%s\nwant a failure saying %q", args, err, out, tc.want)
		}
	}
	if _, err := os.Stat(runs); !os.IsNotExist(err) {
		t.Errorf("a run folder was made: %v", err)
	}
}
