// Package server serves the training dashboard: the static page and its
// wasm, and for every run it shows (the live run this process trains,
// and every run folder under a runs folder) its exported weights,
// run.json, metrics.jsonl, a CSV of its epochs, and a WebSocket at /ws
// that streams its metrics messages (shared/metrics), history first.
//
// The training loop does not import this package: a *Hub satisfies
// train.Sink structurally, so the CLI passes it to train.Run.
//
// Limits, for run folders another process writes or someone damaged:
//
//   - a metrics.jsonl line over MaxLineBytes (512 KiB) is skipped with a
//     warning in the run list and never held in memory; a cut-short last
//     line is read again only once it ends, and a growing one is scanned
//     only where it grew;
//   - a History frame is at most 1 MiB;
//   - a client is never dropped for a burst of messages (a page gets
//     them as History frames), only when one write to it takes longer
//     than Options.WriteWait;
//   - a metrics.jsonl that is not a regular file (a folder, a pipe, a
//     device) is a warning in the run list, logged once;
//   - a run folder that is deleted, or no longer holds a metrics.jsonl
//     or a run.json, leaves the list and its pages are closed;
//   - the static folder is served without listings and without following
//     a symlink out of it;
//   - request headers and idle keep-alive connections time out
//     (Options.ReadHeaderTimeout, Options.IdleTimeout).
package server

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pawnet/pawnet/shared/metrics"
)

// DefaultAddr is where the server listens unless told otherwise: loopback
// only.
const DefaultAddr = "127.0.0.1:8080"

// Defaults of the Options tuning fields.
const (
	DefaultReadLimit         = 4 << 10
	DefaultPingInterval      = 20 * time.Second
	DefaultPongWait          = 45 * time.Second
	DefaultWriteWait         = 10 * time.Second
	DefaultScanInterval      = time.Second
	DefaultStaleAfter        = 5 * time.Minute
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultRunName           = "live"
)

// closeTooSlow is the close code sent to a client that could not keep up
// (1008, policy violation).
const closeTooSlow = websocket.ClosePolicyViolation

// Options configure a Server. Zero values take the defaults noted.
type Options struct {
	// Addr is the TCP address to listen on (default DefaultAddr; port 0
	// picks a free port).
	Addr string
	// StaticDir is served at / (index.html, the .wasm files,
	// wasm_exec.js). It is looked up per request: a missing folder gives
	// a short help page at / and 404 elsewhere. Only files inside it are
	// served: a folder without an index.html and a path through a symlink
	// that leads out of it are 404 (no listings).
	StaticDir string
	// PlainStatic serves StaticDir's files as they are, as the server did
	// before it served compressed siblings and versioned URLs: no
	// Content-Encoding, no Cache-Control, Last-Modified only. It is there
	// to measure the difference (the browser benchmarks).
	PlainStatic bool
	// RunsDir, when set, adds every run folder under it (a folder with a
	// metrics.jsonl or a run.json) to the runs served. It is rescanned
	// every ScanInterval: new runs appear, and the metrics.jsonl of a run
	// that another process trains is followed as it grows.
	RunsDir string
	// OnlyRun, when set, limits RunsDir to the run folder of that name.
	OnlyRun string
	// RunName names the live run, the hub passed to Start (default
	// DefaultRunName). With RunsDir, RunsDir/RunName is its folder, which
	// is then not read from its files.
	RunName string
	// WeightsPath is the live run's exported weights file, looked up per
	// request: 404 until training exports its first best epoch (default:
	// RunsDir/RunName/model.safetensors). Its compact variants
	// (alexnet.VariantPath) are served on request.
	WeightsPath string
	// RunInfoPath is the live run's run.json ("" or missing: 404;
	// default: RunsDir/RunName/run.json).
	RunInfoPath string
	// AllowOrigins lists the browser origins ("http://host:port", or just
	// "host:port") allowed to open the WebSocket besides the page's own
	// host. When the server listens on loopback, their hosts are also the
	// only Host headers accepted besides loopback names (a guard against
	// DNS rebinding).
	AllowOrigins []string
	// Log receives one line per notable event (default: the standard
	// logger).
	Log *log.Logger

	ReadLimit    int64         // largest client-to-server message, bytes (default 4 KiB)
	PingInterval time.Duration // between pings (default 20 s)
	PongWait     time.Duration // a client silent this long is dropped (default 45 s)
	// WriteWait is the deadline of one write to a WebSocket client: a
	// client that takes longer to take a frame is dropped as too slow
	// (default 10 s). It is the only limit on a client's backlog, which
	// costs the server no memory of its own (see Hub).
	WriteWait    time.Duration
	ScanInterval time.Duration // between rescans of RunsDir (default 1 s)
	// ReadHeaderTimeout bounds the reading of a request's headers, and
	// IdleTimeout how long a keep-alive HTTP connection waits for its
	// next request (defaults 10 s and 2 min); WebSockets are not affected.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	// StaleAfter: a run read from its files that has not ended and whose
	// metrics.jsonl has not grown for this long is shown as interrupted
	// (default 5 min).
	StaleAfter time.Duration
}

func (o *Options) defaults() {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.Log == nil {
		o.Log = log.Default()
	}
	if o.ReadLimit <= 0 {
		o.ReadLimit = DefaultReadLimit
	}
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.PongWait <= 0 {
		o.PongWait = DefaultPongWait
	}
	if o.WriteWait <= 0 {
		o.WriteWait = DefaultWriteWait
	}
	if o.ScanInterval <= 0 {
		o.ScanInterval = DefaultScanInterval
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = DefaultStaleAfter
	}
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.RunName == "" {
		o.RunName = DefaultRunName
	}
}

// Server is a running dashboard server.
type Server struct {
	hub      *Hub // the live run's (nil when none)
	runs     *runSet
	opts     Options
	assets   assetCache // content hashes of the static files
	ln       net.Listener
	http     *http.Server
	upgrader websocket.Upgrader
	loopback bool
	served   chan struct{} // closed when http.Server.Serve returns

	mu      sync.Mutex
	closing bool
	conns   map[*websocket.Conn]struct{}
	wg      sync.WaitGroup // WebSocket handlers
}

// Start listens on opts.Addr and serves in the background until Shutdown:
// the live run whose messages hub receives (nil: none), named
// opts.RunName, and the run folders under opts.RunsDir.
func Start(hub *Hub, opts Options) (*Server, error) {
	opts.defaults()
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{hub: hub, opts: opts, ln: ln, served: make(chan struct{}), conns: map[*websocket.Conn]struct{}{}}
	s.runs = newRunSet(&s.opts, hub)
	s.runs.start()
	if ip, err := listenIP(ln.Addr()); err == nil {
		s.loopback = ip.IsLoopback()
	}
	s.upgrader = newUpgrader(s.checkOrigin)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", s.serveWS)
	mux.HandleFunc("GET /weights", s.serveWeights)
	mux.HandleFunc("GET /api/run", s.serveRunInfo)
	mux.HandleFunc("GET /api/runs", s.serveRunList)
	mux.HandleFunc("GET /api/runs/{name}/{file}", s.serveRunFile)
	mux.HandleFunc("GET /api/runs/{name}/messages/{seq}", s.serveRunMessage)
	mux.HandleFunc("GET /", s.serveStatic)
	s.http = &http.Server{
		Handler:           s.checkHost(mux),
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		IdleTimeout:       opts.IdleTimeout,
		ErrorLog:          opts.Log,
	}
	if !s.loopback {
		opts.Log.Printf("server: listening on %s: the dashboard and the weights can be reached from the network", ln.Addr())
	}
	go func() {
		defer close(s.served)
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			opts.Log.Printf("server: %v", err)
		}
	}()
	return s, nil
}

// newUpgrader returns the WebSocket upgrader of /ws: small read buffers
// (clients send only control frames), larger write buffers.
func newUpgrader(checkOrigin func(*http.Request) bool) websocket.Upgrader {
	return websocket.Upgrader{
		ReadBufferSize:  1 << 10,
		WriteBufferSize: 16 << 10,
		CheckOrigin:     checkOrigin,
	}
}

// listenIP returns the IP of a TCP listener address.
func listenIP(a net.Addr) (net.IP, error) {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return nil, fmt.Errorf("not a TCP address: %v", a)
	}
	return ta.IP, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL is the dashboard's address, e.g. http://127.0.0.1:8080/ (an
// unspecified listen address such as 0.0.0.0 is shown as localhost).
func (s *Server) URL() string {
	ta := s.ln.Addr().(*net.TCPAddr)
	host := ta.IP.String()
	if ta.IP.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(ta.Port)) + "/"
}

// Hub is the live run's hub (nil when none).
func (s *Server) Hub() *Hub { return s.hub }

// Runs is the run list, as GET /api/runs serves it.
func (s *Server) Runs() metrics.RunList { return s.runs.list() }

// Shutdown closes every WebSocket client with a normal close frame after
// the history recorded so far (it closes the hub: see Hub.Close), stops
// accepting connections, and waits for the HTTP requests in flight and
// the WebSocket clients to finish. When ctx ends first, the remaining
// connections are closed at once and ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.runs.close()
	err := s.http.Shutdown(ctx)
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		<-done
	}
	if ctx.Err() != nil {
		s.http.Close() // downloads still running
		if err == nil {
			err = ctx.Err()
		}
	}
	<-s.served
	return err
}
