package dataset

import (
	"fmt"
	"runtime"
	"sort"
	"sync"

	"github.com/pawnet/pawnet/shared/imageio"
	"github.com/pawnet/pawnet/shared/preprocess"
)

// BadFile is a photo that was skipped, with the reason.
type BadFile struct {
	Path string
	Err  error
}

func (b BadFile) String() string { return fmt.Sprintf("%s: %v", b.Path, b.Err) }

// Workers returns n if positive, else the number of CPUs.
func Workers(n int) int {
	if n > 0 {
		return n
	}
	return runtime.NumCPU()
}

// DecodeAll reads and decodes every item to size×size RGB (see
// imageio.DecodeRGB) on `workers` goroutines. fn is called once per good
// image, from the worker that decoded it (worker is in [0, workers)).
// progress, when not nil, is called after each file. Files that cannot be
// read or decoded are returned, ordered by index, and never stop the scan.
func DecodeAll(items []Item, size, workers, maxPixels int, progress func(), fn func(worker, i int, img *imageio.RGB)) []BadFile {
	workers = Workers(workers)
	jobs := make(chan int)
	var mu sync.Mutex
	var bad []struct {
		i int
		b BadFile
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := range jobs {
				img, err := decodeFile(items[i].Photo, size, maxPixels)
				if err != nil {
					mu.Lock()
					bad = append(bad, struct {
						i int
						b BadFile
					}{i, BadFile{items[i].Path, err}})
					mu.Unlock()
				} else {
					fn(w, i, img)
				}
				if progress != nil {
					progress()
				}
			}
		}(w)
	}
	for i := range items {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	sort.Slice(bad, func(a, b int) bool { return bad[a].i < bad[b].i })
	out := make([]BadFile, len(bad))
	for k, b := range bad {
		out[k] = b.b
	}
	return out
}

// decodeFile reads and decodes a photo, resized to size×size.
func decodeFile(p Photo, size, maxPixels int) (*imageio.RGB, error) {
	data, err := p.Read()
	if err != nil {
		return nil, err
	}
	img, _, err := imageio.DecodeRGB(data, size, size, maxPixels)
	return img, err
}

// ComputeStats decodes train and check in one parallel pass, each photo
// resized to size×size, and returns the exact per-channel mean and std of
// the pixels of the train items only. check is decoded only to find its bad
// files (pass the validation split to check a whole folder in one pass); it
// may be nil, and it never changes the statistics. Bad files of both are
// skipped and returned in input order, train's before check's. progress,
// when not nil, is called after each file of either list.
func ComputeStats(train, check []Item, size, workers int, progress func()) (preprocess.Stats, []BadFile, error) {
	items := train
	if len(check) > 0 {
		items = append(append(make([]Item, 0, len(train)+len(check)), train...), check...)
	}
	accs := make([]preprocess.Accumulator, Workers(workers))
	bad := DecodeAll(items, size, len(accs), 0, progress, func(w, i int, img *imageio.RGB) {
		if i < len(train) {
			accs[w].Add(img.Pix)
		}
	})
	var total preprocess.Accumulator
	for _, a := range accs {
		total.Merge(a)
	}
	st, err := total.Stats(size)
	return st, bad, err
}

// Cache holds the good images of a dataset decoded once and resized to
// Size×Size, as uint8 HWC, one slot of Size·Size·3 bytes per item given
// (a bad item's slot is unused). It lives in memory (BuildCache) or in a
// memory-mapped pack file (LoadPack); Close releases a mapping.
type Cache struct {
	Size  int
	Items []Item // the good items, in the order given
	// Src[i] is the index of Items[i] among the items given, and the slot
	// of its pixels.
	Src   []int
	Pix   []uint8
	close func() error
}

// BuildCache decodes items into an in-memory Cache in parallel. Bad files
// are skipped and returned; the cache keeps the order of the good ones.
func BuildCache(items []Item, size, workers int, progress func()) (*Cache, []BadFile) {
	per := size * size * 3
	pix := make([]uint8, len(items)*per)
	ok := make([]bool, len(items))
	bad := DecodeAll(items, size, workers, 0, progress, func(_, i int, img *imageio.RGB) {
		copy(pix[i*per:(i+1)*per], img.Pix)
		ok[i] = true
	})
	c := &Cache{Size: size, Pix: pix}
	for i, good := range ok {
		if good {
			c.Items = append(c.Items, items[i])
			c.Src = append(c.Src, i)
		}
	}
	return c, bad
}

// Stats returns the exact per-channel mean and std of the cached images at
// the given cache indices, accumulated on `workers` goroutines.
func (c *Cache) Stats(indices []int, workers int) (preprocess.Stats, error) {
	accs := make([]preprocess.Accumulator, max(min(Workers(workers), len(indices)), 1))
	var wg sync.WaitGroup
	for w := range accs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; k < len(indices); k += len(accs) {
				accs[w].Add(c.Image(indices[k]).Pix)
			}
		}()
	}
	wg.Wait()
	var total preprocess.Accumulator
	for _, a := range accs {
		total.Merge(a)
	}
	return total.Stats(c.Size)
}

// Split divides the cache's images (as cache indices) by the split of the
// items they came from: val holds those whose Src is in valIdx.
func (c *Cache) Split(valIdx []int) (train, val []int) {
	isVal := map[int]bool{}
	for _, i := range valIdx {
		isVal[i] = true
	}
	for i, src := range c.Src {
		if isVal[src] {
			val = append(val, i)
		} else {
			train = append(train, i)
		}
	}
	return train, val
}

// Len is the number of cached images.
func (c *Cache) Len() int { return len(c.Items) }

// Image returns cached image i (sharing the cache's memory; read-only when
// the cache is a mapped pack).
func (c *Cache) Image(i int) *imageio.RGB {
	per := c.Size * c.Size * 3
	s := c.Src[i]
	return &imageio.RGB{W: c.Size, H: c.Size, Pix: c.Pix[s*per : (s+1)*per : (s+1)*per]}
}

// Close releases the cache's memory mapping, if any; Image must not be
// used afterwards.
func (c *Cache) Close() error {
	if c.close == nil {
		return nil
	}
	err := c.close()
	c.close, c.Pix = nil, nil
	return err
}
