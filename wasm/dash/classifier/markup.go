package classifier

import (
	"html"
	"sort"
	"strconv"
	"strings"
)

// The prediction list is written outside Vugu (wasm/app's PopulateList):
// Vugu would set every attribute of every element of every prediction on
// each render, a cost that grows with the list while the classifier's
// results stream in. Each item is one li.prediction, rewritten only when
// its markup changes.

// LiAttrs are the attributes of the item's li.prediction, in a fixed
// order: class, data-state, data-id and DataAttrs.
func (it *Item) LiAttrs() [][2]string {
	attrs := [][2]string{{"class", "prediction"}, {"data-state", it.State}, {"data-id", strconv.Itoa(it.ID)}}
	data := it.DataAttrs()
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		attrs = append(attrs, [2]string{k, data[k]})
	}
	return attrs
}

// Markup is the inner HTML of the item's li.prediction: its div.pred-thumb
// (titled ThumbTitle, holding ThumbHTML) and its div.pred-body (holding
// BodyHTML). The page rewrites the two parts apart, so that a start or a
// result does not reload the thumbnail.
func (it *Item) Markup(queued string) string {
	return `<div class="pred-thumb" title="` + html.EscapeString(it.ThumbTitle()) + `">` + it.ThumbHTML() +
		`</div><div class="pred-body">` + it.BodyHTML(queued) + `</div>`
}

// ThumbHTML is the inner HTML of the item's div.pred-thumb: the photo
// (once its object URL is known), with its heatmap when "Why?" is on, or
// the error mark. The heatmap's opacity is not in it (the page sets it,
// so that moving the slider does not rewrite the item).
func (it *Item) ThumbHTML() string {
	esc := html.EscapeString
	var b strings.Builder
	if it.URL != "" && it.State != ItemError {
		b.WriteString(`<img class="photo" src="` + esc(it.URL) + `" alt="">`)
	}
	if heat := it.BestHeat(); it.Why && heat != "" {
		b.WriteString(`<img class="heat" src="` + esc(heat) + `" data-w="` + strconv.Itoa(it.HeatW) +
			`" data-h="` + strconv.Itoa(it.HeatH) + `" alt="">`)
	}
	if it.State == ItemError {
		b.WriteString(`<span class="thumb-err">!</span>`)
	}
	return b.String()
}

// BodyHTML is the inner HTML of the item's div.pred-body: the name, label,
// probability bars and latency once done, the "Why?" toggle and opacity
// slider, and what a queued (queued: State.QueuedText), running or failed
// photo shows. The slider's position is not in it.
func (it *Item) BodyHTML(queued string) string {
	esc := html.EscapeString
	var b strings.Builder
	b.WriteString(`<div class="pred-top"><span class="pred-name" title="` + esc(it.Name) + `">` + esc(it.Name) + `</span>`)
	if it.State == ItemDone {
		b.WriteString(`<span class="pred-label label-` + Slug(it.Label) + `" title="` + esc(it.Label) + `">` + esc(it.Label) + `</span>`)
	}
	b.WriteString(`</div>`)
	if it.State == ItemDone {
		b.WriteString(`<div class="bars">`)
		for i := range it.Probs {
			b.WriteString(`<div class="` + esc(it.BarClass(i)) + `" data-class="` + esc(it.Classes[i]) + `" data-p="` + it.ProbText(i) + `">` +
				`<span class="bar-name" title="P(` + esc(it.Classes[i]) + `)">P(` + esc(it.Classes[i]) + `)</span>` +
				`<span class="bar"><span class="bar-fill" style="width:` + it.ProbPct(i) + `"></span></span>` +
				`<span class="bar-val">` + it.ProbShort(i) + `</span></div>`)
		}
		b.WriteString(`<div class="pred-ms" data-ms="` + it.MsText() + `" data-tta="` + it.TTAAttr() + `" title="` + esc(it.Resample) + `">` +
			esc(it.MsText()+" ms"+it.TTANote()+it.TaughtNote()) + `</div></div>`)
	}
	if it.HasHeat() {
		b.WriteString(`<div class="why"><button type="button" class="why-toggle" aria-pressed="` + it.WhyPressed() +
			`" title="Show where the network looked (Grad-CAM)">Why?</button>`)
		if it.Why {
			b.WriteString(`<input type="range" class="why-opacity" min="0" max="100" aria-label="Heatmap opacity">`)
		}
		b.WriteString(`</div>`)
	}
	switch it.State {
	case ItemQueued:
		b.WriteString(`<div class="pred-wait">` + esc(queued) + `</div>`)
	case ItemRunning:
		b.WriteString(`<div class="pred-wait"><span class="spinner"></span>Classifying…</div>`)
	case ItemError:
		b.WriteString(`<div class="pred-error" role="alert">` + esc(it.Err) + `</div>`)
	}
	return b.String()
}
