package dash

import (
	"reflect"
	"testing"
	"time"

	"github.com/pawnet/pawnet/shared/metrics"
)

func TestSelection(t *testing.T) {
	for _, tc := range []struct {
		query string
		sel   Selection
		back  string // Query() of the parsed selection
	}{
		{"", Selection{}, ""},
		{"?run=demo-1", Selection{Runs: []string{"demo-1"}}, "?run=demo-1"},
		{"run=b&run=a&run=b&epoch=7&smooth=0.6", Selection{Runs: []string{"b", "a"}, Epoch: 7, Smooth: 0.6}, "?epoch=7&run=b&run=a&smooth=0.6"},
		{"?run=a%20%26b&epoch=-1&smooth=x", Selection{Runs: []string{"a &b"}}, "?run=a+%26b"},
		{"?run=&smooth=5&epoch=x", Selection{Smooth: MaxSmooth}, "?smooth=0.99"},
		{"?%zz", Selection{}, ""},
	} {
		got := ParseSelection(tc.query)
		if !reflect.DeepEqual(got, tc.sel) {
			t.Errorf("ParseSelection(%q) = %+v, want %+v", tc.query, got, tc.sel)
		}
		if q := got.Query(); q != tc.back || !reflect.DeepEqual(ParseSelection(q), got) {
			t.Errorf("%+v.Query() = %q, want %q, reading back the same", got, q, tc.back)
		}
	}

	for _, tc := range []struct {
		sel           Selection
		current, want string
	}{
		{Selection{Runs: []string{"b", "a"}}, "", "?run=b&run=a"},
		{Selection{Runs: []string{"b"}}, "?run=a&epoch=3&smooth=0.5", "?run=b"},
		{Selection{Runs: []string{"b"}, Epoch: 2}, "?workers=2", "?epoch=2&run=b&workers=2"},
		{Selection{}, "?workers=2&run=a&x=1&x=2", "?workers=2&x=1&x=2"},
		{Selection{Runs: []string{"b"}}, "?%zz&workers=2", "?run=b"},
	} {
		if got := tc.sel.QueryKeeping(tc.current); got != tc.want {
			t.Errorf("%+v.QueryKeeping(%q) = %q, want %q", tc.sel, tc.current, got, tc.want)
		}
	}

	s := Selection{Runs: []string{"a"}, Epoch: 3, Smooth: 0.5}
	for _, step := range []struct {
		op   func(Selection) Selection
		want Selection
	}{
		{func(s Selection) Selection { return s.Toggle("b") }, Selection{Runs: []string{"a", "b"}, Epoch: 3, Smooth: 0.5}},
		{func(s Selection) Selection { return s.Toggle("c") }, Selection{Runs: []string{"a", "b", "c"}, Epoch: 3, Smooth: 0.5}},
		{func(s Selection) Selection { return s.Toggle("b") }, Selection{Runs: []string{"a", "c"}, Epoch: 3, Smooth: 0.5}},
		// The first run goes: the epoch picked for it goes too.
		{func(s Selection) Selection { return s.Toggle("a") }, Selection{Runs: []string{"c"}, Smooth: 0.5}},
		// The last run stays.
		{func(s Selection) Selection { return s.Toggle("c") }, Selection{Runs: []string{"c"}, Smooth: 0.5}},
		{func(s Selection) Selection { s.Epoch = 4; return s.Only("d") }, Selection{Runs: []string{"d"}, Smooth: 0.5}},
	} {
		prev := s
		s = step.op(s)
		if !reflect.DeepEqual(s, step.want) {
			t.Fatalf("from %+v: %+v, want %+v", prev, s, step.want)
		}
	}
	if !s.Has("d") || s.Has("a") {
		t.Error("Has")
	}
}

func TestRunRowText(t *testing.T) {
	defer func(l *time.Location) { time.Local = l }(time.Local)
	time.Local = time.UTC
	r := RunRow{metrics.RunSummary{Name: "demo", Model: "small", InputSize: 64, Backend: "go", Status: metrics.StatusInterrupted,
		Epochs: 12, TotalEpochs: 60, BestEpoch: 9, BestValAcc: 0.7472, BestValLogLoss: 0.54512, Started: 1764576000000}}
	got := []string{r.ModelText(), r.BackendText(), r.StatusText(), r.BestAccText(), r.LogLossText(), r.EpochsText(), r.StartedText()}
	want := []string{"small · 64 px", "go", "Interrupted", "74.7%", "0.545", "12 / 60", "2025-12-01 08:00"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("row text %q, want %q", got, want)
	}
	var waiting RunRow
	got = []string{waiting.ModelText(), waiting.BackendText(), waiting.StatusText(), waiting.BestAccText(), waiting.LogLossText(), waiting.EpochsText(), waiting.StartedText()}
	want = []string{"—", "—", "", "—", "—", "—", "—"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("empty row text %q, want %q", got, want)
	}
	if rows := Rows([]metrics.RunSummary{{Name: "a"}, {Name: "b"}}); len(rows) != 2 || rows[1].Name != "b" {
		t.Errorf("Rows: %+v", rows)
	}
}
