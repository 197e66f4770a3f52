package device

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fakeSystem roots every absolute glob under root, so a test can lay out
// /dev, site-packages and go-xla folders in a temp dir.
func fakeSystem(root string, env map[string]string, python string) System {
	return System{
		Getenv: func(k string) string { return env[k] },
		Glob: func(p string) ([]string, error) {
			m, err := filepath.Glob(filepath.Join(root, p))
			for i := range m {
				m[i] = strings.TrimPrefix(m[i], root)
			}
			return m, err
		},
		Python: func(string) (string, error) {
			if python == "" {
				return "", errors.New("no python")
			}
			return python, nil
		},
		Home: "/home/u",
	}
}

func touch(t *testing.T, root string, paths ...string) {
	for _, p := range paths {
		full := filepath.Join(root, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDiscover(t *testing.T) {
	const site = "/opt/torch/.venv/lib/python3.12/site-packages"
	pip := []string{site + "/jax_plugins/xla_cuda13/xla_cuda_plugin.so", site + "/nvidia/cublas/lib/", site + "/nvidia/cu13/lib/", site + "/nvidia/cu13/bin/", site + "/nvidia/cu13/nvvm/libdevice/"}
	cases := []struct {
		name      string
		files     []string
		env       map[string]string
		python    string
		requested string
		want      string // Config, or "error"
		gpu       bool
		reason    string
	}{
		{"no gpu", nil, nil, "", "", "go", false, "no NVIDIA GPU"},
		{"env wins", []string{"/dev/nvidia0"}, map[string]string{"GOMLX_BACKEND": "xla:cpu"}, "", "auto", "xla:cpu", false, "GOMLX_BACKEND"},
		{"explicit go", []string{"/dev/nvidia0"}, nil, "", "go", "go", false, "as asked"},
		{"go-xla install", []string{"/dev/nvidia0", "/home/u/.local/lib/go-xla/nvidia/pjrt_c_api_cuda_plugin.so"}, nil, "", "", "xla:cuda", true, "go-xla CUDA plugin"},
		{"pip via glob", append([]string{"/dev/nvidia0"}, pip...), nil, "", "", "xla:" + site + "/jax_plugins/xla_cuda13/xla_cuda_plugin.so", true, "pip jax-cuda13-pjrt"},
		{"pip via python", []string{"/dev/nvidia0", "/srv/py/sp/jax_plugins/xla_cuda13/xla_cuda_plugin.so"}, nil, "/srv/py/sp", "", "xla:/srv/py/sp/jax_plugins/xla_cuda13/xla_cuda_plugin.so", true, "pip"},
		{"gpu without plugin, auto", []string{"/dev/nvidia0"}, nil, "", "", "go", false, "no CUDA PJRT plugin found"},
		{"gpu without plugin, asked", []string{"/dev/nvidia0"}, nil, "", "cuda", "error", false, ""},
		{"asked gpu, none", nil, nil, "", "gpu", "error", false, ""},
		{"raw config", nil, nil, "", "xla:/x/p.so", "xla:/x/p.so", false, "as asked"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			touch(t, root, c.files...)
			got, err := Discover(fakeSystem(root, c.env, c.python), c.requested)
			if c.want == "error" {
				if err == nil {
					t.Fatalf("got %+v, want an error (never a silent CPU fallback)", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Config != c.want || got.GPU != c.gpu || !strings.Contains(got.Reason, c.reason) {
				t.Fatalf("got %+v, want config %q gpu %v reason containing %q", got, c.want, c.gpu, c.reason)
			}
			if c.name == "pip via glob" && (!strings.Contains(got.Env["LD_LIBRARY_PATH"], site+"/nvidia/cublas/lib") || !strings.Contains(got.Env["PATH"], site+"/nvidia/cu13/bin") || got.Env["XLA_FLAGS"] != "--xla_gpu_cuda_data_dir="+site+"/nvidia/cu13") {
				t.Errorf("env %v lacks the CUDA library, ptxas or libdevice folders", got.Env)
			}
		})
	}
}

// TestHostDiscoveryRunsHere runs the real search on this machine (with
// GOMLX_BACKEND unset). Without /dev/nvidia* the answer is exactly the CPU;
// with a GPU it is a CUDA plugin that exists and that the reason names, or
// the CPU with the reason that no plugin was found.
func TestHostDiscoveryRunsHere(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "")
	h := Host()
	c, err := Discover(h, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("GPU %v, choice %+v", h.HasNVIDIAGPU(), c)
	if !h.HasNVIDIAGPU() {
		want := Choice{Config: "go", Reason: "no NVIDIA GPU (/dev/nvidia*): pure-Go CPU backend"}
		if !reflect.DeepEqual(c, want) {
			t.Errorf("no GPU here, but chose %+v, want %+v", c, want)
		}
		return
	}
	if !c.GPU {
		if c.Config != "go" || c.Env != nil ||
			!strings.HasPrefix(c.Reason, "NVIDIA GPU found but no CUDA PJRT plugin found") ||
			!strings.HasSuffix(c.Reason, "; training on the CPU instead") {
			t.Errorf("GPU here, no plugin: want the CPU with the reason, got %+v", c)
		}
		return
	}
	var plugin string
	switch {
	case c.Config == "xla:cuda": // go-xla's install location
		plugin = strings.TrimPrefix(c.Reason, "go-xla CUDA plugin ")
		if plugin == c.Reason || filepath.Base(plugin) != "pjrt_c_api_cuda_plugin.so" {
			t.Errorf("reason %q does not name the go-xla plugin", c.Reason)
		}
	case strings.HasPrefix(c.Config, "xla:/"): // pip's jax-cuda*-pjrt
		plugin = strings.TrimPrefix(c.Config, "xla:")
		if !strings.HasPrefix(c.Reason, "pip jax-cuda") || !strings.Contains(c.Reason, " plugin "+plugin+" ") {
			t.Errorf("reason %q does not name the plugin %s", c.Reason, plugin)
		}
	default:
		t.Fatalf("GPU choice with config %q, want xla:cuda or xla:/abs/plugin.so", c.Config)
	}
	if fi, err := os.Stat(plugin); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("chosen plugin %q: %v", plugin, err)
	}
}
