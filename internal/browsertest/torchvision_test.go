package browsertest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pawnet/pawnet/internal/fixtures"
	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/preprocess"
	"github.com/pawnet/pawnet/trainer/model"
)

// TestTorchvisionWeights serves an export of torchvision's architecture
// (224 px input, ImageNet's normalization: what `pawnet train -model
// torchvision -init torchvision:alexnet` fine-tunes), at its tiny widths,
// and checks that the page works with it as with the demo's small model:
// the int8 variant it downloads classifies a photo as natively, and the
// Teach panel teaches a head on its features whose answers are `pawnet
// teach`'s on the same photos.
func TestTorchvisionWeights(t *testing.T) {
	cfg := alexnet.TorchvisionTiny()
	st := preprocess.ImageNetStats()
	st.Size = cfg.InputSize
	stats, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	weights := filepath.Join(t.TempDir(), "model.safetensors")
	if _, err := model.WriteWeights(weights, cfg, alexnet.InitParams(cfg, 7), alexnet.Metadata{Stats: stats, Classes: []string{"cat", "dog"}}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	srv := newServer(t, webRoot(t), weights)
	b.open(srv.URL())

	train := filepath.Join(fixtures.SampleDir(t), "train")
	c := nativeClassifier(t, alexnet.VariantPath(weights, pageVariant))
	photo := filepath.Join(train, "dog.851.jpg")
	data, err := os.ReadFile(photo)
	if err != nil {
		t.Fatal(err)
	}
	b.drop(fileFromDisk(t, photo, "image/jpeg"))
	b.waitSettled(1, time.Minute)
	checkAgainstNative(t, c, b.predictions()[0], data)
	info := eval[string](b, `document.querySelector("#weights-status").textContent`)
	t.Logf("weights: %s", info)

	var paths []string
	var labels []int
	for cl, name := range []string{"cat", "dog"} {
		for i := 870; i < 874; i++ {
			paths = append(paths, filepath.Join(train, name+"."+strconv.Itoa(i)+".jpg"))
			labels = append(labels, cl)
		}
	}
	photos, drops := readPhotos(t, paths)
	b.dropOn(teachZone(0), drops[:4]...)
	b.dropOn(teachZone(1), drops[4:]...)
	b.wait("the photos' features", `document.querySelectorAll("#teach .teach-thumb.ready").length === 8`, time.Minute)
	h, _, export := nativeTeach(t, alexnet.VariantPath(weights, pageVariant), photos, labels, []string{"cat", "dog"})
	b.teachAndUse(h.Report.Separates)
	test := filepath.Join(fixtures.SampleDir(t), "test", "5.jpg")
	tdata, err := os.ReadFile(test)
	if err != nil {
		t.Fatal(err)
	}
	b.drop(fileFromBytes("5.jpg", "image/jpeg", tdata))
	b.waitSettled(2, time.Minute)
	page, byTaught := b.pageProbs()
	if !byTaught {
		t.Error("the photo was not classified by the taught head")
	}
	checkProbs(t, "taught head on torchvision-tiny features", page, export, tdata)
}
