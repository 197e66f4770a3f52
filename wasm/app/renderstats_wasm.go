//go:build js && wasm

package main

import "github.com/vugu/vugu/js"

// renderStats records in window.pawnetRenderStats the longest time, in
// ms, the render loop spent building the tree (build), writing it to the
// DOM (render) and in Root.Rendered (rendered), and the number of renders
// (n). A test or benchmark resets a field by setting it to 0.
type renderStats struct {
	perf, obj js.Value
}

// newRenderStats creates window.pawnetRenderStats with zeros.
func newRenderStats() *renderStats {
	s := &renderStats{perf: js.Global().Get("performance"), obj: js.Global().Get("Object").New()}
	for _, k := range []string{"build", "render", "rendered", "n"} {
		s.obj.Set(k, 0)
	}
	setProp(js.Global(), "pawnetRenderStats", s.obj)
	return s
}

// now is performance.now().
func (s *renderStats) now() float64 { return s.perf.Call("now").Float() }

// note raises field k to the time since t0 if that is longer, and returns
// the time now.
func (s *renderStats) note(k string, t0 float64) float64 {
	t := s.now()
	if d := t - t0; d > s.obj.Get(k).Float() {
		s.obj.Set(k, d)
	}
	return t
}

// count adds one render.
func (s *renderStats) count() { s.obj.Set("n", s.obj.Get("n").Float()+1) }
