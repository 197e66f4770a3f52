package classify_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"os"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/classify"
	"github.com/pawnet/pawnet/shared/preprocess"
)

// weightsFile returns an exported weights file as `pawnet train` writes
// it: the tensors plus the metadata that New needs (the normalization
// stats and the class names). Its weights are freshly initialized, not
// trained, so that the example needs no training run; a real run's file
// is runs/NAME/model.safetensors.
func weightsFile() []byte {
	cfg := alexnet.Small()
	stats, err := json.Marshal(preprocess.ImageNetStats())
	if err != nil {
		log.Fatal(err)
	}
	meta := alexnet.Metadata{Classes: []string{"cat", "dog"}, Stats: stats}
	var file bytes.Buffer
	if err := alexnet.Save(&file, cfg, alexnet.InitParams(cfg, 1), meta); err != nil {
		log.Fatal(err)
	}
	return file.Bytes()
}

// Load a weights file with alexnet.Load, wrap it with New, and classify a
// photo's bytes as read from disk: testdata/cat.0.jpg is the sample
// dataset's first cat (a 32×32 CIFAR-10 photo). The weights here are
// untrained, so the example prints what does not depend on them.
func ExampleClassifier_Classify() {
	m, err := alexnet.Load(weightsFile())
	if err != nil {
		log.Fatal(err)
	}
	c, err := classify.New(m)
	if err != nil {
		log.Fatal(err)
	}
	photo, err := os.ReadFile("testdata/cat.0.jpg")
	if err != nil {
		log.Fatal(err)
	}

	p, err := c.Classify(photo, false)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("classes:", c.Classes)
	fmt.Printf("photo %d×%d, resized to the %d×%d input\n", p.Resample.Width, p.Resample.Height, p.Resample.Size, p.Resample.Size)
	fmt.Printf("P(cat) + P(dog) = %.2f\n", p.Probs[0]+p.Probs[1])
	fmt.Println("label is the most likely class:", p.Label == c.Classes[p.Best])
	// Output:
	// classes: [cat dog]
	// photo 32×32, resized to the 64×64 input
	// P(cat) + P(dog) = 1.00
	// label is the most likely class: true
}
