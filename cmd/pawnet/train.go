package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/trainer/dataset"
	"github.com/pawnet/pawnet/trainer/device"
	"github.com/pawnet/pawnet/trainer/sample"
	"github.com/pawnet/pawnet/trainer/server"
	"github.com/pawnet/pawnet/trainer/train"
	"golang.org/x/term"
)

// defaultData prepares the embedded sample (sample + separate) and returns
// its class-folder tree.
func defaultData(dir string) (string, error) {
	if _, err := sample.Make(dir, sample.DefaultCacheDir(), os.Stderr); err != nil {
		return "", err
	}
	trainDir := filepath.Join(dir, "train")
	rep, err := dataset.Separate(trainDir, false)
	if err != nil {
		return "", err
	}
	if n := rep.Moved["cat"] + rep.Moved["dog"]; n > 0 {
		fmt.Fprintf(os.Stderr, "separated %d sample photos into %s/cat and %s/dog\n", n, trainDir, trainDir)
	}
	return trainDir, nil
}

func runTrain(args []string) error {
	fs := flag.NewFlagSet("train", flag.ExitOnError)
	var o train.Options
	modelName := fs.String("model", "small", "model config: small (CPU) or full (the seed's 227-px AlexNet)")
	backend := fs.String("backend", "auto", "auto (CUDA GPU if a PJRT plugin is found, else CPU), go, gpu, or a GOMLX_BACKEND value (xla:cuda, xla:/abs/plugin.so)")
	allowDownload := fs.Bool("allow-download", false, "let go-xla download a missing PJRT plugin")
	fs.IntVar(&o.Epochs, "epochs", 10, "epochs to train (with -resume: extend the run to this many)")
	fs.IntVar(&o.BatchSize, "batch", 32, "batch size")
	fs.Float64Var(&o.LR, "lr", 1e-4, "Adam learning rate")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the split, init, shuffling and augmentation")
	fs.Float64Var(&o.ValFraction, "val", 0.2, "validation fraction")
	fs.IntVar(&o.Patience, "patience", 5, "stop after this many epochs without a better val accuracy (0: never)")
	fs.IntVar(&o.Keep, "keep", 2, "checkpoints to keep")
	fs.IntVar(&o.Workers, "workers", 0, "loader goroutines (default: all cores)")
	fs.BoolVar(&o.NoAugment, "no-augment", false, "train without augmentation")
	fs.BoolVar(&o.BF16, "bf16", false, "bf16 mixed precision with float32 master weights (for the GPU)")
	fs.StringVar(&o.RunsDir, "runs", "runs", "folder of run folders")
	fs.StringVar(&o.RunID, "name", "", "run name (default: a timestamp)")
	fs.StringVar(&o.Resume, "resume", "", "continue the run in this folder from its last checkpoint")
	fs.StringVar(&o.StatsPath, "stats", "", "stats.json to use (default DATA_DIR/stats.json if it matches the split, else computed)")
	serve := fs.String("serve", "", "serve the live dashboard at this address, e.g. 127.0.0.1:8080 (empty: off); it keeps serving after training ends, until Ctrl-C")
	exit := fs.Bool("exit", false, "with -serve: quit when training ends instead of serving on")
	sf := addServerFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: pawnet train [flags] [DATA_DIR]\n\nDATA_DIR holds cat/ and dog/ folders; without it the embedded sample is prepared in data/sample.\n"+
			"With -serve ADDR the dashboard is served live while training, and after it until Ctrl-C (or -exit).")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	cfg, err := alexnet.ByName(*modelName)
	if err != nil {
		return err
	}
	o.Model = cfg
	epochsSet := false
	fs.Visit(func(f *flag.Flag) { epochsSet = epochsSet || f.Name == "epochs" })
	switch {
	case o.Resume != "":
		if !epochsSet {
			o.Epochs = 0 // keep the run's own count
		}
	case fs.NArg() == 1:
		o.DataDir = fs.Arg(0)
	case fs.NArg() == 0:
		if o.DataDir, err = defaultData("data/sample"); err != nil {
			return err
		}
	default:
		fs.Usage()
		os.Exit(2)
	}
	choice, err := device.Discover(device.Host(), *backend)
	if err != nil {
		return err
	}
	if err := device.Apply(choice, *allowDownload); err != nil {
		return err
	}
	o.Backend, o.BackendReason = choice.Config, choice.Reason
	o.Progress = term.IsTerminal(int(os.Stderr.Fd()))

	var sink train.Sink
	var srv *server.Server
	var hub *server.Hub
	if *serve != "" {
		dir := o.Resume
		if dir == "" {
			if o.RunID == "" {
				// train.Run's default, fixed here so the server knows
				// the folder of the weights.
				o.RunID = time.Now().Format("20060102-150405")
			}
			dir = filepath.Join(o.RunsDir, o.RunID)
		}
		hub = server.NewHub(serverLog())
		if o.Resume != "" {
			// The dashboard shows the whole run; the Emitter continues
			// the numbering after these messages.
			if _, err := hub.LoadHistory(filepath.Join(o.Resume, train.MetricsFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		if srv, err = server.Start(hub, sf.options(*serve, dir)); err != nil {
			return err
		}
		fmt.Printf("dashboard: %s\n", srv.URL())
		sink = hub
	}

	var seq0 int64 // the last seq before this run
	if hub != nil {
		seq0 = hub.LastSeq()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	trained := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			select {
			case <-trained: // cancelled by stop() below, not by a signal
				return
			default:
			}
			stop() // a second Ctrl-C kills at once
			fmt.Fprintln(os.Stderr, "\nstopping: saving a checkpoint (Ctrl-C again to abort)")
		case <-trained:
		}
	}()
	res, err := train.Run(ctx, o, sink)
	interrupted := ctx.Err() != nil
	close(trained)
	stop()
	if err == nil && res.Weights != "" {
		fmt.Printf("best val acc %.4f (log loss %.4f) at epoch %d; weights: %s\n", res.BestValAcc, res.BestLogLoss, res.BestEpoch, res.Weights)
	}
	if srv == nil {
		return err
	}
	// Serve on after training, or after a failure once it had started
	// (not when it failed before its first message but the closing one).
	if !interrupted && !*exit && (err == nil || hub.LastSeq()-seq0 > 1) {
		if err != nil {
			fmt.Fprintf(os.Stderr, "training failed: %v\n", err)
		}
		fmt.Printf("training ended; the dashboard stays at %s (Ctrl-C to quit)\n", srv.URL())
		waitInterrupt()
	}
	if serr := shutdown(srv); err == nil {
		err = serr
	}
	return err
}
