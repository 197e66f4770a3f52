package main

import (
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/wasm/dash"
)

// Gallery shows the latest epoch's misclassified validation photos, each a
// figure.mis-item with data-true and data-p-dog.
type Gallery struct {
	Samples   []metrics.Sample
	Note      string
	ClassName func(int) string
}

// PDog is P(dog) with full precision.
func (c *Gallery) PDog(s metrics.Sample) string { return dash.Full(s.PDog) }

// PDogText is P(dog) for people.
func (c *Gallery) PDogText(s metrics.Sample) string { return dash.Fixed(s.PDog, 2) }

// PDogPct is P(dog) as a CSS width.
func (c *Gallery) PDogPct(s metrics.Sample) string { return dash.Percent(s.PDog, 1) }
