package main

import (
	"github.com/vugu/vugu/js"
	"strconv"

	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/wasm/dash"
)

// Gallery shows an epoch's misclassified validation photos, each a
// figure.mis-item with data-true and data-p-dog (see dash.GalleryHTML);
// data-loading on the card is true while they are being fetched.
type Gallery struct {
	Samples   []metrics.Sample
	Note      string
	ClassName func(int) string
	Loading   bool
	// Key identifies the photos (see dash.State.GalleryKey).
	Key string
	// HideWhy hides the heatmaps over the photos (shown by default).
	HideWhy bool
}

// HasHeat reports whether the photos carry Grad-CAM heatmaps (runs of
// schema 2 on).
func (c *Gallery) HasHeat() bool { return len(c.Samples) > 0 && c.Samples[0].Heat != "" }

// ToggleWhy shows or hides the heatmaps.
func (c *Gallery) ToggleWhy() { c.HideWhy = !c.HideWhy }

// WhyPressed is the Why? button's aria-pressed.
func (c *Gallery) WhyPressed() string { return strconv.FormatBool(!c.HideWhy) }

// GalleryClass is the gallery's class: "gallery why" while the heatmaps show.
func (c *Gallery) GalleryClass() string {
	if c.HideWhy {
		return "gallery"
	}
	return "gallery why"
}

// Populate writes the photos into the gallery's element when they
// changed.
func (c *Gallery) Populate(el js.Value) {
	setMarkup(el, c.Key, func() string { return dash.GalleryHTML(c.Samples, c.ClassName) })
}

// LoadingAttr is data-loading: "true" while the photos are fetched, else
// "false".
func (c *Gallery) LoadingAttr() string { return strconv.FormatBool(c.Loading) }
