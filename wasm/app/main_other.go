//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "app: build with GOOS=js GOARCH=wasm (go tool mage wasm)")
	os.Exit(2)
}
