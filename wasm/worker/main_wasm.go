//go:build js && wasm

// Command worker is the classifier of the dashboard, a small Go WASM build
// that runs in a Web Worker (static/worker.js) so inference never blocks
// the page. It exposes two synchronous functions on the worker's global
// object, pawnet.load(Uint8Array) and pawnet.classify(Uint8Array); the
// JavaScript side owns the message protocol and the weights download.
// Both wrap shared/classify, so the browser's answers equal `pawnet predict`.
package main

import (
	"fmt"
	"syscall/js"
	"time"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/classify"
)

func main() {
	var c *classify.Classifier
	api := js.Global().Get("Object").New()
	api.Set("load", js.FuncOf(func(_ js.Value, args []js.Value) (res any) {
		defer recoverTo(&res)
		start := time.Now()
		data := bytesOf(args[0])
		m, err := alexnet.Load(data)
		if err != nil {
			return errResult(err)
		}
		cl, err := classify.New(m)
		if err != nil {
			return errResult(err)
		}
		c = cl
		cfg, meta := m.Config(), m.Metadata()
		classes := make([]any, len(cl.Classes))
		for i, n := range cl.Classes {
			classes[i] = n
		}
		return map[string]any{
			"config": cfg.Name, "inputSize": cfg.InputSize, "params": cfg.NumParams(),
			"classes": classes, "bestEpoch": meta.BestEpoch, "valAcc": meta.ValAcc,
			"variant": string(meta.Variant), "kernels": alexnet.Kernels(),
			"bytes": len(data), "ms": ms(start),
		}
	}))
	api.Set("classify", js.FuncOf(func(_ js.Value, args []js.Value) (res any) {
		defer recoverTo(&res)
		if c == nil {
			return errResult(fmt.Errorf("no weights loaded"))
		}
		start := time.Now()
		tta := len(args) > 1 && args[1].Truthy() // optional: average with the mirror
		p, err := c.Classify(bytesOf(args[0]), tta)
		if err != nil {
			return errResult(err)
		}
		probs := make([]any, len(p.Probs))
		for i, v := range p.Probs {
			probs[i] = float64(v)
		}
		return map[string]any{"probs": probs, "best": p.Best, "label": p.Label, "ms": ms(start), "tta": tta,
			"resample": p.Resample.String(), "temperature": c.Temperature}
	}))
	js.Global().Set("pawnet", api)
	js.Global().Call("pawnetReady")
	select {}
}

func bytesOf(v js.Value) []byte {
	b := make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(b, v)
	return b
}

func ms(start time.Time) float64 { return float64(time.Since(start).Microseconds()) / 1000 }

func errResult(err error) map[string]any { return map[string]any{"error": err.Error()} }

// recoverTo turns a panic into an error result, so one bad photo cannot
// take the worker down.
func recoverTo(res *any) {
	if p := recover(); p != nil {
		*res = errResult(fmt.Errorf("internal error: %v", p))
	}
}
