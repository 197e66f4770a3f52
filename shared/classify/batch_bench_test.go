package classify

import (
	"os"
	"testing"

	"github.com/pawnet/pawnet/shared/alexnet"
)

// BenchmarkClassifyBatch classifies eight copies of a sample photo with
// the full AlexNet (random weights) in one batch; B/op counts the decoded
// tensors and the batch they are gathered into.
//
//	go test -run '^$' -bench ClassifyBatch -benchtime 5x ./shared/classify/
func BenchmarkClassifyBatch(b *testing.B) {
	photo, err := os.ReadFile("testdata/cat.0.jpg")
	if err != nil {
		b.Fatal(err)
	}
	cfg := alexnet.Full()
	m, err := alexnet.NewModel(cfg, alexnet.InitParams(cfg, 1), alexnet.Metadata{Classes: []string{"cat", "dog"},
		Stats: []byte(`{"mean":[0.49,0.45,0.41],"std":[0.25,0.24,0.25],"size":227}`)})
	if err != nil {
		b.Fatal(err)
	}
	c, err := New(m)
	if err != nil {
		b.Fatal(err)
	}
	photos := make([][]byte, 8)
	for i := range photos {
		photos[i] = photo
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, errs := c.ClassifyBatch(photos, true); errs[0] != nil {
			b.Fatal(errs[0])
		}
	}
}
