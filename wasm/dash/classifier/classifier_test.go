package classifier

import (
	"encoding/json"
	"fmt"
	"github.com/pawnet/pawnet/wasm/protocol"
	"reflect"
	"strings"
	"testing"
)

// snapshot is what the panel shows of a State, comparable.
type snapshot struct {
	WorkerReady                 bool
	WorkerReadyMs               float64
	Fatal                       string
	Weights                     string
	WeightsLoaded, WeightsTotal int64
	WeightsErr, WeightsInfo     string
	WeightsVersion              int64
	WeightsDownload             float64
	WeightsReadMs, WeightsLoad  float64
	Items                       string // "id:state[:detail]", newest first
}

func snap(s *State) snapshot {
	var items []string
	for _, it := range s.Items {
		d := fmt.Sprintf("%d:%s", it.ID, it.State)
		switch it.State {
		case ItemDone:
			d += fmt.Sprintf(":%s %v %v %d %v", it.Label, it.Classes, it.Probs, it.Best, it.Ms)
		case ItemError:
			d += ":" + it.Err
		}
		items = append(items, d)
	}
	return snapshot{s.WorkerReady, s.WorkerReadyMs, s.Fatal, s.Weights, s.WeightsLoaded, s.WeightsTotal,
		s.WeightsErr, s.WeightsInfo, s.WeightsVersion, s.WeightsDownload, s.WeightsReadMs, s.WeightsLoadMs, strings.Join(items, " | ")}
}

// TestApply feeds a session of worker replies, as static/worker.js posts
// them, to a panel with three queued photos.
func TestApply(t *testing.T) {
	var s State
	s.Add("a.jpg", 1000)
	s.Add("b.jpg", 2000)
	s.Add("", 3000)
	const info = "small · 64 px · 1.2 M parameters · 4.9 MB · epoch 3 (val 71.2%)"
	want := snapshot{Items: "3:queued | 2:queued | 1:queued"}
	for _, step := range []struct {
		reply  string
		now    float64
		change func(w *snapshot)
	}{
		{`{"type":"weights","state":"loading","loaded":0,"total":0}`, 0, func(w *snapshot) { w.Weights = WeightsLoading }},
		{`{"type":"ready","ms":812.5}`, 1234.5, func(w *snapshot) { w.WorkerReady, w.WorkerReadyMs = true, 1234.5 }},
		// Said again (the page's hello to a worker started early): the first time stays.
		{`{"type":"ready","ms":812.5}`, 2000, func(w *snapshot) {}},
		{`{"type":"weights","state":"loading","loaded":1200000,"total":4900000}`, 0, func(w *snapshot) {
			w.WeightsLoaded, w.WeightsTotal = 1200000, 4900000
		}},
		{`{"type":"weights","state":"ready","info":{"config":"small","inputSize":64,"params":1234567,"classes":["cat","dog"],` +
			`"bestEpoch":3,"valAcc":0.7123,"bytes":4938268,"ms":35.2},"version":17,"downloadMs":250.5}`, 0, func(w *snapshot) {
			w.Weights, w.WeightsInfo, w.WeightsVersion, w.WeightsDownload, w.WeightsLoad = WeightsReady, info, 17, 250.5, 35.2
		}},
		{`{"type":"start","id":1}`, 0, func(w *snapshot) { w.Items = "3:queued | 2:queued | 1:running" }},
		{`{"type":"result","id":1,"probs":[0.125,0.875],"best":1,"label":"dog","classes":["cat","dog"],"ms":42.345}`, 0, func(w *snapshot) {
			w.Items = "3:queued | 2:queued | 1:done:dog [cat dog] [0.125 0.875] 1 42.345"
		}},
		{`{"type":"start","id":2}`, 0, func(w *snapshot) {
			w.Items = "3:queued | 2:running | 1:done:dog [cat dog] [0.125 0.875] 1 42.345"
		}},
		{`{"type":"result","id":2,"error":"image: unknown format"}`, 0, func(w *snapshot) {
			w.Items = "3:queued | 2:error:Image: unknown format. | 1:done:dog [cat dog] [0.125 0.875] 1 42.345"
		}},
		// Replies about photos no longer listed, or of unknown types, change nothing.
		{`{"type":"result","id":99,"probs":[1],"best":0,"label":"cat"}`, 0, func(w *snapshot) {}},
		{`{"type":"start","id":99}`, 0, func(w *snapshot) {}},
		{`{"type":"bogus","id":3}`, 0, func(w *snapshot) {}},
		// Without class names (older weights), the classes are numbered.
		{`{"type":"result","id":3,"probs":[0.25,0.75],"best":1,"label":"dog","ms":150}`, 0, func(w *snapshot) {
			w.Items = "3:done:dog [class 0 class 1] [0.25 0.75] 1 150 | 2:error:Image: unknown format. | 1:done:dog [cat dog] [0.125 0.875] 1 42.345"
		}},
		{`{"type":"weights","state":"error","message":"GET /weights: HTTP 500"}`, 0, func(w *snapshot) {
			w.Weights, w.WeightsErr = WeightsError, "GET /weights: HTTP 500"
		}},
		// A new download clears the error; the last weights' info stays.
		{`{"type":"weights","state":"loading","loaded":10,"total":0}`, 0, func(w *snapshot) {
			w.Weights, w.WeightsErr, w.WeightsLoaded, w.WeightsTotal = WeightsLoading, "", 10, 0
		}},
	} {
		var r protocol.Reply
		err := json.Unmarshal([]byte(step.reply), &r)
		if err != nil {
			t.Fatalf("%s: %v", step.reply, err)
		}
		s.Apply(r, step.now)
		step.change(&want)
		if got := snap(&s); got != want {
			t.Fatalf("after %s:\n got %+v\nwant %+v", step.reply, got, want)
		}
	}

	// A fatal error fails the photos in flight, and every photo added after.
	s.Add("c.jpg", 10)
	s.Add("d.jpg", 10)
	s.Apply(protocol.Reply{Type: "start", ID: 4}, 0)
	s.Apply(protocol.Reply{Type: "fatal", Message: "the classifier failed: boom"}, 0)
	it, _ := s.Add("e.jpg", 10)
	if it.State != ItemError || it.Err != "the classifier failed: boom" {
		t.Errorf("added after fatal: %+v", it)
	}
	got := snap(&s)
	if got.Fatal != "the classifier failed: boom" || !strings.HasPrefix(got.Items,
		"6:error:the classifier failed: boom | 5:error:the classifier failed: boom | 4:error:the classifier failed: boom | 3:done:") {
		t.Errorf("after fatal: %+v", got)
	}
}

func TestWeightsReadyWithoutInfo(t *testing.T) {
	var s State
	s.Apply(protocol.Reply{Type: "weights", State: WeightsReady, Version: 3}, 0)
	if s.Weights != WeightsReady || s.WeightsVersion != 3 || s.WeightsInfo != " · 0 px · 0.0 M parameters · 0 B" {
		t.Errorf("%+v", snap(&s))
	}
}

func TestWeightsInfoText(t *testing.T) {
	for _, tc := range []struct {
		w    protocol.WeightsInfo
		want string
	}{
		{protocol.WeightsInfo{Config: "small", InputSize: 64, Params: 1234567, Bytes: 4938268, BestEpoch: 3, ValAcc: 0.7123},
			"small · 64 px · 1.2 M parameters · 4.9 MB · epoch 3 (val 71.2%)"},
		{protocol.WeightsInfo{Config: "full", InputSize: 227, Params: 58_300_000, Bytes: 233_200_000},
			"full · 227 px · 58.3 M parameters · 233.2 MB"},
		{protocol.WeightsInfo{Config: "full", InputSize: 227, Params: 58_300_000, Bytes: 58_400_000, Variant: "int8", Cached: true},
			"full · 227 px · 58.3 M parameters · int8 58.4 MB cached"},
		{protocol.WeightsInfo{Config: "small", InputSize: 64, Params: 1234567, Bytes: 2469134, Variant: "fp16", BestEpoch: 3, ValAcc: 0.7123},
			"small · 64 px · 1.2 M parameters · fp16 2.5 MB · epoch 3 (val 71.2%)"},
		{protocol.WeightsInfo{Config: "small", InputSize: 64, Params: 1234567, Bytes: 4938268, Variant: "fp32", Cached: true, Workers: 1},
			"small · 64 px · 1.2 M parameters · 4.9 MB cached"},
		{protocol.WeightsInfo{Config: "full", InputSize: 227, Params: 58_300_000, Bytes: 58_400_000, Variant: "int8", BestEpoch: 2, ValAcc: 0.5, Workers: 3},
			"full · 227 px · 58.3 M parameters · int8 58.4 MB · epoch 2 (val 50.0%) · 3 workers"},
	} {
		if got := InfoText(&tc.w); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.w, got, tc.want)
		}
	}
}

func TestAdd(t *testing.T) {
	for _, tc := range []struct {
		name      string
		size      int64
		fatal     string
		wantName  string
		wantState string
		wantErr   string
	}{
		{"cat.jpg", 1, "", "cat.jpg", ItemQueued, ""},
		{"", 5, "", "photo 1", ItemQueued, ""},
		{"big.jpg", MaxFileBytes, "", "big.jpg", ItemQueued, ""},
		{"empty.jpg", 0, "", "empty.jpg", ItemError, "The file is empty (0 bytes)."},
		{"huge.png", 45_600_000, "", "huge.png", ItemError, "The file is too large: 45.6 MB; the limit is 32.0 MB."},
		{"cat.jpg", 10, "could not start the classifier: x", "cat.jpg", ItemError, "could not start the classifier: x"},
	} {
		s := State{Fatal: tc.fatal}
		it, dropped := s.Add(tc.name, tc.size)
		if it.ID != 1 || it.Name != tc.wantName || it.Size != tc.size || it.State != tc.wantState || it.Err != tc.wantErr ||
			len(dropped) != 0 || len(s.Items) != 1 || s.Items[0] != it {
			t.Errorf("Add(%q, %d) with fatal %q: %+v, dropped %v", tc.name, tc.size, tc.fatal, it, dropped)
		}
	}
}

// TestAddKeepsADropWhole adds 35 photos (a folder dropped at once): every
// one is kept, shown and counted; past MaxItems the oldest go, and the
// count says how many.
func TestAddKeepsADropWhole(t *testing.T) {
	var s State
	for i := 1; i <= 35; i++ {
		it, dropped := s.Add("p.jpg", 10)
		if it.ID != i || s.Items[0] != it || len(dropped) != 0 {
			t.Fatalf("add %d: item %+v first %+v, dropped %d", i, it, s.Items[0], len(dropped))
		}
	}
	if len(s.Items) != 35 || len(s.Shown()) != 35 || s.CountText() != "35 photos · 35 in progress" || s.ListNote() != "" {
		t.Errorf("%d items, %d shown, count %q, note %q", len(s.Items), len(s.Shown()), s.CountText(), s.ListNote())
	}
	for i := 36; i <= MaxItems+7; i++ {
		it, dropped := s.Add("p.jpg", 10)
		switch {
		case i <= MaxItems && len(dropped) != 0:
			t.Fatalf("add %d dropped %d items", i, len(dropped))
		case i > MaxItems && (len(dropped) != 1 || dropped[0].ID != i-MaxItems):
			t.Fatalf("add %d dropped %+v, want item %d", i, dropped, i-MaxItems)
		}
		it.State = ItemDone
	}
	if len(s.Items) != MaxItems || s.Items[MaxItems-1].ID != 8 || s.Removed != 7 || len(s.Shown()) != ShownItems || s.Shown()[0].ID != MaxItems+7 {
		t.Errorf("%d items, oldest %d, removed %d, %d shown", len(s.Items), s.Items[len(s.Items)-1].ID, s.Removed, len(s.Shown()))
	}
	if want := "1,000 photos · 28 in progress · the oldest 7 removed (the page keeps the newest 1,000)"; s.CountText() != want {
		t.Errorf("count %q, want %q", s.CountText(), want)
	}
	if want := "Showing the newest 100 of 1,000 photos; all 1,000 are in the CSV."; s.ListNote() != want {
		t.Errorf("note %q, want %q", s.ListNote(), want)
	}
}

// TestCSV writes the results of a run's head, a taught head with other
// classes, a failed photo and a waiting one, oldest first.
func TestCSV(t *testing.T) {
	var s State
	a, _ := s.Add("cat, the first.jpg", 10)
	a.State, a.Classes, a.Probs, a.Label, a.Ms, a.TTA = ItemDone, []string{"cat", "dog"}, []float64{0.75, 0.25}, "cat", 41.5, true
	b, _ := s.Add("rex.png", 10)
	b.State, b.Classes, b.Probs, b.Label, b.Ms, b.Taught = ItemDone, []string{"cat", "rex"}, []float64{0.125, 0.875}, "rex", 12, true
	s.Add("empty.jpg", 0)
	s.Add("waiting.jpg", 10)
	want := `name,label,p_cat,p_dog,p_rex,ms,tta,taught,error
"cat, the first.jpg",cat,0.75,0.25,,` + a.MsText() + `,true,false,
rex.png,rex,0.125,,0.875,` + b.MsText() + `,false,true,
empty.jpg,,,,,,,,The file is empty (0 bytes).
waiting.jpg,,,,,,,,not classified yet (queued)
`
	if got := string(s.CSV()); got != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", got, want)
	}
	if s.CSVName() != "pawnet-results-4.csv" {
		t.Errorf("CSVName %q", s.CSVName())
	}
}

func TestRemoveFinishedAndBusy(t *testing.T) {
	var s State
	for _, st := range []string{ItemDone, ItemQueued, ItemError, ItemRunning, ItemDone} {
		it, _ := s.Add("p.jpg", 10)
		it.State = st
	}
	// Newest first: 5 done, 4 running, 3 error, 2 queued, 1 done.
	if n := s.Busy(); n != 2 {
		t.Errorf("busy %d, want 2", n)
	}
	var removed []int
	for _, it := range s.RemoveFinished() {
		removed = append(removed, it.ID)
	}
	var kept []int
	for _, it := range s.Items {
		kept = append(kept, it.ID)
	}
	if !reflect.DeepEqual(removed, []int{5, 3, 1}) || !reflect.DeepEqual(kept, []int{4, 2}) || s.Busy() != 2 {
		t.Errorf("removed %v kept %v", removed, kept)
	}
	if r := s.RemoveFinished(); len(r) != 0 || len(s.Items) != 2 {
		t.Errorf("second removal: %v", r)
	}
}

func TestSentence(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"image: unknown format", "Image: unknown format."},
		{"Already a sentence.", "Already a sentence."},
		{"what?", "What?"},
		{"stop!", "Stop!"},
		{"42 is not a photo", "42 is not a photo."},
		{"é accent", "é accent."},
	} {
		if got := sentence(tc.in); got != tc.want {
			t.Errorf("sentence(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
