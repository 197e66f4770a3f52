// Command app is pawnet's browser dashboard: a Vugu (Go → WebAssembly) page
// that follows a training run over the /ws WebSocket (run header, charts,
// confusion matrix, misclassified photos) and classifies dropped photos in
// a Web Worker (wasm/worker) with the exported weights. Build it with
// `go tool mage wasm`, which writes static/app.wasm.
//
// The *.vugu templates compile to the committed *_gen.go files; after
// editing one, run `go generate ./wasm/app` (or `go tool mage generate`).
package main

//go:generate go tool vugugen -skip-go-mod -skip-main
//go:generate gofmt -w .
