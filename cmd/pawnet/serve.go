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

// options are the server options for the run folder dir.
func (f *serverFlags) options(addr, dir string) server.Options {
	var allow []string
	for _, a := range strings.Split(f.allow, ",") {
		if a = strings.TrimSpace(a); a != "" {
			allow = append(allow, a)
		}
	}
	return server.Options{
		Addr:         addr,
		StaticDir:    f.static,
		WeightsPath:  filepath.Join(dir, rundir.WeightsFile),
		RunInfoPath:  filepath.Join(dir, rundir.ConfigFile),
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
	dir := fs.String("run", "", "run folder (runs/NAME): its metrics.jsonl is replayed, its model.safetensors served")
	addr := fs.String("addr", server.DefaultAddr, "address to listen on; loopback by default (0.0.0.0:8080 exposes the dashboard to the network)")
	sf := addServerFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: pawnet serve -run DIR [flags]\n\nServes a run's dashboard until Ctrl-C: the page (-static), the run's metrics\nhistory over the WebSocket /ws, its weights at /weights and run.json at /api/run.")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	if *dir == "" || fs.NArg() > 0 {
		fs.Usage()
		os.Exit(2)
	}
	hub := server.NewHub(serverLog())
	n, err := hub.LoadHistory(filepath.Join(*dir, rundir.MetricsFile))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s has no %s: is it a run folder?", *dir, rundir.MetricsFile)
	}
	if err != nil {
		return err
	}
	s, err := server.Start(hub, sf.options(*addr, *dir))
	if err != nil {
		return err
	}
	fmt.Printf("dashboard of %s (%d messages): %s (Ctrl-C to stop)\n", *dir, n, s.URL())
	waitInterrupt()
	return shutdown(s)
}
