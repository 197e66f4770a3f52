package server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/rundir"
)

// encodeLines returns messages from..to of msg as metrics.jsonl lines.
func encodeLines(t testing.TB, from, to int64, msg func(int64) metrics.Message) []byte {
	t.Helper()
	var b bytes.Buffer
	for seq := from; seq <= to; seq++ {
		line, err := metrics.Encode(msg(seq))
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// appendFile appends data to the file at path, in one write.
func appendFile(t testing.TB, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
}

// followed makes runs/NAME/metrics.jsonl (empty) and serves runs, rescanned
// every 5 ms; it returns the server and the file's path once the run is
// listed.
func followed(t *testing.T, name string, opts Options) (*Server, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, rundir.MetricsFile)
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	opts.RunsDir, opts.ScanInterval = filepath.Dir(dir), 5*time.Millisecond
	s := start(t, nil, opts)
	waitFor(t, "the run to be listed", func() bool { return s.runs.get(name) != nil })
	return s, path
}

// runState returns a followed run's offset, tail and bytes read so far.
func runState(s *Server, name string) (offset int64, tail lineTail, bytesIn int64) {
	r := s.runs.get(name)
	s.runs.mu.Lock()
	defer s.runs.mu.Unlock()
	return r.offset, r.tail, r.bytesIn
}

// Lines that another process appends to a followed run in a burst, or
// steadily at 1,000 lines/s, reach a page that reads at full speed as
// History frames, a few at a time, and a client without batch=1 as text
// frames: neither is dropped, and each gets every message once.
func TestFollowedBurst(t *testing.T) {
	for _, tc := range []struct {
		name  string
		n     int64
		chunk int64         // lines per write
		every time.Duration // between writes (0: one write)
	}{
		{"burst of 3000 lines", 3000, 3000, 0},
		{"steady 1000 lines/s", 2000, 10, 10 * time.Millisecond},
		{"burst of 20000 lines", 20000, 20000, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, path := followed(t, "run", Options{})
			hub := s.runs.get("run").hub
			pageConn := dial(t, s, "?run=run&batch=1")
			textConn := dial(t, s, "?run=run")
			waitFor(t, "the clients", func() bool { return hub.Clients() == 2 })
			pageDone := make(chan error, 1)
			p := newPage()
			go func() { pageDone <- p.readUntil(pageConn, tc.n) }()
			textDone := make(chan error, 1)
			go func() { textDone <- readEach(textConn, 1, tc.n, func(int64) {}) }()
			for from := int64(1); from <= tc.n; from += tc.chunk {
				appendFile(t, path, encodeLines(t, from, min(from+tc.chunk-1, tc.n), benchStep))
				if tc.every > 0 {
					time.Sleep(tc.every) // the writer's pace, not an assertion
				}
			}
			if err := <-pageDone; err != nil {
				t.Fatalf("page: %v", err)
			}
			if err := <-textDone; err != nil {
				t.Fatalf("text client: %v", err)
			}
			if seq, k := p.once(1, tc.n); seq != 0 {
				t.Errorf("page saw seq %d %d times", seq, k)
			}
			// The page's first frame is the empty history; then each
			// scan's lines come together.
			if limit := tc.n/tc.chunk + 20; tc.every == 0 && int64(p.frames+p.texts) > limit {
				t.Errorf("page got %d History and %d text frames for %d lines in one write, want at most %d", p.frames, p.texts, tc.n, limit)
			} else if int64(p.frames+p.texts) > tc.n/2 {
				t.Errorf("page got %d History and %d text frames for %d lines, want them batched", p.frames, p.texts, tc.n)
			}
			if p.maxFrame > historyMaxBytes {
				t.Errorf("a History frame of %d bytes, over %d", p.maxFrame, historyMaxBytes)
			}
			if d := hub.Dropped(); d != 0 || hub.Clients() != 2 {
				t.Errorf("%d clients dropped, %d connected; want 0 and 2", d, hub.Clients())
			}
			t.Logf("%d lines: the page got %d History frames (largest %d bytes) and %d text frames", tc.n, p.frames, p.maxFrame, p.texts)
		})
	}
}

// History frames stay within 1 MiB whatever the messages: lines near
// MaxLineBytes, long stretches of steps or deferred messages, a long run
// name; and together they carry each message once.
func TestHistoryFramesAtMost1MiB(t *testing.T) {
	nearLimit := func(seq int64) metrics.Message {
		m := &metrics.Checkpoint{Epoch: 1, Kind: metrics.KindCheckpoint}
		metrics.Stamp(m, seq, 1764000000000+seq)
		line, _ := metrics.Encode(m)
		m.Path = strings.Repeat("p", MaxLineBytes-len(line)-int(seq%3))
		return m
	}
	for _, tc := range []struct {
		name string
		run  string
		n    int64
		msg  func(int64) metrics.Message
	}{
		{"lines near the limit", "live", 12, nearLimit},
		{"lines near the limit and steps", "live", 40, func(seq int64) metrics.Message {
			if seq%4 == 0 {
				return nearLimit(seq)
			}
			return step(seq, 0)
		}},
		{"200,000 steps", "live", 200_000, func(seq int64) metrics.Message { return step(seq, 0) }},
		{"60,000 deferred messages", "live", 60_000, func(seq int64) metrics.Message {
			m := &metrics.Misclassified{Epoch: int(seq) + 1}
			metrics.Stamp(m, seq, 1)
			return m
		}},
		{"a long run name", strings.Repeat("名", 80), 12, nearLimit},
		{"mixed", "live", 400, mixedMessage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hub := NewHub(quiet())
			for seq := int64(1); seq <= tc.n; seq++ {
				hub.Emit(tc.msg(seq), nil)
			}
			if hub.LastSeq() != tc.n {
				t.Fatalf("the hub took %d of %d messages", hub.LastSeq(), tc.n)
			}
			s := start(t, hub, Options{RunName: tc.run})
			p := newPage()
			if err := p.readUntil(dial(t, s, "?batch=1"), tc.n); err != nil {
				t.Fatal(err)
			}
			if seq, k := p.once(1, tc.n); seq != 0 {
				t.Errorf("seq %d seen %d times", seq, k)
			}
			if p.maxFrame > historyMaxBytes {
				t.Errorf("a History frame of %d bytes, over %d", p.maxFrame, historyMaxBytes)
			}
			t.Logf("%d frames, the largest %d bytes", p.frames, p.maxFrame)
		})
	}
}

// Lines over MaxLineBytes are skipped with a warning, never held: a 50 MB
// line without a newline is read once, then only what is appended to it;
// a valid 50 MB message is skipped when its newline comes, and so is one
// a hub is given, or loads.
func TestLongLines(t *testing.T) {
	const huge = 50 << 20
	hugeStep := func() []byte { // a valid step message of 50 MB
		line, err := metrics.Encode(step(2, 0))
		if err != nil {
			t.Fatal(err)
		}
		return append(append(line[:len(line)-1:len(line)-1], `,"pad":"`+strings.Repeat("x", huge)+`"}`...), '\n')
	}
	wantWarning := "1 unreadable line skipped (line 2: " + strconv.Itoa(len(hugeStep())-1) + " bytes, over the 512 KiB limit)"

	t.Run("followed", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			cut  bool // the line arrives without its newline, then grows
		}{
			{"cut short, then growing", true},
			{"whole", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				logs := &logBuffer{}
				s, path := followed(t, "run", Options{Log: log.New(logs, "", 0)})
				appendFile(t, path, encodeLines(t, 1, 1, benchStep))
				line := hugeStep()
				if tc.cut {
					appendFile(t, path, line[:len(line)-11])
					start := int64(len(encodeLines(t, 1, 1, benchStep)))
					waitFor(t, "the cut-short line", func() bool { _, tail, _ := runState(s, "run"); return tail.n == int64(len(line)-11) })
					_, _, before := runState(s, "run")
					for i := 10; i >= 1; i-- { // ten appends of one byte
						appendFile(t, path, line[len(line)-i-1:len(line)-i])
						waitFor(t, "the growth", func() bool { _, tail, _ := runState(s, "run"); return tail.n == int64(len(line)-i) })
					}
					offset, tail, after := runState(s, "run")
					if read := after - before; offset != start || !tail.partial() || read > 10 {
						t.Errorf("after ten 1-byte appends: offset %d, tail %+v, %d bytes read; want %d, a partial line, 10 bytes", offset, tail, read, start)
					}
					if w := summariesQuiet(s)["run"].Warning; w != "the last line is cut short ("+strconv.Itoa(len(line)-1)+" bytes)" {
						t.Errorf("warning %q", w)
					}
					appendFile(t, path, line[len(line)-1:]) // its newline
				} else {
					appendFile(t, path, line)
				}
				appendFile(t, path, encodeLines(t, 3, 4, benchStep))
				c := dial(t, s, "?run=run")
				if _, err := readUntil(c, 1, 1); err != nil {
					t.Fatal(err)
				}
				if _, err := readUntil(c, 3, 4); err != nil {
					t.Fatal(err)
				}
				if w := summariesQuiet(s)["run"].Warning; w != wantWarning {
					t.Errorf("warning %q, want %q", w, wantWarning)
				}
				if _, _, read := runState(s, "run"); tc.cut && read > 2*huge {
					t.Errorf("%d bytes read in all for a %d-byte file", read, huge)
				}
				if !strings.Contains(logs.String(), "skipped 1 line (line 2: ") {
					t.Errorf("log:\n%s", logs)
				}
			})
		}
	})

	t.Run("LoadHistory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), rundir.MetricsFile)
		appendFile(t, path, encodeLines(t, 1, 1, benchStep))
		appendFile(t, path, hugeStep())
		appendFile(t, path, encodeLines(t, 3, 3, benchStep))
		logs := &logBuffer{}
		hub := NewHub(log.New(logs, "", 0))
		if n, err := hub.LoadHistory(path); n != 2 || err != nil || hub.LastSeq() != 3 {
			t.Errorf("loaded %d, %v (last seq %d); want 2 up to seq 3", n, err, hub.LastSeq())
		}
		if !strings.Contains(logs.String(), "skipped 1 lines (line 2: ") {
			t.Errorf("log:\n%s", logs)
		}
	})

	t.Run("Emit", func(t *testing.T) {
		logs := &logBuffer{}
		hub := NewHub(log.New(logs, "", 0))
		hub.Emit(step(1, MaxLineBytes), nil) // a thumbnail of MaxLineBytes: the line is longer
		hub.Emit(step(2, MaxLineBytes-200), nil)
		if got := hub.History(0); len(got) != 1 || hub.LastSeq() != 2 {
			t.Errorf("%d messages up to seq %d, want seq 2 only", len(got), hub.LastSeq())
		}
		if !strings.Contains(logs.String(), "over the 512 KiB limit (MaxLineBytes); dropped") {
			t.Errorf("log:\n%s", logs)
		}
	})
}

// A metrics.jsonl that is not a regular file is listed with one warning
// and logged once, however often the folder is rescanned; a named pipe
// does not hold up the rescans.
func TestMetricsFileNotAFile(t *testing.T) {
	for _, tc := range []struct {
		name, kind string
		make       func(path string) error
	}{
		{"directory", "a folder", func(path string) error { return os.Mkdir(path, 0o755) }},
		{"symlink to a directory", "a folder", func(path string) error { return os.Symlink(filepath.Dir(path), path) }},
		{"named pipe", "a named pipe (FIFO)", mkfifo},
		{"symlink to a device", "a device", func(path string) error {
			if _, err := os.Stat(os.DevNull); err != nil {
				return errors.ErrUnsupported
			}
			return os.Symlink(os.DevNull, path)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runs := t.TempDir()
			dir := filepath.Join(runs, "odd")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := tc.make(filepath.Join(dir, rundir.MetricsFile)); errors.Is(err, errors.ErrUnsupported) {
				t.Skip("not on this system")
			} else if err != nil {
				t.Fatal(err)
			}
			// A good run beside it is still followed.
			good := filepath.Join(runs, "good")
			if err := os.Mkdir(good, 0o755); err != nil {
				t.Fatal(err)
			}
			appendFile(t, filepath.Join(good, rundir.MetricsFile), encodeLines(t, 1, 2, benchStep))
			logs := &logBuffer{}
			s := start(t, nil, Options{RunsDir: runs, ScanInterval: time.Millisecond, Log: log.New(logs, "", 0)})
			waitFor(t, "20 rescans", func() bool {
				s.runs.mu.Lock()
				defer s.runs.mu.Unlock()
				return s.runs.scans >= 20
			})
			runs2 := summariesQuiet(s)
			want := "metrics.jsonl is " + tc.kind + ", not a file"
			if r, ok := runs2["odd"]; !ok || r.Warning != want {
				t.Errorf("odd: listed %v, warning %q; want %q", ok, r.Warning, want)
			}
			if n := strings.Count(logs.String(), want); n != 1 {
				t.Errorf("logged %d times, want once:\n%s", n, logs)
			}
			if r := runs2["good"]; r.LastSeq != 2 {
				t.Errorf("good: %+v", r)
			}
			appendFile(t, filepath.Join(good, rundir.MetricsFile), encodeLines(t, 3, 3, benchStep))
			waitFor(t, "the good run to grow", func() bool { return summariesQuiet(s)["good"].LastSeq == 3 })
		})
	}
}

// A run whose folder is deleted, emptied or renamed leaves the list (a
// renamed one comes back under its new name); its pages get a close frame
// and its URLs are 404.
func TestDeletedRunsLeave(t *testing.T) {
	for _, tc := range []struct {
		name    string
		remove  func(dir string) error
		newName string
	}{
		{"folder deleted", os.RemoveAll, ""},
		{"files deleted", func(dir string) error {
			return errors.Join(os.Remove(filepath.Join(dir, rundir.MetricsFile)), os.Remove(filepath.Join(dir, rundir.ConfigFile)))
		}, ""},
		{"folder renamed", func(dir string) error { return os.Rename(dir, filepath.Join(filepath.Dir(dir), "renamed")) }, "renamed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runs := runsFolder(t)
			logs := &logBuffer{}
			s := start(t, nil, Options{RunsDir: runs, ScanInterval: 5 * time.Millisecond, Log: log.New(logs, "", 0)})
			c := dial(t, s, "?run=good&batch=1")
			if err := newPage().readUntil(c, 7); err != nil {
				t.Fatal(err)
			}
			if err := tc.remove(filepath.Join(runs, "good")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the run to leave", func() bool { _, ok := summariesQuiet(s)["good"]; return !ok })
			c.SetReadDeadline(time.Now().Add(readGuard))
			if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseGoingAway) || !strings.Contains(err.Error(), "run deleted") {
				t.Errorf("page: %v, want close 1001 run deleted", err)
			}
			for _, path := range []string{"/api/runs/good/epochs.csv", "/api/runs/good/messages/1"} {
				if resp, _ := get(t, s, path, ""); resp.StatusCode != http.StatusNotFound {
					t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
				}
			}
			if _, resp, err := websocketDial(s, "?run=good"); err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
				t.Errorf("/ws?run=good: %v, want 404", err)
			}
			if tc.newName != "" {
				waitFor(t, "the renamed run", func() bool { return summariesQuiet(s)[tc.newName].LastSeq == 7 })
			}
			want := 4 // runsFolder's 5 runs less good
			if tc.newName != "" {
				want++
			}
			if got := len(summariesQuiet(s)); got != want {
				t.Errorf("%d runs listed, want %d", got, want)
			}
			if !strings.Contains(logs.String(), `run "good" is gone`) {
				t.Errorf("log:\n%s", logs)
			}
		})
	}
}

// static/ serves its files, and folders only as their index.html: no
// listings, and nothing outside it, through ".." or a symlink.
func TestStaticFolder(t *testing.T) {
	dir := t.TempDir()
	static := filepath.Join(dir, "static")
	outside := filepath.Join(dir, "secret")
	for path, data := range map[string]string{
		filepath.Join(static, "index.html"):         "<title>pawnet</title>",
		filepath.Join(static, "app.js"):             "app",
		filepath.Join(static, "sub", "file.txt"):    "sub file",
		filepath.Join(static, "docs", "index.html"): "docs index",
		filepath.Join(outside, "secret.txt"):        "secret",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"out.txt":   filepath.Join(outside, "secret.txt"),
		"outdir":    outside,
		"rel-out":   "../secret/secret.txt",
		"in.js":     "app.js",
		"insub":     "sub",
		"dangling":  filepath.Join(dir, "nothing"),
		"loop":      "loop",
		"sub/up.js": "../app.js",
	} {
		if err := os.Symlink(target, filepath.Join(static, link)); err != nil {
			t.Fatal(err)
		}
	}
	s := start(t, nil, Options{StaticDir: static})
	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/", 200, "<title>pawnet</title>"},
		{"/index.html", 200, "<title>pawnet</title>"},
		{"/app.js", 200, "app"},
		{"/sub/file.txt", 200, "sub file"},
		{"/docs/", 200, "docs index"},
		{"/docs", 200, "docs index"}, // redirected to /docs/
		{"/in.js", 200, "app"},
		{"/insub/file.txt", 200, "sub file"},
		{"/sub/up.js", 200, "app"},
		{"/sub/", 404, ""},
		{"/sub", 404, ""},
		{"/insub/", 404, ""},
		{"/out.txt", 404, ""},
		{"/outdir/secret.txt", 404, ""},
		{"/outdir/", 404, ""},
		{"/rel-out", 404, ""},
		{"/dangling", 404, ""},
		{"/loop", 404, ""},
		{"/../secret/secret.txt", 404, ""},
		{"/%2e%2e/secret/secret.txt", 404, ""},
		{"/sub/..%2f..%2fsecret/secret.txt", 404, ""},
		{"/nothing.js", 404, ""},
	} {
		resp, body := get(t, s, tc.path, "")
		if resp.StatusCode != tc.code || (tc.body != "" && string(body) != tc.body) || strings.Contains(string(body), "secret") && tc.code != 200 {
			t.Errorf("GET %s: %d %q, want %d %q", tc.path, resp.StatusCode, body, tc.code, tc.body)
		}
	}
}

// The HTTP server bounds a request's headers and an idle keep-alive
// connection: it closes both by itself.
func TestHTTPTimeouts(t *testing.T) {
	s := start(t, NewHub(quiet()), Options{ReadHeaderTimeout: 100 * time.Millisecond, IdleTimeout: 100 * time.Millisecond})
	if d := start(t, nil, Options{}).http; d.ReadHeaderTimeout != DefaultReadHeaderTimeout || d.IdleTimeout != DefaultIdleTimeout {
		t.Errorf("defaults: ReadHeaderTimeout %v, IdleTimeout %v", d.ReadHeaderTimeout, d.IdleTimeout)
	}
	for _, tc := range []struct {
		name, send string
		response   bool // a response comes before the close
	}{
		{"idle keep-alive connection", "GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", true},
		{"headers never finished", "GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", false},
		{"nothing sent", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tc.send); err != nil {
				t.Fatal(err)
			}
			conn.SetReadDeadline(time.Now().Add(readGuard)) // a guard, not the timeout tested
			br := bufio.NewReader(conn)
			if tc.response {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || resp.Close {
					t.Fatalf("response %d, close %v; want 200 kept alive", resp.StatusCode, resp.Close)
				}
			}
			rest, err := io.ReadAll(br)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the server kept the connection open for %v", readGuard)
			}
			if tc.response && len(rest) > 0 {
				t.Errorf("unexpected bytes after the response: %q", rest)
			}
		})
	}
}
