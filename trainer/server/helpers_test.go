package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pawnet/pawnet/shared/metrics"
)

// readGuard bounds every blocking read of the tests, so that a bug fails
// a test instead of hanging it. It is never a timing assertion.
const readGuard = 30 * time.Second

// logBuffer collects log lines for the tests to check.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func quiet() *log.Logger { return log.New(io.Discard, "", 0) }

// start runs a server for hub on a free loopback port, shut down when the
// test ends.
func start(t testing.TB, hub *Hub, opts Options) *Server {
	t.Helper()
	opts.Addr = "127.0.0.1:0"
	if opts.Log == nil {
		opts.Log = quiet()
	}
	s, err := Start(hub, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), readGuard)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return s
}

func wsURL(s *Server, query string) string {
	return "ws://" + s.Addr().String() + "/ws" + query
}

// dial opens a WebSocket to s; query is "" or "?since=N".
func dial(t testing.TB, s *Server, query string) *websocket.Conn {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(wsURL(s, query), nil)
	if err != nil {
		t.Fatalf("dial %s: %v (response %v)", query, err, resp)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// step returns a stamped Step message, or with pad > 0 a Misclassified
// message carrying a pad-byte thumbnail, to make it bigger.
func step(seq int64, pad int) metrics.Message {
	var m metrics.Message
	if pad > 0 {
		m = &metrics.Misclassified{Epoch: 1, Samples: []metrics.Sample{{PNG: strings.Repeat("A", pad), Path: "cat/cat.1.jpg", Index: int(seq)}}}
	} else {
		m = &metrics.Step{Epoch: 1, Step: int(seq), StepsPerEpoch: 1000, GlobalStep: seq, Loss: 0.69 - float64(seq)*1e-5,
			ImagesPerSec: 812.5, ElapsedSec: float64(seq) / 10, ETASec: 100 - float64(seq)/10, InputWait: 0.01}
	}
	metrics.Stamp(m, seq, 1764000000000+seq)
	return m
}

// emitRange emits seqs from..to (inclusive).
func emitRange(h *Hub, from, to int64, pad int) {
	for seq := from; seq <= to; seq++ {
		h.Emit(step(seq, pad), nil)
	}
}

// readUntil reads messages until one with seq last, and checks that the
// seqs run from first to last with no gap or duplicate. It returns the
// raw messages.
func readUntil(conn *websocket.Conn, first, last int64) ([][]byte, error) {
	var out [][]byte
	err := readEachData(conn, first, last, func(_ int64, data []byte) { out = append(out, data) })
	return out, err
}

// readEach is readUntil calling f with each seq instead of keeping the
// messages.
func readEach(conn *websocket.Conn, first, last int64, f func(seq int64)) error {
	return readEachData(conn, first, last, func(seq int64, _ []byte) { f(seq) })
}

func readEachData(conn *websocket.Conn, first, last int64, f func(int64, []byte)) error {
	for want := first; want <= last; want++ {
		conn.SetReadDeadline(time.Now().Add(readGuard))
		_, data, err := conn.ReadMessage()
		if err != nil {
			return fmt.Errorf("after seq %d: %w", want-1, err)
		}
		m, err := metrics.Decode(data)
		if err != nil {
			return err
		}
		if got := metrics.Seq(m); got != want {
			return fmt.Errorf("got seq %d, want %d", got, want)
		}
		f(want, data)
	}
	return nil
}

// waitFor polls cond until it holds or readGuard passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(readGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// get fetches a URL of s, with an optional Host header.
func get(t testing.TB, s *Server, path, host string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+s.Addr().String()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// page reads what a page (?batch=1) receives, History frames and text
// frames alike, and counts how often it saw each seq.
type page struct {
	seen     map[int64]int
	last     int64 // the last seq covered
	frames   int   // History frames read
	texts    int   // text frames read
	maxFrame int   // the largest History frame, bytes
}

func newPage() *page { return &page{seen: map[int64]int{}} }

// readUntil reads frames until the page has covered seq last.
func (p *page) readUntil(conn *websocket.Conn, last int64) error {
	for p.last < last {
		conn.SetReadDeadline(time.Now().Add(readGuard))
		typ, data, err := conn.ReadMessage()
		if err != nil {
			return fmt.Errorf("after seq %d: %w", p.last, err)
		}
		if err := p.apply(typ, data); err != nil {
			return err
		}
	}
	return nil
}

// apply counts the seqs of one frame.
func (p *page) apply(typ int, data []byte) error {
	if typ == websocket.BinaryMessage {
		var h metrics.History
		if err := h.UnmarshalBinary(data); err != nil {
			return err
		}
		p.frames++
		p.maxFrame = max(p.maxFrame, len(data))
		for _, m := range h.Messages {
			p.seen[metrics.Seq(m)]++
		}
		for _, seq := range h.Steps.Seq {
			p.seen[seq]++
		}
		for _, d := range h.Deferred {
			p.seen[d.Seq]++
		}
		p.last = max(p.last, h.Seq)
		return nil
	}
	m, err := metrics.Decode(data)
	if err != nil {
		return err
	}
	p.texts++
	p.seen[metrics.Seq(m)]++
	p.last = max(p.last, metrics.Seq(m))
	return nil
}

// once reports the first seq of first..last not seen exactly once (0:
// none) and how often it was seen.
func (p *page) once(first, last int64) (int64, int) {
	for seq := first; seq <= last; seq++ {
		if p.seen[seq] != 1 {
			return seq, p.seen[seq]
		}
	}
	if len(p.seen) != int(last-first+1) {
		for seq := range p.seen {
			if seq < first || seq > last {
				return seq, p.seen[seq]
			}
		}
	}
	return 0, 0
}
