// Package preprocess turns decoded 8-bit RGB images into the float32 HWC
// tensors the model takes: per-channel normalization with the saved
// stats.json, the eval transform, and the seeded train-time augmentations
// (horizontal flip, rotation, RandomResizedCrop, ColorJitter), each
// following torchvision's definition. The trainer and the browser call the
// same functions, so preprocessing cannot drift between them.
package preprocess

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
)

// Stats is the content of stats.json: the per-channel mean and standard
// deviation of the training pixels on the [0,1] scale (ToTensor's), after a
// resize to Size×Size.
type Stats struct {
	Mean [3]float64 `json:"mean"`
	Std  [3]float64 `json:"std"`
	// Source says where Mean and Std come from when they were not counted
	// on the data: SourceImageNet. Empty for counted stats.
	Source string `json:"source,omitempty"`
	// Size is the side the images were resized to before counting.
	Size int `json:"size"`
	// Images and Pixels count what the statistics were computed over.
	Images int   `json:"images"`
	Pixels int64 `json:"pixels"`
	// Seed and ValFraction identify the train/validation split whose train
	// part was used, so nothing leaks from validation.
	Seed        uint64  `json:"seed"`
	ValFraction float64 `json:"val_fraction"`
	// Photos is the size distribution of the train split's photos (nil
	// in stats written before it was recorded).
	Photos *PhotoSizes `json:"photos,omitempty"`
}

// Validate checks that the statistics can normalize an image.
func (s Stats) Validate() error {
	for c := 0; c < 3; c++ {
		if !(s.Std[c] > 0) || math.IsInf(s.Std[c], 0) || math.IsNaN(s.Mean[c]) {
			return fmt.Errorf("stats: channel %d has mean %v and std %v; std must be positive", c, s.Mean[c], s.Std[c])
		}
	}
	return nil
}

// ParseStats decodes and validates stats.json content.
func ParseStats(data []byte) (Stats, error) {
	var s Stats
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("stats: %w", err)
	}
	return s, s.Validate()
}

// LoadStats reads and validates a stats.json file.
func LoadStats(path string) (Stats, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Stats{}, err
	}
	s, err := ParseStats(data)
	if err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Accumulator sums pixel values and their squares exactly, in integers, so
// the global mean and standard deviation have no rounding drift however
// many images are added. Merge combines accumulators from parallel workers.
type Accumulator struct {
	Sum, SumSq [3]uint64
	Pixels     int64
	Images     int
}

// Add counts every pixel of one HWC RGB byte slice.
func (a *Accumulator) Add(pix []uint8) {
	var s, q [3]uint64
	for i := 0; i+2 < len(pix); i += 3 {
		r, g, b := uint64(pix[i]), uint64(pix[i+1]), uint64(pix[i+2])
		s[0] += r
		s[1] += g
		s[2] += b
		q[0] += r * r
		q[1] += g * g
		q[2] += b * b
	}
	for c := 0; c < 3; c++ {
		a.Sum[c] += s[c]
		a.SumSq[c] += q[c]
	}
	a.Pixels += int64(len(pix) / 3)
	a.Images++
}

// Merge adds the counts of b to a.
func (a *Accumulator) Merge(b Accumulator) {
	for c := 0; c < 3; c++ {
		a.Sum[c] += b.Sum[c]
		a.SumSq[c] += b.SumSq[c]
	}
	a.Pixels += b.Pixels
	a.Images += b.Images
}

// Stats returns the population mean and standard deviation per channel on
// the [0,1] scale: mean = Σx/n, std = sqrt(Σx²/n − mean²), from the exact
// integer sums.
func (a *Accumulator) Stats(size int) (Stats, error) {
	if a.Pixels == 0 {
		return Stats{}, errors.New("stats: no pixels counted (no readable images)")
	}
	st := Stats{Size: size, Images: a.Images, Pixels: a.Pixels}
	n := float64(a.Pixels)
	for c := 0; c < 3; c++ {
		mean := float64(a.Sum[c]) / n
		// Σx² and Σx are exact; in float64 the cancellation costs at most
		// ~1e-11 absolute on a variance of order 1e3 (in 0–255 units).
		v := float64(a.SumSq[c])/n - mean*mean
		if v < 0 {
			v = 0
		}
		st.Mean[c] = mean / 255
		st.Std[c] = math.Sqrt(v) / 255
	}
	return st, nil
}
