package teach

import (
	"encoding/json"
	"github.com/pawnet/pawnet/wasm/protocol"
	"slices"
	"strings"
	"testing"
)

// ready adds n photos to class i whose features the worker computed.
func ready(t *testing.T, s *State, i, n int) []*Photo {
	t.Helper()
	var out []*Photo
	for range n {
		p := s.Add(i, "p.jpg", 1000)
		if p.State != PhotoQueued {
			t.Fatalf("photo %s: %s", p.State, p.Err)
		}
		s.Apply(protocol.TeachReply{Type: "teachPhoto", ID: p.ID, Ms: 40})
		out = append(out, p)
	}
	return out
}

func restored() *State {
	s := New(1000)
	s.Apply(protocol.TeachReply{Type: "teachState"})
	return s
}

func TestCheckSaysWhatIsMissing(t *testing.T) {
	s := New(1000)
	if msg := s.Check(); !strings.Contains(msg, "classifier to start") {
		t.Errorf("before the worker's state: %q", msg)
	}
	s.Apply(protocol.TeachReply{Type: "teachState"})
	if !s.Restored || !s.Changed {
		t.Fatal("teachState without anything kept: not restored")
	}
	// No photos at all.
	if _, _, ok := s.StartTraining(); ok || !strings.Contains(s.Message, "Classes “cat” and “dog” have no photos") || !strings.Contains(s.Message, "0 photos in all") {
		t.Errorf("no photos: ok %v, %q", ok, s.Message)
	}
	// A single photo in all: the other class is named.
	ready(t, s, 0, 1)
	if _, _, ok := s.StartTraining(); ok || !strings.Contains(s.Message, "Class “dog” has no photos") || !strings.Contains(s.Message, "1 photo in all") {
		t.Errorf("one photo: ok %v, %q", ok, s.Message)
	}
	// A photo being read.
	q := s.Add(1, "dog.jpg", 500)
	if msg := s.Check(); msg != "Wait for 1 photo to be read." {
		t.Errorf("a photo being read: %q", msg)
	}
	// A bad file: named, and the rest still used.
	s.Apply(protocol.TeachReply{Type: "teachPhoto", ID: q.ID, Error: "imageio: the file is corrupt"})
	if q.State != PhotoError || q.ErrorText() != "dog.jpg: Imageio: the file is corrupt." {
		t.Errorf("bad photo: %s %q", q.State, q.ErrorText())
	}
	if errs := s.Classes[1].Errors(); len(errs) != 1 || errs[0] != q {
		t.Errorf("class errors %v", errs)
	}
	ready(t, s, 1, 1)
	// Names: empty, repeated.
	s.Rename(1, "   ")
	if msg := s.Check(); msg != "Class 2 has no name: name it." {
		t.Errorf("empty name: %q", msg)
	}
	s.Rename(1, " Cat ")
	if msg := s.Check(); !strings.Contains(msg, "Classes 1 and 2 are both named “Cat”") {
		t.Errorf("repeated name: %q", msg)
	}
	s.Rename(1, "my  dog")
	if s.Classes[1].Name != "my dog" {
		t.Errorf("name %q", s.Classes[1].Name)
	}
	classes, photos, ok := s.StartTraining()
	if !ok || !slices.Equal(classes, []string{"cat", "my dog"}) || len(photos) != 2 || photos[0].Label != 0 || photos[1].Label != 1 || photos[0].Name != "" {
		t.Fatalf("train: ok %v, %v, %+v (%s)", ok, classes, photos, s.Message)
	}
	if !s.Training || s.TrainLabel() != "Training…" || s.CanAddClass() || s.RemovePhoto(photos[0].ID) != nil {
		t.Errorf("during training: %v %q", s.Training, s.TrainLabel())
	}
	if msg := s.Check(); msg != "A head is being taught." {
		t.Errorf("a second train: %q", msg)
	}
}

func TestAddRefusesBadFiles(t *testing.T) {
	s := restored()
	if p := s.Add(0, "empty.jpg", 0); p.State != PhotoError || !strings.Contains(p.Err, "empty") {
		t.Errorf("empty: %+v", p)
	}
	if p := s.Add(0, "huge.jpg", 40_000_000); p.State != PhotoError || !strings.Contains(p.Err, "too large") {
		t.Errorf("huge: %+v", p)
	}
	ready(t, s, 0, MaxPhotos)
	if p := s.Add(0, "more.jpg", 10); p.State != PhotoError || !strings.Contains(p.Err, "full") {
		t.Errorf("101st photo: %+v", p)
	}
	if s.Add(5, "x.jpg", 10) != nil {
		t.Error("a photo for a class that is not there")
	}
	if got := s.Classes[0].CountText(); got != "100 photos · 3 unusable" {
		t.Errorf("count %q", got)
	}
}

func TestClasses(t *testing.T) {
	s := restored()
	if s.CanRemoveClass() {
		t.Error("two classes may be removed")
	}
	for range 12 {
		s.AddClass()
	}
	if len(s.Classes) != MaxClasses || s.Classes[2].Name != "class 3" || s.CanAddClass() {
		t.Errorf("%d classes, third %q", len(s.Classes), s.Classes[2].Name)
	}
	s.Rename(3, strings.Repeat("é", 50))
	if n := len([]rune(s.Classes[3].Name)); n != MaxNameRunes {
		t.Errorf("name of %d characters", n)
	}
	ps := ready(t, s, 2, 2)
	s.Set()
	gone := s.RemoveClass(2)
	if len(gone) != 2 || len(s.Classes) != MaxClasses-1 || !s.Changed {
		t.Errorf("removed %d photos, %d classes", len(gone), len(s.Classes))
	}
	s.AddClass() // "class 10" is taken
	if s.Classes[len(s.Classes)-1].Name != "class 11" {
		t.Errorf("new class %q", s.Classes[len(s.Classes)-1].Name)
	}
	_, _, removed := s.Set()
	if !slices.Equal(removed, []int64{ps[0].ID, ps[1].ID}) || s.Changed || s.Removed != nil {
		t.Errorf("removed %v", removed)
	}
}

func TestTrainingReplies(t *testing.T) {
	s := restored()
	ready(t, s, 0, 3)
	ready(t, s, 1, 3)
	if _, _, ok := s.StartTraining(); !ok {
		t.Fatal(s.Message)
	}
	s.Apply(protocol.TeachReply{Type: "teachProgress", Stage: "cross-validation", Done: 4, Total: 16})
	if s.ProgressText() != "cross-validation: fit 4 of 16" || s.ProgressPct() != "25.0%" {
		t.Errorf("progress %q %q", s.ProgressText(), s.ProgressPct())
	}
	for i := 1; i <= 3; i++ {
		s.Apply(protocol.TeachReply{Type: "teachProgress", Stage: "final", Done: 15, Total: 16, Iter: i, Loss: 1 / float64(i)})
	}
	s.Apply(protocol.TeachReply{Type: "teachProgress", Stage: "final", Done: 16, Total: 16, Iter: 3, Loss: 0.3}) // the end: no new point
	if len(s.Losses) != 3 || !strings.HasPrefix(s.ProgressText(), "final fit (16 of 16): iteration 3, loss 0.3333") {
		t.Errorf("losses %v, %q", s.Losses, s.ProgressText())
	}
	if c := s.LossChart(); c.Empty || len(c.Lines) != 1 || len(c.Lines[0].Path) != 3 {
		t.Errorf("loss chart %+v", c)
	}
	rep, _ := json.Marshal(Report{Classes: []string{"cat", "dog"}, Photos: []int{3, 3}, Lambda: 0.1, Folds: 3, CVAccuracy: 5.0 / 6, CVLogLoss: 0.4, Temperature: 1.3})
	s.Apply(protocol.TeachReply{Type: "taught", Report: string(rep), Losses: []float64{1, 0.5, 0.3}, Ms: 120})
	if s.Training || !s.HasHead || s.Report == nil || s.TrainLabel() != "Train again" || s.StateAttr() != "taught" || s.Fits != 1 {
		t.Fatalf("after taught: %+v", s)
	}
	want := "cat, dog: cross-validated accuracy 83.3% (3 folds, 6 photos) · log loss 0.400 · weight decay 0.1 · temperature 1.30"
	if s.ReportText() != want || s.TimeText() != "taught in 120 ms" {
		t.Errorf("report %q, time %q", s.ReportText(), s.TimeText())
	}
	s.Apply(protocol.TeachReply{Type: "teachHead", Has: true, Active: true, Classes: []string{"cat", "dog"}, Report: string(rep)})
	if s.ActiveAttr() != "true" || !strings.Contains(s.HeadText(), "taught head (cat, dog)") {
		t.Errorf("head %q", s.HeadText())
	}
	s.Apply(protocol.TeachReply{Type: "teachHead", Has: true, Error: "the head was taught on another architecture: it takes 4096 features, and these weights (small) give 512", Classes: []string{"cat", "dog"}})
	if s.ActiveAttr() != "false" || !strings.Contains(s.HeadText(), "not used: the head was taught on another architecture") || !strings.Contains(s.HeadText(), "run's own head") {
		t.Errorf("head %q", s.HeadText())
	}

	// A failed fit keeps every photo.
	if _, _, ok := s.StartTraining(); !ok {
		t.Fatal(s.Message)
	}
	s.Apply(protocol.TeachReply{Type: "taught", Error: "teach: class \"dog\" has no photos"})
	if s.Training || !strings.HasPrefix(s.Message, "The head could not be taught: ") || s.Usable() != 6 {
		t.Errorf("failed fit: %q, %d photos", s.Message, s.Usable())
	}
	one := &State{Report: &Report{Classes: []string{"a", "b"}, Photos: []int{1, 1}, Lambda: 1}}
	if !strings.Contains(one.ReportText(), "no cross-validation") {
		t.Errorf("without CV: %q", one.ReportText())
	}
}

func TestRestore(t *testing.T) {
	rep := `{"classes":["tabby","rex"],"photos":[1,1],"lambda":1,"folds":0,"temperature":1,"seed":1}`
	kept := protocol.TeachReply{Type: "teachState", Classes: []string{"tabby", "rex"},
		Photos: []protocol.PhotoRef{{ID: 5, Label: 0, Name: "a.jpg"}, {ID: 7, Label: 1, Name: "b.jpg"}, {ID: 9, Label: 4}, {ID: 3, Label: 1, Name: "old.jpg", Stale: "its features came from another architecture"}},
		Head:   &protocol.KeptHead{Report: rep, Losses: []float64{0.7, 0.2}, Active: true}}

	s := New(1) // untouched: replaced
	s.Apply(kept)
	if len(s.Classes) != 2 || s.Classes[0].Name != "tabby" || len(s.Classes[1].Photos) != 2 || s.Classes[1].Photos[0].State != PhotoKept {
		t.Fatalf("restored %+v", s.Classes)
	}
	if old := s.Classes[1].Photos[1]; old.State != PhotoError || old.ErrorText() != "old.jpg: Its features came from another architecture." {
		t.Errorf("stale photo: %s %q", old.State, old.ErrorText())
	}
	if !s.HasHead || !s.Active || s.Report == nil || len(s.Losses) != 2 || !slices.Equal(s.Removed, []int64{9}) {
		t.Errorf("head %v %v, losses %v, removed %v", s.HasHead, s.Report, s.Losses, s.Removed)
	}
	if p := s.Add(0, "c.jpg", 10); p.ID != 8 && p.ID <= 7 {
		t.Errorf("new photo id %d after kept ones", p.ID)
	}
	if got := s.Classes[1].CountText(); got != "1 photo (kept from before) · 1 unusable" {
		t.Errorf("count %q", got)
	}
	s.Apply(kept) // once only
	if len(s.Classes[0].Photos) != 2 {
		t.Errorf("applied twice: %d photos", len(s.Classes[0].Photos))
	}

	s = New(100) // the user dropped a photo first: merged by name
	s.Rename(0, "Tabby")
	s.Add(0, "mine.jpg", 10)
	s.Apply(kept)
	names := []string{}
	for _, c := range s.Classes {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"Tabby", "dog", "rex"}) || len(s.Classes[0].Photos) != 2 || len(s.Classes[2].Photos) != 2 {
		t.Errorf("merged into %v", names)
	}

	gone := s.Forget()
	if len(gone) != 4 || len(s.Classes) != 2 || s.HasHead || s.Report != nil {
		t.Errorf("forget: %d photos, %+v", len(gone), s)
	}
}

func TestStaleAndQueued(t *testing.T) {
	s := restored()
	p := s.Add(0, "a.jpg", 10)
	s.Apply(protocol.TeachReply{Type: "teachQueued", URLs: map[string]string{"1000": "blob:a", "5": "blob:gone"}})
	if p.URL != "blob:a" || !slices.Equal(s.Unused, []string{"blob:gone"}) {
		t.Errorf("url %q, unused %v", p.URL, s.Unused)
	}
	if th := s.Classes[0].Thumbs(); len(th) != 1 || th[0].ThumbClass() != "teach-thumb queued" {
		t.Errorf("thumbs %v", th)
	}
	s.Apply(protocol.TeachReply{Type: "teachPhoto", ID: p.ID})
	s.Apply(protocol.TeachReply{Type: "teachStale", IDs: []int64{p.ID}, Message: "its features came from weights of another architecture"})
	if p.State != PhotoError || !strings.HasPrefix(p.Err, "Its features came") {
		t.Errorf("stale: %s %q", p.State, p.Err)
	}
}

func TestExport(t *testing.T) {
	s := restored()
	if s.StartExport() || s.ExportErr != "Teach a head first." {
		t.Errorf("export without a head: %q", s.ExportErr)
	}
	s.HasHead = true
	if !s.StartExport() || !s.Exporting {
		t.Fatal("export with a head")
	}
	if old := s.Exported("blob:1", "live-taught.safetensors", 563_456); old != "" || s.Exporting || s.ExportText() != "live-taught.safetensors · 563.5 kB" {
		t.Errorf("exported: %q %q", old, s.ExportText())
	}
	s.StartExport()
	if old := s.Exported("blob:2", "x", 1); old != "blob:1" {
		t.Errorf("old URL %q", old)
	}
	s.StartExport()
	s.ExportFailed("no taught head")
	if s.Exporting || s.ExportErr != "The taught weights could not be written: no taught head." {
		t.Errorf("failed: %q", s.ExportErr)
	}
}

// TestVerdictText: a head that separates its classes needs no word; one
// whose cross-validation does not show it, or that had none, says so, that
// the run's head goes on classifying, and what would help.
func TestVerdictText(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *Report
		want []string // in the text; none: no text
	}{
		{"no head", nil, nil},
		{"separates", &Report{Photos: []int{20, 20}, Folds: 5, CVAccuracy: 0.9, Chance: 0.5, Separates: true}, nil},
		{"knows nothing", &Report{Photos: []int{25, 25, 25}, Folds: 5, CVAccuracy: 0.48, Chance: 1.0 / 3},
			[]string{"do not separate the classes", "accuracy 48.0% against 33.3%", "run's own head still classifies", "More photos per class", "full-size photos", "“Classify with the taught head”"}},
		{"one photo per class", &Report{Photos: []int{1, 1}}, []string{"Too few photos", "a single photo", "run's own head still classifies"}},
	} {
		got := (&State{Report: tc.r}).VerdictText()
		if len(tc.want) == 0 && got != "" {
			t.Errorf("%s: %q, want none", tc.name, got)
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tc.name, got, w)
			}
		}
	}
}
