package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/explain"
	"github.com/pawnet/pawnet/trainer/fsutil"
	"github.com/pawnet/pawnet/trainer/predict"
)

// runFilters draws an export's conv1 filters as a PNG grid.
func runFilters(args []string) error {
	fs := flag.NewFlagSet("filters", flag.ExitOnError)
	weights := fs.String("weights", "", "exported weights (a run's model.safetensors, or any variant of it)")
	out := fs.String("out", "conv1.png", "the PNG to write")
	scale := fs.Int("scale", 4, "magnify each filter tile this many times")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: pawnet filters -weights W [-out conv1.png] [-scale 4]")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	if *weights == "" || fs.NArg() != 0 {
		fs.Usage()
		os.Exit(2)
	}
	if *scale < 1 || *scale > 64 {
		return fmt.Errorf("-scale %d: want 1..64", *scale)
	}
	m, err := alexnet.LoadFile(*weights)
	if err != nil {
		return err
	}
	png, g, err := predict.FiltersPNG(m, *scale)
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(*out, png); err != nil {
		return err
	}
	sz := g.Size()
	fmt.Printf("wrote %s: %d conv1 filters of %d×%d in %d×%d tiles (%d×%d px); %s\n",
		*out, g.Count, m.Config().Kernels[0], m.Config().Kernels[0], g.Cols, g.Rows, sz.X, sz.Y, explain.FilterNorm)
	return nil
}
