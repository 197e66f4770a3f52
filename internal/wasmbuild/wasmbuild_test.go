package wasmbuild

import (
	"os"
	"testing"

	"golang.org/x/mod/modfile"
)

// TestToolchainIsGoMod checks that the wasm builds use the Go release
// go.mod names for every build, so native and wasm code compile alike.
func TestToolchainIsGoMod(t *testing.T) {
	data, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Toolchain == nil {
		t.Fatal("go.mod has no toolchain line")
	}
	if f.Toolchain.Name != Toolchain {
		t.Errorf("go.mod's toolchain is %s, wasmbuild.Toolchain %s", f.Toolchain.Name, Toolchain)
	}
}
