package workflow

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/magefile/mage/sh"

	"github.com/pawnet/pawnet/internal/doccheck"
	"github.com/pawnet/pawnet/internal/wasmbuild"
)

// Lint checks the documentation (internal/doccheck: README.md's length,
// every relative link, and that its headline figures are in the generated
// docs/benchmarks.md), gofmt, that go.mod and go.sum are tidy (go mod tidy
// -diff), go vet and staticcheck over every Go file (the host build, the
// magefile's with -tags mage, the CLI tests' with -tags pawnettest, and
// shared/ and wasm/ under js/wasm), that
// shared/ builds for js/wasm with the host's Go, and that the committed
// Vugu code is what go generate writes (GenCheck).
func Lint() error {
	fmt.Println("$ doccheck README.md docs/")
	if err := doccheck.Check("."); err != nil {
		return err
	}
	out, err := sh.Output("gofmt", "-l", ".")
	if err != nil {
		return err
	}
	if out != "" {
		return fmt.Errorf("gofmt would change:\n%s", out)
	}
	if err := run("go", "mod", "tidy", "-diff"); err != nil {
		return fmt.Errorf("go.mod or go.sum is not tidy (run go mod tidy): %w", err)
	}
	for _, args := range [][]string{
		{"vet", "./..."},
		{"tool", "staticcheck", "./..."},
		{"vet", "-tags", "mage", "."}, // magefile.go
		{"tool", "staticcheck", "-tags", "mage", "."},
		{"vet", "-tags", "pawnettest", "./cmd/pawnet"}, // the CLI tests' build
		{"tool", "staticcheck", "-tags", "pawnettest", "./cmd/pawnet"},
	} {
		if err := run("go", args...); err != nil {
			return err
		}
	}
	// The browser build: Go wasmbuild.Toolchain with GOEXPERIMENT=simd
	// (the wasm SIMD kernels). `go tool` would build staticcheck itself for
	// js/wasm: run the host binary that toolchain cached (go tool -n prints
	// its path) on the packages the browser runs.
	host := map[string]string{"GOTOOLCHAIN": wasmbuild.Toolchain}
	staticcheck, err := sh.OutputWith(host, "go", "tool", "-n", "staticcheck")
	if err != nil {
		return err
	}
	fmt.Printf("$ GOOS=js GOARCH=wasm GOTOOLCHAIN=%s GOEXPERIMENT=simd staticcheck ./shared/... ./wasm/...\n", wasmbuild.Toolchain)
	if err := sh.RunWithV(wasmEnv(), staticcheck, "./shared/...", "./wasm/..."); err != nil {
		return err
	}
	fmt.Printf("$ GOOS=js GOARCH=wasm GOTOOLCHAIN=%s GOEXPERIMENT=simd go vet ./shared/... ./wasm/...\n", wasmbuild.Toolchain)
	if err := sh.RunWithV(wasmEnv(), "go", "vet", "./shared/...", "./wasm/..."); err != nil {
		return err
	}
	// The portable build: shared/ with the host's Go and no experiment
	// (the scalar kernels) must build for js/wasm too.
	fmt.Println("$ GOOS=js GOARCH=wasm go build ./shared/...")
	if err := sh.RunWithV(map[string]string{"GOOS": "js", "GOARCH": "wasm", "GOEXPERIMENT": ""}, "go", "build", "./shared/..."); err != nil {
		return err
	}
	return GenCheck()
}

// GenCheck regenerates the Vugu code and fails if that changed any
// *_gen.go file: they are committed and must match their .vugu templates
// (on a clean checkout this is `go generate ./... && git diff --exit-code`
// on the generated code; uncommitted hand edits elsewhere do not trip it).
func GenCheck() error {
	before, err := genFiles("wasm")
	if err != nil {
		return err
	}
	if err := Generate(); err != nil {
		return err
	}
	after, err := genFiles("wasm")
	if err != nil {
		return err
	}
	if stale := changed(before, after); len(stale) > 0 {
		return fmt.Errorf("generated code was out of date (now regenerated; review and commit): %s", strings.Join(stale, ", "))
	}
	fmt.Println("generated code is up to date")
	return nil
}

// changed lists, sorted, the paths whose contents differ between before
// and after, or that only one of them holds.
func changed(before, after map[string]string) []string {
	var stale []string
	for path, data := range after {
		if old, ok := before[path]; !ok || old != data {
			stale = append(stale, path)
		}
	}
	for path := range before {
		if _, ok := after[path]; !ok {
			stale = append(stale, path)
		}
	}
	sort.Strings(stale)
	return stale
}

// genFiles reads every *_gen.go file under dir.
func genFiles(dir string) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_gen.go") {
			return err
		}
		data, err := os.ReadFile(path)
		files[path] = string(data)
		return err
	})
	return files, err
}

// Generate runs go generate ./... (vugugen for the dashboard's templates).
func Generate() error {
	return run("go", "generate", "./...")
}
