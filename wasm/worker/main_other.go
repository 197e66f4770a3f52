//go:build !(js && wasm)

// Command worker is the dashboard's inference Web Worker; it only does
// something when built with GOOS=js GOARCH=wasm (go tool mage wasm).
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "worker: build with GOOS=js GOARCH=wasm (go tool mage wasm)")
	os.Exit(2)
}
