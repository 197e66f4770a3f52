package model

import (
	"fmt"
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
// compiled in without the noxla build tag). An empty name is "go". The
// name is used as given: choosing it (from flags, $GOMLX_BACKEND or the
// plugins found) is trainer/device's job, done once per process.
//
// Unknown or not compiled-in backends return an error instead of GoMLX's
// panic.
func Backend(name string) (compute.Backend, error) {
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
