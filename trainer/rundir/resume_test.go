package rundir

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pawnet/pawnet/shared/metrics"
)

// seqsIn returns the sequence numbers of a metrics file's complete lines,
// and whether it ends with a partial line.
func seqsIn(t *testing.T, path string) ([]int64, bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var seqs []int64
	_, partial, err := metrics.ReadLines(f, func(h metrics.Header, ok bool, _ []byte) {
		if ok {
			seqs = append(seqs, h.Seq)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return seqs, partial
}

// span is the numbers lo..hi.
func span(lo, hi int64) []int64 {
	var s []int64
	for i := lo; i <= hi; i++ {
		s = append(s, i)
	}
	return s
}

// TestEmitterStopsWritingAfterAFailedWrite lowers the process's file-size
// limit below the metrics file's next lines, so that the kernel refuses a
// write as a full disk does: Err reports it, the file ends with its last
// complete line (the cut-short one removed), Written says which, nothing
// is appended after it even once writes could succeed again, and the sink
// hears every message. Rewind then takes back lines written after a mark.
func TestEmitterStopsWritingAfterAFailedWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), MetricsFile)
	var heard []int64
	e, err := OpenEmitter(path, 0, SinkFunc(func(m metrics.Message, _ []byte) { heard = append(heard, metrics.Seq(m)) }))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		e.Emit(&metrics.Step{Epoch: 1, Step: i + 1, Loss: 0.7})
	}
	mark := e.Mark()
	e.Emit(&metrics.Step{Epoch: 1, Step: 6, Loss: 0.7})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	small := lim
	small.Cur = uint64(fi.Size()) + 150 // less than a step line: the next write is cut short
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &small); err != nil {
		t.Skipf("cannot lower the file-size limit: %v", err)
	}
	e.Emit(&metrics.Step{Epoch: 1, Step: 7, Loss: 0.7, ImagesPerSec: 123.456, ElapsedSec: 7.5, ETASec: 12.25})
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	e.Emit(&metrics.Step{Epoch: 1, Step: 8, Loss: 0.7})
	if err := e.Err(); !errors.Is(err, syscall.EFBIG) || !strings.Contains(err.Error(), "write step 7") {
		t.Fatalf("Err() = %v; want the refused write of step 7", err)
	}
	if e.Written() != 6 || e.Seq() != 8 || e.Sync() == nil {
		t.Errorf("Written %d, Seq %d, Sync %v; want 6, 8 and the write error", e.Written(), e.Seq(), e.Sync())
	}
	if seqs, partial := seqsIn(t, path); !slices.Equal(seqs, span(1, 6)) || partial {
		t.Errorf("file holds %v (partial line: %v); want 1..6 and no partial line", seqs, partial)
	}
	if !slices.Equal(heard, span(1, 8)) {
		t.Errorf("sink heard %v; want 1..8", heard)
	}
	e.Rewind(mark)
	if seqs, _ := seqsIn(t, path); !slices.Equal(seqs, span(1, 5)) || e.Written() != 5 {
		t.Errorf("after Rewind the file holds %v, Written %d; want 1..5", seqs, e.Written())
	}
	if err := e.Close(); !errors.Is(err, syscall.EFBIG) {
		t.Errorf("Close() = %v; want the write error", err)
	}
}

// writeMetrics writes a metrics file of messages 1..n, then a partial
// line when cut.
func writeMetrics(t *testing.T, dir string, n int, cut bool) {
	t.Helper()
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		m := &metrics.Step{Epoch: 1, Step: i}
		metrics.Stamp(m, int64(i), 1)
		line, err := metrics.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(line, '\n'))
	}
	if cut {
		b.WriteString(`{"type":"step","seq":`)
	}
	if err := os.WriteFile(filepath.Join(dir, MetricsFile), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRollbackMetrics cuts real metrics files back to a state's seq.
func TestRollbackMetrics(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n       int
		cut     bool
		seq     int64
		removed int
		left    []int64
	}{
		{"after a kill", 10, true, 6, 4, span(1, 6)},
		{"nothing after the state", 6, false, 6, 0, span(1, 6)},
		{"a partial line only", 6, true, 6, 0, span(1, 6)},
		{"no checkpoint yet", 4, false, 0, 4, nil},
		{"the state is ahead", 3, false, 6, 0, span(1, 3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeMetrics(t, dir, tc.n, tc.cut)
			removed, err := RollbackMetrics(dir, tc.seq)
			if err != nil || removed != tc.removed {
				t.Fatalf("RollbackMetrics = %d, %v; want %d", removed, err, tc.removed)
			}
			if seqs, partial := seqsIn(t, filepath.Join(dir, MetricsFile)); !slices.Equal(seqs, tc.left) || partial {
				t.Errorf("left %v (partial %v); want %v", seqs, partial, tc.left)
			}
		})
	}
	if n, err := RollbackMetrics(t.TempDir(), 3); n != 0 || err != nil {
		t.Errorf("no metrics file: %d, %v", n, err)
	}
}

// TestMetricsFileMustBeRegular makes metrics.jsonl a named pipe: opening
// the emitter and rolling back refuse it at once instead of blocking.
func TestMetricsFileMustBeRegular(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, MetricsFile), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan [2]error, 1)
	go func() {
		_, oerr := OpenEmitter(filepath.Join(dir, MetricsFile), 0, nil)
		_, rerr := RollbackMetrics(dir, 0)
		done <- [2]error{oerr, rerr}
	}()
	select {
	case errs := <-done:
		for _, err := range errs {
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("got %v; want the named pipe refused", err)
			}
		}
	case <-time.After(time.Minute):
		t.Fatal("blocked on a named pipe for a minute")
	}
}

// TestResumeFallsBack lays out run folders whose checkpoint files are
// real files holding their own name (check reads them back; "damaged"
// content fails it) and checks which state Resume picks.
func TestResumeFallsBack(t *testing.T) {
	type ckpt struct {
		name    string
		seq     int64
		damaged bool
		noCopy  bool // saved without its state copy (an older pawnet)
	}
	for _, tc := range []struct {
		name  string
		ckpts []ckpt
		state string // the checkpoint state.json names; "!" = garbage, "" = no state.json
		want  string // the checkpoint resumed from; "" = start over
		note  string // in the note; "" = none
		err   string // in the error
	}{
		{"newest intact", []ckpt{{"epoch-001", 10, false, false}, {"epoch-002", 20, false, false}}, "epoch-002", "epoch-002", "", ""},
		{"newest damaged", []ckpt{{"epoch-001", 10, false, false}, {"epoch-002", 20, true, false}}, "epoch-002", "epoch-001",
			"checkpoints/epoch-002, the checkpoint state.json names, is damaged (garbage); resuming from checkpoints/epoch-001", ""},
		{"two damaged", []ckpt{{"epoch-001", 10, false, false}, {"epoch-001-batch-00004", 15, true, false}, {"epoch-002", 20, true, false}},
			"epoch-002", "epoch-001", "resuming from checkpoints/epoch-001", ""},
		{"a newer one state.json does not name yet", []ckpt{{"epoch-001", 10, true, false}, {"epoch-002", 20, false, false}}, "epoch-001", "epoch-002",
			"resuming from checkpoints/epoch-002", ""},
		{"all damaged", []ckpt{{"epoch-001", 10, true, false}, {"epoch-002", 20, true, false}}, "epoch-002", "", "",
			"checkpoints/epoch-002, the checkpoint state.json names, is damaged (garbage), and no other intact checkpoint is left (checkpoints/epoch-001: garbage)"},
		{"older saved without its copy", []ckpt{{"epoch-001", 10, false, true}, {"epoch-002", 20, true, false}}, "epoch-002", "", "",
			"checkpoints/epoch-001: no state.json"},
		{"state.json damaged", []ckpt{{"epoch-001", 10, false, false}, {"epoch-002", 20, false, false}}, "!", "epoch-002",
			"state.json is damaged", ""},
		{"state.json missing", []ckpt{{"epoch-001", 10, false, false}}, "", "epoch-001", "state.json is missing", ""},
		{"nothing yet", nil, "", "", "", ""},
		{"only a damaged checkpoint, no state.json", []ckpt{{"epoch-001", 10, true, false}}, "", "", "starting over", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, c := range tc.ckpts {
				folder := filepath.Join(dir, CheckpointsDir, c.name)
				if err := os.MkdirAll(folder, 0o755); err != nil {
					t.Fatal(err)
				}
				content := c.name
				if c.damaged {
					content = "garbage"
				}
				if err := os.WriteFile(filepath.Join(folder, "ckpt"), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				st := State{Epoch: 1, Checkpoint: filepath.Join(CheckpointsDir, c.name), Seq: c.seq}
				if !c.noCopy {
					if err := WriteCheckpointState(dir, st); err != nil {
						t.Fatal(err)
					}
				}
				if c.name == tc.state {
					st.Seq++ // state.json also covers the run-end message
					if err := WriteState(dir, st); err != nil {
						t.Fatal(err)
					}
				}
			}
			if tc.state == "!" {
				if err := os.WriteFile(filepath.Join(dir, StateFile), []byte(`{"epoch": 2,`), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			check := func(ck string) error {
				data, err := os.ReadFile(filepath.Join(ck, "ckpt"))
				if err != nil {
					return err
				}
				if string(data) != filepath.Base(ck) {
					return fmt.Errorf("%s", data)
				}
				return nil
			}
			st, note, err := Resume(dir, check)
			switch {
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Resume = %+v, %q, %v; want an error about %q", st, note, err, tc.err)
				}
				return
			case err != nil:
				t.Fatalf("Resume: %v", err)
			}
			if got := filepath.Base(st.Checkpoint); (tc.want == "" && st.Checkpoint != "") || (tc.want != "" && got != tc.want) {
				t.Errorf("resumes from %q; want %q", st.Checkpoint, tc.want)
			}
			if (tc.note == "") != (note == "") || !strings.Contains(note, tc.note) {
				t.Errorf("note %q; want %q", note, tc.note)
			}
		})
	}
}
