// Package wasmbuild builds the dashboard's WebAssembly, the one way both
// `go tool mage wasm` and the browser tests do it: wasm/app (the Vugu page)
// and wasm/worker (the inference Web Worker) for GOOS=js GOARCH=wasm with
// Go Toolchain and GOEXPERIMENT=simd, plus the wasm_exec.js of that
// toolchain.
//
// Go 1.26 has no wasm SIMD; Go 1.27 compiles simd/archsimd.Float32x4 to
// wasm's 128-bit SIMD, which makes the worker's matrix kernels (see
// shared/alexnet) about 4–5× faster. Toolchain is go.mod's toolchain
// line too, so the native and the wasm builds use one Go release; naming
// it here keeps the wasm build on it even when GOTOOLCHAIN is set to
// something else.
package wasmbuild

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pawnet/pawnet/trainer/fsutil"
)

// Toolchain is the Go release that builds the wasm (GOTOOLCHAIN): go.mod's
// toolchain line (TestToolchainIsGoMod).
const Toolchain = "go1.27.3"

// Targets are the wasm binaries: output file name and package, relative to
// the module root.
var Targets = [][2]string{{"app.wasm", "./wasm/app"}, {"worker.wasm", "./wasm/worker"}}

// Env is the environment of the wasm go commands: the current one with
// GOOS, GOARCH, GOTOOLCHAIN and GOEXPERIMENT replaced.
func Env() []string {
	env := []string{"GOOS=js", "GOARCH=wasm", "GOTOOLCHAIN=" + Toolchain, "GOEXPERIMENT=simd"}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "GOOS", "GOARCH", "GOTOOLCHAIN", "GOEXPERIMENT":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// Command returns a go command with args, run in the module root with Env.
func Command(root string, args ...string) *exec.Cmd {
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = Env()
	return cmd
}

// GOROOT returns the root of Toolchain (downloading it on first use).
func GOROOT(root string) (string, error) {
	out, err := Command(root, "env", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("GOTOOLCHAIN=%s go env GOROOT: %w", Toolchain, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Build compiles Targets from the module at root into dir, with -trimpath
// and stripped symbols, copies Toolchain's lib/wasm/wasm_exec.js there,
// and writes the compressed siblings of dir's static files (Compress, at
// BrotliLevel). It prints each command to log.
func Build(root, dir string, log io.Writer) error {
	return BuildLevel(root, dir, BrotliLevel, log)
}

// BuildLevel is Build with the brotli quality level (0–11) of the
// compressed siblings: the browser tests build at a faster level than
// the release's.
func BuildLevel(root, dir string, level int, log io.Writer) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for _, t := range Targets {
		out := filepath.Join(abs, t[0])
		args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", out, t[1]}
		fmt.Fprintf(log, "$ GOOS=js GOARCH=wasm GOTOOLCHAIN=%s GOEXPERIMENT=simd go %s\n", Toolchain, strings.Join(args, " "))
		if msg, err := Command(root, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", t[1], err, msg)
		}
	}
	goroot, err := GOROOT(root)
	if err != nil {
		return err
	}
	src := filepath.Join(goroot, "lib", "wasm", "wasm_exec.js")
	fmt.Fprintf(log, "$ cp %s %s\n", src, filepath.Join(dir, "wasm_exec.js"))
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(abs, "wasm_exec.js"), data); err != nil {
		return err
	}
	fmt.Fprintf(log, "compressing the static files of %s (gzip -9, brotli %d)\n", dir, level)
	return Compress(abs, level, log)
}
