package dataset

import (
	"context"
	"math/rand/v2"

	"github.com/pawnet/pawnet/shared/preprocess"
)

// Batch is one batch of model inputs.
type Batch struct {
	// X holds N images as float32 NHWC, Size×Size×3 each.
	X []float32
	// Y holds the N labels.
	Y []int32
	// Index holds the cache index of each image.
	Index []int
	N     int
	// Number is the batch's position in the epoch.
	Number int
}

// Loader turns cached images into batches. Given the same seed, epoch and
// indices it yields the same batches whatever the number of workers: the
// order comes from (Seed, epoch) and each image's augmentation from
// (Seed, epoch, cache index).
type Loader struct {
	Cache   *Cache
	Indices []int // cache indices to iterate
	// Size is the model input side; the cache may be larger or equal.
	Size      int
	BatchSize int
	Norm      preprocess.Normalizer
	// Aug, when not nil, applies the train transform; nil means the eval
	// transform (resize if needed, normalize).
	Aug     *preprocess.AugConfig
	Shuffle bool
	Seed    uint64
	// Workers build batches in parallel; Prefetch bounds how many finished
	// batches may wait (memory ≤ (Workers+Prefetch) batches).
	Workers, Prefetch int
}

// NumBatches is the number of batches per epoch (the last may be partial).
func (l *Loader) NumBatches() int { return (len(l.Indices) + l.BatchSize - 1) / l.BatchSize }

// Order returns the epoch's sample order (cache indices).
func (l *Loader) Order(epoch int) []int {
	order := append([]int(nil), l.Indices...)
	if l.Shuffle {
		r := rand.New(rand.NewPCG(l.Seed^0x5eed, uint64(epoch)))
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	return order
}

// Epoch streams the epoch's batches in order, starting at batch `from`
// (to resume mid-epoch), until they run out or ctx is done. The channel is
// closed at the end.
func (l *Loader) Epoch(ctx context.Context, epoch, from int) <-chan Batch {
	order := l.Order(epoch)
	nb := l.NumBatches()
	workers := Workers(l.Workers)
	prefetch := max(l.Prefetch, 1)
	slots := make([]chan Batch, nb)
	for i := range slots {
		slots[i] = make(chan Batch, 1)
	}
	tokens := make(chan struct{}, workers+prefetch)
	jobs := make(chan int)
	out := make(chan Batch)
	go func() { // dispatcher: bounded number of batches in flight
		defer close(jobs)
		for b := from; b < nb; b++ {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	for w := 0; w < workers; w++ {
		go func() {
			for b := range jobs {
				slots[b] <- l.build(order, epoch, b)
			}
		}()
	}
	go func() { // emit in order
		defer close(out)
		for b := from; b < nb; b++ {
			var batch Batch
			select {
			case batch = <-slots[b]:
			case <-ctx.Done():
				return
			}
			select {
			case out <- batch:
				<-tokens
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

func (l *Loader) build(order []int, epoch, b int) Batch {
	lo := b * l.BatchSize
	hi := min(lo+l.BatchSize, len(order))
	n := hi - lo
	per := l.Size * l.Size * 3
	batch := Batch{X: make([]float32, n*per), Y: make([]int32, n), Index: make([]int, n), N: n, Number: b}
	for k := 0; k < n; k++ {
		idx := order[lo+k]
		img := l.Cache.Image(idx)
		dst := batch.X[k*per : (k+1)*per]
		if l.Aug != nil {
			a := l.Aug.Sample(preprocess.RNG(l.Seed, epoch, idx), img.W, img.H)
			// The crop box always lies inside the image, so Apply cannot fail.
			_ = a.Apply(img, l.Size, l.Norm, dst)
		} else {
			preprocess.Eval(img, l.Size, l.Norm, dst)
		}
		batch.Y[k] = int32(l.Cache.Items[idx].Label)
		batch.Index[k] = idx
	}
	return batch
}
