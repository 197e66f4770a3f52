//go:build js && wasm

package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"syscall/js"
	"time"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/classify"
	"github.com/pawnet/pawnet/shared/teach"
)

// prepare builds the loaded weights' deferred transforms, and rebuilds the
// taught classifier if it was made before them (so that it shares them
// instead of building its own).
func (h *heads) prepare() {
	if h.base == nil {
		return
	}
	h.base.Model.Prepare()
	if h.taught != nil && !h.taught.Model.Prepared() {
		if err := h.set(h.head); err != nil {
			h.taught, h.head, h.use = nil, nil, false
		}
	}
}

// set makes the classifier of the head on the loaded weights (teach.Head.Model:
// the weights' other layers shared, the head stored as their variant
// stores it) and has classify use it. It fails, changing nothing, when the
// head does not fit the weights (taught on another architecture).
func (h *heads) set(head *teach.Head) error {
	if h.base == nil {
		return errors.New("no weights loaded")
	}
	h.base.Model.Prepare() // the taught model shares the transforms
	m, err := head.Model(h.base.Model)
	if err != nil {
		return err
	}
	c, err := classify.New(m)
	if err != nil {
		return err
	}
	// The photos are resized as the weights' own classifier resizes them.
	c.TypicalSide, c.MaxPixels = h.base.TypicalSide, h.base.MaxPixels
	h.taught, h.head, h.use = c, head, true
	return nil
}

// teachAPI adds the teaching functions to the worker's pawnet object:
//
//	features(photo Uint8Array) → {features: Float32Array, dense, ms} | {error}
//	    the photo's penultimate features followed by its mirror's
//	    (classify.Classifier.Features): 2 × dense values
//	teach(features Uint8Array, n, labels, classes, seed, progress) →
//	    {report, losses, w, b, ms} | {error}
//	    features: n rows of float32 (little-endian bytes), one per photo as
//	    features gives them; labels: n class indexes; classes: their names;
//	    progress({stage, done, total, iter, loss}) is called as teach.Fit
//	    advances. report is teach.Report as JSON, losses the final fit's
//	    loss per iteration, w ([classes × dense]) and b Float32Arrays.
//	setHead(w Float32Array, b Float32Array, report string) → {classes, temperature, ms} | {error}
//	    classify with that head from now on (an error leaves the head as it was)
//	useHead(on) → {active, classes} | {error}
//	    classify with the taught head (on) or the weights' own
//	exportTaught() → {bytes: Uint8Array, name, ms} | {error}
//	    the weights file with the taught head (teach.Head.Apply, saved in
//	    the loaded weights' variant), what `pawnet teach` writes
func teachAPI(api js.Value, hs *heads) {
	api.Set("features", js.FuncOf(func(_ js.Value, args []js.Value) (res any) {
		defer recoverTo(&res)
		if hs.base == nil {
			return errResult(errors.New("no weights loaded"))
		}
		start := time.Now()
		feats, errs := hs.base.Features([][]byte{bytesOf(args[0])})
		if errs[0] != nil {
			return errResult(errs[0])
		}
		return map[string]any{"features": float32Array(feats[0]), "dense": hs.base.Model.Config().Dense, "ms": ms(start)}
	}))
	api.Set("teach", js.FuncOf(func(_ js.Value, args []js.Value) (res any) {
		defer recoverTo(&res)
		if len(args) < 6 {
			return errResult(errors.New("teach(features, n, labels, classes, seed, progress)"))
		}
		start := time.Now()
		flat := floatsOf(args[0])
		n := args[1].Int()
		if n < 1 || len(flat)%n != 0 {
			return errResult(fmt.Errorf("%d feature values for %d photos", len(flat), n))
		}
		w := len(flat) / n
		feats := make([][]float32, n)
		for i := range feats {
			feats[i] = flat[i*w : (i+1)*w : (i+1)*w]
		}
		labels := make([]int, args[2].Length())
		for i := range labels {
			labels[i] = args[2].Index(i).Int()
		}
		classes := make([]string, args[3].Length())
		for i := range classes {
			classes[i] = args[3].Index(i).String()
		}
		progress := args[5]
		opt := teach.Options{Seed: uint64(args[4].Float())}
		if progress.Type() == js.TypeFunction {
			opt.Progress = func(p teach.Progress) {
				progress.Invoke(map[string]any{"stage": p.Stage, "done": p.Done, "total": p.Total, "iter": p.Iter, "loss": finite(p.Loss)})
			}
		}
		h, err := teach.Fit(feats, labels, classes, opt)
		if err != nil {
			return teachErr(err)
		}
		report, err := json.Marshal(h.Report)
		if err != nil {
			return errResult(err)
		}
		losses := make([]any, len(h.Report.Losses))
		for i, l := range h.Report.Losses {
			losses[i] = finite(l)
		}
		return map[string]any{"report": string(report), "losses": losses, "w": float32Array(h.W), "b": float32Array(h.B), "ms": ms(start)}
	}))
	api.Set("setHead", js.FuncOf(func(_ js.Value, args []js.Value) (res any) {
		defer recoverTo(&res)
		start := time.Now()
		head := &teach.Head{W: floatsOf(args[0]), B: floatsOf(args[1])}
		if err := json.Unmarshal([]byte(args[2].String()), &head.Report); err != nil {
			return errResult(fmt.Errorf("the taught head's report: %w", err))
		}
		if err := hs.set(head); err != nil {
			return teachErr(err)
		}
		return map[string]any{"classes": jsStrings(hs.taught.Classes), "temperature": hs.taught.Temperature, "ms": ms(start)}
	}))
	api.Set("useHead", js.FuncOf(func(_ js.Value, args []js.Value) (res any) {
		defer recoverTo(&res)
		on := len(args) > 0 && args[0].Truthy()
		if on && hs.taught == nil {
			return errResult(errors.New("no taught head"))
		}
		hs.use = on
		c := hs.current()
		if c == nil {
			return errResult(errors.New("no weights loaded"))
		}
		return map[string]any{"active": hs.use, "classes": jsStrings(c.Classes)}
	}))
	api.Set("exportTaught", js.FuncOf(func(_ js.Value, _ []js.Value) (res any) {
		defer recoverTo(&res)
		if hs.taught == nil {
			return errResult(errors.New("no taught head"))
		}
		start := time.Now()
		base := hs.base.Model
		cfg, params, meta, err := hs.head.Apply(base)
		if err != nil {
			return teachErr(err)
		}
		v := base.Metadata().Variant
		if v == "" {
			v = alexnet.F32
		}
		var buf bytes.Buffer
		if err := alexnet.SaveVariant(&buf, cfg, params, meta, v); err != nil {
			return errResult(err)
		}
		u := js.Global().Get("Uint8Array").New(buf.Len())
		js.CopyBytesToJS(u, buf.Bytes())
		return map[string]any{"bytes": u, "variant": string(v), "ms": ms(start)}
	}))
}

// teachErr is errResult without shared/teach's "teach: " prefix, which
// the page's sentences do not need.
func teachErr(err error) map[string]any {
	return map[string]any{"error": strings.TrimPrefix(err.Error(), "teach: ")}
}

// floatsOf copies a Float32Array, or the little-endian bytes of float32
// values in a Uint8Array, into Go.
func floatsOf(v js.Value) []float32 {
	u := v
	if !v.InstanceOf(js.Global().Get("Uint8Array")) {
		u = js.Global().Get("Uint8Array").New(v.Get("buffer"), v.Get("byteOffset"), v.Get("byteLength"))
	}
	b := bytesOf(u)
	f := make([]float32, len(b)/4)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return f
}

// float32Array copies f into a new Float32Array.
func float32Array(f []float32) js.Value {
	b := make([]byte, 4*len(f))
	for i, v := range f {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	u := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(u, b)
	return js.Global().Get("Float32Array").New(u.Get("buffer"))
}

// jsStrings converts names for js.ValueOf.
func jsStrings(names []string) []any {
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = n
	}
	return out
}

// finite maps a non-finite loss to 0 (js.ValueOf takes any float, but
// JSON, which the page's messages go through, does not).
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
