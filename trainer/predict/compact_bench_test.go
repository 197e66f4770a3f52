package predict

import (
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/pawnet/pawnet/internal/fixtures"
	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/classify"
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/dataset"
	"github.com/pawnet/pawnet/trainer/model"
)

// trainedWeights returns the weights of a trained model for the
// benchmarks: $PAWNET_WEIGHTS, else the newest runs/*/model.safetensors of
// the repository (go tool mage train or demo writes one), else "".
func trainedWeights() string {
	if p := os.Getenv("PAWNET_WEIGHTS"); p != "" {
		return p
	}
	found, _ := filepath.Glob(filepath.Join("..", "..", "runs", "*", "model.safetensors"))
	sort.Slice(found, func(i, j int) bool {
		a, _ := os.Stat(found[i])
		b, _ := os.Stat(found[j])
		return a.ModTime().After(b.ModTime())
	})
	if len(found) == 0 {
		return ""
	}
	return found[0]
}

// BenchmarkCompactWeights compares the fp16 and int8 exports with fp32 on
// the sample's 200 test photos:
//
//	go test -run '^$' -bench CompactWeights -benchtime 1x ./trainer/predict
//
// For the weights of a trained model (trainedWeights; skipped when there
// is none) and for random full-size weights, each variant reports its file
// size (MB), the share of photos whose top-1 class equals fp32's
// (top1-agree-%) and the largest |P(dog) − P_fp32(dog)| (max-dP-dog); the
// time per op is classifying the 200 photos natively in batches of 8.
func BenchmarkCompactWeights(b *testing.B) {
	test := filepath.Join(fixtures.SampleDir(b), "test")
	files, _, err := Files([]string{test})
	if err != nil || len(files) == 0 {
		b.Fatalf("sample test photos: %v", err)
	}
	dir := b.TempDir()
	type source struct {
		name string
		load func() (*alexnet.Model, error)
	}
	var sources []source
	if p := trainedWeights(); p != "" {
		sources = append(sources, source{"trained", func() (*alexnet.Model, error) { return alexnet.LoadFile(p) }})
	} else {
		b.Log("no trained weights ($PAWNET_WEIGHTS or runs/*/model.safetensors): only random full-size weights")
	}
	sources = append(sources, source{"full-random", func() (*alexnet.Model, error) {
		cfg := alexnet.Full()
		stats := []byte(`{"mean":[0.49,0.45,0.41],"std":[0.25,0.24,0.25],"size":227}`)
		return alexnet.NewModel(cfg, alexnet.InitParams(cfg, 1), alexnet.Metadata{Stats: stats, Classes: []string{"cat", "dog"}})
	}})
	for _, src := range sources {
		ref, err := src.load()
		if err != nil {
			b.Fatal(err)
		}
		// The variants of these weights, written as an export writes them.
		base := filepath.Join(dir, src.name+".safetensors")
		if _, err := model.WriteWeights(base, ref.Config(), ref.Params(), ref.Metadata()); err != nil {
			b.Fatal(err)
		}
		fp32 := classifyAll(b, base, files)
		for _, v := range alexnet.Variants {
			b.Run(src.name+"/"+string(v), func(b *testing.B) {
				path := alexnet.VariantPath(base, v)
				st, err := os.Stat(path)
				if err != nil {
					b.Fatal(err)
				}
				var got []classify.Prediction
				for b.Loop() {
					got = classifyAll(b, path, files)
				}
				dog := metrics.DogIndex([]string{"cat", "dog"})
				agree, worst := 0, 0.0
				for i := range got {
					if got[i].Best == fp32[i].Best {
						agree++
					}
					worst = math.Max(worst, math.Abs(float64(got[i].Probs[dog]-fp32[i].Probs[dog])))
				}
				b.ReportMetric(float64(st.Size())/1e6, "MB")
				b.ReportMetric(100*float64(agree)/float64(len(got)), "top1-agree-%")
				b.ReportMetric(worst, "max-dP-dog")
				b.Logf("%s %s (%s): %d photos, top-1 as fp32 on %d, max |ΔP(dog)| %.4g, %.1f MB",
					src.name, v, ref.Config().Name, len(got), agree, worst, float64(st.Size())/1e6)
			})
		}
	}
}

// classifyAll classifies files with the weights at path, in batches of 8.
func classifyAll(b *testing.B, path string, files []dataset.Photo) []classify.Prediction {
	m, err := alexnet.LoadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	c, err := classify.New(m)
	if err != nil {
		b.Fatal(err)
	}
	var out []classify.Prediction
	for _, r := range Run(c, files, false, 8, nil) {
		if r.Err != nil {
			b.Fatalf("%s: %v", r.Path, r.Err)
		}
		out = append(out, r.Prediction)
	}
	return out
}
