package workflow

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"

	"github.com/pawnet/pawnet/internal/wasmbuild"
	"github.com/pawnet/pawnet/trainer/fsutil"
)

// wasmEnv is wasmbuild's environment for the browser build, as the
// overrides sh.RunWith takes.
func wasmEnv() map[string]string {
	return map[string]string{"GOOS": "js", "GOARCH": "wasm", "GOTOOLCHAIN": wasmbuild.Toolchain, "GOEXPERIMENT": "simd"}
}

// Wasm builds the browser dashboard into static/: app.wasm (wasm/app, the
// Vugu page), worker.wasm (wasm/worker, the classifier's Web Worker), and
// wasm_exec.js, all with Go wasmbuild.Toolchain (fetched by the go command
// on first use) and GOEXPERIMENT=simd, for the wasm SIMD kernels. All
// three are ignored by git.
func Wasm() error {
	return wasmbuild.Build(".", "static", os.Stdout)
}

// lintThenWasm lints, then builds the wasm: not in parallel, since Lint
// rewrites the generated code that the wasm build compiles.
func lintThenWasm() {
	mg.SerialDeps(Lint, Wasm)
}

// sampleEnv is env (goEnv, or wasmEnv) with PAWNET_SAMPLE_DIR naming
// the tests' copy of the sample (TestSample).
func sampleEnv(env map[string]string) (map[string]string, error) {
	abs, err := filepath.Abs(TestData)
	if err != nil {
		return nil, err
	}
	env["PAWNET_SAMPLE_DIR"] = abs
	return env, nil
}

// Test runs the linters and the whole test suite on the real sample data,
// including the browser tests (internal/browsertest, headless Chromium),
// then WasmTest.
func Test() error {
	mg.Deps(lintThenWasm, TestSample)
	e, err := sampleEnv(goEnv())
	if err != nil {
		return err
	}
	fmt.Println("$ go test -count=1 -timeout 25m ./...")
	if err := sh.RunWithV(e, "go", "test", "-count=1", "-timeout", "25m", "./..."); err != nil {
		return err
	}
	return WasmTest()
}

// WasmTest runs the tests of shared/ (-short) compiled as the browser's
// worker is, for js/wasm with Go wasmbuild.Toolchain and GOEXPERIMENT=simd,
// under node (Go's go_js_wasm_exec): among them the check that the wasm
// SIMD kernels agree bit for bit with the scalar ones.
func WasmTest() error {
	goroot, err := wasmbuild.GOROOT(".")
	if err != nil {
		return err
	}
	args := []string{"test", "-count=1", "-short", "-exec=" + filepath.Join(goroot, "lib", "wasm", "go_js_wasm_exec"), "./shared/..."}
	fmt.Printf("$ GOOS=js GOARCH=wasm GOTOOLCHAIN=%s GOEXPERIMENT=simd go %s\n", wasmbuild.Toolchain, strings.Join(args, " "))
	e, err := sampleEnv(wasmEnv())
	if err != nil {
		return err
	}
	return sh.RunWithV(e, "go", args...)
}

// Screenshot runs the browser test that follows a live training run
// (TestDashboardLive, headless Chromium) and copies its screenshot of the
// page mid-run to docs/dashboard.png, the README's picture.
func Screenshot() error {
	mg.Deps(TestSample, Wasm)
	shots, err := os.MkdirTemp("", "pawnet-shots-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(shots)
	e, err := sampleEnv(goEnv())
	if err != nil {
		return err
	}
	e["PAWNET_ARTIFACTS"] = shots
	fmt.Println("$ go test -count=1 -run TestDashboardLive/live$ ./internal/browsertest")
	if err := sh.RunWithV(e, "go", "test", "-count=1", "-run", "TestDashboardLive/live$", "./internal/browsertest"); err != nil {
		return err
	}
	png, err := os.ReadFile(filepath.Join(shots, "dashboard-live.png"))
	if err != nil {
		return fmt.Errorf("no screenshot (were the browser tests skipped? they need Debian's chromium): %w", err)
	}
	return fsutil.WriteFileAtomic("docs/dashboard.png", png)
}
