package train

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/pawnet/pawnet/internal/fixtures"
	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/model"
	"github.com/pawnet/pawnet/trainer/rundir"
)

// smallRun trains a new run of the small model on data for epochs
// epochs, in batches of 8.
func smallRun(t *testing.T, data, runs, id string, epochs int) string {
	t.Helper()
	o := sampleOptions(data, runs, id, epochs)
	o.BatchSize = 8
	res, err := openAndTrain(context.Background(), o, nil)
	if err != nil || res.Status != metrics.StatusFinished {
		t.Fatalf("train %s: %v, %+v", id, err, res)
	}
	return res.RunDir
}

// metricsLog is what a run's metrics.jsonl holds: its sequence numbers,
// the epochs its epoch summaries name, and whether it ends with a partial
// line.
type metricsLog struct {
	seqs    []int64
	epochs  []int
	partial bool
}

func readMetrics(t *testing.T, dir string) metricsLog {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, rundir.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var l metricsLog
	_, l.partial, err = metrics.ReadLines(f, func(h metrics.Header, ok bool, line []byte) {
		if !ok {
			t.Errorf("unreadable metrics line %.80s", line)
			return
		}
		l.seqs = append(l.seqs, h.Seq)
		if h.Type == metrics.TypeEpoch {
			m, err := metrics.DecodeAs(h, line)
			if err != nil {
				t.Fatal(err)
			}
			l.epochs = append(l.epochs, m.(*metrics.Epoch).Epoch)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// agree checks that a run's state.json and metrics.jsonl agree: the file
// ends, without a partial line, at the message the state covers, its
// sequence numbers increase, and it summarises epochs 1..state.Epoch once
// each. It returns the state.
func agree(t *testing.T, dir string) rundir.State {
	t.Helper()
	st, err := rundir.ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	l := readMetrics(t, dir)
	if l.partial || len(l.seqs) == 0 || l.seqs[len(l.seqs)-1] != st.Seq {
		t.Errorf("metrics.jsonl ends at seq %v (partial line: %v); state.json covers up to %d", l.seqs[len(l.seqs)-1:], l.partial, st.Seq)
	}
	for i := 1; i < len(l.seqs); i++ {
		if l.seqs[i] <= l.seqs[i-1] {
			t.Errorf("seq %d after %d", l.seqs[i], l.seqs[i-1])
		}
	}
	var want []int
	for e := 1; e <= st.Epoch; e++ {
		want = append(want, e)
	}
	if !slices.Equal(l.epochs, want) {
		t.Errorf("metrics.jsonl summarises epochs %v; state.json says %d are done", l.epochs, st.Epoch)
	}
	return st
}

// fullDisk makes one write of a run's metrics.jsonl fail as on a full
// disk: lower sets the process's file-size limit 20 bytes past the file's
// end, so that the kernel writes part of the next line and refuses the
// rest (EFBIG), and the sink, hearing that line (the emitter sends it on
// after the failed write), restores the limit, so that the checkpoint
// which follows can be written.
type fullDisk struct {
	t      *testing.T
	path   string
	at     func(metrics.Message) bool // lower the limit after this message
	saved  *syscall.Rlimit
	lowers int
}

func (d *fullDisk) lower() {
	fi, err := os.Stat(d.path)
	if err != nil {
		d.t.Error(err)
		return
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		d.t.Error(err)
		return
	}
	small := lim
	small.Cur = uint64(fi.Size()) + 20
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &small); err != nil {
		d.t.Errorf("cannot lower the file-size limit: %v", err)
		return
	}
	d.saved = &lim
	d.lowers++
}

func (d *fullDisk) restore() {
	if d.saved != nil {
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, d.saved); err != nil {
			d.t.Error(err)
		}
		d.saved = nil
	}
}

func (d *fullDisk) Emit(m metrics.Message, _ []byte) {
	switch {
	case d.saved != nil:
		d.restore()
	case d.lowers == 0 && d.at != nil && d.at(m):
		d.lower()
	}
}

// TestMetricsWriteFailureStopsTraining resumes a run and makes one write
// of its metrics.jsonl fail as on a full disk, at the run-start message,
// at a step and at an epoch's summary: training stops at once with the
// error, with a checkpoint (as Ctrl-C saves one) whose state agrees with
// the metrics file, no later epoch is trained or exported, and a resume
// finishes the run with every epoch summarised once.
func TestMetricsWriteFailureStopsTraining(t *testing.T) {
	data := fixtures.ClassTree(t, 40) // 64 train photos: 8 steps of 8
	for _, tc := range []struct {
		name      string
		at        func(metrics.Message) bool // nil: before the run-start message
		epoch     int                        // epochs done when it stopped
		nextBatch int
	}{
		{"the run-start message", nil, 1, 0},
		{"a step", func(m metrics.Message) bool { s, ok := m.(*metrics.Step); return ok && s.Epoch == 2 }, 1, -1},
		{"an epoch's summary", func(m metrics.Message) bool { e, ok := m.(*metrics.Epoch); return ok && e.Epoch == 2 }, 1, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := smallRun(t, data, t.TempDir(), "m", 1)
			export, err := os.ReadFile(filepath.Join(dir, rundir.WeightsFile))
			if err != nil {
				t.Fatal(err)
			}
			r, err := Open(Options{Resume: dir, Epochs: 3, Log: io.Discard})
			if err != nil {
				t.Fatal(err)
			}
			disk := &fullDisk{t: t, path: filepath.Join(dir, rundir.MetricsFile), at: tc.at}
			t.Cleanup(disk.restore)
			if tc.at == nil {
				disk.lower()
			}
			res, terr := r.Train(context.Background(), disk)
			disk.restore()
			if disk.lowers != 1 {
				t.Fatalf("the limit was lowered %d times", disk.lowers)
			}
			if terr == nil || !errors.Is(terr, syscall.EFBIG) || !strings.Contains(terr.Error(), "metrics") || !strings.Contains(terr.Error(), "training stopped") {
				t.Fatalf("Train: %v; want the metrics write refused and training stopped", terr)
			}
			st := agree(t, dir)
			if res.Status != metrics.StatusFailed || st.Finished || st.Epoch != tc.epoch || (tc.nextBatch >= 0 && st.NextBatch != tc.nextBatch) ||
				!strings.Contains(st.Checkpoint, "-batch-") || !strings.Contains(terr.Error(), st.Checkpoint) {
				t.Errorf("status %s, state %+v; error %v; want a mid-epoch checkpoint after epoch %d", res.Status, st, terr, tc.epoch)
			}
			if err := model.CheckCheckpoint(filepath.Join(dir, st.Checkpoint), alexnet.Small()); err != nil {
				t.Errorf("the checkpoint the state names: %v", err)
			}
			if again, err := os.ReadFile(filepath.Join(dir, rundir.WeightsFile)); err != nil || !bytes.Equal(again, export) {
				t.Errorf("the export changed after the failure (%v)", err)
			}

			res, err = openAndTrain(context.Background(), Options{Resume: dir, Log: io.Discard}, nil)
			if err != nil || res.Status != metrics.StatusFinished || res.Epochs != 3 {
				t.Fatalf("resume: %v, %+v", err, res)
			}
			agree(t, dir)
		})
	}
}

// TestResumeFallsBackToAnIntactCheckpoint damages the newest checkpoint
// of a finished run: -resume says so, continues from the older one, rolls
// the metrics back to it, redoes the last epoch once and ends with the
// same weights as before.
func TestResumeFallsBackToAnIntactCheckpoint(t *testing.T) {
	dir := smallRun(t, fixtures.ClassTree(t, 40), t.TempDir(), "f", 3)
	want := finalParams(t, dir)
	file := filepath.Join(dir, rundir.CheckpointsDir, "epoch-003", model.CheckpointFile)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-5] ^= 0x10
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	res, err := openAndTrain(context.Background(), Options{Resume: dir, Log: &log}, nil)
	if err != nil || res.Status != metrics.StatusFinished || res.Epochs != 3 {
		t.Fatalf("resume: %v, %+v\n%s", err, res, log.String())
	}
	for _, s := range []string{"checkpoints/epoch-003, the checkpoint state.json names, is damaged", "checksum mismatch",
		"resuming from checkpoints/epoch-002", "removed; their work is redone"} {
		if !strings.Contains(log.String(), s) {
			t.Errorf("log lacks %q:\n%s", s, log.String())
		}
	}
	if st := agree(t, dir); st.Epoch != 3 || !st.Finished {
		t.Errorf("state %+v", st)
	}
	got := finalParams(t, dir)
	for name, v := range want {
		if !slices.Equal(v, got[name]) {
			t.Fatalf("%s differs from the run before its checkpoint was damaged", name)
		}
	}
}

// TestFailedResumeChangesNothing resumes a finished run in ways that fail
// before training starts: its metrics.jsonl, state.json and run.json stay
// byte for byte as they were (no run-end "failed" after "finished", no
// -epochs 4 in run.json), and a sink still hears why.
func TestFailedResumeChangesNothing(t *testing.T) {
	data := fixtures.ClassTree(t, 40)
	dir := smallRun(t, data, t.TempDir(), "done", 2)
	read := func() []byte {
		var all []byte
		for _, name := range []string{rundir.MetricsFile, rundir.StateFile, rundir.ConfigFile} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			all = append(append(all, name...), b...)
		}
		return all
	}
	before := read()
	damage := func(name string) {
		p := filepath.Join(dir, rundir.CheckpointsDir, name, model.CheckpointFile)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b[:len(b)/2], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name   string
		break_ func()
		want   string
	}{
		{"the data folder is gone", func() {
			if err := os.Rename(data, data+".moved"); err != nil {
				t.Fatal(err)
			}
		}, "no such file"},
		{"every checkpoint is damaged", func() { damage("epoch-001"); damage("epoch-002") },
			"no other intact checkpoint is left"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.break_()
			rec := &recorder{}
			res, err := openAndTrain(context.Background(), Options{Resume: dir, Epochs: 4, Log: io.Discard}, rec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("resume: %v, %+v; want an error about %q", err, res, tc.want)
			}
			if !bytes.Equal(read(), before) {
				t.Error("the failed resume changed metrics.jsonl, state.json or run.json")
			}
			if res != nil {
				if end, ok := rec.msgs[len(rec.msgs)-1].(*metrics.RunEnd); len(rec.msgs) != 1 || !ok || end.Status != metrics.StatusFailed {
					t.Errorf("the sink heard %v; want one run end, failed", rec.msgs)
				}
			}
		})
	}
}

// TestOpenRefusesAFlatFolder opens a run on a folder still in Kaggle's
// flat layout: Open says to run separate, and leaves no run folder
// behind.
func TestOpenRefusesAFlatFolder(t *testing.T) {
	tree := fixtures.ClassTree(t, 5)
	flat := t.TempDir()
	for _, cls := range []string{"cat", "dog"} {
		ents, err := os.ReadDir(filepath.Join(tree, cls))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			fixtures.Link(t, filepath.Join(tree, cls, e.Name()), filepath.Join(flat, e.Name()))
		}
	}
	runs := t.TempDir()
	if _, err := Open(sampleOptions(flat, runs, "flat", 1)); err == nil || !strings.Contains(err.Error(), "pawnet separate") {
		t.Errorf("Open on a flat folder: %v; want advice to run separate", err)
	}
	if ents, err := os.ReadDir(runs); err != nil || len(ents) != 0 {
		t.Errorf("the runs folder holds %v (%v); want nothing", ents, err)
	}
}
