package main

import (
	"encoding/json"
	"log"
	"sync"
	"time"

	"github.com/vugu/vugu"
	"github.com/vugu/vugu/js"

	"github.com/pawnet/pawnet/wasm/dash/classifier"
	"github.com/pawnet/pawnet/wasm/protocol"
)

// Classifier is the classifier panel: it sends the dropped photos to the
// pool (static/worker.js, which runs them on its classifiers: infer.js
// with worker.wasm) in wasm/protocol's messages and keeps their results in
// its classifier.State. Its fields change only under the EventEnv lock.
type Classifier struct {
	classifier.State

	ee     vugu.EventEnv
	worker js.Value
	// weights says where the weights to use are (a URL relative to the
	// page), the run's id ("" while unknown; with the version it keys the
	// weights the worker caches) and the latest export the page knows of.
	weights func() (url, run string, version int64)
	// events carries the worker's replies, a batch at a time, to loop; an
	// empty batch has loop write the list changes it held back.
	events chan replies
	// teacher is the Teach panel, which shares the worker: its replies go
	// to it.
	teacher *Teacher
	// files holds each listed photo's File, by item ID, so that it can be
	// classified again when the head changes.
	files map[int]js.Value
	// csvURL is the object URL of the last results CSV downloaded.
	csvURL string

	// The prediction list PopulateList writes: its element and an li per
	// item ID.
	list js.Value
	rows map[int]*predRow
	// heat holds each result's heatmap PNGs (by item ID) until showHeat
	// makes their object URLs.
	heatMu sync.Mutex
	heat   map[int][]js.Value
}

// replies is one batch of the worker's messages: the classifier panel's,
// the Teach panel's, and a taught weights file ("teachExport", never
// batched).
type replies struct {
	cl     []protocol.Reply
	teach  []protocol.TeachReply
	export js.Value
}

// Init sets the classifier up without its worker. weights reports which
// run's weights to use and the export of them the page knows of, so the
// worker reloads them when the run changes or a newer export appears.
func (c *Classifier) Init(ee vugu.EventEnv, weights func() (url, run string, version int64)) {
	c.ee, c.weights, c.Weights = ee, weights, classifier.WeightsNone
}

// Start creates the worker, once (under the EventEnv lock). Adding a
// photo starts it too.
func (c *Classifier) Start() {
	if c.events != nil || !js.Global().Truthy() {
		return
	}
	c.events = make(chan replies, 256)
	go c.loop()
	// index.html starts the worker early, once it has compiled
	// worker.wasm, or at once when the browser holds cached weights; else
	// start it now, with index.html's pawnetNewWorker. The page's query (e.g.
	// ?workers=2, the pool's size) goes to the worker.
	c.worker = js.Global().Get("pawnetWorker")
	if !c.worker.Truthy() {
		c.worker = js.Global().Call("pawnetNewWorker")
	}
	// vugu/js's Value.Set does not convert vugu js values (Value, Func);
	// Call does, hence addEventListener and setProp.
	c.worker.Call("addEventListener", "message", js.FuncOf(func(_ js.Value, args []js.Value) any {
		data := args[0].Get("data")
		if data.Get("type").String() == protocol.TypeTeachExport {
			c.events <- replies{export: data}
			return nil
		}
		if rs, err := c.parse(data); err != nil {
			log.Printf("pawnet: skipping a worker message: %v", err)
		} else {
			c.events <- rs
		}
		return nil
	}))
	c.worker.Call("addEventListener", "error", js.FuncOf(func(_ js.Value, args []js.Value) any {
		c.events <- replies{cl: []protocol.Reply{{Type: protocol.TypeFatal, Message: "the classifier failed: " + args[0].Get("message").String()}}}
		return nil
	}))
	// A worker started early has already said it is ready: ask again.
	// And send the replies in batches.
	c.post(protocol.Hello{Type: protocol.TypeHello, Batch: true}, nil)
}

// post sends a request to the pool: msg (one of wasm/protocol's) as the
// object its JSON makes, with files[i], when given, as its jobs[i].file
// (a File: what JSON cannot carry).
func (c *Classifier) post(msg any, files []js.Value) {
	data, err := json.Marshal(msg)
	if err != nil {
		log.Printf("pawnet: a message to the worker: %v", err)
		return
	}
	obj := js.Global().Get("JSON").Call("parse", string(data))
	jobs := obj.Get("jobs")
	for i, f := range files {
		setProp(jobs.Index(i), "file", f)
	}
	c.worker.Call("postMessage", obj)
}

// weightsRef names the weights the page wants (Init's weights).
func (c *Classifier) weightsRef() protocol.WeightsRef {
	url, run, version := c.weights()
	return protocol.WeightsRef{Version: float64(version), Run: run, Weights: url}
}

// parse decodes a worker message: a batch (its JSON) or, before the
// worker got the page's hello, one message (never a result: the page says
// hello before it posts a photo). A result's heatmaps are PNGs
// (Uint8Arrays): they stay aside until they are shown (showHeat), as
// making their Blobs and object URLs costs a few ms each.
func (c *Classifier) parse(msg js.Value) (replies, error) {
	var raw []json.RawMessage
	if msg.Get("type").String() != protocol.TypeBatch {
		raw = []json.RawMessage{json.RawMessage(js.Global().Get("JSON").Call("stringify", msg).String())}
	} else if err := json.Unmarshal([]byte(msg.Get("json").String()), &raw); err != nil {
		return replies{}, err
	}
	var out replies
	for _, m := range raw {
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(m, &head); err != nil {
			return replies{}, err
		}
		if protocol.IsTeachReply(head.Type) {
			var r protocol.TeachReply
			if err := json.Unmarshal(m, &r); err != nil {
				return replies{}, err
			}
			out.teach = append(out.teach, r)
			continue
		}
		var r protocol.Reply
		if err := json.Unmarshal(m, &r); err != nil {
			return replies{}, err
		}
		out.cl = append(out.cl, r)
	}
	if msg.Get("type").String() != protocol.TypeBatch {
		return out, nil
	}
	heat := msg.Get("heat") // [id, heatmaps, id, heatmaps, …]
	for i := 0; i+1 < heat.Length(); i += 2 {
		id := heat.Index(i).Int()
		for j := range out.cl {
			if out.cl[j].Type == protocol.TypeResult && out.cl[j].ID == id {
				c.keepHeat(&out.cl[j], heat.Index(i+1))
			}
		}
	}
	return out, nil
}

// keepHeat keeps the result's heatmap PNGs (an array) aside.
func (c *Classifier) keepHeat(r *protocol.Reply, pngs js.Value) {
	heat := make([]js.Value, pngs.Length())
	for i := range heat {
		heat[i] = pngs.Index(i)
	}
	r.Heat = make([]string, len(heat)) // "" until showHeat
	c.heatMu.Lock()
	if c.heat == nil {
		c.heat = map[int][]js.Value{}
	}
	c.heat[r.ID] = heat
	c.heatMu.Unlock()
}

// setProp sets obj[key] = val; val may be a vugu js.Value.
func setProp(obj js.Value, key string, val any) {
	js.Global().Get("Reflect").Call("set", obj, key, val)
}

// loop applies the worker's replies in order, a batch at a time. A
// photo's thumbnail, start or result changes only its item, the count
// above the list and the TTA cost: loop writes those itself (updateRows,
// setTexts) instead of having the whole page rendered, which would compete
// with the classifier workers for the CPU; and while results stream in,
// at most every listFrame (each write costs the page a frame: style,
// layout, paint). Other replies render the page.
func (c *Classifier) loop() {
	var pending []int  // items changed and not written yet
	var last time.Time // the last write
	scheduled := false // a write is due: an empty batch will come
	for rs := range c.events {
		if rs.cl == nil && rs.teach == nil && !rs.export.Truthy() {
			scheduled = false
		}
		now := js.Global().Get("performance").Call("now").Float()
		c.ee.Lock()
		render := !c.list.Truthy()
		for _, r := range rs.cl {
			c.Apply(r, now)
			if r.Type == protocol.TypeQueued || r.Type == protocol.TypeStart || r.Type == protocol.TypeResult {
				pending = append(pending, classifier.IDs(r)...)
			} else {
				render = true
			}
		}
		// The Teach panel's replies after the results of the same batch:
		// a photo classified by the head before a change is classified
		// again.
		for _, r := range rs.teach {
			if c.teacher != nil && c.teacher.apply(r) {
				c.reclassify()
			}
			render = true
		}
		if rs.export.Truthy() && c.teacher != nil {
			c.teacher.exported(rs.export)
			render = true
		}
		for _, u := range c.Unused {
			js.Global().Get("URL").Call("revokeObjectURL", u)
		}
		c.Unused = nil
		switch since := time.Since(last); {
		case render:
			pending = pending[:0] // the render writes the list
			c.ee.UnlockRender()
		case len(pending) == 0:
			c.ee.UnlockOnly()
		case since < listFrame:
			c.ee.UnlockOnly()
			if !scheduled {
				scheduled = true
				time.AfterFunc(listFrame-since, func() { c.events <- replies{} })
			}
		default:
			c.updateRows(pending)
			c.setTexts()
			pending, last = pending[:0], time.Now()
			c.ee.UnlockOnly()
		}
	}
}

// listFrame is the shortest time between two writes of the prediction
// list by loop.
const listFrame = 100 * time.Millisecond

// setTexts writes the count above the list and the TTA cost, as the next
// render would.
func (c *Classifier) setTexts() {
	doc := js.Global().Get("document")
	for id, text := range map[string]string{"pred-count": c.CountText(), "pred-note": c.ListNote(), "tta-cost": c.TTACost()} {
		if el := doc.Call("getElementById", id); el.Truthy() && el.Get("textContent").String() != text {
			el.Set("textContent", text)
		}
	}
}

// AddFiles queues the files of a FileList (from a drop or the file picker).
// It must run under the EventEnv lock, i.e. in an event handler. The
// files go to the worker in one message; the worker makes their
// thumbnails' object URLs (off the page's thread) and sends them back in
// one "queued" reply.
func (c *Classifier) AddFiles(files js.Value) {
	if !files.Truthy() {
		return
	}
	c.Start()
	var jobs []protocol.Job
	var photos []js.Value
	for i := 0; i < files.Length(); i++ {
		f := files.Index(i)
		if it := c.add(f); it != nil {
			jobs = append(jobs, protocol.Job{ID: int64(it.ID), TTA: it.TTA})
			photos = append(photos, f)
		}
	}
	c.postJobs(jobs, photos, true)
}

// postJobs posts photos to classify (jobs, their files) to the pool;
// with thumbs, it makes their thumbnails' URLs.
func (c *Classifier) postJobs(jobs []protocol.Job, files []js.Value, thumbs bool) {
	if len(jobs) == 0 {
		return
	}
	c.post(protocol.Classify{Type: protocol.TypeClassify, Jobs: jobs, Thumbs: thumbs, WeightsRef: c.weightsRef()}, files)
}

// add lists the file and returns its item, or nil when it was refused.
func (c *Classifier) add(f js.Value) *classifier.Item {
	it, dropped := c.Add(f.Get("name").String(), int64(f.Get("size").Float()))
	for _, old := range dropped {
		c.release(old)
	}
	if it.State != classifier.ItemQueued {
		return nil
	}
	it.TTA = c.TTA
	if c.files == nil {
		c.files = map[int]js.Value{}
	}
	c.files[it.ID] = f
	return it
}

// release revokes the item's object URLs (its photo's and heatmaps') and
// drops its heatmaps.
func (c *Classifier) release(it *classifier.Item) {
	if it.URL != "" {
		js.Global().Get("URL").Call("revokeObjectURL", it.URL)
		it.URL = ""
	}
	delete(c.files, it.ID)
	c.releaseHeat(it)
}

// releaseHeat revokes the item's heatmaps' URLs and drops its heatmaps.
func (c *Classifier) releaseHeat(it *classifier.Item) {
	for _, u := range it.HeatURLs() {
		if u != "" {
			js.Global().Get("URL").Call("revokeObjectURL", u)
		}
	}
	it.Heat = nil
	c.heatMu.Lock()
	delete(c.heat, it.ID)
	c.heatMu.Unlock()
}

// showHeat gives the item's heatmaps their object URLs, before the page
// first shows them (under the EventEnv lock).
func (c *Classifier) showHeat(id int) {
	c.heatMu.Lock()
	pngs := c.heat[id]
	delete(c.heat, id)
	c.heatMu.Unlock()
	for _, it := range c.Items {
		if it.ID != id {
			continue
		}
		for i, png := range pngs {
			if i < len(it.Heat) && it.Heat[i] == "" {
				it.Heat[i] = objectURL(png, "image/png")
			}
		}
	}
}

// DownloadCSV downloads every result kept (classifier.State.CSV) as a
// CSV file: an object URL of its bytes, clicked as a link. The previous
// download's URL is released.
func (c *Classifier) DownloadCSV() {
	data := c.CSV()
	arr := js.Global().Get("Uint8Array").New(len(data))
	js.CopyBytesToJS(arr, data)
	url := objectURL(arr, "text/csv")
	if c.csvURL != "" {
		js.Global().Get("URL").Call("revokeObjectURL", c.csvURL)
	}
	c.csvURL = url
	clickDownload(url, c.CSVName())
}

// objectURL makes an object URL of bytes (a Uint8Array) as a Blob of
// type typ.
func objectURL(bytes js.Value, typ string) string {
	parts := js.Global().Get("Array").New()
	parts.Call("push", bytes)
	opts := js.Global().Get("Object").New()
	setProp(opts, "type", typ)
	return js.Global().Get("URL").Call("createObjectURL", js.Global().Get("Blob").New(parts, opts)).String()
}

// clickDownload has the browser save url as a file named name, as a
// clicked download link does.
func clickDownload(url, name string) {
	a := js.Global().Get("document").Call("createElement", "a")
	a.Call("setAttribute", "href", url)
	a.Call("setAttribute", "download", name)
	a.Call("click")
}

// Clear removes the finished results.
func (c *Classifier) Clear() {
	for _, it := range c.RemoveFinished() {
		c.release(it)
	}
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
	jobs := make([]protocol.Job, len(again))
	files := make([]js.Value, len(again))
	for i, it := range again {
		jobs[i], files[i] = protocol.Job{ID: int64(it.ID), TTA: it.TTA}, c.files[it.ID]
	}
	c.postJobs(jobs, files, false)
}
