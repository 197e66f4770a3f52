package server

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pawnet/pawnet/shared/metrics"
)

// mixedMessage returns message seq of a run that has every kind of
// message History frames treat apart: steps (most of them, with the
// global step going back once, as after a resume), misclassified messages
// (deferred), and other messages, some of 200 KB so that a history of a
// few hundred messages takes several frames.
func mixedMessage(seq int64) metrics.Message {
	var m metrics.Message
	switch {
	case seq%40 == 0:
		m = &metrics.Checkpoint{Epoch: int(seq / 40), Kind: metrics.KindCheckpoint, Path: strings.Repeat("p", 200_000)}
	case seq%10 == 0:
		m = &metrics.Misclassified{Epoch: int(seq / 10), Samples: []metrics.Sample{{PNG: strings.Repeat("A", 5000), Index: int(seq)}}}
	case seq%10 == 5:
		m = &metrics.Epoch{Epoch: int(seq / 10), ValAcc: float64(seq) / 1000}
	default:
		gs := seq
		if seq > 100 {
			gs = seq - 50 // replayed after a resume
		}
		m = &metrics.Step{Epoch: int(seq/10) + 1, GlobalStep: gs, Loss: 1 / float64(seq)}
	}
	metrics.Stamp(m, seq, 1764000000000+seq)
	return m
}

// readHistory reads the History frames a batch=1 client starts with, up
// to the one without More.
func readHistory(t *testing.T, conn *websocket.Conn) []metrics.History {
	t.Helper()
	var out []metrics.History
	for {
		conn.SetReadDeadline(time.Now().Add(readGuard))
		typ, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("after %d history frames: %v", len(out), err)
		}
		if typ != websocket.BinaryMessage {
			t.Fatalf("frame %d is a text frame, want a binary History frame: %.80s", len(out)+1, data)
		}
		var h metrics.History
		if err := h.UnmarshalBinary(data); err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
		if !h.More {
			return out
		}
	}
}

// With ?batch=1 the backlog after since arrives as History frames that
// together hold each message exactly once: the messages as their lines,
// the steps' fields in rows, the misclassified messages by reference
// (served by /api/runs/NAME/messages/SEQ). Then a single live message
// follows as a text frame.
func TestHistoryFrames(t *testing.T) {
	const n = 400
	hub := NewHub(quiet())
	s := start(t, hub, Options{})
	for seq := int64(1); seq <= n; seq++ {
		hub.Emit(mixedMessage(seq), nil)
	}
	lines := hub.History(0)
	for _, since := range []int64{0, 1, 199, n - 1, n} {
		t.Run("since="+strconv.FormatInt(since, 10), func(t *testing.T) {
			c := dial(t, s, "?batch=1&since="+strconv.FormatInt(since, 10))
			frames := readHistory(t, c)
			if since == 0 && len(frames) < 2 {
				t.Errorf("%d frame for 2 MB of messages, want at least 2 (1 MiB each at most)", len(frames))
			}
			var seqs []int64
			for i, h := range frames {
				if h.Run != DefaultRunName || h.More != (i < len(frames)-1) {
					t.Errorf("frame %d: run %q, more %v", i, h.Run, h.More)
				}
				for _, m := range h.Messages {
					seq := metrics.Seq(m)
					seqs = append(seqs, seq)
					if want, _ := metrics.Decode(lines[seq-1]); metrics.Seq(want) != seq || !sameJSON(t, m, lines[seq-1]) {
						t.Errorf("message %d differs from its line", seq)
					}
				}
				for j := range h.Steps.Len() {
					seq := h.Steps.Seq[j]
					seqs = append(seqs, seq)
					st, ok := mixedMessage(seq).(*metrics.Step)
					if !ok || h.Steps.Epoch[j] != st.Epoch || h.Steps.GlobalStep[j] != st.GlobalStep || h.Steps.Loss[j] != st.Loss {
						t.Errorf("step row %d: epoch %d step %d loss %v", seq, h.Steps.Epoch[j], h.Steps.GlobalStep[j], h.Steps.Loss[j])
					}
				}
				for _, d := range h.Deferred {
					seqs = append(seqs, d.Seq)
					if d.Type != metrics.TypeMisclassified || d.Epoch != int(d.Seq/10) {
						t.Errorf("deferred %+v", d)
					}
				}
				if last := frames[len(frames)-1]; last.Seq != n {
					t.Errorf("last frame covers up to seq %d, want %d", last.Seq, n)
				}
			}
			slices.Sort(seqs)
			want := make([]int64, 0, n)
			for seq := since + 1; seq <= n; seq++ {
				want = append(want, seq)
			}
			if !slices.Equal(seqs, want) {
				t.Fatalf("the frames hold seqs %v…, want %d..%d once each (%d, want %d)", seqs[:min(len(seqs), 5)], since+1, n, len(seqs), len(want))
			}
		})
	}

	// A deferred message, fetched by its seq.
	resp, body := get(t, s, "/api/runs/live/messages/30", "")
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, lines[29]) {
		t.Errorf("message 30: %d %.80q", resp.StatusCode, body)
	}
	for path, code := range map[string]int{"/api/runs/live/messages/401": 404, "/api/runs/live/messages/0": 400, "/api/runs/live/messages/x": 400, "/api/runs/nope/messages/1": 404} {
		if resp, _ := get(t, s, path, ""); resp.StatusCode != code {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, code)
		}
	}

	// Live messages after the history: text frames.
	c := dial(t, s, "?batch=1&since=390")
	if frames := readHistory(t, c); frames[len(frames)-1].Seq != n {
		t.Fatalf("history up to %d", frames[len(frames)-1].Seq)
	}
	hub.Emit(mixedMessage(n+1), nil)
	if _, err := readUntil(c, n+1, n+1); err != nil {
		t.Fatal(err)
	}
}

// sameJSON reports whether m encodes to line.
func sameJSON(t *testing.T, m metrics.Message, line []byte) bool {
	t.Helper()
	data, err := metrics.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(data, line)
}

// A page on an empty run gets an empty History frame first, naming the
// run, then the live messages (those that arrive together in one History
// frame).
func TestHistoryFrameEmpty(t *testing.T) {
	hub := NewHub(quiet())
	s := start(t, hub, Options{RunName: "first"})
	c := dial(t, s, "?batch=1")
	frames := readHistory(t, c)
	if len(frames) != 1 || frames[0].Run != "first" || frames[0].Seq != 0 || len(frames[0].Messages)+frames[0].Steps.Len()+len(frames[0].Deferred) != 0 {
		t.Fatalf("frames %+v", frames)
	}
	emitRange(hub, 1, 3, 0)
	p := newPage()
	if err := p.readUntil(c, 3); err != nil {
		t.Fatal(err)
	}
	if seq, n := p.once(1, 3); seq != 0 {
		t.Errorf("seq %d seen %d times", seq, n)
	}
}

// A page that drops while the run goes on and reconnects with
// ?since=<last seq>&batch=1 gets every message exactly once.
func TestReconnectWithSinceBatch(t *testing.T) {
	const n = 600
	hub := NewHub(quiet())
	s := start(t, hub, Options{})
	seen := map[int64]int{}
	last := int64(0)
	next := int64(1)
	for round := 0; last < n; round++ {
		// The run goes on while the page is away.
		for ; next <= min(last+150, n); next++ {
			hub.Emit(mixedMessage(next), nil)
		}
		c := dial(t, s, "?batch=1&since="+strconv.FormatInt(last, 10))
		for _, h := range readHistory(t, c) {
			for _, m := range h.Messages {
				seen[metrics.Seq(m)]++
			}
			for _, seq := range h.Steps.Seq {
				seen[seq]++
			}
			for _, d := range h.Deferred {
				seen[d.Seq]++
			}
			last = max(last, h.Seq)
		}
		// A few live messages (a burst: History frames, or text frames
		// when the page keeps up), then the connection drops.
		for i := 0; i < 20 && next <= n; i, next = i+1, next+1 {
			hub.Emit(mixedMessage(next), nil)
		}
		if next-1 > last {
			p := &page{seen: seen, last: last}
			if err := p.readUntil(c, next-1); err != nil {
				t.Fatal(err)
			}
			last = p.last
		}
		c.Close()
	}
	for seq := int64(1); seq <= n; seq++ {
		if seen[seq] != 1 {
			t.Fatalf("seq %d seen %d times", seq, seen[seq])
		}
	}
}

func TestParseWSQuery(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  wsQuery
		err   bool
	}{
		{"", wsQuery{}, false},
		{"since=5&run=demo-1&batch=1", wsQuery{since: 5, run: "demo-1", batch: true}, false},
		{"run=a%20b&batch=0", wsQuery{run: "a b"}, false},
		{"batch=", wsQuery{}, false},
		{"run=a&run=b", wsQuery{}, true},
		{"batch=2", wsQuery{}, true},
		{"batch=1&batch=1", wsQuery{}, true},
		{"batch=true", wsQuery{}, true},
		{"since=x&run=a", wsQuery{}, true},
		{"run=%zz", wsQuery{}, true},
	} {
		got, err := parseWSQuery(tc.query)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseWSQuery(%q) = %+v, %v; want %+v, error %v", tc.query, got, err, tc.want, tc.err)
		}
	}
}

// The best epoch's misclassified photos come in full, for the page shows
// them first; the other epochs' are deferred.
func TestHistoryBestEpochInFull(t *testing.T) {
	hub := NewHub(quiet())
	s := start(t, hub, Options{})
	for _, m := range []metrics.Message{
		&metrics.Epoch{Epoch: 1, BestEpoch: 1, BestValAcc: 0.7},
		&metrics.Misclassified{Epoch: 1, Samples: []metrics.Sample{{PNG: "iVBO"}}},
		&metrics.Epoch{Epoch: 2, BestEpoch: 1, BestValAcc: 0.7},
		&metrics.Misclassified{Epoch: 2, Samples: []metrics.Sample{{PNG: "iVBO"}}},
	} {
		hub.Emit(m, nil)
	}
	frames := readHistory(t, dial(t, s, "?batch=1"))
	var full []int
	for _, m := range frames[0].Messages {
		if mis, ok := m.(*metrics.Misclassified); ok {
			full = append(full, mis.Epoch)
		}
	}
	if !slices.Equal(full, []int{1}) || len(frames[0].Deferred) != 1 || frames[0].Deferred[0].Epoch != 2 {
		t.Errorf("misclassified in full: epochs %v; deferred %+v", full, frames[0].Deferred)
	}
}
