package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pawnet/pawnet/trainer/rundir"
	"github.com/pawnet/pawnet/trainer/server"
)

// serverFlags are the dashboard flags that serve and train share.
type serverFlags struct {
	static string
	allow  string
}

func addServerFlags(fs *flag.FlagSet) *serverFlags {
	f := &serverFlags{}
	fs.StringVar(&f.static, "static", "static", "folder served at / (the dashboard's index.html, .wasm files and wasm_exec.js)")
	fs.StringVar(&f.allow, "allow-origin", "", "comma-separated origins, besides the page's own, allowed to open the WebSocket (e.g. http://localhost:3000)")
	return f
}

// options are the server options: listen on addr, serve every run folder
// under runsDir.
func (f *serverFlags) options(addr, runsDir string) server.Options {
	var allow []string
	for _, a := range strings.Split(f.allow, ",") {
		if a = strings.TrimSpace(a); a != "" {
			allow = append(allow, a)
		}
	}
	return server.Options{
		Addr:         addr,
		StaticDir:    f.static,
		RunsDir:      runsDir,
		AllowOrigins: allow,
		Log:          serverLog(),
	}
}

func serverLog() *log.Logger { return log.New(os.Stderr, "", log.Ltime) }

// shutdown stops s, giving its clients a few seconds to take what is
// queued for them.
func shutdown(s *server.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Shutdown(ctx)
}

// waitInterrupt blocks until Ctrl-C or SIGTERM.
func waitInterrupt() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
}

func runServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	runs := fs.String("runs", "runs", "runs folder: every run folder under it is listed and served, new ones as they appear, and runs still training are followed live")
	dir := fs.String("run", "", "serve only this run folder (runs/NAME) instead of the whole runs folder")
	addr := fs.String("addr", server.DefaultAddr, "address to listen on; loopback by default (0.0.0.0:8080 exposes the dashboard to the network)")
	sf := addServerFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: pawnet serve [-runs DIR | -run DIR] [flags]\n\nServes the dashboard of every run under the runs folder until Ctrl-C: the page\n(-static) with the run list, each run's metrics over the WebSocket /ws, its\nweights, run.json, metrics.jsonl and epochs.csv under /api/runs/NAME/.")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	if fs.NArg() > 0 {
		fs.Usage()
		os.Exit(2)
	}
	opts := sf.options(*addr, *runs)
	what := *runs
	if *dir != "" {
		if _, err := os.Stat(filepath.Join(*dir, rundir.MetricsFile)); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s has no %s: is it a run folder?", *dir, rundir.MetricsFile)
		}
		abs, err := filepath.Abs(*dir)
		if err != nil {
			return err
		}
		opts.RunsDir, opts.OnlyRun = filepath.Dir(abs), filepath.Base(abs)
		what = *dir
	} else if st, err := os.Stat(*runs); err != nil || !st.IsDir() {
		return fmt.Errorf("no runs folder %s (train a run first, or pass -runs DIR)", *runs)
	}
	s, err := server.Start(nil, opts)
	if err != nil {
		return err
	}
	fmt.Printf("dashboard of %s (%d runs): %s (Ctrl-C to stop)\n", what, len(s.Runs().Runs), s.URL())
	waitInterrupt()
	return shutdown(s)
}
