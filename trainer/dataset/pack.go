package dataset

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/pawnet/pawnet/shared/imageio"
	"github.com/pawnet/pawnet/trainer/fsutil"
)

// A pack is a dataset decoded once: one file that holds every photo of a
// class-folder tree resized to Size×Size as uint8 HWC, so that later runs
// map it into memory instead of decoding the photos again (the idea of
// FFCV's .beton files). Layout:
//
//	0     "PAWPACK1"
//	8     uint64 LE  offset of the JSON header
//	16    uint64 LE  length of the JSON header
//	24    uint32 LE  CRC-32C of the JSON header
//	4096  one slot of Size·Size·3 bytes per scanned photo, in Scan order
//	...   the JSON header (packHeader)
//
// The header lists every scanned photo with its path relative to the root,
// label, size and modification time, and either the CRC-32C of its slot or
// why it could not be decoded. A pack is current for a folder when the
// classes and that list match a fresh scan exactly; OpenPack checks it,
// the file's size and every slot's checksum before it is used.
const (
	packMagic      = "PAWPACK1"
	packFormat     = "pawnet-pack/1"
	packDataOffset = 4096
	packPrefixLen  = 28
)

// PackName is the file name of a pack of side size: "pawnet-<size>.pack".
func PackName(size int) string { return fmt.Sprintf("pawnet-%d.pack", size) }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type packHeader struct {
	Format  string      `json:"format"`
	Source  string      `json:"source,omitempty"` // the zip's size and mtime (zipSource)
	Size    int         `json:"size"`
	Classes []string    `json:"classes"`
	Entries []packEntry `json:"entries"`
}

// packEntry is one scanned photo.
type packEntry struct {
	Path    string `json:"path"` // relative to the root, slash-separated
	Label   int    `json:"label"`
	Bytes   int64  `json:"bytes"`
	ModTime int64  `json:"mtime_ns"`
	CRC     uint32 `json:"crc,omitempty"` // CRC-32C of the slot
	Bad     string `json:"bad,omitempty"` // why it could not be decoded
}

// ErrPackStale means the pack does not describe the folder as it is now.
var ErrPackStale = errors.New("pack is stale")

// ErrPackCorrupt means the pack file is damaged: truncated, a bad header,
// or a slot whose checksum does not match.
var ErrPackCorrupt = errors.New("pack is damaged")

// scanEntries stats ds's items into pack entries (without checksums). An
// item that cannot be stat'ed now (removed since the scan, say) gets
// Bytes -1; its decode then fails and records why. A zip's entry is keyed
// by its uncompressed size and its CRC-32 (in ModTime), the zip file by
// the header's Source.
func scanEntries(ds *Dataset) ([]packEntry, error) {
	out := make([]packEntry, len(ds.Items))
	for i, it := range ds.Items {
		if ds.Zip != nil {
			e, ok := ds.Zip.byName[it.Name]
			if !ok || it.FS != ds.Zip {
				return nil, fmt.Errorf("%s: not an entry of %s", it.Path, ds.Zip.Root)
			}
			out[i] = packEntry{Path: strings.TrimPrefix(it.Path, ds.Zip.Root+"/"), Label: it.Label,
				Bytes: int64(e.UncompressedSize64), ModTime: int64(e.CRC32)}
			continue
		}
		rel, err := filepath.Rel(ds.Root, it.Path)
		if err != nil {
			return nil, err
		}
		out[i] = packEntry{Path: filepath.ToSlash(rel), Label: it.Label, Bytes: -1}
		if fi, err := os.Stat(it.Path); err == nil {
			out[i].Bytes, out[i].ModTime = fi.Size(), fi.ModTime().UnixNano()
		}
	}
	return out, nil
}

// sameFile reports whether two entries describe the same unchanged file.
func sameFile(a, b packEntry) bool {
	return a.Path == b.Path && a.Label == b.Label && a.Bytes == b.Bytes && a.ModTime == b.ModTime
}

// diff describes how the folder changed since the pack was written.
func diff(old, now []packEntry) string {
	was := make(map[string]packEntry, len(old))
	for _, e := range old {
		was[e.Path] = e
	}
	added, changed := 0, 0
	for _, e := range now {
		o, ok := was[e.Path]
		switch {
		case !ok:
			added++
		case !sameFile(o, e):
			changed++
		}
		delete(was, e.Path)
	}
	return fmt.Sprintf("%d photos added, %d removed, %d changed", added, len(was), changed)
}

// packFile is an open pack: its header and its mapped bytes.
type packFile struct {
	hdr   packHeader
	f     *os.File
	data  []byte // the whole file (mapped)
	unmap func() error
}

func (p *packFile) slot(i int) []byte {
	per := p.hdr.Size * p.hdr.Size * 3
	off := packDataOffset + i*per
	return p.data[off : off+per : off+per]
}

func (p *packFile) close() error {
	if p.unmap == nil {
		return nil
	}
	err := errors.Join(p.unmap(), p.f.Close())
	p.unmap, p.data, p.f = nil, nil, nil
	return err
}

// readPack maps the pack at path and checks its prefix, header and size
// (not the slots' checksums).
func readPack(path string) (*packFile, error) {
	f, err := OpenRegular(path)
	if errors.Is(err, ErrNotRegular) { // rebuilt: the new pack is renamed over it
		return nil, fmt.Errorf("%s: %w: %v", path, ErrPackCorrupt, err)
	}
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	corrupt := func(format string, a ...any) error {
		return fmt.Errorf("%s: %w: %s", path, ErrPackCorrupt, fmt.Sprintf(format, a...))
	}
	if fi.Size() < packDataOffset {
		return nil, corrupt("%d bytes, shorter than its prefix", fi.Size())
	}
	var prefix [packPrefixLen]byte
	if _, err := f.ReadAt(prefix[:], 0); err != nil {
		return nil, err
	}
	if string(prefix[:8]) != packMagic {
		return nil, corrupt("not a pawnet pack")
	}
	hoff := binary.LittleEndian.Uint64(prefix[8:])
	hlen := binary.LittleEndian.Uint64(prefix[16:])
	if hoff < packDataOffset || hlen > 1<<30 || hoff+hlen != uint64(fi.Size()) {
		return nil, corrupt("header at %d+%d does not end the %d-byte file (truncated?)", hoff, hlen, fi.Size())
	}
	js := make([]byte, hlen)
	if _, err := f.ReadAt(js, int64(hoff)); err != nil {
		return nil, err
	}
	if crc32.Checksum(js, castagnoli) != binary.LittleEndian.Uint32(prefix[24:]) {
		return nil, corrupt("header checksum mismatch")
	}
	p := &packFile{}
	if err := json.Unmarshal(js, &p.hdr); err != nil {
		return nil, corrupt("header: %v", err)
	}
	if p.hdr.Format != packFormat || p.hdr.Size <= 0 {
		return nil, corrupt("format %q, side %d", p.hdr.Format, p.hdr.Size)
	}
	per := uint64(p.hdr.Size) * uint64(p.hdr.Size) * 3
	if want := packDataOffset + per*uint64(len(p.hdr.Entries)); hoff != want {
		return nil, corrupt("%d slots end at %d, the header starts at %d", len(p.hdr.Entries), want, hoff)
	}
	if p.data, p.unmap, err = mapFile(f, int(fi.Size())); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p.f, ok = f, true
	return p, nil
}

// verify checks every good slot's checksum on `workers` goroutines. It
// reads the file (ReadAt) rather than the mapping: reading from the page
// cache in large blocks is several times faster than faulting the mapping
// in page by page, and the pages stay cached for the mapping.
func (p *packFile) verify(workers int) error {
	workers = Workers(workers)
	per := p.hdr.Size * p.hdr.Size * 3
	perRead := max(1, (4<<20)/per) // slots per read
	var bad sync.Map
	var rerr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, perRead*per)
			for lo := w * perRead; lo < len(p.hdr.Entries); lo += workers * perRead {
				hi := min(lo+perRead, len(p.hdr.Entries))
				b := buf[:(hi-lo)*per]
				if _, err := p.f.ReadAt(b, int64(packDataOffset+lo*per)); err != nil {
					mu.Lock()
					rerr = err
					mu.Unlock()
					return
				}
				for i := lo; i < hi; i++ {
					e := p.hdr.Entries[i]
					if e.Bad == "" && crc32.Checksum(b[(i-lo)*per:(i-lo+1)*per], castagnoli) != e.CRC {
						bad.Store(i, e.Path)
					}
				}
			}
		}()
	}
	wg.Wait()
	if rerr != nil {
		return rerr
	}
	n, first := 0, ""
	bad.Range(func(_, v any) bool {
		n++
		first = v.(string)
		return true
	})
	if n > 0 {
		return fmt.Errorf("%w: %d photos fail their checksum (e.g. %s)", ErrPackCorrupt, n, first)
	}
	return nil
}

// OpenPack opens the pack at path as the cache of ds at side size. It is
// refused, with an error wrapping ErrPackStale or ErrPackCorrupt, when it
// does not match the folder as scanned now or is damaged; a missing file
// gives an error satisfying errors.Is(err, fs.ErrNotExist). The bad files
// it returns are those recorded when the pack was built.
func OpenPack(path string, ds *Dataset, size, workers int) (*Cache, []BadFile, error) {
	now, err := scanEntries(ds)
	if err != nil {
		return nil, nil, err
	}
	return openPack(path, ds, now, size, workers, true)
}

// openPack is OpenPack with the folder's entries scanned already; verify
// false skips the slots' checksums (for a pack this process just wrote).
func openPack(path string, ds *Dataset, now []packEntry, size, workers int, verify bool) (*Cache, []BadFile, error) {
	p, err := readPack(path)
	if err != nil {
		return nil, nil, err
	}
	c, bad, err := p.cache(ds, now, size, workers, verify)
	if err != nil {
		p.close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, bad, nil
}

// cache checks p against the folder's entries (and, with verify, its
// checksums) and returns it as a Cache.
func (p *packFile) cache(ds *Dataset, now []packEntry, size, workers int, verify bool) (*Cache, []BadFile, error) {
	if p.hdr.Size != size {
		return nil, nil, fmt.Errorf("%w: %d px, want %d", ErrPackStale, p.hdr.Size, size)
	}
	if src := zipSource(ds); p.hdr.Source != src {
		return nil, nil, fmt.Errorf("%w: made from %q, the data is %q", ErrPackStale, p.hdr.Source, src)
	}
	if !slices.Equal(p.hdr.Classes, ds.Classes) {
		return nil, nil, fmt.Errorf("%w: classes %v, the folder has %v", ErrPackStale, p.hdr.Classes, ds.Classes)
	}
	if !slices.EqualFunc(now, p.hdr.Entries, sameFile) {
		return nil, nil, fmt.Errorf("%w: %s", ErrPackStale, diff(p.hdr.Entries, now))
	}
	if verify {
		if err := p.verify(workers); err != nil {
			return nil, nil, err
		}
	}
	c := &Cache{Size: size, Pix: p.data[packDataOffset:], close: p.close}
	var bad []BadFile
	for i, e := range p.hdr.Entries {
		if e.Bad != "" {
			bad = append(bad, BadFile{ds.Items[i].Path, errors.New(e.Bad)})
			continue
		}
		c.Items = append(c.Items, ds.Items[i])
		c.Src = append(c.Src, i)
	}
	return c, bad, nil
}

// WritePack decodes every photo of ds at side size on `workers` goroutines
// and writes the pack at path atomically (a temporary file, fsynced, then
// renamed: a failure, a full disk or a kill leaves no partial pack).
// Photos unchanged since the pack at reuse (a stale one; may be "") are
// copied from it instead of decoded again. progress, when not nil, is
// called after each photo. It returns the photos that could not be decoded.
func WritePack(path string, ds *Dataset, size, workers int, reuse string, progress func()) ([]BadFile, error) {
	entries, err := scanEntries(ds)
	if err != nil {
		return nil, err
	}
	return writePack(path, ds, entries, size, workers, reuse, progress)
}

// writePack is WritePack with the folder's entries scanned already; it
// fills in their checksums and reasons.
func writePack(path string, ds *Dataset, entries []packEntry, size, workers int, reuse string, progress func()) ([]BadFile, error) {
	var old map[string]int
	var oldPack *packFile
	if reuse != "" {
		if p, err := readPack(reuse); err == nil && p.hdr.Size == size {
			oldPack, old = p, map[string]int{}
			defer p.close()
			for i, e := range p.hdr.Entries {
				if e.Bad == "" {
					old[e.Path] = i
				}
			}
		}
	}
	per := size * size * 3
	var todo []Item
	var todoIx []int
	var bad []BadFile
	err := fsutil.WriteAtomic(path, func(f *os.File) error {
		if err := f.Truncate(int64(packDataOffset + per*len(entries))); err != nil {
			return err
		}
		var werr error
		var mu sync.Mutex
		for i, e := range entries {
			if j, ok := old[e.Path]; ok && sameFile(oldPack.hdr.Entries[j], e) {
				src := oldPack.slot(j)
				if crc32.Checksum(src, castagnoli) == oldPack.hdr.Entries[j].CRC {
					if _, err := f.WriteAt(src, int64(packDataOffset+i*per)); err != nil {
						return err
					}
					entries[i].CRC = oldPack.hdr.Entries[j].CRC
					if progress != nil {
						progress()
					}
					continue
				}
			}
			todo = append(todo, ds.Items[i])
			todoIx = append(todoIx, i)
		}
		bad = DecodeAll(todo, size, workers, 0, progress, func(_, k int, img *imageio.RGB) {
			i := todoIx[k]
			entries[i].CRC = crc32.Checksum(img.Pix, castagnoli)
			if _, err := f.WriteAt(img.Pix, int64(packDataOffset+i*per)); err != nil {
				mu.Lock()
				werr = errors.Join(werr, err)
				mu.Unlock()
			}
		})
		if werr != nil {
			return werr
		}
		badAt := map[string]string{}
		for _, b := range bad {
			badAt[b.Path] = b.Err.Error()
		}
		for i := range entries {
			if why, ok := badAt[ds.Items[i].Path]; ok {
				entries[i].Bad, entries[i].CRC = why, 0
			}
		}
		js, err := json.Marshal(packHeader{Format: packFormat, Source: zipSource(ds), Size: size, Classes: ds.Classes, Entries: entries})
		if err != nil {
			return err
		}
		hoff := int64(packDataOffset + per*len(entries))
		if _, err := f.WriteAt(js, hoff); err != nil {
			return err
		}
		var prefix [packPrefixLen]byte
		copy(prefix[:], packMagic)
		binary.LittleEndian.PutUint64(prefix[8:], uint64(hoff))
		binary.LittleEndian.PutUint64(prefix[16:], uint64(len(js)))
		binary.LittleEndian.PutUint32(prefix[24:], crc32.Checksum(js, castagnoli))
		_, err = f.WriteAt(prefix[:], 0)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("write pack %s: %w", path, err)
	}
	return bad, nil
}

// PackOptions configure LoadPack.
type PackOptions struct {
	Size    int // side of the images
	Workers int // decoding and checksum goroutines; 0 = all cores
	// CacheDir holds packs of folders that cannot be written to
	// ("" = none: such a folder's pack cannot be built).
	CacheDir string
	Log      io.Writer // what LoadPack decided and why (nil: nowhere)
	// Progress, when not nil, is called with the number of photos to
	// decode before a build and returns a function called after each.
	Progress func(total int) func()
}

// PackPaths are where LoadPack looks for ds's pack: next to the data (in
// the folder, or beside a zip: SideFile), then in cacheDir under a name
// derived from the folder's absolute path.
func PackPaths(root string, size int, cacheDir string) []string {
	paths := []string{SideFile(root, PackName(size))}
	if cacheDir != "" {
		abs, err := filepath.Abs(root)
		if err != nil {
			abs = root
		}
		sum := sha256.Sum256([]byte(abs))
		paths = append(paths, filepath.Join(cacheDir, filepath.Base(abs)+"-"+hex.EncodeToString(sum[:6])+"-"+PackName(size)))
	}
	return paths
}

// LoadPack returns ds as a Cache at side opts.Size, read from a current
// pack, or from a new one when there is none or it is stale or damaged (it
// says why on opts.Log and rebuilds it, reusing the unchanged photos of a
// stale one). A new pack goes next to the data, or in opts.CacheDir when
// the data folder cannot be written. It also returns the bad files and the
// pack's path.
func LoadPack(ds *Dataset, opts PackOptions) (*Cache, []BadFile, string, error) {
	logf := func(format string, a ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, format, a...)
		}
	}
	now, err := scanEntries(ds) // once: every candidate is checked against it
	if err != nil {
		return nil, nil, "", err
	}
	paths := PackPaths(ds.Root, opts.Size, opts.CacheDir)
	reuse := ""
	for _, p := range paths {
		c, bad, err := openPack(p, ds, now, opts.Size, opts.Workers, true)
		if err == nil {
			logf("pack: %s (%d photos, %d unreadable)\n", p, c.Len(), len(bad))
			return c, bad, p, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			logf("pack: %v; rebuilding\n", err)
			if reuse == "" && errors.Is(err, ErrPackStale) {
				reuse = p
			}
		}
	}
	var progress func()
	if opts.Progress != nil {
		progress = opts.Progress(len(ds.Items))
	}
	var lastErr error
	for _, p := range paths {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			lastErr = err
			continue
		}
		_, err := writePack(p, ds, slices.Clone(now), opts.Size, opts.Workers, reuse, progress)
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
			logf("pack: cannot write next to the data (%v)\n", err)
			lastErr = err
			continue
		}
		if err != nil {
			return nil, nil, "", err
		}
		if reuse != "" && reuse != p {
			if err := os.Remove(reuse); err != nil {
				logf("pack: remove the stale %s: %v\n", reuse, err)
			}
		}
		// Its checksums were just computed from the pixels written.
		c, bad, err := openPack(p, ds, now, opts.Size, opts.Workers, false)
		if err != nil {
			return nil, nil, "", err
		}
		logf("pack: built %s (%d photos, %d unreadable)\n", p, c.Len(), len(bad))
		return c, bad, p, nil
	}
	if opts.CacheDir == "" {
		return nil, nil, "", fmt.Errorf("no pack can be written for %s: %w (pass a cache folder)", ds.Root, lastErr)
	}
	return nil, nil, "", fmt.Errorf("no pack can be written for %s: %w", ds.Root, lastErr)
}
