// Package classifier is the model of the dashboard's classifier panel,
// free of any browser API so that it builds and tests on the host: the
// photos given to the in-browser classifier (wasm/worker behind
// static/worker.js), the state of the weights download, and the panel's
// text. The page (wasm/app) posts the photos to the worker and feeds the
// worker's replies to State.Apply.
package classifier

import (
	"github.com/pawnet/pawnet/wasm/protocol"
	"strconv"

	"github.com/pawnet/pawnet/wasm/dash"
)

// MaxFileBytes is the largest photo the panel accepts (32 MB).
const MaxFileBytes = 32_000_000

// MaxItems bounds the results kept on the page (the oldest are removed
// first, and CountText says how many): every photo of a drop of up to
// 1,000 is kept, in the list and in the results' CSV.
const MaxItems = 1000

// ShownItems is how many of the newest results the list shows; the
// others are in the CSV (ListNote says so).
const ShownItems = 100

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
	URL   string // object URL of the file, for the thumbnail ("" until the worker made it)
	State string // one of the Item* states
	// Probs, Classes, Best and Label are the prediction; Ms its latency in
	// the worker (decode, preprocess, forward pass).
	Probs   []float64
	Classes []string
	Best    int
	Label   string
	Ms      float64
	Err     string
	// Heat holds each class's Grad-CAM heatmap (object URLs of PNGs of
	// HeatW×HeatH, the photo's aspect; the page makes them when it first
	// shows them, "" until then); see cam.go.
	Heat         []string
	HeatW, HeatH int
	HeatErr      string
	Why          bool    // the heatmap is shown over the thumbnail
	Opacity      float64 // of the heatmap, 0..1
	// TTA is set when the photo was classified with its mirror (probabilities
	// averaged); Resample says how it was resized (shared/classify).
	TTA      bool
	Resample string
	// Taught is set when the head taught in the Teach panel classified
	// the photo (not the run's own).
	Taught bool
}

// Weights states.
const (
	WeightsNone    = "none"
	WeightsLoading = "loading"
	WeightsReady   = "ready"
	WeightsError   = "error"
)

// State is everything the classifier panel shows: the photos, newest
// first, and the worker's and the weights' states. The zero value is an
// empty panel.
type State struct {
	nextID int

	Items []*Item // newest first
	// Removed counts the results removed to keep MaxItems.
	Removed int

	WorkerReady   bool
	WorkerReadyMs float64 // performance.now() when the worker could classify
	Fatal         string  // the worker could not start

	Weights         string // one of the Weights* states
	WeightsLoaded   int64
	WeightsTotal    int64
	WeightsErr      string
	WeightsInfo     string // e.g. "small · 64 px · 1.2 M parameters · 4.9 MB · epoch 3 (val 71.2%)"
	WeightsVersion  int64
	WeightsDownload float64 // ms
	// WeightsReadMs and WeightsLoadMs are the first pool worker's read of
	// the cached weights and Go's load of them, in ms.
	WeightsReadMs, WeightsLoadMs float64
	// WeightsWarm is set once the classifier's code has been run once,
	// so that the browser optimized it before the first photo.
	WeightsWarm bool

	// Open is the ID of the item shown in the larger view, 0 for none.
	Open int
	// TTA makes the photos added from now on be classified with their
	// mirror too (the page's TTA toggle).
	TTA bool
	// Unused holds the thumbnails' object URLs a "queued" reply brought
	// for items that are gone: the page revokes them and empties it.
	Unused []string
}

// InfoText describes the weights, e.g.
// "small · 64 px · 1.2 M parameters · 4.9 MB · epoch 3 (val 71.2%)", with
// the variant when it is not fp32 and "cached" when they were not
// downloaded, and the pool's size when several workers classify:
// "full · 227 px · 58.3 M parameters · int8 58.3 MB cached · 3 workers".
func InfoText(w *protocol.WeightsInfo) string {
	size := dash.Bytes(int64(w.Bytes))
	if w.Variant != "" && w.Variant != "fp32" {
		size = w.Variant + " " + size
	}
	if w.Cached {
		size += " cached"
	}
	s := w.Config + " · " + strconv.Itoa(w.InputSize) + " px · " +
		dash.Fixed(w.Params/1e6, 1) + " M parameters · " + size
	if w.BestEpoch > 0 {
		s += " · epoch " + strconv.Itoa(w.BestEpoch) + " (val " + dash.Percent(w.ValAcc, 1) + ")"
	}
	if w.Workers > 1 {
		s += " · " + strconv.Itoa(w.Workers) + " workers"
	}
	return s
}

// Apply folds one worker reply into the state; now is the page's
// performance.now(), recorded when the worker becomes ready. Replies of an
// unknown type, or about a photo no longer listed, change nothing.
func (s *State) Apply(r protocol.Reply, now float64) {
	switch r.Type {
	case protocol.TypeReady:
		if !s.WorkerReady { // a worker asked again (hello) says it again
			s.WorkerReady = true
			s.WorkerReadyMs = now
		}
	case protocol.TypeFatal:
		s.Fatal = r.Message
		for _, it := range s.Items {
			if it.State == ItemQueued || it.State == ItemRunning {
				it.State, it.Err = ItemError, s.Fatal
			}
		}
	case protocol.TypeWeights:
		switch s.Weights = r.State; s.Weights {
		case WeightsLoading:
			s.WeightsLoaded, s.WeightsTotal = int64(r.Loaded), int64(r.Total)
			s.WeightsErr = ""
		case WeightsReady:
			s.WeightsVersion = int64(r.Version)
			s.WeightsDownload = r.DownloadMs
			info := r.Info
			if info == nil {
				info = &protocol.WeightsInfo{}
			}
			s.WeightsInfo = InfoText(info)
			s.WeightsReadMs, s.WeightsLoadMs = info.ReadMs, info.LoadMs
			s.WeightsWarm = info.Warm
		case WeightsError:
			s.WeightsErr = r.Message
		}
	case protocol.TypeQueued:
		for id, url := range r.URLs {
			n, err := strconv.Atoi(id)
			if it := s.Item(n); err == nil && it != nil && it.URL == "" {
				it.URL = url
			} else {
				s.Unused = append(s.Unused, url)
			}
		}
	case protocol.TypeStart:
		if it := s.Item(r.ID); it != nil {
			it.State = ItemRunning
		}
	case protocol.TypeResult:
		it := s.Item(r.ID)
		if it == nil {
			return
		}
		if r.Error != "" {
			it.State, it.Err = ItemError, sentence(r.Error)
			return
		}
		it.Probs = r.Probs
		it.Classes = make([]string, len(r.Probs))
		for i := range it.Classes {
			it.Classes[i] = "class " + strconv.Itoa(i)
			if i < len(r.Classes) {
				it.Classes[i] = r.Classes[i]
			}
		}
		it.Best, it.Label, it.Ms, it.TTA, it.Resample, it.Taught = r.Best, r.Label, r.Ms, r.TTA, r.Resample, r.Taught
		it.State = ItemDone
		it.setHeat(r)
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

// IDs are the items a "queued", "start" or "result" reply changes.
func IDs(r protocol.Reply) []int {
	if r.Type != protocol.TypeQueued {
		return []int{r.ID}
	}
	ids := make([]int, 0, len(r.URLs))
	for id := range r.URLs {
		if n, err := strconv.Atoi(id); err == nil {
			ids = append(ids, n)
		}
	}
	return ids
}

// Item returns the item with that ID, or nil.
func (s *State) Item(id int) *Item {
	for _, it := range s.Items {
		if it.ID == id {
			return it
		}
	}
	return nil
}

// Add lists a photo with the given file name and size as the newest item
// and returns it: ItemQueued, for the caller to post to the worker, or
// ItemError when the worker failed or the file is empty or too large.
// dropped are the oldest items removed to keep at most MaxItems (counted
// in Removed); the caller releases their URLs.
func (s *State) Add(name string, size int64) (it *Item, dropped []*Item) {
	s.nextID++
	it = &Item{ID: s.nextID, Name: name, Size: size, State: ItemQueued, Opacity: DefaultOpacity}
	if it.Name == "" {
		it.Name = "photo " + strconv.Itoa(it.ID)
	}
	switch {
	case s.Fatal != "":
		it.State, it.Err = ItemError, s.Fatal
	case it.Size == 0:
		it.State, it.Err = ItemError, "The file is empty (0 bytes)."
	case it.Size > MaxFileBytes:
		it.State, it.Err = ItemError, "The file is too large: "+dash.Bytes(it.Size)+"; the limit is "+dash.Bytes(MaxFileBytes)+"."
	}
	s.Items = append([]*Item{it}, s.Items...)
	if len(s.Items) > MaxItems {
		dropped = append(dropped, s.Items[MaxItems:]...)
		s.Items = s.Items[:MaxItems]
		s.Removed += len(dropped)
	}
	return it, dropped
}

// Shown returns the items the list shows: the newest ShownItems.
func (s *State) Shown() []*Item {
	return s.Items[:min(len(s.Items), ShownItems)]
}

// IsShown reports whether the item with that ID is among Shown.
func (s *State) IsShown(id int) bool {
	for _, it := range s.Shown() {
		if it.ID == id {
			return true
		}
	}
	return false
}

// Requeue makes the photos classified so far (done) wait to be classified
// again, as when another head classifies from now on, and returns them:
// the caller releases their heatmaps and posts them to the worker again.
func (s *State) Requeue() []*Item {
	var out []*Item
	for _, it := range s.Items {
		if it.State != ItemDone {
			continue
		}
		it.State, it.Probs, it.Classes, it.Best, it.Label, it.Ms, it.Taught = ItemQueued, nil, nil, 0, "", 0, false
		it.Heat, it.HeatW, it.HeatH, it.HeatErr, it.Why = nil, 0, 0, "", false
		if s.Open == it.ID {
			s.Open = 0
		}
		out = append(out, it)
	}
	return out
}

// RemoveFinished removes the finished items (done or failed), keeping the
// queued and running ones, and returns the removed ones.
func (s *State) RemoveFinished() (removed []*Item) {
	kept := s.Items[:0]
	for _, it := range s.Items {
		if it.State == ItemQueued || it.State == ItemRunning {
			kept = append(kept, it)
		} else {
			removed = append(removed, it)
		}
	}
	s.Items = kept
	return removed
}

// Busy counts the photos waiting or being classified.
func (s *State) Busy() int {
	n := 0
	for _, it := range s.Items {
		if it.State == ItemQueued || it.State == ItemRunning {
			n++
		}
	}
	return n
}
