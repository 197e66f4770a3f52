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

// busyFrame is the shortest time between two renders while the classifier
// has photos queued or running, or the Teach panel's photos are read or
// its head is taught.
const busyFrame = 100 * time.Millisecond

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
		busy := root.Classifier.Busy() > 0 || root.Teacher.Training || root.Teacher.Pending() > 0
		ee.RUnlock()
		stats.note("rendered", t)
		stats.count()
		// Rest at least as long as the render took, so that rendering
		// (which grows with the page) never takes more than half of the
		// main thread; and while photos are being classified, at least
		// busyFrame, so that the page leaves the CPU to the classifier
		// workers (their results, and the fit's progress, are drawn ten
		// times a second).
		pause := max(frame, time.Duration((stats.now()-t0)*float64(time.Millisecond)))
		if busy {
			pause = max(pause, busyFrame)
		}
		time.Sleep(pause)
	}
}
