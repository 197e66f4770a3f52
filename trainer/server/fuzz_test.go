package server

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"log"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// FuzzParseSince checks parseSince against a plain reading of the query
// string: it accepts only when every since parameter (its name and value
// percent-decoded) is empty or a decimal number ≥ 0, returns the first
// one (0 when empty or absent), and reads back a formatted number.
func FuzzParseSince(f *testing.F) {
	for _, s := range []string{
		"", "since=0", "since=37", "since=", "since", "since=abc", "since=-1", "since=1.5", "since=-0", "since=%2B5", "since=+5",
		"since=9223372036854775807", "since=9223372036854775808", "x=1&since=12&y=2", "since=1&since=x", "since=&since=5",
		"since=x%zz&since=5", "since=5;x=1", "%73ince=3", "since=3%", "since=%33", "since=1_000", "since=0x10", "since=١",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		n, err := parseSince(raw)
		if err != nil {
			if n != 0 || err.Error() == "" {
				t.Fatalf("parseSince(%q) = %d, %q", raw, n, err)
			}
		} else if n < 0 {
			t.Fatalf("parseSince(%q) = %d", raw, n)
		}
		first := true
		for _, piece := range strings.Split(raw, "&") {
			key, val, _ := strings.Cut(piece, "=")
			if k, kerr := url.QueryUnescape(key); key != "since" && (kerr != nil || k != "since") {
				continue
			}
			v, verr := url.QueryUnescape(val)
			var want int64
			var wantErr error
			if verr != nil {
				wantErr = verr
			} else if v != "" {
				want, wantErr = strconv.ParseInt(v, 10, 64)
				if wantErr == nil && want < 0 {
					wantErr = errSince
				}
			}
			if wantErr != nil && err == nil {
				t.Fatalf("parseSince(%q) accepted since %q (%v) and returned %d", raw, val, wantErr, n)
			}
			if first && err == nil && n != want {
				t.Fatalf("parseSince(%q) = %d, want %d (the first since)", raw, n, want)
			}
			first = false
		}
		if err == nil {
			back, err := parseSince("since=" + strconv.FormatInt(n, 10))
			if err != nil || back != n {
				t.Fatalf("parseSince(since=%d) = %d, %v", n, back, err)
			}
		}
	})
}

// memConn is a net.Conn that reads a fixed byte stream (then io.EOF) and
// records what is written; deadlines are ignored.
type memConn struct {
	r   *bytes.Reader
	out bytes.Buffer
}

func (c *memConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *memConn) Write(p []byte) (int, error)      { return c.out.Write(p) }
func (c *memConn) Close() error                     { return nil }
func (c *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080} }
func (c *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000} }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

// hijackWriter is an http.ResponseWriter whose Hijack hands out conn.
type hijackWriter struct {
	conn   net.Conn
	header http.Header
}

func (w *hijackWriter) Header() http.Header         { return w.header }
func (w *hijackWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *hijackWriter) WriteHeader(int)             {}
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.conn, bufio.NewReadWriter(bufio.NewReader(w.conn), bufio.NewWriter(w.conn)), nil
}

// Outcomes of a client's byte stream, as RFC 6455 and gorilla's limits
// define them.
const (
	outEOF      = iota // the stream ends (or a frame is cut short) first
	outClose           // a valid close frame
	outLimit           // a message over the read limit
	outProtocol        // a frame that breaks the protocol
)

// srvFrame is a control frame the server is expected to send.
type srvFrame struct {
	op      int
	payload string
}

// expectStream reads a client's byte stream the way RFC 6455 says a
// server must (client frames masked, no reserved bits or opcodes, control
// frames final and ≤ 125 bytes, fragments in order, valid close codes and
// UTF-8 close reasons) with the message limit, and returns how it ends and
// the control frames the server answers with: a pong for each ping, then
// the close frame that echoes the client's code, reports a protocol error
// (1002) or a message too big (1009).
func expectStream(stream []byte, limit int64) (int, []srvFrame) {
	var replies []srvFrame
	closeFrame := func(code int, text string) srvFrame {
		return srvFrame{websocket.CloseMessage, string(websocket.FormatCloseMessage(code, text))}
	}
	protocol := func() (int, []srvFrame) {
		return outProtocol, append(replies, srvFrame{websocket.CloseMessage, "\x03\xea"}) // 1002, then gorilla's reason
	}
	inMessage := false
	var msgLen int64
	p := stream
	for {
		if len(p) < 2 {
			return outEOF, replies
		}
		fin, rsv, op, masked, n := p[0]&0x80 != 0, p[0]&0x70, int(p[0]&0x0f), p[1]&0x80 != 0, uint64(p[1]&0x7f)
		p = p[2:]
		control := op == websocket.CloseMessage || op == websocket.PingMessage || op == websocket.PongMessage
		switch {
		case rsv != 0 || !masked:
			return protocol()
		case control && (n > 125 || !fin):
			return protocol()
		case op == websocket.TextMessage || op == websocket.BinaryMessage:
			if inMessage {
				return protocol()
			}
			msgLen = 0
		case op == 0: // continuation
			if !inMessage {
				return protocol()
			}
		case !control:
			return protocol() // reserved opcode
		}
		switch n {
		case 126:
			if len(p) < 2 {
				return outEOF, replies
			}
			n, p = uint64(binary.BigEndian.Uint16(p)), p[2:]
		case 127:
			if len(p) < 8 {
				return outEOF, replies
			}
			n, p = binary.BigEndian.Uint64(p), p[8:]
			if n > math.MaxInt64 {
				return outLimit, replies // refused before any close frame
			}
		}
		if len(p) < 4 {
			return outEOF, replies
		}
		key := [4]byte(p[:4])
		p = p[4:]
		if !control {
			inMessage = !fin
			if msgLen += int64(n); msgLen < 0 {
				return outLimit, replies
			}
			if msgLen > limit {
				return outLimit, append(replies, closeFrame(websocket.CloseMessageTooBig, ""))
			}
			if uint64(len(p)) < n {
				return outEOF, replies
			}
			p = p[n:]
			continue
		}
		if uint64(len(p)) < n {
			return outEOF, replies
		}
		payload := slices.Clone(p[:n])
		p = p[n:]
		for i := range payload {
			payload[i] ^= key[i%4]
		}
		switch op {
		case websocket.PingMessage:
			replies = append(replies, srvFrame{websocket.PongMessage, string(payload)})
		case websocket.CloseMessage:
			if len(payload) < 2 {
				return outClose, append(replies, closeFrame(websocket.CloseNoStatusReceived, ""))
			}
			code := int(binary.BigEndian.Uint16(payload))
			valid := code >= 3000 && code <= 4999
			switch code {
			case 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013:
				valid = true
			}
			if !valid || !utf8.Valid(payload[2:]) {
				return protocol()
			}
			return outClose, append(replies, closeFrame(code, ""))
		}
	}
}

// serverFrames parses what the server wrote after its handshake reply as
// unmasked, final control frames.
func serverFrames(t *testing.T, out []byte) []srvFrame {
	t.Helper()
	_, p, ok := bytes.Cut(out, []byte("\r\n\r\n"))
	if !ok || !bytes.HasPrefix(out, []byte("HTTP/1.1 101 ")) {
		t.Fatalf("no 101 handshake reply in %q", out)
	}
	var frames []srvFrame
	for len(p) > 0 {
		if len(p) < 2 {
			t.Fatalf("server wrote a cut frame header %q", p)
		}
		op, n := int(p[0]&0x0f), int(p[1]&0x7f)
		if p[0]&0xf0 != 0x80 || p[1]&0x80 != 0 || n > 125 || (op != websocket.PongMessage && op != websocket.CloseMessage) {
			t.Fatalf("server wrote a frame that is not an unmasked final pong or close: % x", p[:2])
		}
		if len(p) < 2+n {
			t.Fatalf("server wrote a cut frame: % x", p)
		}
		frames = append(frames, srvFrame{op, string(p[2 : 2+n])})
		p = p[2+n:]
	}
	return frames
}

// clientFrame returns one masked client frame.
func clientFrame(op int, fin bool, payload []byte) []byte {
	b0 := byte(op)
	if fin {
		b0 |= 0x80
	}
	var out []byte
	switch n := len(payload); {
	case n < 126:
		out = []byte{b0, 0x80 | byte(n)}
	case n < 1<<16:
		out = binary.BigEndian.AppendUint16([]byte{b0, 0x80 | 126}, uint16(n))
	default:
		out = binary.BigEndian.AppendUint64([]byte{b0, 0x80 | 127}, uint64(n))
	}
	key := []byte{0x37, 0xfa, 0x21, 0x3d}
	out = append(out, key...)
	for i, c := range payload {
		out = append(out, c^key[i%4])
	}
	return out
}

func closePayload(code int, text string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), text...)
}

// FuzzClientFrames feeds a byte stream, as a client's frames after the
// handshake, to the /ws connection's read loop (the same upgrader and
// client.readLoop as the server, over an in-memory connection). The loop
// ends by itself; it stops the client without a close code of its own
// (deadlines never expire here); it records that the peer closed exactly
// when the stream reaches a valid close frame, and logs a message over the
// read limit exactly when the stream has one; and the server sends only
// the control frames the protocol asks for: a pong per ping, then the
// close frame that answers the way the stream ends.
func FuzzClientFrames(f *testing.F) {
	cat := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	big := bytes.Repeat([]byte("x"), DefaultReadLimit+1)
	for _, s := range [][]byte{
		nil,
		cat(clientFrame(websocket.TextMessage, true, []byte("hello")), clientFrame(websocket.CloseMessage, true, closePayload(1000, ""))),
		cat(clientFrame(websocket.PingMessage, true, []byte("p1")), clientFrame(websocket.PongMessage, true, []byte("x")),
			clientFrame(websocket.BinaryMessage, true, make([]byte, 10)), clientFrame(websocket.CloseMessage, true, closePayload(1001, "bye"))),
		cat(clientFrame(websocket.TextMessage, false, []byte("ab")), clientFrame(websocket.PingMessage, true, nil),
			clientFrame(0, true, []byte("cd")), clientFrame(websocket.CloseMessage, true, nil)),
		clientFrame(websocket.TextMessage, true, big)[:20],
		cat(clientFrame(websocket.TextMessage, true, big[:DefaultReadLimit]), clientFrame(websocket.CloseMessage, true, closePayload(4000, "done"))),
		cat(clientFrame(websocket.TextMessage, false, big[:3000]), clientFrame(0, true, big[:2000])),
		{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4},
		{0x81, 0x05, 'h', 'e', 'l', 'l', 'o'}, // unmasked
		clientFrame(websocket.TextMessage|0x40, true, []byte("deflated?")),
		clientFrame(3, true, nil),
		clientFrame(websocket.PingMessage, true, big[:126]),
		clientFrame(websocket.PingMessage, false, nil),
		clientFrame(0, true, []byte("orphan")),
		cat(clientFrame(websocket.TextMessage, false, []byte("a")), clientFrame(websocket.TextMessage, true, []byte("b"))),
		clientFrame(websocket.CloseMessage, true, closePayload(999, "")),
		clientFrame(websocket.CloseMessage, true, closePayload(1005, "")),
		clientFrame(websocket.CloseMessage, true, closePayload(4000, "\xff")),
		clientFrame(websocket.CloseMessage, true, []byte{3}),
		clientFrame(websocket.TextMessage, true, []byte("cut short"))[:8],
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		conn := &memConn{r: bytes.NewReader(stream)}
		req := httptest.NewRequest("GET", "/ws", nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		up := newUpgrader(func(*http.Request) bool { return true })
		ws, err := up.Upgrade(&hijackWriter{conn: conn, header: http.Header{}}, req, nil)
		if err != nil {
			t.Fatal(err)
		}
		var logs logBuffer
		opts := Options{Log: log.New(&logs, "", 0)}
		opts.defaults()
		c := &client{conn: ws, opts: &opts, addr: "fuzz", done: make(chan struct{})}
		c.readLoop()

		if !c.stopped() || c.code != 0 {
			t.Fatalf("read loop ended with stopped=%v code=%d, want stopped with no close code", c.stopped(), c.code)
		}
		out, want := expectStream(stream, opts.ReadLimit)
		if c.peerClosed != (out == outClose) {
			t.Fatalf("peerClosed = %v, want %v (outcome %d); log: %s", c.peerClosed, out == outClose, out, logs.String())
		}
		if overLog := strings.Contains(logs.String(), "sent a message over"); overLog != (out == outLimit) {
			t.Fatalf("logged a message over the limit: %v, want %v (outcome %d); log: %s", overLog, out == outLimit, out, logs.String())
		}
		got := serverFrames(t, conn.out.Bytes())
		if out == outProtocol && len(got) > 0 {
			// Only the code of gorilla's protocol-error reply is ours to check.
			if last := &got[len(got)-1]; last.op == websocket.CloseMessage && len(last.payload) >= 2 {
				last.payload = last.payload[:2]
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("server sent %v, want %v (outcome %d)", got, want, out)
		}
	})
}
