// Package torchpeer runs PyTorch on the CPU beside pawnet's benchmarks, so
// that a speed claim is a ratio against the peer a user would pick
// instead, measured in the same run: scripts/torch_bench.py under a python3
// that can import torch (Debian's python3-torch). Benchmarks leave their
// PyTorch columns out when none can.
package torchpeer

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Python returns $PAWNET_PYTHON, else python3 on the PATH, else Debian's
// /usr/bin/python3 (where apt's python3-torch lives), the first that
// imports torch; "" when none can.
func Python() string {
	cands := []string{"python3", "/usr/bin/python3"}
	if p := os.Getenv("PAWNET_PYTHON"); p != "" {
		cands = []string{p}
	}
	for _, p := range cands {
		if exec.Command(p, "-c", "import torch").Run() == nil {
			return p
		}
	}
	return ""
}

// Script returns the path of scripts/torch_bench.py, found from the
// current directory upwards (a package's tests run in its folder).
func Script() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "scripts", "torch_bench.py")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("scripts/torch_bench.py not found above the current folder")
		}
		dir = parent
	}
}

// Run runs torch_bench.py with args under python, with as many threads as
// Go has (GOMAXPROCS), and returns its output.
func Run(python string, args ...string) ([]byte, error) {
	script, err := Script()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(python, append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("OMP_NUM_THREADS=%d", runtime.GOMAXPROCS(0)))
	return cmd.CombinedOutput()
}
