package dataset

import (
	"io"
	"sync"

	"github.com/pawnet/pawnet/shared/imageio"
	"github.com/pawnet/pawnet/shared/preprocess"
)

// headerBytes is how much of a file PhotoSizes reads: enough for any
// header (a JPEG's EXIF segment is at most 64 KiB before its frame header).
const headerBytes = 256 << 10

// PhotoSizes reads the header of every item (not its pixels) on `workers`
// goroutines and summarizes their longer sides. Unreadable files are left
// out (the decode reports them).
func PhotoSizes(items []Item, workers int) *preprocess.PhotoSizes {
	sides := make([]int, len(items))
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	for range Workers(workers) {
		wg.Go(func() {
			buf := make([]byte, headerBytes)
			for {
				next.Lock()
				k := i
				i++
				next.Unlock()
				if k >= len(items) {
					return
				}
				sides[k] = longSide(items[k].Photo, buf)
			}
		})
	}
	wg.Wait()
	var good []int
	for _, s := range sides {
		if s > 0 {
			good = append(good, s)
		}
	}
	return preprocess.NewPhotoSizes(good)
}

// longSide is a photo's longer side from its header, 0 when unreadable.
func longSide(p Photo, buf []byte) int {
	f, err := p.Open()
	if err != nil {
		return 0
	}
	defer f.Close()
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF {
		return 0
	}
	info, err := imageio.Inspect(buf[:n], -1)
	if err != nil {
		return 0
	}
	return max(info.Width, info.Height)
}
