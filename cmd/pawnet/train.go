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

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/trainer/dataset"
	"github.com/pawnet/pawnet/trainer/device"
	"github.com/pawnet/pawnet/trainer/rundir"
	"github.com/pawnet/pawnet/trainer/sample"
	"github.com/pawnet/pawnet/trainer/server"
	"github.com/pawnet/pawnet/trainer/train"
	"golang.org/x/term"
)

// sampleDir is where `pawnet train` without DATA_DIR prepares the sample.
const sampleDir = "data/sample"

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

// trainFlags are the flags of `pawnet train` that set train.Options. Those
// left unset take train.Defaults of the chosen model.
func trainFlags(fs *flag.FlagSet, o *train.Options) {
	small, full := train.Defaults(alexnet.Small()), train.Defaults(alexnet.Full())
	perModel := func(what string, s, f any) string {
		return fmt.Sprintf("%s (default: %v for -model small, %v for full)", what, s, f)
	}
	fs.IntVar(&o.Epochs, "epochs", 0, perModel("epochs to train; with -resume: extend the run to this many", small.Epochs, full.Epochs))
	fs.IntVar(&o.BatchSize, "batch", small.BatchSize, "batch size")
	fs.Float64Var(&o.LR, "lr", 0, perModel("Adam learning rate", small.LR, full.LR))
	fs.Uint64Var(&o.Seed, "seed", small.Seed, "seed of the split, init, shuffling and augmentation")
	fs.Float64Var(&o.ValFraction, "val", small.ValFraction, "validation fraction, between 0 and 1")
	fs.IntVar(&o.Patience, "patience", 0, perModel("stop after this many epochs without a better val accuracy; 0: never", small.Patience, full.Patience))
	fs.StringVar(&o.Schedule, "schedule", "", perModel("learning-rate schedule: constant, or cosine (linear warm-up, then cosine decay to the last epoch)", small.Schedule, full.Schedule))
	fs.Float64Var(&o.WarmupEpochs, "warmup", 0, perModel("epochs of linear warm-up with -schedule cosine", small.WarmupEpochs, full.WarmupEpochs))
	fs.Float64Var(&o.WeightDecay, "wd", 0, perModel("AdamW decoupled weight decay (0: plain Adam)", small.WeightDecay, full.WeightDecay))
	fs.Float64Var(&o.LabelSmoothing, "label-smoothing", 0, perModel("label smoothing ε in [0, 1)", small.LabelSmoothing, full.LabelSmoothing))
	fs.IntVar(&o.Keep, "keep", small.Keep, "epoch checkpoints to keep")
	fs.IntVar(&o.Workers, "workers", 0, "loader goroutines (default: all cores)")
	fs.BoolVar(&o.NoAugment, "no-augment", false, "train without augmentation")
	fs.BoolVar(&o.BF16, "bf16", false, "bf16 mixed precision with float32 master weights (for the GPU)")
	fs.StringVar(&o.RunsDir, "runs", small.RunsDir, "folder of run folders")
	fs.StringVar(&o.RunID, "name", "", "run name (default: a timestamp)")
	fs.StringVar(&o.Resume, "resume", "", "continue the run in this folder from its last checkpoint")
	fs.StringVar(&o.StatsPath, "stats", "", "stats.json to use (default DATA_DIR/stats.json if it matches the split, else computed)")
	fs.StringVar(&o.CacheDir, "cache-dir", defaultPackDir(), "where the pack goes when DATA_DIR cannot be written (see pawnet pack)")
	fs.BoolVar(&o.NoPack, "no-pack", false, "decode the photos into memory for this run instead of using a pack file")
	fs.IntVar(&o.CheckpointEvery, "checkpoint-every", 0, "also save a checkpoint every this many steps (0: each epoch only)")
	fs.IntVar(&o.MaxSteps, "max-steps", 0, "stop after this many train steps, with a checkpoint, as Ctrl-C does (0: no limit)")
	// Fine-tuning (train.FineTune).
	fs.StringVar(&o.Init, "init", "", "start from these weights: torchvision:alexnet (torchvision's ImageNet AlexNet, with -model torchvision; downloaded once into $PAWNET_WEIGHTS_DIR, default the user cache's pawnet/weights, and checked), a PyTorch state dict (.pth/.pt) or a safetensors file; a head with another class count is replaced")
	fs.IntVar(&o.FreezeFeatures, "freeze-features", 0, "keep the conv layers fixed for the first N epochs")
	fs.Float64Var(&o.FeatureLRScale, "feature-lr-scale", 1, "learning rate of the conv layers as a fraction of -lr, e.g. 0.1")
	fs.StringVar(&o.Norm, "norm", "", "normalization: imagenet, or data (the data's own stats); default: imagenet with -init of a PyTorch or converted file, the export's own with a pawnet export, else data")
}

// withModelDefaults returns o with the flags the user did not set taken
// from train.Defaults(cfg).
func withModelDefaults(fs *flag.FlagSet, o train.Options, cfg alexnet.Config) train.Options {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	d := train.Defaults(cfg)
	o.Model = cfg
	if !set["lr"] {
		o.LR = d.LR
	}
	if !set["patience"] {
		o.Patience = d.Patience
	}
	if !set["schedule"] {
		o.Schedule = d.Schedule
	}
	if !set["warmup"] {
		o.WarmupEpochs = d.WarmupEpochs
	}
	if !set["wd"] {
		o.WeightDecay = d.WeightDecay
	}
	if !set["label-smoothing"] {
		o.LabelSmoothing = d.LabelSmoothing
	}
	if !set["epochs"] && o.Resume == "" {
		o.Epochs = d.Epochs // with -resume, 0 keeps the run's own count
	}
	return o
}

func runTrain(args []string) error {
	fs := flag.NewFlagSet("train", flag.ExitOnError)
	var o train.Options
	modelName := fs.String("model", "small", "model config: small (CPU), full (the seed's 227-px AlexNet), torchvision (torchvision's 224-px AlexNet, for -init with its ImageNet weights) or torchvision-tiny (its geometry at reduced widths, for tests)")
	backend := fs.String("backend", "auto", "auto (CUDA GPU if a PJRT plugin is found, else CPU), go, gpu, or a GOMLX_BACKEND value (xla:cuda, xla:/abs/plugin.so)")
	allowDownload := fs.Bool("allow-download", false, "let go-xla download a missing PJRT plugin")
	fs.IntVar(&o.Devices, "devices", 0, "split each batch over this many devices of the backend (data parallel through XLA's sharding; -batch must divide evenly); 0: all it has (the CPU backend has one)")
	trainFlags(fs, &o)
	serve := fs.String("serve", "", "serve the live dashboard at this address, e.g. 127.0.0.1:8080 (empty: off); it keeps serving after training ends, until Ctrl-C")
	exit := fs.Bool("exit", false, "with -serve: quit when training ends instead of serving on")
	sf := addServerFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: pawnet train [flags] [DATA_DIR]\n\nDATA_DIR holds cat/ and dog/ folders; without it the embedded sample is prepared in data/sample.\n"+
			"With -serve ADDR the dashboard is served live while training, and after it until Ctrl-C (or -exit).")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	if fs.NArg() > 1 || (o.Resume != "" && fs.NArg() > 0) {
		fs.Usage()
		os.Exit(2)
	}
	cfg, err := alexnet.ByName(*modelName)
	if err != nil {
		return err
	}
	o = withModelDefaults(fs, o, cfg)
	useSample := o.Resume == "" && fs.NArg() == 0
	switch {
	case useSample:
		o.DataDir = filepath.Join(sampleDir, "train")
	case o.Resume == "":
		o.DataDir = fs.Arg(0)
	}
	if err := o.Validate(); err != nil { // before any work
		return err
	}

	// The backend is decided first, once: Apply may re-execute the
	// process, which must happen before any work is done.
	choice, err := device.Discover(device.Host(), *backend)
	if err != nil {
		return err
	}
	if err := device.Apply(choice, *allowDownload); err != nil {
		return err
	}
	o.Backend, o.BackendReason = choice.Config, choice.Reason
	if o.Init, err = resolveWeights("init", o.Init); err != nil {
		return err
	}
	o.Progress = term.IsTerminal(int(os.Stderr.Fd()))

	if useSample {
		if o.DataDir, err = defaultData(sampleDir); err != nil {
			return err
		}
	}
	run, err := train.Open(o)
	if err != nil {
		return err
	}

	var sink rundir.Sink
	var srv *server.Server
	if *serve != "" {
		hub := server.NewHub(serverLog())
		if o.Resume != "" {
			// The dashboard shows the whole run; the Emitter continues
			// the numbering after these messages.
			if _, err := hub.LoadHistory(filepath.Join(run.Dir(), rundir.MetricsFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		// Every run under the runs folder is served beside this one.
		opts := sf.options(*serve, filepath.Dir(run.Dir()))
		opts.RunName = filepath.Base(run.Dir())
		if srv, err = server.Start(hub, opts); err != nil {
			return err
		}
		fmt.Printf("dashboard: %s\n", srv.URL())
		sink = hub
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
	res, err := run.Train(ctx, sink)
	interrupted := ctx.Err() != nil
	close(trained)
	stop()
	if err == nil && res.Weights != "" {
		fmt.Printf("best val acc %.4f (log loss %.4f) at epoch %d; weights: %s\n", res.BestValAcc, res.BestLogLoss, res.BestEpoch, res.Weights)
	}
	if srv == nil {
		return err
	}
	// Serve on after training, and after a failure once training had
	// started (the page then shows the curves and the error).
	if !interrupted && !*exit && (err == nil || res.Started) {
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
