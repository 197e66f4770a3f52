package classifier

import (
	"strings"
	"testing"
)

func TestItemMarkup(t *testing.T) {
	done := func(why bool) *Item {
		return &Item{ID: 7, Name: `<b>"cat" & co</b>.jpg`, URL: "blob:x/1", State: ItemDone,
			Probs: []float64{0.25, 0.75}, Classes: []string{"cat", "dog"}, Best: 1, Label: "dog", Ms: 42.25,
			Heat: []string{"blob:h/0", "blob:h/1"}, HeatW: 256, HeatH: 192, Why: why, Opacity: 0.5}
	}
	for _, tc := range []struct {
		name      string
		it        *Item
		want, not []string
	}{
		{"queued", &Item{ID: 1, Name: "a.jpg", URL: "blob:x/2", State: ItemQueued},
			[]string{`<img class="photo" src="blob:x/2"`, `<div class="pred-wait">Waiting…</div>`},
			[]string{"bars", "why-toggle", "pred-label"}},
		{"running", &Item{ID: 1, Name: "a.jpg", State: ItemRunning},
			[]string{`<span class="spinner"></span>Classifying…`}, []string{"pred-wait\">Waiting", "<img"}},
		{"error: no thumbnail, the message escaped", &Item{ID: 1, Name: "x.txt", URL: "blob:x/3", State: ItemError, Err: "Not an <image>."},
			[]string{`<span class="thumb-err">!</span>`, `role="alert">Not an &lt;image&gt;.</div>`}, []string{"<img", "why-toggle"}},
		{"done: name escaped, bars, latency, Why? off", done(false),
			[]string{`title="&lt;b&gt;&#34;cat&#34; &amp; co&lt;/b&gt;.jpg">&lt;b&gt;`, `<span class="pred-label label-dog" title="dog">dog</span>`,
				`<div class="bar-row bar-dog win" data-class="dog" data-p="0.75">`, `style="width:75.0%"`, `<span class="bar-val">0.2500</span>`,
				`data-ms="42.2"`, `>42.2 ms</div>`, `aria-pressed="false"`, `title="Open the larger view"`},
			[]string{`class="heat"`, "why-opacity"}},
		{"done, Why? on: the best class's heatmap and the slider, no opacity", done(true),
			[]string{`<img class="heat" src="blob:h/1" data-w="256" data-h="192" alt="">`, `aria-pressed="true"`, `class="why-opacity"`},
			[]string{"opacity:", "value="}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.it.Markup("Waiting…")
			for _, w := range tc.want {
				if !strings.Contains(m, w) {
					t.Errorf("markup lacks %q:\n%s", w, m)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(m, n) {
					t.Errorf("markup has %q:\n%s", n, m)
				}
			}
			if strings.Count(m, "<div") != strings.Count(m, "</div>") || strings.Count(m, "<span") != strings.Count(m, "</span>") {
				t.Errorf("unbalanced markup:\n%s", m)
			}
		})
	}
	// A start or a result rewrites the body alone: the photo's img stays.
	thumb := (&Item{ID: 7, URL: "blob:x/1", State: ItemQueued}).ThumbHTML()
	for _, state := range []string{ItemRunning, ItemDone} {
		it := done(false)
		it.State = state
		if got := it.ThumbHTML(); got != thumb {
			t.Errorf("%s: thumbnail %q, want it as queued: %q", state, got, thumb)
		}
	}
	if it := done(true); it.Markup("q") != `<div class="pred-thumb" title="Open the larger view">`+it.ThumbHTML()+
		`</div><div class="pred-body">`+it.BodyHTML("q")+`</div>` {
		t.Errorf("Markup is not the thumbnail and the body:\n%s", it.Markup("q"))
	}
	attrs := done(false).LiAttrs()
	got := []string{}
	for _, a := range attrs {
		got = append(got, a[0]+"="+a[1])
	}
	if want := "class=prediction data-state=done data-id=7 data-label=dog data-ms=42.2 data-p-cat=0.25 data-p-dog=0.75 data-taught=false"; strings.Join(got, " ") != want {
		t.Errorf("LiAttrs %q, want %q", strings.Join(got, " "), want)
	}
}
