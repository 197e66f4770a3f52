package browsertest

import (
	"context"
	"log"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/server"
)

// testServer is the real dashboard server (trainer/server) on a loopback
// port, with the few views the tests need.
type testServer struct {
	srv *server.Server
	hub *server.Hub
	log *sinceLog
}

// sinceLog keeps the ?since= of every WebSocket connection and the
// variant of every weights download, read from the server's log lines.
type sinceLog struct {
	mu        sync.Mutex
	since     []int64
	downloads []string
}

var (
	connectLine = regexp.MustCompile(`connected \(since (\d+),`)
	weightsLine = regexp.MustCompile(`server: GET the (\w+) weights`)
)

func (l *sinceLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if m := connectLine.FindSubmatch(p); m != nil {
		n, _ := strconv.ParseInt(string(m[1]), 10, 64)
		l.since = append(l.since, n)
	}
	if m := weightsLine.FindSubmatch(p); m != nil {
		l.downloads = append(l.downloads, string(m[1]))
	}
	return len(p), nil
}

// downloads returns the variants of the whole-file weights downloads the
// server sent, in order.
func (s *testServer) downloads() []string {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return append([]string(nil), s.log.downloads...)
}

// newServer starts the server for static (a folder) and the weights file at
// weights (which may not exist yet), with no history.
func newServer(t testing.TB, static, weights string) *testServer {
	t.Helper()
	return newServerWith(t, server.Options{StaticDir: static, WeightsPath: weights})
}

// newServerWith starts the server with opts (its Addr and Log are the
// tests'), with no history.
func newServerWith(t testing.TB, opts server.Options) *testServer {
	t.Helper()
	sl := &sinceLog{}
	logger := log.New(sl, "", 0)
	hub := server.NewHub(logger)
	opts.Addr, opts.Log = "127.0.0.1:0", logger
	srv, err := server.Start(hub, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return &testServer{srv: srv, hub: hub, log: sl}
}

// URL is the server's base URL.
func (s *testServer) URL() string { return s.srv.URL() }

// Emit implements rundir.Sink.
func (s *testServer) Emit(m metrics.Message, line []byte) { s.hub.Emit(m, line) }

// loadHistory loads a run's metrics.jsonl, as `pawnet serve -run` does.
func (s *testServer) loadHistory(t testing.TB, path string) {
	t.Helper()
	if _, err := s.hub.LoadHistory(path); err != nil {
		t.Fatal(err)
	}
}

// lastSeq is the sequence number of the newest message.
func (s *testServer) lastSeq() int64 { return s.hub.LastSeq() }

// kick drops every open WebSocket, as a network failure would.
func (s *testServer) kick() { s.srv.DropConnections() }

// sinces returns the since parameters the clients connected with, in order.
func (s *testServer) sinces() []int64 {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return append([]int64(nil), s.log.since...)
}
