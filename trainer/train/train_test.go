package train

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pawnet/pawnet/internal/fixtures"
	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/model"
	"github.com/pawnet/pawnet/trainer/rundir"
)

// recorder is a Sink that keeps every message.
type recorder struct {
	mu   sync.Mutex
	msgs []metrics.Message
}

func (r *recorder) Emit(m metrics.Message, _ []byte) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
}

func (r *recorder) epochs() []*metrics.Epoch {
	var out []*metrics.Epoch
	for _, m := range r.msgs {
		if e, ok := m.(*metrics.Epoch); ok {
			out = append(out, e)
		}
	}
	return out
}

// openAndTrain opens a run and trains it.
func openAndTrain(ctx context.Context, o Options, sink rundir.Sink) (*Result, error) {
	r, err := Open(o)
	if err != nil {
		return nil, err
	}
	return r.Train(ctx, sink)
}

// sampleOptions are the small model's defaults on a class tree, logging nowhere.
func sampleOptions(data, runs, id string, epochs int) Options {
	o := Defaults(alexnet.Small())
	o.DataDir, o.RunsDir, o.RunID, o.Epochs, o.Log = data, runs, id, epochs, io.Discard
	return o
}

// finalParams restores a run's newest checkpoint into a fresh model and
// returns its parameters.
func finalParams(t *testing.T, dir string) map[string][]float32 {
	t.Helper()
	st, err := rundir.ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := rundir.ReadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := model.Backend("go")
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.NewWithOptions(cfg.Model, b, 99, model.Options{BatchSize: cfg.BatchSize})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Restore(filepath.Join(dir, st.Checkpoint)); err != nil {
		t.Fatal(err)
	}
	return m.ExportParams()
}

func TestSmallModelLearnsOnSample(t *testing.T) {
	rec := &recorder{}
	opts := sampleOptions(fixtures.ClassTree(t, 0), t.TempDir(), "learn", 6)
	res, err := openAndTrain(context.Background(), opts, rec)
	if err != nil {
		t.Fatal(err)
	}
	eps := rec.epochs()
	t.Logf("val acc per epoch: %v", func() (v []float64) {
		for _, e := range eps {
			v = append(v, e.ValAcc)
		}
		return
	}())
	if res.Status != metrics.StatusFinished || len(eps) != 6 {
		t.Fatalf("status %s with %d epochs", res.Status, len(eps))
	}
	// A loose floor, clearly above chance (0.5) on 360 validation photos.
	if res.BestValAcc < 0.6 {
		t.Errorf("best val acc %.3f after 6 epochs, want ≥ 0.6", res.BestValAcc)
	}
	// The message stream: run start first, run end last, seq 1..n, and per
	// epoch a confusion matrix that adds up to the validation set.
	if _, ok := rec.msgs[0].(*metrics.RunStart); !ok {
		t.Fatalf("first message %T", rec.msgs[0])
	}
	if end, ok := rec.msgs[len(rec.msgs)-1].(*metrics.RunEnd); !ok || end.Status != metrics.StatusFinished {
		t.Fatalf("last message %#v", rec.msgs[len(rec.msgs)-1])
	}
	steps, conf := 0, 0
	var filterEpochs, exportEpochs []int
	for i, m := range rec.msgs {
		if metrics.Seq(m) != int64(i+1) {
			t.Fatalf("message %d has seq %d", i, metrics.Seq(m))
		}
		switch v := m.(type) {
		case *metrics.Step:
			steps++
		case *metrics.Confusion:
			conf++
			if n := v.Matrix[0][0] + v.Matrix[0][1] + v.Matrix[1][0] + v.Matrix[1][1]; n != 360 {
				t.Errorf("confusion matrix counts %d photos", n)
			}
		case *metrics.Misclassified:
			for _, s := range v.Samples {
				if len(s.PNG) < 100 || (s.PDog > 0.5) == (s.True == 1) {
					t.Errorf("misclassified sample %s: p_dog %.2f true %d", s.Path, s.PDog, s.True)
				}
				thumb, heat := decodePNG(t, s.PNG), decodePNG(t, s.Heat)
				if thumb == nil || heat == nil || heat.Bounds() != thumb.Bounds() {
					t.Errorf("misclassified sample %s: heatmap %v, thumbnail %v", s.Path, heat, thumb)
				}
			}
		case *metrics.Checkpoint:
			if v.Kind == metrics.KindExport {
				exportEpochs = append(exportEpochs, v.Epoch)
			}
		case *metrics.Filters:
			filterEpochs = append(filterEpochs, v.Epoch)
			img := decodePNG(t, v.PNG)
			if v.Grid.Count != 24 || v.Grid.Cols != 6 || v.Grid.Rows != 4 || v.Norm == "" || img == nil || img.Bounds().Size() != v.Grid.Size() {
				t.Errorf("filters of epoch %d: grid %+v, image %v", v.Epoch, v.Grid, img)
			}
		}
	}
	// The filters of the initialization, then of each exported epoch.
	if want := append([]int{0}, exportEpochs...); !slices.Equal(filterEpochs, want) {
		t.Errorf("filters sent for epochs %v, want %v (0 and the exports)", filterEpochs, want)
	}
	if steps < 6 || conf != 6 {
		t.Errorf("%d step and %d confusion messages", steps, conf)
	}
	// The exported weights load and carry the run's metadata.
	m, err := alexnet.LoadFile(res.Weights)
	if err != nil {
		t.Fatal(err)
	}
	if md := m.Metadata(); md.BestEpoch != res.BestEpoch || md.ValAcc != res.BestValAcc || !slices.Equal(md.Classes, []string{"cat", "dog"}) || len(md.Stats) == 0 {
		t.Errorf("weights metadata %+v", md)
	}
	// Best epochs carry their calibration: the fitted temperature (the
	// export's), a calibrated log loss no worse than the plain one on the
	// same logits, TTA figures, and a reliability diagram of every photo.
	var last *metrics.Calibration
	for _, e := range eps {
		c := e.Calibration
		if e.Best != (c != nil) {
			t.Fatalf("epoch %d: best %v with calibration %+v", e.Epoch, e.Best, c)
		}
		if c == nil {
			continue
		}
		last = c
		n := 0
		for _, b := range c.Reliability {
			n += b.Count
		}
		if !(c.Temperature > 0) || c.ValLogLossCal > e.ValLogLoss+1e-9 || !(c.ValAccTTA > 0.4) || !(c.ValLogLossTTA > 0) ||
			!(c.ValLogLossTTACal > 0) || len(c.Reliability) != 10 || n != 360 {
			t.Errorf("epoch %d: calibration %+v with val log loss %.4f", e.Epoch, c, e.ValLogLoss)
		}
	}
	if last == nil || m.Metadata().Temperature != last.Temperature {
		t.Errorf("export temperature %v, best epoch's calibration %+v", m.Metadata().Temperature, last)
	}
	// metrics.jsonl holds the same messages.
	data, err := os.ReadFile(filepath.Join(res.RunDir, rundir.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n != len(rec.msgs) {
		t.Errorf("metrics.jsonl has %d lines, %d messages were emitted", n, len(rec.msgs))
	}
}

func TestInterruptAndResumeAreExact(t *testing.T) {
	data := fixtures.ClassTree(t, 100)
	runs := t.TempDir()
	base := sampleOptions(data, runs, "", 2)
	base.BatchSize = 16

	straight := base
	straight.RunID = "straight"
	if _, err := openAndTrain(context.Background(), straight, nil); err != nil {
		t.Fatal(err)
	}

	// Interrupt in epoch 2 at step 5 (as Ctrl-C does), then resume. Every
	// step is reported, however fast the steps are, so that step 5 is seen
	// before the epoch ends.
	defer func(d time.Duration) { stepInterval = d }(stepInterval)
	stepInterval = 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := rundir.SinkFunc(func(m metrics.Message, _ []byte) {
		if s, ok := m.(*metrics.Step); ok && s.Epoch == 2 && s.Step >= 5 {
			cancel()
		}
	})
	cut := base
	cut.RunID = "cut"
	res, err := openAndTrain(ctx, cut, stop)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != metrics.StatusStopped || res.Epochs != 1 {
		t.Fatalf("interrupted run: status %s after %d epochs", res.Status, res.Epochs)
	}
	rec := &recorder{}
	res, err = openAndTrain(context.Background(), Options{Resume: res.RunDir, Log: io.Discard}, rec)
	if err != nil {
		t.Fatal(err)
	}
	start := rec.msgs[0].(*metrics.RunStart)
	if res.Status != metrics.StatusFinished || res.Epochs != 2 || !start.Resumed || start.StartEpoch != 2 {
		t.Fatalf("resumed run: status %s, %d epochs, start %+v", res.Status, res.Epochs, start)
	}
	ckpts, _ := os.ReadDir(filepath.Join(runs, "cut", rundir.CheckpointsDir))
	if len(ckpts) != 2 || strings.Contains(ckpts[0].Name()+ckpts[1].Name(), "-batch-") {
		t.Errorf("checkpoints after the resumed run: %v; want the last 2 epochs only", ckpts)
	}
	a, b := finalParams(t, filepath.Join(runs, "straight")), finalParams(t, filepath.Join(runs, "cut"))
	for name, v := range a {
		if !slices.Equal(v, b[name]) {
			t.Fatalf("%s differs between the straight and the interrupted+resumed run", name)
		}
	}
	// A finished run resumed again does nothing; asking for more epochs continues.
	res, err = openAndTrain(context.Background(), Options{Resume: filepath.Join(runs, "cut"), Epochs: 3, Log: io.Discard}, nil)
	if err != nil || res.Epochs != 3 {
		t.Fatalf("extend to 3 epochs: %v, %+v", err, res)
	}
}

// TestStepCheckpointsSurviveAKillDuringACheckpoint trains in pieces with a
// checkpoint every 3 steps and a step limit per process, and before the
// last resume leaves what a kill during a checkpoint write can leave: a
// newer checkpoint folder holding only a partial temporary file, and a
// newer complete checkpoint that state.json does not name yet. The resume
// must continue from the checkpoint state.json names and end bit-identical
// to an uninterrupted run, with the stray folders pruned.
func TestStepCheckpointsSurviveAKillDuringACheckpoint(t *testing.T) {
	data := fixtures.ClassTree(t, 100) // 160 train photos: 10 steps per epoch at batch 16
	runs := t.TempDir()
	base := sampleOptions(data, runs, "", 2)
	base.BatchSize = 16
	straight := base
	straight.RunID = "straight"
	if _, err := openAndTrain(context.Background(), straight, nil); err != nil {
		t.Fatal(err)
	}

	steps := base
	steps.RunID, steps.CheckpointEvery, steps.MaxSteps = "steps", 3, 7
	res, err := openAndTrain(context.Background(), steps, nil)
	if err != nil || res.Status != metrics.StatusStopped {
		t.Fatalf("first piece: %v, %+v", err, res)
	}
	dir := filepath.Join(runs, "steps")
	st, err := rundir.ReadState(dir)
	if err != nil || st.Checkpoint != filepath.Join(rundir.CheckpointsDir, "epoch-001-batch-00007") || st.NextBatch != 7 {
		t.Fatalf("state after 7 steps: %+v, %v", st, err)
	}
	if names := ckptNames(t, dir); !slices.Equal(names, []string{"epoch-001-batch-00007"}) {
		t.Errorf("checkpoints after 7 steps: %v; the step-3 and step-6 ones should be pruned", names)
	}
	// Second piece: 6 more steps end epoch 1 and stop inside epoch 2.
	res, err = openAndTrain(context.Background(), Options{Resume: dir, CheckpointEvery: 3, MaxSteps: 6, Log: io.Discard}, nil)
	if err != nil || res.Status != metrics.StatusStopped || res.Epochs != 1 {
		t.Fatalf("second piece: %v, %+v", err, res)
	}
	st, err = rundir.ReadState(dir)
	if err != nil || st.Epoch != 1 || st.NextBatch != 3 {
		t.Fatalf("state after 13 steps: %+v, %v", st, err)
	}
	// What a kill during a checkpoint write leaves behind.
	ckpts := filepath.Join(dir, rundir.CheckpointsDir)
	partial := filepath.Join(ckpts, "epoch-002-batch-00006")
	if err := os.MkdirAll(partial, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(partial, "."+model.CheckpointFile+".tmp-123"), []byte("PAWCKPT1 cut short"), 0o644); err != nil {
		t.Fatal(err)
	}
	complete, err := os.ReadFile(filepath.Join(dir, st.Checkpoint, model.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	unnamed := filepath.Join(ckpts, "epoch-002-batch-00005")
	if err := os.MkdirAll(unnamed, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(unnamed, model.CheckpointFile), complete, 0o644); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	res, err = openAndTrain(context.Background(), Options{Resume: dir, Log: io.Discard}, rec)
	if err != nil || res.Status != metrics.StatusFinished || res.Epochs != 2 {
		t.Fatalf("last piece: %v, %+v", err, res)
	}
	if start := rec.msgs[0].(*metrics.RunStart); !start.Resumed || start.StartEpoch != 2 {
		t.Errorf("resumed at %+v", start)
	}
	if names := ckptNames(t, dir); !slices.Equal(names, []string{"epoch-001", "epoch-002"}) {
		t.Errorf("checkpoints at the end: %v", names)
	}
	a, b := finalParams(t, filepath.Join(runs, "straight")), finalParams(t, dir)
	for name, v := range a {
		if !slices.Equal(v, b[name]) {
			t.Fatalf("%s differs between the straight run and the one trained in pieces", name)
		}
	}
}

func ckptNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, rundir.CheckpointsDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// decodePNG decodes a base64 PNG, nil (and an error reported) if it is not one.
func decodePNG(t *testing.T, b64 string) image.Image {
	t.Helper()
	data, err := base64.StdEncoding.DecodeString(b64)
	if err == nil {
		var img image.Image
		if img, err = png.Decode(bytes.NewReader(data)); err == nil {
			return img
		}
	}
	t.Errorf("not a base64 PNG (%d chars): %v", len(b64), err)
	return nil
}
