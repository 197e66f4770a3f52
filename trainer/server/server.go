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
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pawnet/pawnet/shared/alexnet"
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

// checkHost refuses requests whose Host header is not a loopback name or
// an allowed origin's host when the server listens on loopback: a web page
// on another site cannot reach it through DNS rebinding.
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.loopback && !s.hostAllowed(r.Host) {
			s.opts.Log.Printf("server: refused %s %s from %s: Host %q is not a loopback name (see -allow-origin)", r.Method, r.URL.Path, r.RemoteAddr, r.Host)
			http.Error(w, "forbidden: unexpected Host header", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	for _, a := range s.opts.AllowOrigins {
		if strings.EqualFold(originHost(a), hostport) || strings.EqualFold(originHost(a), host) {
			return true
		}
	}
	return false
}

// originHost returns the host[:port] of an allow-list entry, which may be
// a full origin or a bare host.
func originHost(a string) string {
	a = strings.TrimSuffix(strings.TrimSpace(a), "/")
	if strings.Contains(a, "://") {
		if u, err := url.Parse(a); err == nil {
			return u.Host
		}
	}
	return a
}

// checkOrigin allows WebSocket requests without an Origin (not from a
// browser), from the page's own host, and from the allow-list.
func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err == nil && u.Host != "" {
		if strings.EqualFold(u.Host, r.Host) {
			return true
		}
		for _, a := range s.opts.AllowOrigins {
			a = strings.TrimSuffix(strings.TrimSpace(a), "/")
			if strings.EqualFold(a, origin) || (!strings.Contains(a, "://") && strings.EqualFold(a, u.Host)) {
				return true
			}
		}
	}
	s.opts.Log.Printf("server: refused WebSocket from %s: Origin %q is neither %s nor allowed (-allow-origin)", r.RemoteAddr, origin, r.Host)
	return false
}

// serveWeights serves the default run's exported weights (see
// serveWeightsAt).
func (s *Server) serveWeights(w http.ResponseWriter, r *http.Request) {
	path := ""
	if run := s.runs.defaultRun(); run != nil {
		path = run.weights(&s.opts)
	}
	s.serveWeightsAt(w, r, path)
}

// serveWeightsAt serves the exported weights file path with
// http.ServeContent (Content-Length, Range, If-Range, Last-Modified and an
// ETag that changes with each export). ?variant=int8,fp16,fp32 lists the
// variants the page accepts, most wanted first: it gets the first one that
// exists (see alexnet.VariantPath), named in the X-Pawnet-Variant header.
// Without the parameter it gets the float32 file.
func (s *Server) serveWeightsAt(w http.ResponseWriter, r *http.Request, path string) {
	variants := []alexnet.Variant{alexnet.F32}
	if q := r.URL.Query()["variant"]; len(q) > 0 {
		variants = variants[:0]
		for _, name := range strings.Split(strings.Join(q, ","), ",") {
			v, err := alexnet.ParseVariant(strings.TrimSpace(name))
			if err != nil {
				http.Error(w, strings.TrimPrefix(err.Error(), "alexnet: "), http.StatusBadRequest)
				return
			}
			variants = append(variants, v)
		}
	}
	if path == "" {
		http.Error(w, noWeights, http.StatusNotFound)
		return
	}
	for _, v := range variants {
		vp := alexnet.VariantPath(path, v)
		if st, err := os.Stat(vp); err == nil {
			part := ""
			if rg := r.Header.Get("Range"); rg != "" {
				part = " " + rg + " of"
			}
			s.opts.Log.Printf("server: %s%s the %s weights (%.1f MB) to %s", r.Method, part, v, float64(st.Size())/1e6, r.RemoteAddr)
			w.Header().Set("X-Pawnet-Variant", string(v))
			s.serveFile(w, r, vp, "application/octet-stream", noWeights)
			return
		}
	}
	http.Error(w, noWeights, http.StatusNotFound)
}

const noWeights = "no weights yet: the run exports them after its first best epoch"

// serveRunInfo serves the default run's run.json.
func (s *Server) serveRunInfo(w http.ResponseWriter, r *http.Request) {
	path := ""
	if run := s.runs.defaultRun(); run != nil {
		path = run.runInfo(&s.opts)
	}
	s.serveFile(w, r, path, "application/json", "no run.json for this run yet")
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, path, ctype, missing string) {
	if path == "" {
		http.Error(w, missing, http.StatusNotFound)
		return
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		http.Error(w, missing, http.StatusNotFound)
		return
	}
	if err != nil {
		s.opts.Log.Printf("server: %v", err)
		http.Error(w, "cannot read "+filepath.Base(path), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		http.Error(w, "cannot read "+filepath.Base(path), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-cache") // replaced by each new best epoch
	w.Header().Set("ETag", fmt.Sprintf(`"%x-%x"`, st.Size(), st.ModTime().UnixNano()))
	http.ServeContent(w, r, filepath.Base(path), st.ModTime(), f)
}

// serveStatic serves StaticDir, or a short help page at / when it has no
// index.html. It opens the folder as an os.Root, so that no path, through
// ".." or a symlink, leads out of it; a folder is served as its
// index.html, never as a listing.
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	var root *os.Root
	if s.opts.StaticDir != "" {
		root, _ = os.OpenRoot(s.opts.StaticDir)
	}
	if root != nil {
		defer root.Close()
	}
	if r.URL.Path == "/" {
		if root == nil || !isFile(root, "index.html") {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintf(w, "pawnet dashboard server\n\nNo index.html in the static folder %q: build the dashboard into it.\n"+
				"The run list is /api/runs; a run's metrics stream is the WebSocket /ws (?run=NAME&since=SEQ&batch=1), its files /api/runs/NAME/{metrics.jsonl,epochs.csv,weights,run.json}, one message /api/runs/NAME/messages/SEQ.\n", s.opts.StaticDir)
			return
		}
	}
	if root == nil {
		http.NotFound(w, r)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" {
		name = "."
	}
	st, err := root.Stat(name)
	if err == nil && st.IsDir() {
		if !isFile(root, path.Join(name, "index.html")) {
			http.NotFound(w, r)
			return
		}
		if !strings.HasSuffix(r.URL.Path, "/") {
			// As http.FileServer does: relative links resolve in the folder.
			http.Redirect(w, r, path.Base(r.URL.Path)+"/", http.StatusMovedPermanently)
			return
		}
		name = path.Join(name, "index.html")
	}
	f, err := root.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil || !st.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	http.ServeContent(w, r, path.Base(name), st.ModTime(), f)
}

// isFile reports whether name is a regular file inside root.
func isFile(root *os.Root, name string) bool {
	st, err := root.Stat(name)
	return err == nil && st.Mode().IsRegular()
}

// DropConnections closes every WebSocket connection at once, without a
// close frame, as a network failure would; the pages reconnect and resume
// with ?since=. The history and new connections are unaffected.
func (s *Server) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for conn := range s.conns {
		conn.NetConn().Close()
	}
}

// errSince is parseSince's error for a since that is not a number ≥ 0.
var errSince = errors.New("since must be a sequence number ≥ 0")

// parseSince returns the since parameter of a /ws query string: the
// sequence number after which to stream, 0 when absent or empty. A query
// string that does not parse, or that gives since more than once, is an
// error: a since that failed to decode must not read as absent.
func parseSince(rawQuery string) (int64, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return 0, fmt.Errorf("bad query string: %v", err)
	}
	vs := q["since"]
	if len(vs) > 1 {
		return 0, errors.New("since given more than once")
	}
	if len(vs) == 0 || vs[0] == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(vs[0], 10, 64)
	if err != nil || n < 0 {
		return 0, errSince
	}
	return n, nil
}

// wsQuery is what a /ws request asks for.
type wsQuery struct {
	since int64  // stream the messages after this seq
	run   string // the run's name ("": the default run)
	batch bool   // send the backlog as metrics.History frames
}

// parseWSQuery reads a /ws query string: since (see parseSince), run (a
// run's name, at most once) and batch ("1" for History frames, "0" or
// absent for one frame per message).
func parseWSQuery(rawQuery string) (wsQuery, error) {
	since, err := parseSince(rawQuery)
	if err != nil {
		return wsQuery{}, err
	}
	q, _ := url.ParseQuery(rawQuery) // parseSince has checked that it parses
	out := wsQuery{since: since}
	switch run := q["run"]; len(run) {
	case 0:
	case 1:
		out.run = run[0]
	default:
		return wsQuery{}, errors.New("run given more than once")
	}
	switch batch := q["batch"]; {
	case len(batch) > 1:
		return wsQuery{}, errors.New("batch given more than once")
	case len(batch) == 0 || batch[0] == "" || batch[0] == "0":
	case batch[0] == "1":
		out.batch = true
	default:
		return wsQuery{}, errors.New("batch must be 0 or 1")
	}
	return out, nil
}

// serveWS upgrades to a WebSocket and streams the history of the run
// ?run= (default: the default run) after ?since= (default 0: all of it),
// then the live messages; with ?batch=1 the history comes as
// metrics.History frames.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	q, err := parseWSQuery(r.URL.RawQuery)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var run *run
	if q.run != "" {
		run = s.runs.get(q.run)
	} else {
		run = s.runs.defaultRun()
	}
	if run == nil {
		http.Error(w, "no run "+strconv.Quote(q.run), http.StatusNotFound)
		return
	}
	since := q.since
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has replied (403 for a bad Origin, 400 …)
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
		conn.Close()
		return
	}
	s.conns[conn] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
		s.wg.Done()
	}()
	c := &client{
		conn:    conn,
		opts:    &s.opts,
		hub:     run.hub,
		addr:    r.RemoteAddr,
		runName: run.name,
		since:   since,
		batch:   q.batch,
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	backlog, err := run.hub.subscribe(c, since)
	if err != nil {
		c.stop(websocket.CloseGoingAway, "server shutting down")
	}
	s.opts.Log.Printf("server: client %s connected (since %d, %d messages to replay, run %q)", c.addr, since, backlog, run.name)
	c.run(run.hub)
}
