package rundir_test

import (
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/rundir"
)

// A run folder opened the way `pawnet train` opens one: the folder and its
// checkpoints/, run.json written with WriteConfig, then an Emitter that
// numbers every message and appends it to metrics.jsonl. A reader (the
// dashboard server, a resume) gets it back with ReadConfig, ReadState and
// metrics.ReadLines.
func Example() {
	runs, err := os.MkdirTemp("", "runs")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(runs)

	// Open the run: its folder, then run.json.
	dir := filepath.Join(runs, "20261201-120000")
	if err := os.MkdirAll(filepath.Join(dir, rundir.CheckpointsDir), 0o755); err != nil {
		log.Fatal(err)
	}
	cfg := rundir.Config{RunID: "20261201-120000", DataDir: "data/train", Model: alexnet.Small(), Backend: "go",
		Epochs: 55, BatchSize: 32, LR: 1e-3, Seed: 1, ValFraction: 0.2, Keep: 2,
		Schedule: "cosine", WarmupEpochs: 2, Classes: []string{"cat", "dog"}}
	if err := rundir.WriteConfig(dir, cfg); err != nil {
		log.Fatal(err)
	}

	// Emit the run's events; a resume passes the state's Seq as minSeq.
	metricsPath := filepath.Join(dir, rundir.MetricsFile)
	em, err := rundir.OpenEmitter(metricsPath, 0, nil)
	if err != nil {
		log.Fatal(err)
	}
	em.Emit(&metrics.RunStart{RunID: cfg.RunID, Model: cfg.Model, Batch: cfg.BatchSize, LR: cfg.LR, Epochs: cfg.Epochs,
		TrainSize: 1600, ValSize: 400, Classes: cfg.Classes, Backend: cfg.Backend, StartEpoch: 1})
	em.Emit(&metrics.Epoch{Epoch: 1, Epochs: cfg.Epochs, ValAcc: 0.61, Best: true, BestEpoch: 1, BestValAcc: 0.61})
	if err := em.Close(); err != nil {
		log.Fatal(err)
	}

	// Read it back.
	got, err := rundir.ReadConfig(dir)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: schema %d, model %s, %d epochs, classes %v\n", got.RunID, got.Schema, got.Model.Name, got.Epochs, got.Classes)
	if _, err := rundir.ReadState(dir); errors.Is(err, fs.ErrNotExist) {
		fmt.Println("no state.json before the first checkpoint")
	}
	f, err := os.Open(metricsPath)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	_, _, err = metrics.ReadLines(f, func(h metrics.Header, ok bool, line []byte) {
		fmt.Println(rundir.MetricsFile, "line:", h.Seq, h.Type, ok)
	})
	if err != nil {
		log.Fatal(err)
	}

	// Reopened, the emitter continues the numbering after the file's last line.
	em, err = rundir.OpenEmitter(metricsPath, 0, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer em.Close()
	fmt.Println("reopened after seq", em.Seq())
	// Output:
	// 20261201-120000: schema 1, model small, 55 epochs, classes [cat dog]
	// no state.json before the first checkpoint
	// metrics.jsonl line: 1 run_start true
	// metrics.jsonl line: 2 epoch true
	// reopened after seq 2
}
