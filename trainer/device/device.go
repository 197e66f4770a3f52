// Package device chooses the GoMLX backend for training: XLA with a CUDA
// PJRT plugin when an NVIDIA GPU and a plugin are found, otherwise GoMLX's
// pure-Go CPU backend. It says why in one line, never downloads anything
// unless allowed, and never falls back to the CPU when the user asked for
// the GPU.
package device

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Choice is the backend to use and why.
type Choice struct {
	// Config is the GOMLX_BACKEND-style configuration: "go", "xla:cuda",
	// or "xla:/abs/path/plugin.so".
	Config string
	// Reason says in one line why this backend was chosen.
	Reason string
	// GPU reports whether the choice runs on an NVIDIA GPU.
	GPU bool
	// Env holds variables the process needs before the plugin loads
	// (LD_LIBRARY_PATH for the CUDA libraries of a pip plugin, PATH for
	// ptxas); see Apply.
	Env map[string]string
}

// System is what discovery looks at; Host() returns the real one, tests
// build their own.
type System struct {
	Getenv func(string) string
	// Glob lists paths matching a pattern (filepath.Glob).
	Glob func(string) ([]string, error)
	// Python runs a snippet with each candidate interpreter in turn and
	// returns the first successful output (trimmed).
	Python func(snippet string) (string, error)
	Home   string
}

// Host returns the real system.
func Host() System {
	home, _ := os.UserHomeDir()
	return System{Getenv: os.Getenv, Glob: filepath.Glob, Python: runPython, Home: home}
}

// PythonCandidates are the interpreters asked where jax_plugins lives
// ($PAWNET_PYTHON first).
var PythonCandidates = []string{"python3", "/opt/torch/.venv/bin/python3", "/usr/bin/python3"}

func runPython(snippet string) (string, error) {
	cands := PythonCandidates
	if p := os.Getenv("PAWNET_PYTHON"); p != "" {
		cands = append([]string{p}, cands...)
	}
	var errs []error
	for _, py := range cands {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		out, err := exec.CommandContext(ctx, py, "-c", snippet).Output()
		cancel()
		if err == nil {
			return strings.TrimSpace(string(out)), nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", py, err))
	}
	return "", errors.Join(errs...)
}

// CUDA plugin packages of pip, newest first, with their module names.
var pipPlugins = []struct{ pkg, module string }{
	{"jax-cuda13-pjrt", "xla_cuda13"},
	{"jax-cuda12-pjrt", "xla_cuda12"},
}

// HasNVIDIAGPU reports whether an NVIDIA device node exists.
func (s System) HasNVIDIAGPU() bool {
	m, _ := s.Glob("/dev/nvidia[0-9]*")
	return len(m) > 0
}

// Discover picks the backend. requested is the -backend flag: "" or "auto"
// to search, "go" for the CPU, "gpu"/"cuda" to require a CUDA plugin, or
// any GOMLX_BACKEND value ("xla:cuda", "xla:/abs/plugin.so", ...), used as
// given. With "auto", $GOMLX_BACKEND wins, then a CUDA plugin (go-xla's
// install locations, then pip's jax-cuda13/12-pjrt) when a GPU is present,
// then the CPU.
func Discover(s System, requested string) (Choice, error) {
	switch requested {
	case "", "auto":
		if env := s.Getenv("GOMLX_BACKEND"); env != "" {
			return Choice{Config: env, Reason: "GOMLX_BACKEND=" + env, GPU: strings.Contains(env, "cuda")}, nil
		}
		if !s.HasNVIDIAGPU() {
			return Choice{Config: "go", Reason: "no NVIDIA GPU (/dev/nvidia*): pure-Go CPU backend"}, nil
		}
		c, err := s.findCUDA()
		if err != nil {
			return Choice{Config: "go", Reason: "NVIDIA GPU found but " + err.Error() + "; training on the CPU instead"}, nil
		}
		return c, nil
	case "go", "cpu":
		return Choice{Config: "go", Reason: "pure-Go CPU backend, as asked"}, nil
	case "gpu", "cuda":
		if !s.HasNVIDIAGPU() {
			return Choice{}, errors.New("-backend " + requested + " asked for the GPU, but no NVIDIA device (/dev/nvidia*) is visible")
		}
		return s.findCUDA()
	}
	return Choice{Config: requested, Reason: "as asked (-backend " + requested + ")", GPU: strings.Contains(requested, "cuda")}, nil
}

// findCUDA looks for a CUDA PJRT plugin.
func (s System) findCUDA() (Choice, error) {
	// 1. go-xla's own install locations (or PJRT_PLUGIN_LIBRARY_PATH).
	var dirs []string
	if p := s.Getenv("PJRT_PLUGIN_LIBRARY_PATH"); p != "" {
		dirs = strings.Split(p, ":")
	} else {
		dirs = []string{filepath.Join(s.Home, ".local/lib/go-xla"), "/usr/local/lib/go-xla"}
	}
	for _, d := range dirs {
		for _, sub := range []string{"", "nvidia"} {
			p := filepath.Join(d, sub, "pjrt_c_api_cuda_plugin.so")
			if m, _ := s.Glob(p); len(m) > 0 {
				return Choice{Config: "xla:cuda", GPU: true, Reason: "go-xla CUDA plugin " + p}, nil
			}
		}
	}
	// 2. pip's jax-cuda13-pjrt / jax-cuda12-pjrt: ask Python, then search
	// the usual site-packages.
	for _, pp := range pipPlugins {
		var sites []string
		if out, err := s.Python("import os, jax_plugins." + pp.module + " as m; print(os.path.dirname(os.path.dirname(os.path.dirname(m.__file__))))"); err == nil && out != "" {
			sites = append(sites, out)
		}
		for _, pat := range []string{"/opt/*/.venv/lib/python3*/site-packages", "/usr/local/lib/python3*/dist-packages", "/usr/local/lib/python3*/site-packages",
			"/usr/lib/python3/dist-packages", filepath.Join(s.Home, ".local/lib/python3*/site-packages")} {
			m, _ := s.Glob(pat)
			sites = append(sites, m...)
		}
		for _, site := range sites {
			plugin := filepath.Join(site, "jax_plugins", pp.module, "xla_cuda_plugin.so")
			if m, _ := s.Glob(plugin); len(m) == 0 {
				continue
			}
			libs, _ := s.Glob(filepath.Join(site, "nvidia", "*", "lib"))
			sort.Strings(libs)
			env := map[string]string{}
			if len(libs) > 0 {
				env["LD_LIBRARY_PATH"] = joinPaths(libs, s.Getenv("LD_LIBRARY_PATH"))
			}
			bins, _ := s.Glob(filepath.Join(site, "nvidia", "*", "bin"))
			if len(bins) > 0 {
				sort.Strings(bins)
				env["PATH"] = joinPaths(bins, s.Getenv("PATH"))
			}
			// XLA compiles GPU kernels with libdevice, which it finds under
			// its CUDA data dir; pip puts it in nvidia/<pkg>/nvvm/libdevice.
			if dev, _ := s.Glob(filepath.Join(site, "nvidia", "*", "nvvm", "libdevice")); len(dev) > 0 && !strings.Contains(s.Getenv("XLA_FLAGS"), "xla_gpu_cuda_data_dir") {
				sort.Strings(dev)
				env["XLA_FLAGS"] = strings.TrimSpace(s.Getenv("XLA_FLAGS") + " --xla_gpu_cuda_data_dir=" + filepath.Dir(filepath.Dir(dev[0])))
			}
			return Choice{Config: "xla:" + plugin, GPU: true, Env: env,
				Reason: fmt.Sprintf("pip %s plugin %s with %d CUDA library folders from %s", pp.pkg, plugin, len(libs), filepath.Join(site, "nvidia"))}, nil
		}
	}
	return Choice{}, errors.New("no CUDA PJRT plugin found (looked in ~/.local/lib/go-xla, /usr/local/lib/go-xla, and pip's jax-cuda13-pjrt / jax-cuda12-pjrt); install one with `pip install jax-cuda13-pjrt` or go-xla's installer")
}

// joinPaths prepends dirs to a ':'-list, skipping those already in it.
func joinPaths(dirs []string, list string) string {
	have := map[string]bool{}
	for _, p := range strings.Split(list, ":") {
		have[p] = true
	}
	var out []string
	for _, d := range dirs {
		if !have[d] {
			out = append(out, d)
		}
	}
	if list != "" {
		out = append(out, list)
	}
	return strings.Join(out, ":")
}

// reexecEnv marks a process already restarted by Apply.
const reexecEnv = "PAWNET_REEXEC"

// Apply makes the choice's environment effective. The dynamic loader
// reads LD_LIBRARY_PATH only at process start, so when it must change the
// process re-executes itself once with the new environment (the same
// arguments); it returns only when nothing had to change. It also turns
// off go-xla's automatic plugin download unless allowDownload.
func Apply(c Choice, allowDownload bool) error {
	if !allowDownload && os.Getenv("GOMLX_NO_AUTO_INSTALL") == "" {
		os.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	}
	need := false
	for k, v := range c.Env {
		if os.Getenv(k) != v {
			need = need || k == "LD_LIBRARY_PATH"
			os.Setenv(k, v)
		}
	}
	if !need || os.Getenv(reexecEnv) != "" {
		return nil
	}
	os.Setenv(reexecEnv, "1")
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	return syscall.Exec(exe, os.Args, os.Environ())
}
