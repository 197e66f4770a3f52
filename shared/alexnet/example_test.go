package alexnet_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/pawnet/pawnet/shared/alexnet"
)

// A weights file is what `pawnet train` exports (model.safetensors): Save
// writes one, Load reads it back as a Model ready for inference. Here the
// file holds the small configuration with freshly initialized weights,
// made in memory, so the example needs no trained run.
func ExampleLoad() {
	cfg := alexnet.Small()
	var file bytes.Buffer
	meta := alexnet.Metadata{Classes: []string{"cat", "dog"}}
	if err := alexnet.Save(&file, cfg, alexnet.InitParams(cfg, 1), meta); err != nil {
		log.Fatal(err)
	}

	m, err := alexnet.Load(file.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("config:", m.Config().Name, m.Config().InputSize, "px,", m.Config().NumParams(), "parameters")
	fmt.Println("classes:", m.Metadata().Classes, "variant:", m.Metadata().Variant)

	// Predict takes n normalized images in NHWC order and returns n×Classes
	// probabilities.
	x := make([]float32, 2*cfg.InputSize*cfg.InputSize*3)
	probs, err := m.Predict(x, 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("probabilities:", len(probs))
	fmt.Printf("image 0 sums to %.2f\n", probs[0]+probs[1])
	// Output:
	// config: small 64 px, 537954 parameters
	// classes: [cat dog] variant: fp32
	// probabilities: 4
	// image 0 sums to 1.00
}
