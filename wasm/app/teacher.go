package main

import (
	"strings"

	"github.com/vugu/vugu/js"

	"github.com/pawnet/pawnet/wasm/dash/teach"
	"github.com/pawnet/pawnet/wasm/protocol"
)

// teachSeed seeds the cross-validation's folds, as `pawnet teach`'s
// default -seed does, so that the CLI teaches the same head from the same
// photos.
const teachSeed = 1

// Teacher is the Teach panel: it posts the photos dropped into its
// classes and its requests (train, switch heads, download, forget) to the
// pool (static/worker.js, shared with the classifier panel) in
// wasm/protocol's messages, and applies the pool's teaching replies to
// its teach.State. Its fields change only under the
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

// post sends a request to the pool (Classifier.post), starting it if
// needed.
func (t *Teacher) post(msg any, files []js.Value) {
	t.c.Start()
	if t.c.worker.Truthy() {
		t.c.post(msg, files)
	}
}

// AddFiles lists the files of a FileList dropped into class i and posts
// them to the worker, which computes their features (and makes their
// thumbnails' URLs). It runs under the EventEnv lock.
func (t *Teacher) AddFiles(i int, files js.Value) {
	if !files.Truthy() || files.Length() == 0 || t.Training {
		return
	}
	var jobs []protocol.Job
	var photos []js.Value
	for k := 0; k < files.Length(); k++ {
		f := files.Index(k)
		p := t.Add(i, f.Get("name").String(), int64(f.Get("size").Float()))
		if p == nil || p.State != teach.PhotoQueued {
			continue
		}
		jobs = append(jobs, protocol.Job{ID: p.ID})
		photos = append(photos, f)
	}
	if len(jobs) > 0 {
		t.post(protocol.Features{Type: protocol.TypeFeatures, Jobs: jobs, Thumbs: true, WeightsRef: t.c.weightsRef()}, photos)
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
	t.post(protocol.TeachSet{Type: protocol.TypeTeachSet, Classes: classes, Photos: photos, Removed: removed, WeightsRef: t.c.weightsRef()}, nil)
}

// Train asks the worker to teach a head on the usable photos; when
// something is missing, the panel says what instead.
func (t *Teacher) Train() {
	classes, photos, ok := t.StartTraining()
	if !ok {
		return
	}
	t.sync()
	t.post(protocol.Teach{Type: protocol.TypeTeach, Seed: teachSeed, Classes: classes, Photos: photos, WeightsRef: t.c.weightsRef()}, nil)
}

// UseHead has the worker classify with the taught head (on) or the run's
// own; the panel follows once the worker says so (teachHead).
func (t *Teacher) UseHead(on bool) {
	t.post(protocol.UseHead{Type: protocol.TypeUseHead, On: on, WeightsRef: t.c.weightsRef()}, nil)
}

// Export asks the worker for the taught weights file, which the page
// then downloads (exported).
func (t *Teacher) Export() {
	if t.StartExport() {
		t.post(protocol.ExportTaught{Type: protocol.TypeExportTaught, WeightsRef: t.c.weightsRef()}, nil)
	}
}

// Forget deletes the taught head, the classes and the photos' features,
// here and in the browser's storage.
func (t *Teacher) Forget() {
	for _, p := range t.State.Forget() {
		t.release(p)
	}
	t.post(protocol.ForgetTeach{Type: protocol.TypeForgetTeach, WeightsRef: t.c.weightsRef()}, nil)
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
func (t *Teacher) apply(r protocol.TeachReply) (headChanged bool) {
	before := t.headKey()
	t.Apply(r)
	for _, u := range t.Unused {
		js.Global().Get("URL").Call("revokeObjectURL", u)
	}
	t.Unused = nil
	t.sync()
	return r.Type == protocol.TypeTeachHead && t.headKey() != before
}

// headKey sums up which head classifies.
func (t *Teacher) headKey() string {
	return t.ActiveAttr() + "\x00" + strings.Join(t.HeadClasses, "\x00")
}

// exported handles the pool's "teachExport" message: the file's bytes
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
