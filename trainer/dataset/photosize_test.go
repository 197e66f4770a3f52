package dataset

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pawnet/pawnet/internal/fixtures"
)

// TestPhotoSizes reads the headers of real sample photos (32×32) and a
// 0-byte file, which is left out.
func TestPhotoSizes(t *testing.T) {
	root := fixtures.ClassTree(t, 20)
	if err := os.WriteFile(filepath.Join(root, "cat", "empty.jpg"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ds, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 3} {
		p := PhotoSizes(ds.Items, workers)
		if p == nil || p.Count != 40 || p.Min != 32 || p.Median != 32 || p.Max != 32 {
			t.Errorf("workers %d: %+v, want 40 photos of 32 px", workers, p)
		}
	}
	if p := PhotoSizes(nil, 2); p != nil {
		t.Errorf("no photos: %+v", p)
	}
}
