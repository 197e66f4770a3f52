package dash

import (
	"html"
	"strconv"
	"strings"

	"github.com/pawnet/pawnet/shared/metrics"
)

// GalleryHTML writes the misclassified photos as the gallery's markup:
// per photo a figure.mis-item with data-true (its class), data-p-dog
// (P(dog) with full precision) and its path as the tooltip, holding the
// thumbnail (with, from schema 2, the Grad-CAM heatmap of the class it was
// taken for over it, img.mis-heat), its true class and a P(dog) bar.
// className names a class.
func GalleryHTML(samples []metrics.Sample, className func(int) string) string {
	var b strings.Builder
	esc := html.EscapeString
	for _, s := range samples {
		b.WriteString(`<figure class="mis-item" data-true="` + strconv.Itoa(s.True) + `" data-p-dog="` + Full(s.PDog) + `" title="` + esc(s.Path) + `">`)
		b.WriteString(`<div class="mis-thumb"><img src="data:image/png;base64,` + esc(s.PNG) + `" alt="` + esc("a "+className(s.True)+" taken for a "+className(1-s.True)) + `">`)
		if s.Heat != "" {
			b.WriteString(`<img class="mis-heat" src="data:image/png;base64,` + esc(s.Heat) + `" alt="" title="` + esc("where the network looked to call it a "+className(1-s.True)) + `">`)
		}
		b.WriteString(`</div>`)
		b.WriteString(`<figcaption><div class="mis-true">true <b>` + esc(className(s.True)) + `</b></div>`)
		b.WriteString(`<div class="mis-bar"><div class="mis-bar-fill" style="width:` + Percent(s.PDog, 1) + `"></div></div>`)
		b.WriteString(`<div class="mis-p">P(dog) <b>` + Fixed(s.PDog, 2) + `</b></div></figcaption></figure>`)
	}
	return b.String()
}
