package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/trainer/fsutil"
	"github.com/pawnet/pawnet/trainer/model"
	"github.com/pawnet/pawnet/trainer/onnx"
)

// runExport rewrites an exported weights file's compact variants and
// writes it as ONNX.
func runExport(args []string) error {
	fs := flag.NewFlagSet("export", flag.ExitOnError)
	weights := fs.String("weights", "", "exported weights (a run's model.safetensors, or any variant of it)")
	variants := fs.Bool("variants", false, "write the fp16 and int8 variants beside a float32 weights file (exports made before they existed lack them)")
	onnxOut := fs.String("onnx", "", "write the model as ONNX (opset 13, input NCHW [N,3,S,S] normalized, output logits) to this file")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: pawnet export -weights W [-variants] [-onnx model.onnx]")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	if *weights == "" || fs.NArg() != 0 || (!*variants && *onnxOut == "") {
		fs.Usage()
		os.Exit(2)
	}
	m, err := alexnet.LoadFile(*weights)
	if err != nil {
		return err
	}
	if *variants {
		if m.Metadata().Variant != alexnet.F32 {
			return fmt.Errorf("-variants: %s holds %s weights; give the float32 file", *weights, m.Metadata().Variant)
		}
		if _, err := model.WriteVariants(*weights, m.Config(), m.Params(), m.Metadata(), alexnet.Variants[1:]...); err != nil {
			return err
		}
		for _, v := range alexnet.Variants[1:] {
			fmt.Println("wrote", alexnet.VariantPath(*weights, v))
		}
	}
	if *onnxOut != "" {
		err := fsutil.WriteAtomic(*onnxOut, func(f *os.File) error {
			return onnx.Write(f, m.Config(), m.Params())
		})
		if err != nil {
			return err
		}
		fmt.Printf("wrote %s (%s weights, input NCHW [N,3,%d,%d] normalized with the run's stats, output logits)\n",
			*onnxOut, m.Metadata().Variant, m.Config().InputSize, m.Config().InputSize)
	}
	return nil
}
