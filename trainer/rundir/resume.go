package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pawnet/pawnet/shared/metrics"
)

// CheckpointStateFile is the copy of the State that each checkpoint
// folder holds: the state.json that points at that checkpoint, written
// after the checkpoint itself and before state.json. A resume falls back
// on these copies when the newest checkpoint is damaged (see Resume).
const CheckpointStateFile = "state.json"

// WriteCheckpointState writes s into the folder of the checkpoint it
// points at (dir/s.Checkpoint) atomically.
func WriteCheckpointState(dir string, s State) error {
	if s.Checkpoint == "" {
		return errors.New("write checkpoint state: the state names no checkpoint")
	}
	return WriteState(filepath.Join(dir, s.Checkpoint), s)
}

// Resume returns the state that a resume of the run in dir continues
// from. That is state.json's when the checkpoint it names passes check,
// which gets the checkpoint folder's path (a check that reads the whole
// file, such as trainer/model's CheckCheckpoint). When that checkpoint is
// damaged, or state.json is missing or damaged while checkpoints are
// there, it is the state of the newest other checkpoint (by Seq) that
// passes check, read from its own copy (CheckpointStateFile), and note
// says which checkpoint was damaged and which one is used; note is ""
// otherwise. (A checkpoint newer than state.json's is one whose save was
// cut short between its copy and state.json: complete, and the metrics
// hold its messages.) A run without state.json and without a usable
// checkpoint gets the zero State (and a note, when it has checkpoints): it
// starts over. When state.json names a checkpoint and neither it nor
// another one passes, the error says why each failed. Resume changes no
// file: a caller that uses a fallback writes it as state.json and rolls
// the metrics back to its Seq (RollbackMetrics).
func Resume(dir string, check func(ckpt string) error) (st State, note string, err error) {
	st, err = ReadState(dir)
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var why string
	switch {
	case err == nil && st.Checkpoint == "":
		return st, "", nil // no checkpoint yet: start over
	case err == nil:
		cerr := check(filepath.Join(dir, st.Checkpoint))
		if cerr == nil {
			return st, "", nil
		}
		why = fmt.Sprintf("%s, the checkpoint %s names, is damaged (%v)", st.Checkpoint, StateFile, cerr)
	case errors.Is(err, fs.ErrNotExist):
		why = StateFile + " is missing"
	case errors.As(err, &syntax) || errors.As(err, &typ):
		why = fmt.Sprintf("%s is damaged (%v)", StateFile, err)
	default:
		return State{}, "", err
	}
	copies, failures := checkpointStates(dir)
	for _, c := range copies {
		if c.Checkpoint == st.Checkpoint {
			continue // the damaged one
		}
		cerr := check(filepath.Join(dir, c.Checkpoint))
		if cerr == nil {
			return c, fmt.Sprintf("%s; resuming from %s, the newest intact checkpoint (epoch %d done, next batch %d)",
				why, c.Checkpoint, c.Epoch, c.NextBatch), nil
		}
		failures = append(failures, fmt.Sprintf("%s: %v", c.Checkpoint, cerr))
	}
	detail := ""
	if len(failures) > 0 {
		detail = " (" + strings.Join(failures, "; ") + ")"
	}
	if errors.Is(err, fs.ErrNotExist) {
		// No checkpoint was ever recorded (or none is left): start over.
		if len(failures) > 0 {
			note = fmt.Sprintf("%s and no checkpoint can be used%s; starting over", why, detail)
		}
		return State{}, note, nil
	}
	return State{}, "", fmt.Errorf("%s, and no other intact checkpoint is left%s", why, detail)
}

// checkpointStates reads the state copies of dir's checkpoints, newest
// (highest Seq) first, and says why those it could not use failed.
func checkpointStates(dir string) (states []State, failures []string) {
	ents, err := os.ReadDir(filepath.Join(dir, CheckpointsDir))
	if err != nil {
		return nil, nil
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		name := filepath.Join(CheckpointsDir, e.Name())
		s, err := ReadState(filepath.Join(dir, name))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			failures = append(failures, fmt.Sprintf("%s: no %s (saved by an older pawnet, or cut short)", name, CheckpointStateFile))
		case err != nil:
			failures = append(failures, fmt.Sprintf("%s: %v", name, err))
		case s.Checkpoint != name:
			failures = append(failures, fmt.Sprintf("%s: its %s names %s", name, CheckpointStateFile, s.Checkpoint))
		default:
			states = append(states, s)
		}
	}
	sort.Slice(states, func(i, j int) bool { return states[i].Seq > states[j].Seq })
	return states, failures
}

// RollbackMetrics cuts dir's metrics.jsonl after its last message with
// sequence number seq or lower, so that a resume from a checkpoint whose
// state covers up to seq redoes what follows instead of repeating it. It
// also drops a partial last line. It returns how many messages it
// removed; a missing file is no error, and a file that is not a regular
// file is refused unopened.
func RollbackMetrics(dir string, seq int64) (int, error) {
	path := filepath.Join(dir, MetricsFile)
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("%s is not a regular file (%v)", path, fi.Mode().Type())
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var cut int64 // where the file will end
	removed := 0
	_, _, err = metrics.ScanLines(f, func(h metrics.Header, ok bool, _ []byte, end int64) bool {
		switch {
		case removed > 0 || (ok && h.Seq > seq):
			removed++
		default:
			cut = end
		}
		return true
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	if cut == fi.Size() {
		return 0, nil
	}
	if err := f.Truncate(cut); err != nil {
		return 0, err
	}
	return removed, f.Sync()
}
