package main

import (
	"strconv"

	"github.com/vugu/vugu"
	"github.com/vugu/vugu/js"

	"github.com/pawnet/pawnet/wasm/dash"
)

// MaxFileBytes is the largest photo the panel accepts (32 MB).
const MaxFileBytes = 32_000_000

// maxItems bounds the results kept on the page (oldest dropped first).
const maxItems = 24

// Item states.
const (
	ItemQueued  = "queued"
	ItemRunning = "running"
	ItemDone    = "done"
	ItemError   = "error"
)

// Item is one photo given to the classifier.
type Item struct {
	ID    int
	Name  string
	Size  int64
	URL   string // object URL of the file, for the thumbnail
	State string
	// Probs, Classes, Best and Label are the prediction; Ms its latency in
	// the worker (decode, preprocess, forward pass).
	Probs   []float64
	Classes []string
	Best    int
	Label   string
	Ms      float64
	Err     string
}

// Weights states.
const (
	WeightsNone    = "none"
	WeightsLoading = "loading"
	WeightsReady   = "ready"
	WeightsError   = "error"
)

// Classifier runs photos through the inference worker (static/worker.js
// with worker.wasm) and keeps their results. Its fields change only under
// the EventEnv lock.
type Classifier struct {
	ee      vugu.EventEnv
	worker  js.Value
	version func() int64 // the latest export the page knows of
	events  chan js.Value
	nextID  int

	Items []*Item // newest first

	WorkerReady   bool
	WorkerReadyMs float64 // performance.now() when the worker could classify
	Fatal         string  // the worker could not start

	Weights         string // one of the Weights* states
	WeightsLoaded   int64
	WeightsTotal    int64
	WeightsErr      string
	WeightsInfo     string // e.g. "small · 64 px · 1.2 M parameters · epoch 3"
	WeightsVersion  int64
	WeightsDownload float64 // ms
}

// Start creates the worker. version reports the export the page knows of,
// so the worker reloads the weights when a newer export appears.
func (c *Classifier) Start(ee vugu.EventEnv, version func() int64) {
	c.ee, c.version, c.Weights = ee, version, WeightsNone
	if !js.Global().Truthy() {
		return
	}
	c.events = make(chan js.Value, 256)
	go c.loop()
	c.worker = js.Global().Get("Worker").New("worker.js")
	// vugu/js's Value.Set does not convert vugu js values (Value, Func);
	// Call does, hence addEventListener and setProp.
	c.worker.Call("addEventListener", "message", js.FuncOf(func(_ js.Value, args []js.Value) any {
		c.events <- args[0].Get("data")
		return nil
	}))
	c.worker.Call("addEventListener", "error", js.FuncOf(func(_ js.Value, args []js.Value) any {
		msg := js.Global().Get("Object").New()
		setProp(msg, "type", "fatal")
		setProp(msg, "message", "the classifier failed: "+args[0].Get("message").String())
		c.events <- msg
		return nil
	}))
}

// setProp sets obj[key] = val; val may be a vugu js.Value.
func setProp(obj js.Value, key string, val any) {
	js.Global().Get("Reflect").Call("set", obj, key, val)
}

// loop applies the worker's messages in order.
func (c *Classifier) loop() {
	for m := range c.events {
		c.ee.Lock()
		c.apply(m)
		c.ee.UnlockRender()
	}
}

func (c *Classifier) apply(m js.Value) {
	switch m.Get("type").String() {
	case "ready":
		c.WorkerReady = true
		c.WorkerReadyMs = js.Global().Get("performance").Call("now").Float()
	case "fatal":
		c.Fatal = m.Get("message").String()
		for _, it := range c.Items {
			if it.State == ItemQueued || it.State == ItemRunning {
				it.State, it.Err = ItemError, c.Fatal
			}
		}
	case "weights":
		switch c.Weights = m.Get("state").String(); c.Weights {
		case WeightsLoading:
			c.WeightsLoaded, c.WeightsTotal = int64(m.Get("loaded").Float()), int64(m.Get("total").Float())
			c.WeightsErr = ""
		case WeightsReady:
			info := m.Get("info")
			c.WeightsVersion = int64(m.Get("version").Float())
			c.WeightsDownload = m.Get("downloadMs").Float()
			c.WeightsInfo = info.Get("config").String() + " · " + strconv.Itoa(info.Get("inputSize").Int()) + " px · " +
				dash.Fixed(info.Get("params").Float()/1e6, 1) + " M parameters · " + dash.Bytes(int64(info.Get("bytes").Float()))
			if e := info.Get("bestEpoch").Int(); e > 0 {
				c.WeightsInfo += " · epoch " + strconv.Itoa(e) + " (val " + dash.Percent(info.Get("valAcc").Float(), 1) + ")"
			}
		case WeightsError:
			c.WeightsErr = m.Get("message").String()
		}
	case "start":
		if it := c.item(m.Get("id").Int()); it != nil {
			it.State = ItemRunning
		}
	case "result":
		it := c.item(m.Get("id").Int())
		if it == nil {
			return
		}
		if e := m.Get("error"); e.Truthy() {
			it.State, it.Err = ItemError, sentence(e.String())
			return
		}
		probs, classes := m.Get("probs"), m.Get("classes")
		it.Probs = make([]float64, probs.Length())
		it.Classes = make([]string, probs.Length())
		for i := range it.Probs {
			it.Probs[i] = probs.Index(i).Float()
			it.Classes[i] = "class " + strconv.Itoa(i)
			if classes.Truthy() && i < classes.Length() {
				it.Classes[i] = classes.Index(i).String()
			}
		}
		it.Best, it.Label, it.Ms = m.Get("best").Int(), m.Get("label").String(), m.Get("ms").Float()
		it.State = ItemDone
	}
}

// sentence capitalizes an error message and ends it with a period.
func sentence(s string) string {
	if s == "" {
		return s
	}
	if c := s[0]; c >= 'a' && c <= 'z' {
		s = string(c-'a'+'A') + s[1:]
	}
	if last := s[len(s)-1]; last != '.' && last != '!' && last != '?' {
		s += "."
	}
	return s
}

func (c *Classifier) item(id int) *Item {
	for _, it := range c.Items {
		if it.ID == id {
			return it
		}
	}
	return nil
}

// AddFiles queues the files of a FileList (from a drop or the file picker).
// It must run under the EventEnv lock, i.e. in an event handler.
func (c *Classifier) AddFiles(files js.Value) {
	if !files.Truthy() {
		return
	}
	for i := 0; i < files.Length(); i++ {
		c.add(files.Index(i))
	}
}

func (c *Classifier) add(f js.Value) {
	c.nextID++
	it := &Item{ID: c.nextID, Name: f.Get("name").String(), Size: int64(f.Get("size").Float()), State: ItemQueued}
	if it.Name == "" {
		it.Name = "photo " + strconv.Itoa(it.ID)
	}
	switch {
	case c.Fatal != "":
		it.State, it.Err = ItemError, c.Fatal
	case it.Size == 0:
		it.State, it.Err = ItemError, "The file is empty (0 bytes)."
	case it.Size > MaxFileBytes:
		it.State, it.Err = ItemError, "The file is too large: "+dash.Bytes(it.Size)+"; the limit is "+dash.Bytes(MaxFileBytes)+"."
	default:
		it.URL = js.Global().Get("URL").Call("createObjectURL", f).String()
		msg := js.Global().Get("Object").New()
		setProp(msg, "type", "classify")
		setProp(msg, "id", it.ID)
		setProp(msg, "file", f)
		setProp(msg, "version", float64(c.version()))
		c.worker.Call("postMessage", msg)
	}
	c.Items = append([]*Item{it}, c.Items...)
	for len(c.Items) > maxItems {
		old := c.Items[len(c.Items)-1]
		c.release(old)
		c.Items = c.Items[:len(c.Items)-1]
	}
}

func (c *Classifier) release(it *Item) {
	if it.URL != "" {
		js.Global().Get("URL").Call("revokeObjectURL", it.URL)
		it.URL = ""
	}
}

// Clear removes the finished results.
func (c *Classifier) Clear() {
	kept := c.Items[:0]
	for _, it := range c.Items {
		if it.State == ItemQueued || it.State == ItemRunning {
			kept = append(kept, it)
		} else {
			c.release(it)
		}
	}
	c.Items = kept
}

// Busy counts the photos waiting or being classified.
func (c *Classifier) Busy() int {
	n := 0
	for _, it := range c.Items {
		if it.State == ItemQueued || it.State == ItemRunning {
			n++
		}
	}
	return n
}
