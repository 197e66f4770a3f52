package dataset

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/pawnet/pawnet/internal/fixtures"
	"github.com/pawnet/pawnet/shared/imageio"
	"github.com/pawnet/pawnet/shared/preprocess"
)

// kaggleSizedJPEG is a 500×375 photo-like JPEG (Kaggle's typical size):
// a sample photo upscaled, plus a fine pattern so it does not compress
// unrealistically well.
func kaggleSizedJPEG(b *testing.B) []byte {
	data, err := os.ReadFile(filepath.Join(fixtures.SampleDir(b), "train", "dog.3.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	src, _, err := imageio.Decode(data, 0)
	if err != nil {
		b.Fatal(err)
	}
	rgb := imageio.Resize(src, 500, 375).Image()
	for y := 0; y < 375; y++ {
		for x := 0; x < 500; x++ {
			c := rgb.RGBAAt(x, y)
			d := uint8((x*7 + y*13) % 9)
			rgb.SetRGBA(x, y, color.RGBA{c.R ^ d, c.G ^ d, c.B ^ d, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.Image(rgb), &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkDecodeResize measures decode + resize to 227×227 on one
// goroutine: run with -cpu 1 for the img/s-per-core figure.
func BenchmarkDecodeResize(b *testing.B) {
	var samples [][]byte
	for i := 0; i < 64; i++ {
		data, err := os.ReadFile(filepath.Join(fixtures.SampleDir(b), "train", "cat."+strconv.Itoa(i)+".jpg"))
		if err != nil {
			b.Fatal(err)
		}
		samples = append(samples, data)
	}
	big := kaggleSizedJPEG(b)
	for _, c := range []struct {
		name  string
		files [][]byte
	}{{"sample32px", samples}, {"kaggle500x375", [][]byte{big}}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, _, err := imageio.DecodeRGB(c.files[i%len(c.files)], 227, 227, 0); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}

// BenchmarkAugment measures the train transform from the uint8 cache
// (flip, rotate, crop-resize, jitter, normalize) on one goroutine.
func BenchmarkAugment(b *testing.B) {
	norm, _ := preprocess.NewNormalizer(preprocess.Stats{Mean: [3]float64{0.5, 0.5, 0.5}, Std: [3]float64{0.25, 0.25, 0.25}})
	aug := preprocess.DefaultAug()
	for _, size := range []int{227, 64} {
		data, err := os.ReadFile(filepath.Join(fixtures.SampleDir(b), "train", "cat.5.jpg"))
		if err != nil {
			b.Fatal(err)
		}
		img, _, _ := imageio.DecodeRGB(data, size, size, 0)
		dst := make([]float32, size*size*3)
		b.Run(strconv.Itoa(size)+"px", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				a := aug.Sample(preprocess.RNG(1, 0, i), size, size)
				if err := a.Apply(img, size, norm, dst); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}
