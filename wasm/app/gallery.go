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
}

// Populate writes the photos into the gallery's element when they
// changed.
func (c *Gallery) Populate(el js.Value) {
	setMarkup(el, c.Key, func() string { return dash.GalleryHTML(c.Samples, c.ClassName) })
}

// LoadingAttr is data-loading: "true" while the photos are fetched, else
// "false".
func (c *Gallery) LoadingAttr() string { return strconv.FormatBool(c.Loading) }
