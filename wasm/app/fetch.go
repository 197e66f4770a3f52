package main

import (
	"errors"

	"github.com/vugu/vugu/js"
)

// fetchText GETs url (relative to the page) with the browser's fetch and
// returns the body; an HTTP error status is an error. It blocks the
// calling goroutine, never the page. (net/http would do the same through
// fetch, at a cost of megabytes of wasm.)
func fetchText(url string) (string, error) {
	type result struct {
		text string
		err  error
	}
	done := make(chan result, 1)
	var onResp, onText, onErr js.Func
	onErr = js.FuncOf(func(_ js.Value, args []js.Value) any {
		msg := "fetch failed"
		if len(args) > 0 && args[0].Truthy() {
			msg = args[0].Call("toString").String()
		}
		done <- result{err: errors.New(msg)}
		return nil
	})
	onText = js.FuncOf(func(_ js.Value, args []js.Value) any {
		done <- result{text: args[0].String()}
		return nil
	})
	onResp = js.FuncOf(func(_ js.Value, args []js.Value) any {
		resp := args[0]
		if !resp.Get("ok").Bool() {
			done <- result{err: errors.New("HTTP " + resp.Get("status").Call("toString").String())}
			return nil
		}
		resp.Call("text").Call("then", onText, onErr)
		return nil
	})
	defer onResp.Release()
	defer onText.Release()
	defer onErr.Release()
	opts := js.Global().Get("Object").New()
	setProp(opts, "cache", "no-store")
	js.Global().Call("fetch", url, opts).Call("then", onResp, onErr)
	r := <-done
	return r.text, r.err
}
