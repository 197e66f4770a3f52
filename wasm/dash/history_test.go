package dash

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pawnet/pawnet/shared/metrics"
)

// runMessages is a stamped run of three epochs with a resume: the steps
// of epoch 2 are replayed after a stop.
func runMessages() []metrics.Message {
	var msgs []metrics.Message
	add := func(m metrics.Message) { msgs = append(msgs, m) }
	add(&metrics.RunStart{RunID: "r", Epochs: 3, StartEpoch: 1, Classes: []string{"cat", "dog"}})
	step := func(epoch int, gs int64) {
		add(&metrics.Step{Epoch: epoch, Step: int(gs%10) + 1, StepsPerEpoch: 10, GlobalStep: gs, Loss: 1 / float64(gs+1), ImagesPerSec: float64(gs)})
	}
	epoch := func(e int, acc float64, best int) {
		add(&metrics.Epoch{Epoch: e, Epochs: 3, ValAcc: acc, ValLogLoss: 1 - acc, BestEpoch: best, BestValAcc: acc})
		add(&metrics.Confusion{Epoch: e, Classes: []string{"cat", "dog"}, Matrix: [][]int{{e, 1}, {2, 3}}})
		add(&metrics.Misclassified{Epoch: e, Samples: []metrics.Sample{{PNG: "iVBO", Index: e, PDog: acc}}})
	}
	for gs := int64(1); gs <= 10; gs++ {
		step(1, gs)
	}
	epoch(1, 0.6, 1)
	for gs := int64(11); gs <= 15; gs++ {
		step(2, gs)
	}
	add(&metrics.RunEnd{Status: metrics.StatusStopped, BestEpoch: 1, BestValAcc: 0.6})
	add(&metrics.RunStart{RunID: "r", Epochs: 3, StartEpoch: 2, Resumed: true})
	for gs := int64(11); gs <= 20; gs++ {
		step(2, gs)
	}
	epoch(2, 0.7, 2)
	add(&metrics.Checkpoint{Epoch: 2, Kind: metrics.KindExport})
	for gs := int64(21); gs <= 30; gs++ {
		step(3, gs)
	}
	epoch(3, 0.65, 2)
	add(&metrics.RunEnd{Status: metrics.StatusFinished, BestEpoch: 2, BestValAcc: 0.7})
	for i, m := range msgs {
		metrics.Stamp(m, int64(i+1), 0)
	}
	return msgs
}

// historyOf packs msgs as the server does: steps in rows but the last,
// misclassified messages deferred, the rest in full.
func historyOf(msgs []metrics.Message, more bool) *metrics.History {
	h := &metrics.History{HistoryHead: metrics.HistoryHead{Run: "r", Seq: metrics.Seq(msgs[len(msgs)-1]), More: more}}
	last := -1
	for i, m := range msgs {
		if _, ok := m.(*metrics.Step); ok {
			last = i
		}
	}
	for i, m := range msgs {
		switch v := m.(type) {
		case *metrics.Step:
			if i != last {
				h.Steps.Add(v.Seq, v.Epoch, v.GlobalStep, v.Loss)
				continue
			}
		case *metrics.Misclassified:
			h.Deferred = append(h.Deferred, metrics.Deferred{Seq: v.Seq, Type: metrics.TypeMisclassified, Epoch: v.Epoch})
			continue
		}
		h.Messages = append(h.Messages, m)
	}
	return h
}

// Applying a run's History frames gives the state that applying its
// messages one by one gives, once the deferred misclassified messages
// are filled in; the frames may overlap what was applied already.
func TestApplyHistoryMatchesApply(t *testing.T) {
	msgs := runMessages()
	var want State
	for _, m := range msgs {
		want.Apply(m)
	}
	for _, split := range []int{0, 1, 17, len(msgs) / 2, len(msgs) - 1} {
		var got State
		for _, m := range msgs[:split] { // live messages before a reconnect
			got.Apply(m)
		}
		from := max(split-3, 0) // overlapping: applied at most once
		parts := [][]metrics.Message{msgs[from : from+(len(msgs)-from)/2], msgs[from+(len(msgs)-from)/2:]}
		for i, p := range parts {
			if len(p) > 0 {
				got.ApplyHistory(historyOf(p, i == 0))
			}
		}
		if got.LastSeq != want.LastSeq || got.Gaps != 0 {
			t.Fatalf("split %d: last seq %d, gaps %d", split, got.LastSeq, got.Gaps)
		}
		for e, seq := range got.Deferred {
			if got.Wanted() != 0 && got.ShownEpoch() == e && got.Wanted() != seq {
				t.Errorf("split %d: wanted %d, deferred %d", split, got.Wanted(), seq)
			}
			got.Fill(msgs[seq-1].(*metrics.Misclassified))
		}
		got.Misclassified = want.Misclassified // the latest one, as a pointer: filled ones are the same messages
		got.stepCache, want.stepCache = stepCache{}, stepCache{}
		if len(got.Deferred) == 0 {
			got.Deferred = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("split %d: state after History frames differs:\n got %+v\nwant %+v", split, got, want)
		}
	}
	if len(want.Steps) != 30 || want.Steps[len(want.Steps)-1].GlobalStep != 30 {
		t.Errorf("steps %v", want.Steps)
	}
}

// A gap inside a History frame is counted, as between live messages.
func TestApplyHistoryGap(t *testing.T) {
	msgs := runMessages()
	var s State
	s.ApplyHistory(historyOf(append(msgs[:5:5], msgs[9:]...), false))
	if s.Gaps != 1 || s.LastSeq != int64(len(msgs)) {
		t.Errorf("gaps %d, last seq %d", s.Gaps, s.LastSeq)
	}
}

// Fill keeps a fetched misclassified message only while it is the one
// deferred for its epoch.
func TestFill(t *testing.T) {
	msgs := runMessages()
	var s State
	s.ApplyHistory(historyOf(msgs, false))
	if s.ShownEpoch() != 2 || s.ShownMisclassified() != nil || s.Wanted() == 0 || !strings.HasPrefix(s.MisclassifiedNote(), "Loading") {
		t.Fatalf("shown %d, wanted %d, note %q", s.ShownEpoch(), s.Wanted(), s.MisclassifiedNote())
	}
	wanted := s.Wanted()
	stale := *msgs[wanted-1].(*metrics.Misclassified)
	stale.Seq--
	s.Fill(&stale)
	if s.ShownMisclassified() != nil {
		t.Error("a message with another seq was kept")
	}
	s.Fill(msgs[wanted-1].(*metrics.Misclassified))
	if m := s.ShownMisclassified(); m == nil || m.Epoch != 2 || s.Wanted() != 0 {
		t.Errorf("after Fill: %+v, wanted %d", m, s.Wanted())
	}
	// A live misclassified message for an epoch replaces a deferred one.
	s.Picked = 3
	live := *msgs[s.Deferred[3]-1].(*metrics.Misclassified)
	live.Seq = s.LastSeq + 1
	s.Apply(&live)
	if s.Wanted() != 0 || s.ShownMisclassified() != &live {
		t.Errorf("live message not shown")
	}
}

func TestEpochSelector(t *testing.T) {
	msgs := runMessages()
	var s State
	for _, m := range msgs {
		s.Apply(m)
	}
	for _, tc := range []struct {
		picked, shown int
		note          string
		selected      int // the selected option's value
	}{
		{0, 2, "Showing the best epoch (2). Click a point on a chart to pick another.", 0},
		{2, 2, "Showing epoch 2, the best.", 2},
		{1, 1, "Showing epoch 1; the best is 2.", 1},
		{9, 2, "Showing the best epoch (2). Click a point on a chart to pick another.", 0}, // not validated: the best
	} {
		before := s.EpochChoicesKey()
		s.Picked = tc.picked
		// Each case shows another epoch or selection than the one before;
		// the first is the default that was already shown.
		if changed := s.EpochChoicesKey() != before; changed != (tc.picked != 0) {
			t.Errorf("picked %d: options key %q, before %q", tc.picked, s.EpochChoicesKey(), before)
		}
		if s.ShownEpoch() != tc.shown || s.EpochNote() != tc.note || s.ShownConfusion().Epoch != tc.shown || s.ShownMisclassified().Epoch != tc.shown {
			t.Errorf("picked %d: shown %d, note %q", tc.picked, s.ShownEpoch(), s.EpochNote())
		}
		sel := -1
		for _, o := range s.EpochChoices() {
			if o.Selected {
				sel = o.Epoch
			}
		}
		if sel != tc.selected {
			t.Errorf("picked %d: option %d selected, want %d", tc.picked, sel, tc.selected)
		}
		if c := s.AccuracyChart(); !hasPicked(c, tc.shown) {
			t.Errorf("picked %d: epoch %d not marked on the accuracy chart", tc.picked, tc.shown)
		}
	}
	labels := []string{}
	for _, o := range s.EpochChoices() {
		labels = append(labels, o.Label)
	}
	want := []string{"Best epoch (2 · 70.0%)", "Epoch 1 · val acc 60.0%", "Epoch 2 · val acc 70.0% (best)", "Epoch 3 · val acc 65.0%"}
	if !reflect.DeepEqual(labels, want) {
		t.Errorf("options %q, want %q", labels, want)
	}
	if got := OptionsHTML([]EpochChoice{{Epoch: 0, Label: "Best <2>"}, {Epoch: 3, Label: "Epoch 3"}}); got != `<option value="0">Best &lt;2&gt;</option><option value="3">Epoch 3</option>` {
		t.Errorf("OptionsHTML: %s", got)
	}
	var empty State
	if empty.ShownEpoch() != 0 || empty.EpochNote() != "" || len(empty.EpochChoices()) != 0 || empty.ShownConfusion() != nil {
		t.Error("an empty state shows an epoch")
	}
}

func hasPicked(c Chart, epoch int) bool {
	for _, l := range c.Lines {
		for _, d := range l.Dots {
			if d.Picked != (d.X == float64(epoch)) {
				return false
			}
		}
	}
	return true
}

func TestSmooth(t *testing.T) {
	pts := func(ys ...float64) []Point {
		out := make([]Point, len(ys))
		for i, y := range ys {
			out[i] = Point{X: float64(i), Y: y}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		w    float64
		in   []Point
		want []float64
	}{
		{"off", 0, pts(1, 3, 2), []float64{1, 3, 2}},
		// Debiased: last = 0.5·last + 0.5·y, shown as last / (1 − 0.5^n).
		{"half", 0.5, pts(1, 3, 2), []float64{1, 1.75 / 0.75, 1.875 / 0.875}},
		{"constant", 0.99, pts(2, 2, 2, 2), []float64{2, 2, 2, 2}},
		{"NaN kept and skipped", 0.5, pts(1, math.NaN(), 3), []float64{1, math.NaN(), 1.75 / 0.75}},
		{"above the maximum", 5, pts(1, 3), []float64{1, (0.99*0.01 + 0.01*3) / (1 - 0.99*0.99)}},
	} {
		Smooth(tc.in, tc.w)
		for i, p := range tc.in {
			if !(near(p.Y, tc.want[i]) || math.IsNaN(p.Y) && math.IsNaN(tc.want[i])) {
				t.Errorf("%s: point %d = %v, want %v", tc.name, i, p.Y, tc.want[i])
			}
		}
	}
}

// A long step series is drawn with at most four vertices per pixel
// column, keeping each column's extremes and the ends.
func TestThin(t *testing.T) {
	var s State
	for i := int64(1); i <= 30000; i++ {
		loss := 0.5 + 0.1*math.Sin(float64(i))
		if i == 12345 {
			loss = 3 // a spike
		}
		s.Apply(stamp(&metrics.Step{Epoch: 1, GlobalStep: i, StepsPerEpoch: 30000, Loss: loss}, i))
	}
	c := s.StepChart(0)
	path := c.Lines[0].Path
	if len(path) > 4*int(c.PlotW+1) || len(path) < int(c.PlotW) {
		t.Errorf("%d vertices for a %v-unit plot", len(path), c.PlotW)
	}
	top := path[0].Y
	for _, p := range path {
		top = math.Min(top, p.Y)
	}
	if !near(top, c.Top) {
		t.Errorf("the spike is lost: highest vertex at %v, plot top %v", top, c.Top)
	}
	for i := 1; i < len(path); i++ {
		if path[i].X < path[i-1].X {
			t.Fatalf("vertex %d goes back in x", i)
		}
	}
	if c2 := s.StepChart(0); &c2.Lines[0].Path[0] != &path[0] {
		t.Error("the step chart was laid out again with nothing new")
	}
	if c3 := s.StepChart(0.9); &c3.Lines[0].Path[0] == &path[0] {
		t.Error("another smoothing did not lay it out again")
	}
	short := thin([]Point{{1, 1}, {1.2, 5}, {3, 2}}, 0)
	if len(short) != 3 {
		t.Errorf("a short path was thinned: %v", short)
	}
}

func TestOverlay(t *testing.T) {
	a, b := &State{}, &State{}
	for _, m := range runMessages() {
		a.Apply(m)
	}
	for _, m := range runMessages()[:20] {
		b.Apply(m)
	}
	o := Overlay{Names: []string{"alpha", "beta"}, States: []*State{a, b}}
	acc := o.AccuracyChart()
	var keys, runs []string
	for _, l := range acc.Lines {
		keys, runs = append(keys, l.Key), append(runs, l.Run)
	}
	if !reflect.DeepEqual(keys, []string{"c0 train", "c0 val", "c1 train", "c1 val"}) || !reflect.DeepEqual(runs, []string{"alpha", "alpha", "beta", "beta"}) {
		t.Errorf("accuracy series %v of runs %v", keys, runs)
	}
	if n := len(acc.Lines[1].Dots); n != 3 {
		t.Errorf("alpha's val accuracy has %d points, want 3", n)
	}
	if n := len(acc.Lines[3].Dots); n != 1 {
		t.Errorf("beta's val accuracy has %d points, want 1", n)
	}
	if l := o.LogLossChart(); len(l.Lines) != 2 || l.Lines[1].Key != "c1 val" {
		t.Errorf("log loss series %+v", l.Lines)
	}
	if st := o.StepChart(); len(st.Lines) != 2 || st.Lines[0].Key != "c0 step" || len(st.Lines[0].Path) != 30 {
		t.Errorf("step series %d, %q, %d vertices", len(st.Lines), st.Lines[0].Key, len(st.Lines[0].Path))
	}
	if ColorKey(9) != "c1" {
		t.Errorf("ColorKey(9) = %q", ColorKey(9))
	}

	// The overlay charts' keys: the same while nothing changes, another
	// when a run gets a message, is renamed or the smoothing changes, and
	// different per chart.
	keys4 := func(o Overlay) []string {
		return []string{o.LossChart().Key, o.AccuracyChart().Key, o.LogLossChart().Key, o.StepChart().Key}
	}
	k1 := keys4(o)
	if !reflect.DeepEqual(k1, keys4(o)) {
		t.Error("overlay keys change with nothing new")
	}
	for i, k := range k1 {
		if k == "" || slices.Contains(k1[:i], k) {
			t.Errorf("overlay keys %q: empty or repeated", k1)
		}
	}
	for _, m := range runMessages()[20:30] {
		b.Apply(m)
	}
	renamed := Overlay{Names: []string{"alpha", "gamma"}, States: o.States}
	smoother := Overlay{Names: o.Names, States: o.States, Smooth: 0.5}
	for name, k := range map[string][]string{"a new message": keys4(o), "a rename": keys4(renamed)} {
		for i := range k {
			if k[i] == k1[i] {
				t.Errorf("after %s the overlay key %d stays %q", name, i, k[i])
			}
		}
	}
	if smoother.StepChart().Key == o.StepChart().Key {
		t.Error("the step overlay's key ignores the smoothing")
	}
}

// The chart's and the gallery's markup escape what they write.
func TestMarkupEscapes(t *testing.T) {
	c := Layout(Spec{XLabel: "Epoch <x>", XInteger: true, Dots: true, Series: []Series{{Key: "c0 val", Name: `a"b&c`, Run: `<run "1">`, Points: []Point{{1, 0.5}}}}})
	svg := c.SVG()
	for _, want := range []string{`data-run="&lt;run &#34;1&#34;&gt;"`, `<title>a&#34;b&amp;c · epoch &lt;x&gt; 1: 0.5000</title>`, `class="pt c0 val"`, `>Epoch &lt;x&gt;</text>`} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %s:\n%s", want, svg)
		}
	}
	if strings.Contains(svg, "<run") {
		t.Error("SVG holds an unescaped run name")
	}
	g := GalleryHTML([]metrics.Sample{{PNG: "iVBO", Path: `cat/<a>.jpg`, True: 0, PDog: 0.875}}, func(i int) string { return []string{"cat", "dog"}[i] })
	for _, want := range []string{`data-p-dog="0.875"`, `title="cat/&lt;a&gt;.jpg"`, `src="data:image/png;base64,iVBO"`, `alt="a cat taken for a dog"`, `width:87.5%`, `<b>0.88</b>`} {
		if !strings.Contains(g, want) {
			t.Errorf("gallery lacks %s:\n%s", want, g)
		}
	}
}

// A chart's or the gallery's key changes exactly when what it shows may
// have, and differs between two states showing the same messages.
func TestKeys(t *testing.T) {
	msgs := runMessages()
	var a, b State
	for _, m := range msgs[:len(msgs)-3] {
		a.Apply(m)
		b.Apply(m)
	}
	keys := func(s *State) []string {
		return []string{s.LossChart().Key, s.AccuracyChart().Key, s.LogLossChart().Key, s.StepChart(0).Key, s.GalleryKey()}
	}
	k1 := keys(&a)
	if !reflect.DeepEqual(keys(&a), k1) {
		t.Error("keys changed with nothing new")
	}
	for i, k := range keys(&b) {
		if k == k1[i] {
			t.Errorf("two states share key %q", k)
		}
	}
	step := &metrics.Step{Epoch: 3, GlobalStep: 31, Loss: 0.1}
	metrics.Stamp(step, a.LastSeq+1, 0)
	a.Apply(step)
	k2 := keys(&a)
	if k2[0] != k1[0] || k2[4] != k1[4] || k2[3] == k1[3] {
		t.Errorf("after a step: %q → %q (only the step chart's should change)", k1, k2)
	}
	if a.StepChart(0.5).Key == k2[3] {
		t.Error("another smoothing keeps the step chart's key")
	}
	a.Picked = 1
	k3 := keys(&a)
	if k3[0] == k2[0] || k3[4] == k2[4] || k3[3] != k2[3] {
		t.Errorf("after picking epoch 1: %q → %q", k2, k3)
	}
	ep := &metrics.Epoch{Epoch: 3, Epochs: 3, ValAcc: 0.9, BestEpoch: 3, BestValAcc: 0.9}
	metrics.Stamp(ep, a.LastSeq+1, 0)
	a.Apply(ep)
	if k4 := keys(&a); k4[1] == k3[1] {
		t.Errorf("an epoch did not change the accuracy chart's key %q", k4[1])
	}
}
