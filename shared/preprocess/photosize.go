package preprocess

import (
	"fmt"
	"sort"

	"github.com/pawnet/pawnet/shared/imageio"
)

// PhotoSizes is the size distribution of the training photos, by their
// longer side in pixels (after EXIF orientation does not matter: the
// longer side is the same either way). It is recorded in stats.json, and
// so in the export's metadata, for the eval transform of large photos.
type PhotoSizes struct {
	Count  int `json:"count"`
	Min    int `json:"min"`
	P10    int `json:"p10"`
	Median int `json:"median"`
	P90    int `json:"p90"`
	Max    int `json:"max"`
}

// NewPhotoSizes summarizes the longer sides of photos (nil for none).
func NewPhotoSizes(longSides []int) *PhotoSizes {
	if len(longSides) == 0 {
		return nil
	}
	s := append([]int(nil), longSides...)
	sort.Ints(s)
	q := func(f float64) int { return s[int(f*float64(len(s)-1)+0.5)] }
	return &PhotoSizes{Count: len(s), Min: s[0], P10: q(0.1), Median: q(0.5), P90: q(0.9), Max: s[len(s)-1]}
}

// PrescaleFactor is how much larger than the training photos' median a
// photo's longer side must be before EvalPhoto first downscales it to the
// median: a photo within this factor is resized in one step as in training.
const PrescaleFactor = 2

// Resample says what EvalPhoto did to a photo's size.
type Resample struct {
	// Width and Height are the photo's, after EXIF orientation.
	Width, Height int
	// Prescaled reports a first downscale, keeping the aspect ratio, to
	// PrescaledWidth×PrescaledHeight: the longer side to the training
	// photos' median.
	Prescaled                       bool
	PrescaledWidth, PrescaledHeight int
	// Size is the model's input side, the last resize.
	Size int
}

// String describes the resampling in a few words.
func (r Resample) String() string {
	if r.Prescaled {
		return fmt.Sprintf("%d×%d → %d×%d (training photos' median) → %d×%d", r.Width, r.Height, r.PrescaledWidth, r.PrescaledHeight, r.Size, r.Size)
	}
	return fmt.Sprintf("%d×%d → %d×%d", r.Width, r.Height, r.Size, r.Size)
}

// EvalPhoto is the eval transform of an encoded photo: decode (EXIF
// orientation applied), then, when the photo's longer side is more than
// PrescaleFactor × typical (the training photos' median longer side; 0:
// never), downscale it to typical keeping the aspect ratio, so it is no
// sharper than the photos the model learned from; then resize to
// size×size and normalize (Eval). maxPixels ≤ 0 means
// imageio.DefaultMaxPixels.
func EvalPhoto(data []byte, size, maxPixels int, n Normalizer, typical int) ([]float32, Resample, error) {
	img, _, err := imageio.Decode(data, maxPixels)
	if err != nil {
		return nil, Resample{}, err
	}
	b := img.Bounds()
	rs := Resample{Width: b.Dx(), Height: b.Dy(), Size: size}
	long := max(rs.Width, rs.Height)
	var rgb *imageio.RGB
	if typical > 0 && long > PrescaleFactor*typical {
		rs.Prescaled = true
		rs.PrescaledWidth = max(1, (rs.Width*typical+long/2)/long)
		rs.PrescaledHeight = max(1, (rs.Height*typical+long/2)/long)
		small := imageio.Resize(img, rs.PrescaledWidth, rs.PrescaledHeight)
		rgb = imageio.Resize(small.Image(), size, size)
	} else {
		rgb = imageio.Resize(img, size, size)
	}
	dst := make([]float32, size*size*3)
	n.Bytes(rgb.Pix, dst)
	return dst, rs, nil
}
