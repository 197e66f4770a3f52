package teach

import (
	"bytes"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/classify"
)

// TestHeadModel teaches a three-class head on Small's features and checks
// Head.Model against the export (Apply, saved in the base's variant and
// loaded) for every variant: the same classes, temperature and report,
// and the same probabilities for a photo; a head of another width is
// refused with Apply's message.
func TestHeadModel(t *testing.T) {
	cfg := alexnet.Small()
	feats, labels := blobs(3, 4, cfg.Dense, 1.5, 2)
	h, err := Fit(feats, labels, []string{"tabby", "collie", "parrot"}, Options{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	photo, err := os.ReadFile("../classify/testdata/cat.0.jpg")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range alexnet.Variants {
		t.Run(string(v), func(t *testing.T) {
			var file bytes.Buffer
			m := model(t, cfg)
			if err := alexnet.SaveVariant(&file, cfg, m.Params(), m.Metadata(), v); err != nil {
				t.Fatal(err)
			}
			base, err := alexnet.LoadDeferred(file.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			base.Prepare()
			taught, err := h.Model(base)
			if err != nil {
				t.Fatal(err)
			}
			tcfg, params, meta, err := h.Apply(base)
			if err != nil {
				t.Fatal(err)
			}
			var export bytes.Buffer
			if err := alexnet.SaveVariant(&export, tcfg, params, meta, v); err != nil {
				t.Fatal(err)
			}
			want, err := alexnet.Load(export.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			got := taught.Metadata()
			if strings.Join(got.Classes, ",") != "tabby,collie,parrot" || got.Temperature != want.Metadata().Temperature ||
				string(got.Taught) != string(want.Metadata().Taught) || got.Variant != v {
				t.Errorf("metadata %+v, the export's %+v", got, want.Metadata())
			}
			a, err := classify.New(taught)
			if err != nil {
				t.Fatal(err)
			}
			b, err := classify.New(want)
			if err != nil {
				t.Fatal(err)
			}
			pa, err := a.Classify(photo, false)
			if err != nil {
				t.Fatal(err)
			}
			pb, err := b.Classify(photo, false)
			if err != nil {
				t.Fatal(err)
			}
			for i := range pb.Probs {
				if math.Abs(float64(pa.Probs[i]-pb.Probs[i])) > 1e-6 {
					t.Errorf("P(%s): %g from Model, %g from the export", b.Classes[i], pa.Probs[i], pb.Probs[i])
				}
			}
		})
	}
	wide := *h
	wide.W = append(slices.Clone(h.W), h.W...)
	if _, err := wide.Model(model(t, cfg)); err == nil || !strings.Contains(err.Error(), "another architecture") {
		t.Errorf("a head of twice the width: %v", err)
	}
}
