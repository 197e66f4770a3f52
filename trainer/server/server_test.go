package server

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pawnet/pawnet/shared/alexnet"
)

// A client that joins late, at any point, receives exactly the bytes that
// a client present from the start received.
func TestLateJoinerSeesSameSequence(t *testing.T) {
	const n = 600
	tests := []struct {
		name      string
		joinAfter int64 // messages emitted before the late client connects
	}{
		{"before the first message", 0},
		{"after one message", 1},
		{"mid-run", n / 2},
		{"after the run", n},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hub := NewHub(quiet())
			s := start(t, hub, Options{})
			early := dial(t, s, "")
			waitFor(t, "the early client", func() bool { return hub.Clients() == 1 })
			emitRange(hub, 1, tc.joinAfter, 0)
			late := dial(t, s, "")
			waitFor(t, "the late client", func() bool { return hub.Clients() == 2 })
			emitRange(hub, tc.joinAfter+1, n, 0)
			want, err := readUntil(early, 1, n)
			if err != nil {
				t.Fatalf("early client: %v", err)
			}
			got, err := readUntil(late, 1, n)
			if err != nil {
				t.Fatalf("late client: %v", err)
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("message %d differs:\nlate  %s\nearly %s", i+1, got[i], want[i])
				}
			}
		})
	}

	// Joiners racing the producer: the snapshot and the subscription are
	// taken under one lock, so no message falls between them.
	t.Run("while the producer runs", func(t *testing.T) {
		hub := NewHub(quiet())
		s := start(t, hub, Options{})
		early := dial(t, s, "")
		waitFor(t, "the early client", func() bool { return hub.Clients() == 1 })
		done := make(chan struct{})
		go func() {
			defer close(done)
			for seq := int64(1); seq <= n; seq++ {
				hub.Emit(step(seq, 0), nil)
				if seq%8 == 0 {
					runtime.Gosched()
				}
			}
		}()
		var late []*websocket.Conn
		for _, at := range []int64{10, 100, 250, 400, 550} {
			for hub.LastSeq() < at && hub.LastSeq() < n {
				runtime.Gosched()
			}
			late = append(late, dial(t, s, ""))
		}
		<-done
		want, err := readUntil(early, 1, n)
		if err != nil {
			t.Fatalf("early client: %v", err)
		}
		for i, c := range late {
			got, err := readUntil(c, 1, n)
			if err != nil {
				t.Fatalf("late client %d: %v", i, err)
			}
			for j := range want {
				if !bytes.Equal(got[j], want[j]) {
					t.Fatalf("late client %d, message %d differs", i, j+1)
				}
			}
		}
	})
}

// 50 clients, half connected before the run and half joining during it,
// all receive every message in order.
func TestFiftyConcurrentClients(t *testing.T) {
	const clients, n = 50, 500
	hub := NewHub(quiet())
	s := start(t, hub, Options{})
	mid := make(chan struct{})
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for i := range clients {
		late := i >= clients/2
		wg.Go(func() {
			if late {
				<-mid
			}
			conn, _, err := websocket.DefaultDialer.Dial(wsURL(s, ""), nil)
			if err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
				return
			}
			defer conn.Close()
			if _, err := readUntil(conn, 1, n); err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
			}
		})
	}
	waitFor(t, "the early clients", func() bool { return hub.Clients() >= clients/2 })
	emitRange(hub, 1, n/4, 0)
	close(mid)
	emitRange(hub, n/4+1, n, 0)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if d := hub.Dropped(); d != 0 {
		t.Errorf("%d clients dropped", d)
	}
}

// A client that connects and never reads does not hold up Emit: it is
// dropped once a write to it blocks for WriteWait. The producer's loop is
// timed with and without it; only the drop is asserted. The producer keeps
// within 256 messages of the reading client (training emits a few
// messages a second; a tight loop would outrun any client), in both
// measurements.
func TestStalledClientDoesNotBlockProducer(t *testing.T) {
	// 6000 × 2 KiB = 12 MiB: more than the kernel's socket buffers can
	// absorb (tcp_wmem max 4 MiB here; a non-reading receiver's window
	// stays small), so a write to the stalled client blocks.
	const n, pad, window = 6000, 2048, 256
	type timing struct{ loop, emit time.Duration } // the whole loop; inside Emit only
	measure := func(t *testing.T, stall bool) (timing, *Hub, *websocket.Conn, *logBuffer) {
		logs := &logBuffer{}
		hub := NewHub(log.New(logs, "", 0))
		s := start(t, hub, Options{Log: log.New(logs, "", 0), WriteWait: 2 * time.Second})
		reader := dial(t, s, "")
		var seen atomic.Int64
		got := make(chan error, 1)
		go func() {
			got <- readEach(reader, 1, n, func(seq int64) { seen.Store(seq) })
		}()
		var stalled *websocket.Conn
		want := 1
		if stall {
			stalled = dial(t, s, "")
			want = 2
		}
		waitFor(t, "the clients", func() bool { return hub.Clients() == want })
		var d timing
		t0 := time.Now()
		for seq := int64(1); seq <= n; seq++ {
			m := step(seq, pad)
			t1 := time.Now()
			hub.Emit(m, nil)
			d.emit += time.Since(t1)
			if seq%64 == 0 {
				waitFor(t, "the reading client", func() bool { return seen.Load() >= seq-window })
			}
		}
		d.loop = time.Since(t0)
		if err := <-got; err != nil {
			t.Fatalf("reading client: %v", err)
		}
		return d, hub, stalled, logs
	}
	base, _, _, _ := measure(t, false)
	with, hub, stalled, logs := measure(t, true)
	t.Logf("producer, %d messages of %d bytes: loop %v without a stalled client, %v with one (ratio %.2f); inside Emit %v and %v (ratio %.2f)",
		n, pad, base.loop, with.loop, float64(with.loop)/float64(base.loop), base.emit, with.emit, float64(with.emit)/float64(base.emit))

	waitFor(t, "the stalled client to be dropped", func() bool { return hub.Dropped() >= 1 })
	if d := hub.Dropped(); d != 1 {
		t.Errorf("dropped %d clients, want 1 (the stalled one)", d)
	}
	if !strings.Contains(logs.String(), "cannot keep up") {
		t.Errorf("no log line about the slow client; log:\n%s", logs)
	}
	// The stalled client now reads: what the kernel buffered, then the end
	// of the connection, long before the last message.
	read := 0
	for {
		stalled.SetReadDeadline(time.Now().Add(readGuard))
		if _, _, err := stalled.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			// The close frame (1008) reaches it only if the blocked write
			// drained within a second; else the connection just ends.
			if errors.As(err, &ce) && ce.Code != websocket.ClosePolicyViolation && ce.Code != websocket.CloseAbnormalClosure {
				t.Errorf("close code %d, want %d or none", ce.Code, websocket.ClosePolicyViolation)
			}
			t.Logf("stalled client read %d of %d messages, then: %v", read, n, err)
			break
		}
		read++
	}
	if read >= n {
		t.Errorf("the stalled client received all %d messages", n)
	}
	waitFor(t, "the stalled client to leave", func() bool { return hub.Clients() == 1 })
}

// The WebSocket is refused (403) to a page of another origin.
func TestOriginCheck(t *testing.T) {
	hub := NewHub(quiet())
	s := start(t, hub, Options{AllowOrigins: []string{"http://localhost:3000", "dash.example.org"}})
	self := "http://" + s.Addr().String()
	tests := []struct {
		origin string
		ok     bool
	}{
		{"", true}, // not a browser
		{self, true},
		{strings.ToUpper(self), true},
		{"http://localhost:3000", true},
		{"https://dash.example.org", true},
		{"http://evil.example", false},
		{"http://127.0.0.1:1", false}, // same IP, other port
		{"http://localhost:3001", false},
		{"null", false},
	}
	for _, tc := range tests {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		conn, resp, err := websocket.DefaultDialer.Dial(wsURL(s, ""), h)
		if conn != nil {
			conn.Close()
		}
		switch {
		case tc.ok && err != nil:
			t.Errorf("Origin %q: refused: %v", tc.origin, err)
		case !tc.ok && err == nil:
			t.Errorf("Origin %q: accepted", tc.origin)
		case !tc.ok && (resp == nil || resp.StatusCode != http.StatusForbidden):
			t.Errorf("Origin %q: %v, want 403", tc.origin, resp)
		}
	}
}

// On loopback, a Host header that is not a loopback name is refused (DNS
// rebinding).
func TestHostCheck(t *testing.T) {
	hub := NewHub(quiet())
	s := start(t, hub, Options{AllowOrigins: []string{"https://tunnel.example"}})
	port := strconv.Itoa(s.Addr().(*net.TCPAddr).Port)
	tests := []struct {
		host string
		code int
	}{
		{"127.0.0.1:" + port, 404}, // no weights: 404 means it got through
		{"localhost:" + port, 404},
		{"[::1]:" + port, 404},
		{"tunnel.example", 404},
		{"evil.example:" + port, 403},
		{"evil.example", 403},
	}
	for _, tc := range tests {
		if resp, body := get(t, s, "/weights", tc.host); resp.StatusCode != tc.code {
			t.Errorf("Host %q: %d %q, want %d", tc.host, resp.StatusCode, body, tc.code)
		}
	}
}

// A client message over the read limit closes that client only.
func TestReadLimit(t *testing.T) {
	tests := []struct {
		size   int
		closed bool
	}{
		{100, false},
		{DefaultReadLimit, false},
		{DefaultReadLimit + 1, true},
		{64 << 10, true},
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.size), func(t *testing.T) {
			hub := NewHub(quiet())
			s := start(t, hub, Options{})
			other := dial(t, s, "")
			sender := dial(t, s, "")
			waitFor(t, "the clients", func() bool { return hub.Clients() == 2 })
			if err := sender.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("x"), tc.size)); err != nil {
				t.Fatal(err)
			}
			if tc.closed {
				sender.SetReadDeadline(time.Now().Add(readGuard))
				_, _, err := sender.ReadMessage()
				if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
					t.Fatalf("sender: %v, want close 1009", err)
				}
				waitFor(t, "the sender to go", func() bool { return hub.Clients() == 1 })
			}
			emitRange(hub, 1, 10, 0)
			if _, err := readUntil(other, 1, 10); err != nil {
				t.Fatalf("other client: %v", err)
			}
			if !tc.closed {
				if _, err := readUntil(sender, 1, 10); err != nil {
					t.Fatalf("sender: %v", err)
				}
			}
		})
	}
}

// ?since=SEQ sends only the messages after SEQ; bad values are refused.
func TestSince(t *testing.T) {
	const n = 100
	hub := NewHub(quiet())
	s := start(t, hub, Options{})
	emitRange(hub, 1, n, 0)
	for _, since := range []int64{0, 1, 37, n - 1} {
		c := dial(t, s, "?since="+strconv.FormatInt(since, 10))
		if _, err := readUntil(c, since+1, n); err != nil {
			t.Errorf("since=%d: %v", since, err)
		}
	}
	// Caught up, or ahead of the hub: nothing until newer messages.
	upToDate := dial(t, s, "?since=100")
	ahead := dial(t, s, "?since=102")
	waitFor(t, "the clients", func() bool { return hub.Clients() == 6 })
	emitRange(hub, n+1, n+5, 0)
	if _, err := readUntil(upToDate, n+1, n+5); err != nil {
		t.Errorf("since=%d: %v", n, err)
	}
	if _, err := readUntil(ahead, n+3, n+5); err != nil {
		t.Errorf("since=%d: %v", n+2, err)
	}
	for _, bad := range []string{"abc", "-1", "1.5", "1%", "1;x=2", "2&since=x"} {
		_, resp, err := websocket.DefaultDialer.Dial(wsURL(s, "?since="+bad), nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
			t.Errorf("since=%s: %v %v, want 400", bad, resp, err)
		}
	}
}

// A client that drops and reconnects with ?since=<last seq seen> while the
// run goes on ends up with every message exactly once. The producer keeps
// within 256 messages of the client, so that the reconnects happen while
// the run goes on.
func TestReconnectWithSince(t *testing.T) {
	const n, window = 3000, 256
	hub := NewHub(quiet())
	s := start(t, hub, Options{})
	var seen atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for seq := int64(1); seq <= n; seq++ {
			for seq-seen.Load() > window {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
			}
			hub.Emit(step(seq, 0), nil)
		}
	}()
	defer func() {
		close(stop)
		<-done
	}()
	reconnects := 0
	for last := int64(0); last < n; last = seen.Load() {
		c := dial(t, s, "?since="+strconv.FormatInt(last, 10))
		// Read a few hundred messages, then drop the connection.
		upto := min(last+300, n)
		if err := readEach(c, last+1, upto, func(seq int64) { seen.Store(seq) }); err != nil {
			t.Fatalf("after %d reconnects: %v", reconnects, err)
		}
		c.Close()
		reconnects++
	}
	if d := hub.Dropped(); d != 0 {
		t.Errorf("%d clients dropped", d)
	}
	t.Logf("%d connections", reconnects)
}

// Pings keep a reading client connected; a client that never answers is
// dropped after PongWait.
func TestKeepalive(t *testing.T) {
	logs := &logBuffer{}
	hub := NewHub(quiet())
	s := start(t, hub, Options{PingInterval: 50 * time.Millisecond, PongWait: 2 * time.Second, Log: log.New(logs, "", 0)})
	var pings atomic.Int64
	reader := dial(t, s, "")
	reader.SetPingHandler(func(data string) error {
		pings.Add(1)
		return reader.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	got := make(chan error, 1)
	go func() {
		_, err := readUntil(reader, 1, 1)
		got <- err
	}()
	silent := dial(t, s, "")
	_ = silent
	waitFor(t, "the clients", func() bool { return hub.Clients() == 2 })
	waitFor(t, "the silent client to be dropped", func() bool { return hub.Clients() == 1 })
	hub.Emit(step(1, 0), nil)
	if err := <-got; err != nil {
		t.Fatalf("reading client: %v", err)
	}
	if pings.Load() < 3 {
		t.Errorf("reading client saw %d pings", pings.Load())
	}
	if !strings.Contains(logs.String(), "answered no ping") {
		t.Errorf("log:\n%s", logs)
	}
}

// Shutdown sends what the history holds, then a normal close frame.
func TestShutdownClosesClientsNormally(t *testing.T) {
	hub := NewHub(quiet())
	s := start(t, hub, Options{})
	c := dial(t, s, "")
	waitFor(t, "the client", func() bool { return hub.Clients() == 1 })
	emitRange(hub, 1, 200, 0)
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(t.Context()) }()
	if _, err := readUntil(c, 1, 200); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(readGuard))
	_, _, err := c.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Errorf("after the last message: %v, want a normal close", err)
	}
	if err := <-shut; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if _, _, err := websocket.DefaultDialer.Dial(wsURL(s, ""), nil); err == nil {
		t.Error("dial after shutdown succeeded")
	}
}

// /weights is 404 with a message until the file exists, then served with
// its Content-Length; the static folder and run.json are served per
// request.
func TestFiles(t *testing.T) {
	dir := t.TempDir()
	static := filepath.Join(dir, "static")
	weights := filepath.Join(dir, "run", "model.safetensors")
	runInfo := filepath.Join(dir, "run", "run.json")
	hub := NewHub(quiet())
	s := start(t, hub, Options{StaticDir: static, WeightsPath: weights, RunInfoPath: runInfo})

	check := func(path string, code int, body string) *http.Response {
		t.Helper()
		resp, got := get(t, s, path, "")
		if resp.StatusCode != code || !strings.Contains(string(got), body) {
			t.Errorf("GET %s: %d %q, want %d containing %q", path, resp.StatusCode, got, code, body)
		}
		return resp
	}
	// Nothing there yet.
	check("/weights", 404, "no weights yet")
	check("/api/run", 404, "no run.json")
	check("/", 200, "No index.html")
	check("/app.wasm", 404, "")

	// The files appear.
	if err := os.MkdirAll(filepath.Dir(weights), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(static, 0o755); err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte{1, 2, 3, 4, 5}, 100_000)
	for path, data := range map[string][]byte{
		weights:                             payload,
		runInfo:                             []byte(`{"run_id":"x"}`),
		filepath.Join(static, "index.html"): []byte("<title>pawnet</title>"),
		filepath.Join(static, "app.wasm"):   []byte("\x00asm\x01\x00\x00\x00"),
	} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	resp := check("/weights", 200, "")
	if resp.ContentLength != int64(len(payload)) || resp.Header.Get("Content-Length") != strconv.Itoa(len(payload)) {
		t.Errorf("/weights Content-Length %q, want %d", resp.Header.Get("Content-Length"), len(payload))
	}
	check("/api/run", 200, `"run_id":"x"`)
	check("/", 200, "<title>pawnet</title>")
	if ct := check("/app.wasm", 200, "asm").Header.Get("Content-Type"); ct != "application/wasm" {
		t.Errorf("app.wasm Content-Type %q", ct)
	}

	// A range request (resumed download).
	req, _ := http.NewRequest("GET", "http://"+s.Addr().String()+"/weights", nil)
	req.Header.Set("Range", "bytes=10-19")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusPartialContent || r2.ContentLength != 10 {
		t.Errorf("range: %d, length %d", r2.StatusCode, r2.ContentLength)
	}
}

// /weights?variant= serves the first of the listed variants that exists,
// names it in X-Pawnet-Variant, with Content-Length, Range and an ETag
// that a new export changes; an unknown variant is a 400.
func TestWeightsVariants(t *testing.T) {
	dir := t.TempDir()
	weights := filepath.Join(dir, "model.safetensors")
	s := start(t, NewHub(quiet()), Options{WeightsPath: weights})
	files := map[alexnet.Variant][]byte{
		alexnet.F32:  bytes.Repeat([]byte{4}, 4000),
		alexnet.Int8: bytes.Repeat([]byte{1}, 1000),
	}
	for v, data := range files {
		if err := os.WriteFile(alexnet.VariantPath(weights, v), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		query   string
		code    int
		variant alexnet.Variant
	}{
		{"", 200, alexnet.F32},
		{"?variant=int8", 200, alexnet.Int8},
		{"?variant=int8,fp16,fp32", 200, alexnet.Int8},
		{"?variant=fp16,fp32", 200, alexnet.F32},
		{"?variant=fp16&variant=int8", 200, alexnet.Int8},
		{"?variant=fp16", 404, ""},
		{"?variant=int4", 400, ""},
		{"?variant=", 400, ""},
	} {
		t.Run(tc.query, func(t *testing.T) {
			resp, body := get(t, s, "/weights"+tc.query, "")
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.code, body)
			}
			if tc.code != 200 {
				return
			}
			if got := resp.Header.Get("X-Pawnet-Variant"); got != string(tc.variant) {
				t.Errorf("X-Pawnet-Variant %q, want %q", got, tc.variant)
			}
			if !bytes.Equal(body, files[tc.variant]) || resp.ContentLength != int64(len(files[tc.variant])) {
				t.Errorf("%d bytes (Content-Length %d), want the %s file's %d", len(body), resp.ContentLength, tc.variant, len(files[tc.variant]))
			}
			if resp.Header.Get("ETag") == "" {
				t.Error("no ETag")
			}
		})
	}
	// A range of the int8 file, and a new export changes the ETag.
	req, _ := http.NewRequest("GET", "http://"+s.Addr().String()+"/weights?variant=int8", nil)
	req.Header.Set("Range", "bytes=100-199")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || resp.ContentLength != 100 {
		t.Errorf("range: %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	etag := resp.Header.Get("ETag")
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(alexnet.VariantPath(weights, alexnet.Int8), later, later); err != nil {
		t.Fatal(err)
	}
	if r, _ := get(t, s, "/weights?variant=int8", ""); r.Header.Get("ETag") == etag {
		t.Errorf("ETag %s unchanged by a new export", etag)
	}
}
