package model

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/train/metric"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/trainer/fsutil"
)

// CheckpointFile is the one file a checkpoint directory holds. Save writes
// it with fsutil.WriteAtomic (a temporary file in the same directory,
// renamed into place), so a reader sees either the previous checkpoint or
// the new one, whole.
const CheckpointFile = "gomlx-state.bin"

// checkpointMagic starts every checkpoint file; the number is the format version.
const checkpointMagic = "PAWCKPT1"

const checkpointFormat = "pawnet-gomlx-checkpoint/1"

// checkpointHeader is the JSON header of a checkpoint file. The raw,
// little-endian tensor bytes follow it in Variables order.
type checkpointHeader struct {
	Format     string          `json:"format"`
	Config     alexnet.Config  `json:"config"`
	GlobalStep int64           `json:"global_step"`
	Variables  []checkpointVar `json:"variables"`
}

type checkpointVar struct {
	Path      string `json:"path"`
	DType     string `json:"dtype"`
	Dims      []int  `json:"dims"`
	Trainable bool   `json:"trainable"`
	Bytes     int64  `json:"bytes"`
	CRC32     uint32 `json:"crc32"`
}

// skipInCheckpoint reports whether a store variable is left out of
// checkpoints: only the trainer's metric accumulators (the moving-average
// loss), whose scope names carry a fresh UUID per Trainer.
func skipInCheckpoint(path string) bool {
	return strings.HasPrefix(path, "/"+metric.Scope+"/")
}

// Save writes the whole training state to dir/CheckpointFile atomically:
// every parameter, Adam's moments and step, the global step, the learning
// rate and the random-number state that drives dropout. A Model restored
// from it continues training exactly as this one would. dir is created if
// needed.
func (m *Model) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("model: save: %w", err)
	}
	err := fsutil.WriteAtomic(filepath.Join(dir, CheckpointFile), func(f *os.File) error {
		return catch(func() error { return m.writeCheckpoint(f) })
	})
	if err != nil {
		return fmt.Errorf("model: save: %w", err)
	}
	return nil
}

func (m *Model) writeCheckpoint(f *os.File) error {
	hdr := checkpointHeader{Format: checkpointFormat, Config: m.cfg, GlobalStep: m.GlobalStep()}
	var tensorsToWrite []*tensors.Tensor
	for v := range m.store.IterVariables() {
		if skipInCheckpoint(v.Path()) || !v.HasValue() {
			continue
		}
		t, err := v.Value()
		if err != nil {
			return err
		}
		cv := checkpointVar{Path: v.Path(), DType: t.DType().String(), Dims: t.Shape().Dimensions,
			Trainable: v.Trainable, Bytes: t.ByteSize()}
		if err := t.ConstBytes(func(b []byte) { cv.CRC32 = crc32.ChecksumIEEE(b) }); err != nil {
			return err
		}
		hdr.Variables = append(hdr.Variables, cv)
		tensorsToWrite = append(tensorsToWrite, t)
	}
	js, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	// A bufio.Writer keeps its first write error and returns it from every
	// later Write and from Flush, so the errors of these writes are checked
	// by the Flush below.
	w.WriteString(checkpointMagic)
	_ = binary.Write(w, binary.LittleEndian, uint64(len(js)))
	w.Write(js)
	for _, t := range tensorsToWrite {
		var werr error
		if err := t.ConstBytes(func(b []byte) { _, werr = w.Write(b) }); err != nil {
			return err
		}
		if werr != nil {
			return werr
		}
	}
	return w.Flush()
}

// Restore loads a checkpoint written by Save (from a Model of the same
// Config) and replaces the whole training state with it. It validates the
// entire file before changing anything, so a failed Restore leaves the
// model as it was. The learning rate is restored too: call
// SetLearningRate afterwards to change it.
func (m *Model) Restore(dir string) error {
	hdr, values, err := readCheckpoint(filepath.Join(dir, CheckpointFile), true)
	if err != nil {
		return fmt.Errorf("model: restore: %w", err)
	}
	if hdr.Config != m.cfg {
		return fmt.Errorf("model: restore: checkpoint is for config %v, model is %v", hdr.Config, m.cfg)
	}
	inCkpt := make(map[string]bool, len(hdr.Variables))
	for i, cv := range hdr.Variables {
		inCkpt[cv.Path] = true
		if v := m.store.GetVariable(cv.Path); v != nil && !v.Shape().Equal(values[i].Shape()) {
			return fmt.Errorf("model: restore: %s has shape %s in the checkpoint, %s in the model", cv.Path, values[i].Shape(), v.Shape())
		}
	}
	for _, pv := range m.vars {
		if !inCkpt[pv.path] {
			return fmt.Errorf("model: restore: checkpoint lacks parameter %s", pv.path)
		}
	}
	err = catch(func() error {
		// Variables the checkpoint does not know (say Adam moments, when it was
		// saved before the first step) go, and so do the graphs that use them.
		var stale []string
		for v := range m.store.IterVariables() {
			if !inCkpt[v.Path()] && !skipInCheckpoint(v.Path()) {
				stale = append(stale, v.Path())
			}
		}
		if len(stale) > 0 {
			m.resetGraphs()
			for _, p := range stale {
				if err := m.store.DeleteVariable(p); err != nil {
					return err
				}
			}
		}
		for i, cv := range hdr.Variables {
			v := m.store.GetVariable(cv.Path)
			if v == nil {
				var err error
				if v, err = m.store.CreateVariable(cv.Path, values[i]); err != nil {
					return err
				}
			} else if err := v.SetValue(values[i]); err != nil {
				return err
			}
			m.evalStale = true
			v.SetTrainable(cv.Trainable)
		}
		if v := m.store.GetVariable(learningRatePath); v != nil {
			m.opts.LearningRate = float64(tensors.ToScalar[float32](v.MustValue()))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("model: restore: %w", err)
	}
	return nil
}

// CheckCheckpoint reads the checkpoint in dir whole and checks it as
// Restore does before it changes anything (its format, every variable's
// size and checksum, and that a model of config cfg saved it), without
// keeping its tensors. A resume uses it to choose an intact checkpoint
// before it builds a model.
func CheckCheckpoint(dir string, cfg alexnet.Config) error {
	hdr, _, err := readCheckpoint(filepath.Join(dir, CheckpointFile), false)
	if err != nil {
		return err
	}
	if hdr.Config != cfg {
		return fmt.Errorf("%s: checkpoint is for config %v, the run's is %v", dir, hdr.Config, cfg)
	}
	return nil
}

// readCheckpoint reads and checks a checkpoint file; with keep false it
// returns no tensors, reading each variable into one reused buffer.
func readCheckpoint(path string, keep bool) (*checkpointHeader, []*tensors.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	r := bufio.NewReaderSize(f, 1<<20)
	magic := make([]byte, len(checkpointMagic))
	if _, err := io.ReadFull(r, magic); err != nil || !bytes.Equal(magic, []byte(checkpointMagic)) {
		return nil, nil, fmt.Errorf("%s is not a pawnet checkpoint", path)
	}
	var hlen uint64
	if err := binary.Read(r, binary.LittleEndian, &hlen); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if hlen > 1<<26 {
		return nil, nil, fmt.Errorf("%s: header of %d bytes", path, hlen)
	}
	js := make([]byte, hlen)
	if _, err := io.ReadFull(r, js); err != nil {
		return nil, nil, fmt.Errorf("%s: header: %w", path, err)
	}
	var hdr checkpointHeader
	if err := json.Unmarshal(js, &hdr); err != nil {
		return nil, nil, fmt.Errorf("%s: header: %w", path, err)
	}
	if hdr.Format != checkpointFormat {
		return nil, nil, fmt.Errorf("%s: format %q, want %q", path, hdr.Format, checkpointFormat)
	}
	// The sizes must add up to the file's before anything is allocated.
	want := int64(len(checkpointMagic)) + 8 + int64(hlen)
	for _, cv := range hdr.Variables {
		if cv.Bytes < 0 || cv.Bytes > fi.Size() {
			return nil, nil, fmt.Errorf("%s: variable %s of %d bytes", path, cv.Path, cv.Bytes)
		}
		want += cv.Bytes
	}
	if want != fi.Size() {
		return nil, nil, fmt.Errorf("%s: %d bytes, its header describes %d (truncated?)", path, fi.Size(), want)
	}
	var values []*tensors.Tensor
	if keep {
		values = make([]*tensors.Tensor, len(hdr.Variables))
	}
	var scratch []byte
	for i, cv := range hdr.Variables {
		dt, err := dtypes.DTypeString(cv.DType)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: variable %s: %w", path, cv.Path, err)
		}
		shape := shapes.Make(dt, cv.Dims...)
		if shape.ByteSize() != cv.Bytes {
			return nil, nil, fmt.Errorf("%s: variable %s: %d bytes for shape %s", path, cv.Path, cv.Bytes, shape)
		}
		var rerr error
		read := func(b []byte) {
			if _, rerr = io.ReadFull(r, b); rerr == nil && crc32.ChecksumIEEE(b) != cv.CRC32 {
				rerr = errors.New("checksum mismatch")
			}
		}
		if keep {
			t := tensors.FromShape(shape)
			if err := t.MutableBytes(read); err != nil {
				return nil, nil, err
			}
			values[i] = t
		} else {
			if int64(cap(scratch)) < cv.Bytes {
				scratch = make([]byte, cv.Bytes)
			}
			read(scratch[:cv.Bytes])
		}
		if rerr != nil {
			return nil, nil, fmt.Errorf("%s: variable %s: %w", path, cv.Path, rerr)
		}
	}
	if _, err := r.ReadByte(); err != io.EOF {
		return nil, nil, fmt.Errorf("%s: trailing data after the last variable", path)
	}
	return &hdr, values, nil
}

// CheckpointVariables lists the store paths a checkpoint in dir holds,
// sorted; it is meant for tools and tests.
func CheckpointVariables(dir string) ([]string, error) {
	hdr, _, err := readCheckpoint(filepath.Join(dir, CheckpointFile), false)
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(hdr.Variables))
	for i, cv := range hdr.Variables {
		paths[i] = cv.Path
	}
	sort.Strings(paths)
	return paths, nil
}
