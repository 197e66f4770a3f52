package sample

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/pawnet/pawnet/shared/imageio"
	"github.com/pawnet/pawnet/trainer/fsutil"
)

// Synthesize writes a Kaggle-sized stand-in dataset for throughput tests:
// n photos (half cats, half dogs) of w×h pixels in dir/train/cat.N.jpg and
// dog.N.jpg, JPEG quality 90. Each is a sample photo scaled up with fine
// noise added, so it decodes like a real photo of that size (entropy
// included). Existing files are kept, so a second run is cheap.
func Synthesize(src *Photos, dir string, n, w, h, workers int) error {
	out := filepath.Join(dir, "train")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	jobs := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for k := 0; k < max(workers, 1); k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				label, idx := i%2, i/2
				path := filepath.Join(out, fmt.Sprintf("%s.%d.jpg", [2]string{"cat", "dog"}[label], idx))
				if _, err := os.Stat(path); err == nil {
					continue
				}
				pool := [2][]*imageio.RGB{src.Cats, src.Dogs}[label]
				photo := pool[idx%len(pool)]
				img := imageio.Resize(photo.Image(), w, h).Image()
				r := rand.New(rand.NewPCG(uint64(i), 7))
				for p := 0; p < len(img.Pix); p += 4 {
					d := uint8(r.IntN(9))
					img.Pix[p] ^= d
					img.Pix[p+1] ^= d
					img.Pix[p+2] ^= d
				}
				var buf bytes.Buffer
				if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
					errs <- err
					return
				}
				if err := fsutil.WriteFileAtomic(path, buf.Bytes()); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case jobs <- i:
		case err := <-errs:
			close(jobs)
			wg.Wait()
			return err
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// ReadDir loads the train photos of a sample folder written by Write
// (flat, or already separated into cat/ and dog/): every cat.* and dog.*
// photo under dir/train, as 32×32 RGB. Synthesize can use it on machines
// without npm.
func ReadDir(dir string) (*Photos, error) {
	p := &Photos{}
	err := filepath.WalkDir(filepath.Join(dir, "train"), func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		name := e.Name()
		isCat, isDog := strings.HasPrefix(name, "cat."), strings.HasPrefix(name, "dog.")
		if !isCat && !isDog {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		img, _, err := imageio.DecodeRGB(data, Side, Side, 0)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if isCat {
			p.Cats = append(p.Cats, img)
		} else {
			p.Dogs = append(p.Dogs, img)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(p.Cats) == 0 || len(p.Dogs) == 0 {
		return nil, fmt.Errorf("%s/train holds %d cat and %d dog photos; need both", dir, len(p.Cats), len(p.Dogs))
	}
	return p, nil
}
