//go:build js && wasm

package main

import (
	"log"
	"time"

	"github.com/vugu/vugu"
	"github.com/vugu/vugu/domrender"
	"github.com/vugu/vugu/js"
)

// frame is the shortest time between two renders: bursts of messages (the
// history of a long run) are drawn once per frame, not once per message.
const frame = 16 * time.Millisecond

func main() {
	renderer, err := domrender.New("#vugu_mount_point")
	if err != nil {
		log.Fatal(err)
	}
	defer renderer.Release()
	js.Global().Call("pawnetSkipUnchangedAttrs") // index.html
	ee := renderer.EventEnv()
	buildEnv, err := vugu.NewBuildEnv(ee)
	if err != nil {
		log.Fatal(err)
	}
	root := NewRoot(js.Global().Get("location").Get("search").String())
	root.Start(ee)
	stats := newRenderStats()
	for ok := true; ok; ok = renderer.EventWait() {
		t0 := stats.now()
		t := t0
		ee.RLock()
		br := buildEnv.RunBuild(root)
		ee.RUnlock()
		t = stats.note("build", t)
		if err := renderer.Render(br); err != nil {
			log.Printf("render: %v", err)
		}
		t = stats.note("render", t)
		ee.RLock()
		root.Rendered()
		ee.RUnlock()
		stats.note("rendered", t)
		stats.count()
		// Rest at least as long as the render took, so that rendering
		// (which grows with the page) never takes more than half of the
		// main thread, e.g. while the classifier's results stream in.
		time.Sleep(max(frame, time.Duration((stats.now()-t0)*float64(time.Millisecond))))
	}
}
