package browsertest

// TODO(server): replace with trainer/server. This file is a TEMPORARY
// stand-in for the dashboard server that another branch is building
// (trainer/server, gorilla/websocket). It follows the same contract:
//   - GET /          the static folder (index.html, wasm_exec.js, *.wasm, …)
//   - GET /weights   the exported weights, with Content-Length; 404 until
//                    the file exists
//   - GET /ws        each metrics message as one JSON text frame: the whole
//                    history, then live messages, no gap or duplicate;
//                    /ws?since=SEQ sends only the messages after SEQ.
// Once trainer/server lands, newServer should start that instead and the
// tests below should not need to change.

import (
	"bufio"
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"github.com/pawnet/pawnet/shared/metrics"
)

// standIn is the stand-in server. It is a train.Sink: Emit appends a
// message to the history and sends it to every connected client.
type standIn struct {
	static  string
	weights string

	mu      sync.Mutex
	msgs    []frame
	changed chan struct{} // closed and replaced when msgs grows or kick is called
	kicked  int           // generation: connections older than it close
	since   []int64       // the ?since= of every /ws request, in order

	srv *httptest.Server
}

type frame struct {
	seq  int64
	data []byte
}

// newServer starts a server for static (a folder) and the weights file at
// weights (which may not exist yet), with no history.
func newServer(t testing.TB, static, weights string) *standIn {
	t.Helper()
	s := &standIn{static: static, weights: weights, changed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(static)))
	mux.HandleFunc("/weights", s.serveWeights)
	mux.HandleFunc("/ws", s.serveWS)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		s.kick()
		s.srv.Close()
	})
	return s
}

// URL is the server's base URL.
func (s *standIn) URL() string { return s.srv.URL }

// Emit implements train.Sink.
func (s *standIn) Emit(m metrics.Message) {
	data, err := metrics.Encode(m)
	if err != nil {
		panic(err)
	}
	s.add(metrics.Seq(m), data)
}

func (s *standIn) add(seq int64, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, frame{seq, data})
	close(s.changed)
	s.changed = make(chan struct{})
}

// loadHistory appends the messages of a metrics.jsonl file.
func (s *standIn) loadHistory(t testing.TB, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		m, err := metrics.Decode(line)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		s.add(metrics.Seq(m), append([]byte(nil), line...))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// lastSeq is the sequence number of the newest message.
func (s *standIn) lastSeq() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.msgs) == 0 {
		return 0
	}
	return s.msgs[len(s.msgs)-1].seq
}

// kick closes every open WebSocket, as a server restart would.
func (s *standIn) kick() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kicked++
	close(s.changed)
	s.changed = make(chan struct{})
}

// sinces returns the since parameters the clients asked for.
func (s *standIn) sinces() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.since...)
}

func (s *standIn) serveWeights(w http.ResponseWriter, r *http.Request) {
	f, err := os.Open(s.weights)
	if err != nil {
		http.Error(w, "no exported weights yet", http.StatusNotFound)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "no-store")
	http.ServeContent(w, r, "model.safetensors", st.ModTime(), f) // sets Content-Length
}

func (s *standIn) serveWS(w http.ResponseWriter, r *http.Request) {
	var since int64
	if v := r.URL.Query().Get("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			http.Error(w, "bad since", http.StatusBadRequest)
			return
		}
		since = n
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := c.CloseRead(r.Context())
	s.mu.Lock()
	s.since = append(s.since, since)
	gen := s.kicked
	s.mu.Unlock()
	next := 0
	for {
		s.mu.Lock()
		if s.kicked != gen {
			s.mu.Unlock()
			c.Close(websocket.StatusGoingAway, "server restart")
			return
		}
		var out [][]byte
		for ; next < len(s.msgs); next++ {
			if s.msgs[next].seq > since {
				out = append(out, s.msgs[next].data)
			}
		}
		wait := s.changed
		s.mu.Unlock()
		for _, data := range out {
			if err := c.Write(ctx, websocket.MessageText, data); err != nil {
				return
			}
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return
		}
	}
}
