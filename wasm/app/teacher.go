package main

import (
	"encoding/json"
	"log"
	"strings"

	"github.com/vugu/vugu/js"

	"github.com/pawnet/pawnet/wasm/dash/classifier"
	"github.com/pawnet/pawnet/wasm/dash/teach"
)

// teachSeed seeds the cross-validation's folds, as `pawnet teach`'s
// default -seed does, so that the CLI teaches the same head from the same
// photos.
const teachSeed = 1

// Teacher runs the Teach panel: it posts the photos dropped into its
// classes and its requests (train, switch heads, download, forget) to the
// classifier's worker (static/worker.js), and applies the worker's
// teaching replies to its teach.State. Its fields change only under the
// EventEnv lock.
type Teacher struct {
	*teach.State
	c *Classifier
}

// NewTeacher makes the panel's state; its photos' IDs start at the page's
// Date.now()·1000, above those of the photos an earlier visit kept.
func NewTeacher(c *Classifier) *Teacher {
	base := int64(1)
	if d := js.Global().Get("Date"); d.Truthy() {
		base = int64(d.Call("now").Float()) * 1000
	}
	return &Teacher{State: teach.New(base), c: c}
}

// post sends a message (marshalled to JSON, parsed on the JavaScript side)
// to the worker, starting it if needed; extra are properties that JSON
// cannot carry (File objects), set after.
func (t *Teacher) post(msg map[string]any, extra map[string]any) {
	t.c.Start()
	if !t.c.worker.Truthy() {
		return
	}
	url, run, version := t.c.weights()
	msg["version"], msg["run"], msg["weights"] = version, run, url
	data, err := json.Marshal(msg)
	if err != nil {
		log.Printf("pawnet: teach message: %v", err)
		return
	}
	obj := js.Global().Get("JSON").Call("parse", string(data))
	for k, v := range extra {
		setProp(obj, k, v)
	}
	t.c.worker.Call("postMessage", obj)
}

// AddFiles lists the files of a FileList dropped into class i and posts
// them to the worker, which computes their features (and makes their
// thumbnails' URLs). It runs under the EventEnv lock.
func (t *Teacher) AddFiles(i int, files js.Value) {
	if !files.Truthy() || files.Length() == 0 || t.Training {
		return
	}
	jobs := js.Global().Get("Array").New()
	var ids []int64
	for k := 0; k < files.Length(); k++ {
		f := files.Index(k)
		p := t.Add(i, f.Get("name").String(), int64(f.Get("size").Float()))
		if p == nil || p.State != teach.PhotoQueued {
			continue
		}
		job := js.Global().Get("Object").New()
		setProp(job, "id", float64(p.ID))
		setProp(job, "file", f)
		jobs.Call("push", job)
		ids = append(ids, p.ID)
	}
	if len(ids) > 0 {
		t.post(map[string]any{"type": "features", "thumbs": true}, map[string]any{"jobs": jobs})
	}
	t.sync()
}

// sync sends the classes and usable photos to the worker when they
// changed (it keeps them across reloads), once the worker said what it
// had kept.
func (t *Teacher) sync() {
	if !t.Restored || !t.Changed || !t.c.worker.Truthy() {
		return
	}
	classes, photos, removed := t.Set()
	t.post(map[string]any{"type": "teachSet", "classes": classes, "photos": photos, "removed": removed}, nil)
}

// Train asks the worker to teach a head on the usable photos; when
// something is missing, the panel says what instead.
func (t *Teacher) Train() {
	classes, photos, ok := t.StartTraining()
	if !ok {
		return
	}
	t.sync()
	t.post(map[string]any{"type": "teach", "seed": teachSeed, "classes": classes, "photos": photos}, nil)
}

// UseHead has the worker classify with the taught head (on) or the run's
// own; the panel follows once the worker says so (teachHead).
func (t *Teacher) UseHead(on bool) { t.post(map[string]any{"type": "useHead", "on": on}, nil) }

// Export asks the worker for the taught weights file, which the page
// then downloads (exported).
func (t *Teacher) Export() {
	if t.StartExport() {
		t.post(map[string]any{"type": "exportTaught"}, nil)
	}
}

// Forget deletes the taught head, the classes and the photos' features,
// here and in the browser's storage.
func (t *Teacher) Forget() {
	for _, p := range t.State.Forget() {
		t.release(p)
	}
	t.post(map[string]any{"type": "forgetTeach"}, nil)
}

// RemovePhoto removes a photo from its class.
func (t *Teacher) RemovePhoto(id int64) {
	if p := t.State.RemovePhoto(id); p != nil {
		t.release(p)
		t.sync()
	}
}

// RemoveClass removes class i and its photos.
func (t *Teacher) RemoveClass(i int) {
	for _, p := range t.State.RemoveClass(i) {
		t.release(p)
	}
	t.sync()
}

// release revokes a photo's thumbnail URL.
func (t *Teacher) release(p *teach.Photo) {
	if p.URL != "" {
		js.Global().Get("URL").Call("revokeObjectURL", p.URL)
		p.URL = ""
	}
}

// apply folds a teaching reply into the panel (under the lock), sends the
// classes when they changed, and reports whether the head that classifies
// changed (then the classifier panel's photos are classified again).
func (t *Teacher) apply(r teach.Reply) (headChanged bool) {
	before := t.headKey()
	t.Apply(r)
	for _, u := range t.Unused {
		js.Global().Get("URL").Call("revokeObjectURL", u)
	}
	t.Unused = nil
	t.sync()
	return r.Type == "teachHead" && t.headKey() != before
}

// headKey sums up which head classifies.
func (t *Teacher) headKey() string {
	return t.ActiveAttr() + "\x00" + strings.Join(t.HeadClasses, "\x00")
}

// exported handles the worker's "teachExport" message: the file's bytes
// become a download (an object URL, clicked as a link), or its error is
// shown.
func (t *Teacher) exported(msg js.Value) {
	if e := msg.Get("error"); e.Truthy() {
		t.ExportFailed(e.String())
		return
	}
	bytes := msg.Get("bytes")
	url := objectURL(bytes, "application/octet-stream")
	name := "taught.safetensors"
	if _, run, _ := t.c.weights(); run != "" {
		name = run + "-taught.safetensors"
	}
	if old := t.Exported(url, name, int64(bytes.Get("length").Float())); old != "" {
		js.Global().Get("URL").Call("revokeObjectURL", old)
	}
	clickDownload(url, name)
}

// reclassify has the classifier panel's finished photos classified again,
// by the head that classifies now.
func (c *Classifier) reclassify() {
	for _, it := range c.Items {
		if it.State == classifier.ItemDone {
			c.releaseHeat(it)
		}
	}
	items := c.Requeue()
	if len(items) == 0 {
		return
	}
	var again []*classifier.Item
	for _, it := range items {
		if _, ok := c.files[it.ID]; !ok {
			it.State, it.Err = classifier.ItemError, "The photo is no longer at hand: drop it again."
			continue
		}
		again = append(again, it)
	}
	if len(again) == 0 {
		return
	}
	jobs := js.Global().Get("Array").New()
	for _, it := range again {
		job := js.Global().Get("Object").New()
		setProp(job, "id", it.ID)
		setProp(job, "file", c.files[it.ID])
		setProp(job, "tta", it.TTA)
		jobs.Call("push", job)
	}
	c.postJobs(jobs, false)
}
