// Package server serves the training dashboard: the static page and its
// wasm, the run's exported weights, run.json, and a WebSocket at /ws that
// streams the run's metrics messages (shared/metrics), history first.
//
// The training loop does not import this package: a *Hub satisfies
// train.Sink structurally, so the CLI passes it to train.Run.
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
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pawnet/pawnet/shared/alexnet"
)

// DefaultAddr is where the server listens unless told otherwise: loopback
// only.
const DefaultAddr = "127.0.0.1:8080"

// Defaults of the Options tuning fields.
const (
	DefaultQueueLen     = 1024
	DefaultReadLimit    = 4 << 10
	DefaultPingInterval = 20 * time.Second
	DefaultPongWait     = 45 * time.Second
	DefaultWriteWait    = 10 * time.Second
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
	// a short help page at / and 404 elsewhere.
	StaticDir string
	// WeightsPath is the exported weights file served at /weights, looked
	// up per request: 404 until training exports its first best epoch.
	// Its compact variants (alexnet.VariantPath) are served on request.
	WeightsPath string
	// RunInfoPath is the run.json served at /api/run ("" or missing: 404).
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

	QueueLen     int           // messages queued per client before it is dropped (default 1024)
	ReadLimit    int64         // largest client-to-server message, bytes (default 4 KiB)
	PingInterval time.Duration // between pings (default 20 s)
	PongWait     time.Duration // a client silent this long is dropped (default 45 s)
	WriteWait    time.Duration // deadline of one write (default 10 s)
}

func (o *Options) defaults() {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.Log == nil {
		o.Log = log.Default()
	}
	if o.QueueLen <= 0 {
		o.QueueLen = DefaultQueueLen
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
}

// Server is a running dashboard server.
type Server struct {
	hub      *Hub
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

// Start listens on opts.Addr and serves hub's run in the background until
// Shutdown.
func Start(hub *Hub, opts Options) (*Server, error) {
	opts.defaults()
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{hub: hub, opts: opts, ln: ln, served: make(chan struct{}), conns: map[*websocket.Conn]struct{}{}}
	if ip, err := listenIP(ln.Addr()); err == nil {
		s.loopback = ip.IsLoopback()
	}
	s.upgrader = newUpgrader(s.checkOrigin)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", s.serveWS)
	mux.HandleFunc("GET /weights", s.serveWeights)
	mux.HandleFunc("GET /api/run", s.serveRunInfo)
	mux.HandleFunc("GET /", s.serveStatic)
	s.http = &http.Server{
		Handler:           s.checkHost(mux),
		ReadHeaderTimeout: 10 * time.Second,
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

// Hub is the hub the server streams.
func (s *Server) Hub() *Hub { return s.hub }

// Shutdown closes every WebSocket client with a normal close frame after
// what is already queued for it (it closes the hub: see Hub.Close), stops
// accepting connections, and waits for the HTTP requests in flight and
// the WebSocket clients to finish. When ctx ends first, the remaining
// connections are closed at once and ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.hub.Close()
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

// serveWeights serves the exported weights with http.ServeContent
// (Content-Length, Range, If-Range, Last-Modified and an ETag that changes
// with each export). ?variant=int8,fp16,fp32 lists the variants the page
// accepts, most wanted first: it gets the first one that exists (see
// alexnet.VariantPath), named in the X-Pawnet-Variant header. Without the
// parameter it gets the float32 file.
func (s *Server) serveWeights(w http.ResponseWriter, r *http.Request) {
	const missing = "no weights yet: the run exports them after its first best epoch"
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
	if s.opts.WeightsPath == "" {
		http.Error(w, missing, http.StatusNotFound)
		return
	}
	for _, v := range variants {
		path := alexnet.VariantPath(s.opts.WeightsPath, v)
		if st, err := os.Stat(path); err == nil {
			part := ""
			if rg := r.Header.Get("Range"); rg != "" {
				part = " " + rg + " of"
			}
			s.opts.Log.Printf("server: %s%s the %s weights (%.1f MB) to %s", r.Method, part, v, float64(st.Size())/1e6, r.RemoteAddr)
			w.Header().Set("X-Pawnet-Variant", string(v))
			s.serveFile(w, r, path, "application/octet-stream", missing)
			return
		}
	}
	http.Error(w, missing, http.StatusNotFound)
}

// serveRunInfo serves run.json.
func (s *Server) serveRunInfo(w http.ResponseWriter, r *http.Request) {
	s.serveFile(w, r, s.opts.RunInfoPath, "application/json", "no run.json for this run yet")
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
// index.html.
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" {
		if _, err := os.Stat(filepath.Join(s.opts.StaticDir, "index.html")); s.opts.StaticDir == "" || err != nil {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintf(w, "pawnet dashboard server\n\nNo index.html in the static folder %q: build the dashboard into it.\n"+
				"The metrics stream is the WebSocket /ws (?since=SEQ), the weights are at /weights, run.json at /api/run.\n", s.opts.StaticDir)
			return
		}
	}
	if s.opts.StaticDir == "" {
		http.NotFound(w, r)
		return
	}
	http.FileServer(http.Dir(s.opts.StaticDir)).ServeHTTP(w, r)
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

// serveWS upgrades to a WebSocket and streams the history after ?since=
// (default 0: all of it), then the live messages.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	since, err := parseSince(r.URL.RawQuery)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
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
		conn:  conn,
		opts:  &s.opts,
		addr:  r.RemoteAddr,
		since: since,
		queue: make(chan entry, s.opts.QueueLen),
		done:  make(chan struct{}),
	}
	backlog, err := s.hub.subscribe(c, since)
	if err != nil {
		c.stop(websocket.CloseGoingAway, "server shutting down")
	}
	s.opts.Log.Printf("server: client %s connected (since %d, %d messages to replay)", c.addr, since, len(backlog))
	c.run(s.hub, backlog)
}
