package model

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"

	// Registers the pure-Go backend and, unless built with -tags noxla, XLA.
	_ "github.com/gomlx/gomlx/backends/default"
)

// GoBackendName is the name of GoMLX's pure-Go backend ("go").
const GoBackendName = gobackend.BackendName

// Backend returns a GoMLX backend by configuration name, in GOMLX_BACKEND
// syntax: "go" is the pure-Go backend; "xla", "xla:cuda", "xla:cpu" or
// "xla:/abs/path/pjrt_c_api_cuda_plugin.so[,options]" select XLA (only
// compiled in without the noxla build tag). An empty name takes
// $GOMLX_BACKEND, and falls back to "go" when that is unset, so a CPU-only
// machine never tries to find (or auto-install) an XLA plugin unless asked.
//
// Unknown or not compiled-in backends return an error instead of GoMLX's
// panic.
func Backend(name string) (compute.Backend, error) {
	if name == "" {
		name = os.Getenv(compute.ConfigEnvVar)
	}
	if name == "" {
		name = GoBackendName
	}
	backendName, _, _ := strings.Cut(name, ":")
	if !slices.Contains(compute.List(), backendName) {
		return nil, fmt.Errorf("model: backend %q is not compiled in (have %q; XLA needs cgo and no noxla tag)",
			backendName, compute.List())
	}
	b, err := compute.NewWithConfig(name)
	if err != nil {
		return nil, fmt.Errorf("model: backend %q: %w", name, err)
	}
	return b, nil
}
