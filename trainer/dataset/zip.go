package dataset

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Reading Kaggle's zips in place
//
// The competition comes as one zip (dogs-vs-cats-redux-kernels-edition.zip)
// holding train.zip, test.zip and sample_submission.csv. Scan, stats,
// pack, train and predict read a zip's entries where they lie, with
// archive/zip; nothing is ever extracted or written from a zip, so an
// entry named ../x or /etc/x can do no harm (it is skipped and named
// anyway). An open zip is an fs.FS of its photo entries: a photo of a
// zip is its entry name in that file system (Photo), shown as a path
// through it, "data/x.zip/train.zip/train/cat.1.jpg".
//
// A nested zip (train.zip inside the outer one) is opened in place when it
// is stored uncompressed: its bytes are a section of the outer file (its
// CRC is then not checked as a whole, but every photo read from it is
// checked against its own CRC). A deflated nested zip is inflated once
// into an unnamed temporary file beside the zip (removed from the folder
// as soon as it is made; the space is freed when the zip is closed or the
// process ends),
// never into memory: memory stays bounded by one copy buffer whatever its
// size, at the cost of its size in temporary disk space. A Zip belongs
// to whoever opened it: nothing keeps it for the process, and Close (or
// the process's end) closes its files.
//
// Limits against zip bombs: a photo entry whose declared uncompressed
// size passes MaxPhotoBytes, or, over 1 MiB, is more than MaxRatio times
// its compressed size, is skipped with the reason, and reading one
// stops at MaxPhotoBytes whatever the header says (archive/zip also
// refuses data longer than declared). A nested zip is refused when it
// declares more than MaxNestedBytes or MaxRatio times its compressed size.

// Limits on a zip's entries (see above).
const (
	MaxPhotoBytes  = 64 << 20 // one photo, uncompressed
	MaxNestedBytes = 16 << 30 // a zip inside the zip, uncompressed
	MaxRatio       = 200      // uncompressed / compressed size of a deflated entry
)

// ErrZip is wrapped by the errors of a zip that cannot be read at all (a
// truncated zip, say: its directory is at the end).
var ErrZip = errors.New("not a readable zip")

// Zip is an open zip of photos: a competition zip, its train.zip or
// test.zip, or any zip of cat.N/dog.N or N.jpg photos.
type Zip struct {
	// Root names the zip in photo paths: the file's path, and the inner
	// zip's name after it when the photos are in a nested zip
	// ("x.zip/train.zip").
	Root string
	// File is the zip file on disk (the outer one) and Size, ModTime its
	// size and modification time (ns) when opened.
	File          string
	Size, ModTime int64
	// Photos are the names of the photo entries (IsImageName) in the zip
	// whose photos are read, sorted.
	Photos []string
	// Other are the names of the other entries (folders excepted), never
	// read; Skipped the entries refused, with the reason (unsafe names,
	// duplicates, sizes over the limits).
	Other   []string
	Skipped []BadFile

	r       *zip.Reader
	byName  map[string]*zip.File
	closers []io.Closer
}

// IsZipName reports whether a path names a zip (.zip, in any case).
func IsZipName(p string) bool { return strings.EqualFold(filepath.Ext(p), ".zip") }

// OpenZip opens the zip at file and picks where its photos are: part
// ("train" or "test") names the nested zip to read (part + ".zip",
// anywhere in the zip) when there is one, and otherwise the folder part/
// of the zip itself when it has photos there, else all its photos. A zip
// that cannot be read at all is an error wrapping ErrZip; entries that
// cannot be used are in Skipped. The Zip is an fs.FS of its photo
// entries; Close closes it.
func OpenZip(file, part string) (*Zip, error) {
	f, fi, outer, err := openOuter(file)
	if err != nil {
		return nil, err
	}
	z := &Zip{Root: file, File: file, Size: fi.Size(), ModTime: fi.ModTime().UnixNano(), r: outer, closers: []io.Closer{f}}
	var nested *zip.File
	for _, e := range outer.File {
		if strings.EqualFold(path.Base(e.Name), part+".zip") && !e.FileInfo().IsDir() {
			nested = e
			break
		}
	}
	if nested != nil {
		z.Root = file + "/" + nested.Name
		inner, err := openNested(f, nested, filepath.Dir(file))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", z.Root, err)
		}
		z.r = inner.r
		z.closers = append(z.closers, inner.closers...)
	}
	z.index(part, nested == nil)
	return z, nil
}

// openOuter opens the zip file at file (a regular file: OpenRegular) and
// reads its directory. A zip that cannot be read at all is an error
// wrapping ErrZip; entry names that are not safe are sorted out later.
func openOuter(file string) (*os.File, fs.FileInfo, *zip.Reader, error) {
	f, err := OpenRegular(file)
	if err != nil {
		return nil, nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, nil, err
	}
	r, err := zip.NewReader(f, fi.Size())
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		f.Close()
		return nil, nil, nil, fmt.Errorf("%s (%d bytes): %w: its directory, at the end of the file, is missing or damaged (an interrupted download? download it again): %v", file, fi.Size(), ErrZip, err)
	}
	return f, fi, r, nil
}

// nestedZip is an inner zip opened for reading.
type nestedZip struct {
	r       *zip.Reader
	closers []io.Closer
}

// openNested opens the zip entry e of the outer zip file f: in place when
// stored, else inflated into an unnamed temporary file in dir (the zip's
// folder: a disk with room for the download, where the system's temporary
// folder may be a RAM disk), or in the temporary folder when dir cannot
// be written.
func openNested(f *os.File, e *zip.File, dir string) (*nestedZip, error) {
	if err := checkSize(e, MaxNestedBytes); err != nil {
		return nil, err
	}
	if e.Method == zip.Store {
		off, err := e.DataOffset()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrZip, err)
		}
		r, err := zip.NewReader(io.NewSectionReader(f, off, int64(e.CompressedSize64)), int64(e.CompressedSize64))
		if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
			return nil, fmt.Errorf("%w (truncated, or not a zip?): %v", ErrZip, err)
		}
		return &nestedZip{r: r}, nil
	}
	tmp, err := os.CreateTemp(dir, ".pawnet-inflating-*.zip")
	if err != nil {
		if tmp, err = os.CreateTemp("", "pawnet-inflating-*.zip"); err != nil {
			return nil, err
		}
	}
	os.Remove(tmp.Name()) // unnamed from now on: nothing is left behind
	rc, err := e.Open()
	if err != nil {
		tmp.Close()
		return nil, fmt.Errorf("%w: %v", ErrZip, err)
	}
	n, err := io.Copy(tmp, io.LimitReader(rc, MaxNestedBytes+1))
	rc.Close() // archive/zip checked the size and CRC at EOF
	if err == nil && n > MaxNestedBytes {
		err = fmt.Errorf("inflates past %d bytes (a zip bomb?)", int64(MaxNestedBytes))
	}
	if err != nil {
		tmp.Close()
		return nil, fmt.Errorf("%w: inflating it: %v", ErrZip, err)
	}
	r, err := zip.NewReader(tmp, n)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		tmp.Close()
		return nil, fmt.Errorf("%w (truncated, or not a zip?): %v", ErrZip, err)
	}
	return &nestedZip{r: r, closers: []io.Closer{tmp}}, nil
}

// checkSize refuses an entry whose declared size passes limit, or, when it
// is compressed, MaxRatio times its compressed size.
func checkSize(e *zip.File, limit uint64) error {
	if e.UncompressedSize64 > limit {
		return fmt.Errorf("declares %d bytes uncompressed, over the limit of %d (a zip bomb?)", e.UncompressedSize64, limit)
	}
	if e.Method != zip.Store && e.UncompressedSize64 > 1<<20 && e.UncompressedSize64 > MaxRatio*e.CompressedSize64 {
		return fmt.Errorf("declares %d bytes from %d compressed, a ratio over %d (a zip bomb?)", e.UncompressedSize64, e.CompressedSize64, MaxRatio)
	}
	return nil
}

// safeName reports whether a zip entry name is a plain relative path:
// no "..", no leading slash, no backslash, no drive letter.
func safeName(name string) bool {
	return fs.ValidPath(strings.TrimSuffix(name, "/")) && !strings.ContainsAny(name, `\:`)
}

// index sorts the zip's entries into Photos, Other and Skipped. With
// top, the photos are those under part/ when there are any there.
func (z *Zip) index(part string, top bool) {
	z.byName = map[string]*zip.File{}
	under := false
	if top {
		for _, e := range z.r.File {
			if strings.HasPrefix(strings.ToLower(e.Name), strings.ToLower(part)+"/") && IsImageName(e.Name) {
				under = true
				break
			}
		}
	}
	for _, e := range z.r.File {
		name := e.Name
		switch {
		case strings.HasSuffix(name, "/"):
			continue
		case !safeName(name):
			z.Skipped = append(z.Skipped, BadFile{z.Root + "/" + name, errors.New("an unsafe entry name (outside the zip's folder); skipped, never extracted")})
			continue
		case under && !strings.HasPrefix(strings.ToLower(name), strings.ToLower(part)+"/"):
			z.Other = append(z.Other, name)
			continue
		case !IsImageName(name):
			z.Other = append(z.Other, name)
			continue
		}
		if _, dup := z.byName[name]; dup {
			z.Skipped = append(z.Skipped, BadFile{z.Root + "/" + name, errors.New("a duplicate entry name; the first one is used")})
			continue
		}
		if err := checkSize(e, MaxPhotoBytes); err != nil {
			z.Skipped = append(z.Skipped, BadFile{z.Root + "/" + name, err})
			continue
		}
		z.byName[name] = e
		z.Photos = append(z.Photos, name)
	}
	sort.Strings(z.Photos)
	sort.Strings(z.Other)
}

// Path is the photo path of entry name (Root/name).
func (z *Zip) Path(name string) string { return z.Root + "/" + name }

// Photo is the photo of entry name.
func (z *Zip) Photo(name string) Photo { return Photo{Path: z.Path(name), FS: z, Name: name} }

// photo returns the photo entry name, or an *fs.PathError.
func (z *Zip) photo(op, name string) (*zip.File, error) {
	e, ok := z.byName[name]
	if !ok {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	if err := checkSize(e, MaxPhotoBytes); err != nil {
		return nil, err // says what is wrong with the entry; Photo adds its path
	}
	return e, nil
}

// Open opens the photo entry name (one of Photos) for reading: z is an
// fs.FS of its photos. Other entries do not exist in it.
func (z *Zip) Open(name string) (fs.File, error) {
	if _, err := z.photo("open", name); err != nil {
		return nil, err
	}
	return z.r.Open(name)
}

// ReadFile reads the photo entry name, refusing more than MaxPhotoBytes.
func (z *Zip) ReadFile(name string) ([]byte, error) {
	e, err := z.photo("read", name)
	if err != nil {
		return nil, err
	}
	return readEntry(e, MaxPhotoBytes)
}

// ReadZipEntry reads the entry of the zip file whose base name is name
// (sample_submission.csv of the competition zip, say), at most limit
// bytes, without opening a nested zip; fs.ErrNotExist when there is none.
func ReadZipEntry(file, name string, limit int64) ([]byte, error) {
	f, _, r, err := openOuter(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	for _, e := range r.File {
		if path.Base(e.Name) == name && safeName(e.Name) {
			return readEntry(e, limit)
		}
	}
	return nil, fs.ErrNotExist
}

// readEntry reads a whole entry, refusing more than limit bytes.
func readEntry(e *zip.File, limit int64) ([]byte, error) {
	if err := checkSize(e, uint64(limit)); err != nil {
		return nil, err
	}
	rc, err := e.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("damaged zip entry: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("inflates past %d bytes (a zip bomb?)", limit)
	}
	return data, nil
}

// Close closes the zip's files; its photos can no longer be read.
func (z *Zip) Close() error {
	var err error
	for _, c := range z.closers {
		err = errors.Join(err, c.Close())
	}
	z.closers = nil
	return err
}

// ScanZip reads the train photos of a zip as a Dataset. A zip whose
// photos are in two or more class folders (below one top folder, when
// every photo is in it; Kaggle's train/ and test/ are not classes) is read
// as Scan reads a folder: each folder is a class, labelled in the folders'
// case-insensitive order, so a zip of class folders is a dataset too
// (`pawnet teach pets.zip`). Otherwise its photos are Kaggle's: the cat.N
// and dog.N photos (KaggleClass) of train.zip, of its train/ folder, or of
// the zip itself (see OpenZip), labelled cat = 0, dog = 1 as Separate
// would file them.
// Other photos are in Ignored; refused entries in Skipped.
func ScanZip(file string) (*Dataset, error) {
	z, err := OpenZip(file, "train")
	if err != nil {
		return nil, err
	}
	ds := &Dataset{Root: z.Root, Zip: z, Skipped: slicesClone(z.Skipped)}
	if folders := zipClassFolders(z.Photos); len(folders) >= 2 {
		return zipFolders(ds, z, folders), nil
	}
	var byClass [2][]Item
	var other []string
	for _, name := range z.Photos {
		switch KaggleClass(name) {
		case "cat":
			byClass[0] = append(byClass[0], Item{Photo: z.Photo(name), Label: 0})
		case "dog":
			byClass[1] = append(byClass[1], Item{Photo: z.Photo(name), Label: 1})
		default:
			other = append(other, name)
		}
	}
	for _, name := range other {
		ds.Ignored = append(ds.Ignored, z.Path(name))
	}
	for i, cls := range []string{"cat", "dog"} {
		if len(byClass[i]) == 0 {
			return nil, fmt.Errorf("%s: no %s.N photos in the zip (%d photos, %d other entries); need cat.N and dog.N files as in Kaggle's train.zip, or a folder of photos per class", z.Root, cls, len(z.Photos), len(z.Other))
		}
		ds.Classes = append(ds.Classes, cls)
		ds.Items = append(ds.Items, byClass[i]...)
	}
	return ds, nil
}

// zipClassFolders groups a zip's photo names by class folder: the first
// folder of each name, or the second when every name is in one top
// folder (a zip of "pets/" holding "pets/rex/", "pets/tabby/"). Photos
// outside a class folder are left out.
func zipClassFolders(names []string) map[string][]string {
	depth := 0
	if len(names) == 0 {
		return nil
	}
	if top, _, ok := strings.Cut(names[0], "/"); ok {
		all := true
		for _, n := range names {
			if !strings.HasPrefix(n, top+"/") || !strings.Contains(strings.TrimPrefix(n, top+"/"), "/") {
				all = false
				break
			}
		}
		if all {
			depth = 1
		}
	}
	folders := map[string][]string{}
	kaggle := true // every folder is Kaggle's train/ or test/
	for _, n := range names {
		parts := strings.Split(n, "/")
		if len(parts) < depth+2 {
			continue
		}
		f := parts[depth]
		folders[f] = append(folders[f], n)
		kaggle = kaggle && (strings.EqualFold(f, "train") || strings.EqualFold(f, "test"))
	}
	if kaggle {
		return nil
	}
	return folders
}

// zipFolders fills ds with a zip's class folders, labelled in the
// folders' case-insensitive order as Scan labels a folder's.
func zipFolders(ds *Dataset, z *Zip, folders map[string][]string) *Dataset {
	classes := make([]string, 0, len(folders))
	for c := range folders {
		classes = append(classes, c)
	}
	sort.Slice(classes, func(i, j int) bool {
		a, b := strings.ToLower(classes[i]), strings.ToLower(classes[j])
		if a != b {
			return a < b
		}
		return classes[i] < classes[j]
	})
	in := map[string]bool{}
	for label, c := range classes {
		ds.Classes = append(ds.Classes, c)
		for _, n := range folders[c] {
			ds.Items = append(ds.Items, Item{Photo: z.Photo(n), Label: label})
			in[n] = true
		}
	}
	for _, n := range z.Photos {
		if !in[n] {
			ds.Ignored = append(ds.Ignored, z.Path(n))
		}
	}
	return ds
}

func slicesClone(b []BadFile) []BadFile { return append([]BadFile(nil), b...) }

// zipSource identifies the zip file of a pack: its size and modification
// time ("" for a folder).
func zipSource(ds *Dataset) string {
	if ds.Zip == nil {
		return ""
	}
	return fmt.Sprintf("zip %s: %d bytes, mtime %d", filepath.Base(ds.Zip.File), ds.Zip.Size, ds.Zip.ModTime)
}

// SideFile is where a file that belongs with a data folder (stats.json,
// a pack) goes: in the folder, or, for a zip, beside the zip file, named
// after it and the nested zip ("x.zip" → "x.stats.json",
// "x.zip/train.zip" → "x.train.stats.json").
func SideFile(root, name string) string {
	file, inner := splitZip(root)
	if file == "" {
		return filepath.Join(root, name)
	}
	base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	if inner != "" {
		in := strings.ReplaceAll(inner, "/", "_")
		base += "." + strings.TrimSuffix(in, path.Ext(in))
	}
	return filepath.Join(filepath.Dir(file), base+"."+name)
}

// splitZip splits a photo root through a zip into the zip file and the
// nested zip's name; file is "" when root is not in a zip.
func splitZip(root string) (file, inner string) {
	s := filepath.ToSlash(root)
	for i := 0; i+4 <= len(s); i++ {
		if (i+4 == len(s) || s[i+4] == '/') && strings.EqualFold(s[i:i+4], ".zip") {
			file = filepath.FromSlash(s[:i+4])
			if i+4 < len(s) {
				inner = s[i+5:]
			}
			if fi, err := os.Stat(file); err == nil && fi.Mode().IsRegular() {
				return file, inner
			}
			file, inner = "", ""
		}
	}
	return "", ""
}
