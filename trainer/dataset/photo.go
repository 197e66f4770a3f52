package dataset

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
)

// Photo is one photo file: Name in the file system FS, which is a folder
// (Dir) or a zip (*Zip), never a process-wide registry, so a photo reads
// the same whatever else was opened. Path is how it is shown and known:
// its path on disk, or a path through the zip
// ("data/x.zip/train.zip/train/cat.1.jpg"). OnDisk, InDir and Zip.Photo
// make one.
type Photo struct {
	Path string
	FS   fs.FS
	Name string // an fs.ValidPath in FS
}

// OnDisk is the photo file at path, read from its folder (Dir).
func OnDisk(path string) Photo {
	return Photo{Path: path, FS: Dir(filepath.Dir(path)), Name: filepath.Base(path)}
}

// InDir is the photo at rel (a slash-separated path below dir), read
// from Dir(dir).
func InDir(dir, rel string) Photo {
	return Photo{Path: filepath.Join(dir, filepath.FromSlash(rel)), FS: Dir(dir), Name: filepath.ToSlash(rel)}
}

// Read reads the photo (ReadPhoto).
func (p Photo) Read() ([]byte, error) {
	data, err := ReadPhoto(p.FS, p.Name)
	if err != nil {
		return nil, relabel(err, p.Path)
	}
	return data, nil
}

// Open opens the photo for reading from its file system.
func (p Photo) Open() (io.ReadCloser, error) {
	f, err := p.FS.Open(p.Name)
	if err != nil {
		return nil, relabel(err, p.Path)
	}
	return f, nil
}

// relabel names the photo by its Path in a *fs.PathError (the name in
// its file system alone would not say where it is); other errors say
// what is wrong with the photo and go as they are, its path added by
// whoever reports it (BadFile).
func relabel(err error, path string) error {
	if pe, ok := err.(*fs.PathError); ok {
		return &fs.PathError{Op: pe.Op, Path: path, Err: pe.Err}
	}
	return err
}

// ReadPhoto reads the photo name of fsys. Every reader of photos (the
// decoder, the pack, predict, teach) reads through it. A file system
// that reads files itself (fs.ReadFileFS: Dir, *Zip) applies its own
// rules: Dir reads regular files only (OpenRegular), a zip refuses
// entries over MaxPhotoBytes or a zip bomb's ratio. Any other is read up
// to MaxPhotoBytes.
func ReadPhoto(fsys fs.FS, name string) ([]byte, error) {
	if r, ok := fsys.(fs.ReadFileFS); ok {
		return r.ReadFile(name)
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxPhotoBytes+1)); err != nil {
		return nil, err
	}
	if buf.Len() > MaxPhotoBytes {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("over %d bytes", MaxPhotoBytes)}
	}
	return buf.Bytes(), nil
}

// Dir is a folder's file system, as data folders are read: it opens
// regular files only (after following symlinks), with OpenRegular, so
// a named pipe, socket or device among the photos is refused, never
// waited on.
type Dir string

// Open opens name below the folder with OpenRegular.
func (d Dir) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	return OpenRegular(filepath.Join(string(d), filepath.FromSlash(name)))
}

// ReadFile reads name below the folder with ReadRegular.
func (d Dir) ReadFile(name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrInvalid}
	}
	return ReadRegular(filepath.Join(string(d), filepath.FromSlash(name)))
}
