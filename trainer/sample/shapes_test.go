package sample

import (
	"bytes"
	"os"
	"testing"

	"github.com/pawnet/pawnet/shared/imageio"
)

func TestShapes(t *testing.T) {
	dir := t.TempDir()
	paths, err := Shapes(dir, 4, 32, 1)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Shapes(t.TempDir(), 4, 32, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 4 {
		t.Fatalf("%d paths", len(paths))
	}
	for i, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		img, info, err := imageio.Decode(b, 0)
		if err != nil || img.Bounds().Dx() != 32 || img.Bounds().Dy() != 32 {
			t.Errorf("%s: %v, %+v", p, err, info)
		}
		b2, _ := os.ReadFile(again[i])
		if !bytes.Equal(b, b2) {
			t.Errorf("%s differs between two runs with the same seed", p)
		}
	}
}
