package server

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pawnet/pawnet/shared/metrics"
)

// entry is one encoded message of the history.
type entry struct {
	seq  int64
	data []byte // one line of JSON, no newline; never modified once stored
}

// record is an entry of the history with what History frames need: the
// fields of a step message that they carry in columns, and the epoch of a
// misclassified message, which they defer.
type record struct {
	entry
	kind   recordKind
	epoch  int // of a step or misclassified message
	global int64
	loss   float64
}

// recordKind tells the messages History frames treat apart.
type recordKind uint8

const (
	kindOther recordKind = iota
	kindStep
	kindMisclassified
)

// newRecord makes the record of message m encoded as line.
func newRecord(m metrics.Message, seq int64, line []byte) record {
	r := record{entry: entry{seq: seq, data: line}}
	switch v := m.(type) {
	case *metrics.Step:
		r.kind, r.epoch, r.global, r.loss = kindStep, v.Epoch, v.GlobalStep, v.Loss
	case *metrics.Misclassified:
		r.kind, r.epoch = kindMisclassified, v.Epoch
	}
	return r
}

// Hub keeps a run's messages and fans them out to the WebSocket clients.
//
// Emit has the signature of rundir.Sink, so a *Hub can be passed to the
// training loop (or a rundir.Emitter) as its live consumer. The hub keeps
// the full history, in seq order, so that a client that connects late or
// reconnects first receives every earlier message (or those after
// ?since=SEQ) and then the live ones, with no gap and no duplicate. Emit
// never blocks on a client and queues nothing per client: each client
// keeps its place in the shared history and is woken when it grows, so a
// burst of messages costs a client no memory and never drops it; a page
// (batch=1) gets the messages that arrived since its last frame together,
// as History frames. A client is dropped only when one write to it takes
// longer than Options.WriteWait. The hub also folds the messages into the
// run's metrics.RunSummary and keeps the latest message of each epoch, for
// the run list and the CSV export.
//
// A hub holds one run: sequence numbers must increase (see Emit).
type Hub struct {
	log *log.Logger

	mu      sync.Mutex
	history []record
	subs    map[*client]struct{}
	closed  bool
	// After Close, the clients get the history up to closedAt, then a
	// close frame with closeCode and closeText.
	closedAt  int
	closeCode int
	closeText string
	dropped   int64
	summary   metrics.RunSummary
	epochs    map[int]*metrics.Epoch // the latest message of each epoch
}

// NewHub returns an empty hub that logs to logger (nil: the standard
// logger).
func NewHub(logger *log.Logger) *Hub {
	if logger == nil {
		logger = log.Default()
	}
	return &Hub{log: logger, subs: map[*client]struct{}{}, summary: metrics.RunSummary{Status: metrics.StatusWaiting},
		epochs: map[int]*metrics.Epoch{}}
}

// Emit records m and wakes every connected client to send it. line is m's
// encoding (one line of JSON without the newline, as the training loop's
// rundir.Emitter writes it to metrics.jsonl); the hub keeps it and never
// modifies it. With a nil line the hub encodes m itself, and an unstamped
// message (seq 0) is first stamped with the next sequence number and the
// current time. A message whose seq is not above the last one recorded is
// a duplicate or out of order, and a line over MaxLineBytes too long: each
// is logged and dropped. Emit never waits for a client.
func (h *Hub) Emit(m metrics.Message, line []byte) {
	seq := metrics.Seq(m)
	var err error
	if seq > 0 && line == nil {
		line, err = metrics.Encode(m) // outside the lock: the slow part
	}
	h.mu.Lock()
	if seq <= 0 {
		seq = h.lastSeqLocked() + 1
		metrics.Stamp(m, seq, time.Now().UnixMilli())
		if metrics.Seq(m) != seq {
			h.mu.Unlock()
			h.log.Printf("hub: cannot stamp a %T; dropped", m)
			return
		}
		line, err = metrics.Encode(m)
	}
	if err != nil {
		h.mu.Unlock()
		h.log.Printf("hub: encode %s %d: %v", m.MessageType(), seq, err)
		return
	}
	if len(line) > MaxLineBytes {
		h.mu.Unlock()
		h.log.Printf("hub: %s %d is %s (MaxLineBytes); dropped", m.MessageType(), seq, tooLong(int64(len(line))))
		return
	}
	dup := h.appendLocked(m, newRecord(m, seq, line))
	last := h.lastSeqLocked()
	h.mu.Unlock()
	if dup {
		h.log.Printf("hub: %s with seq %d is not after the last seq %d; dropped", m.MessageType(), seq, last)
	}
}

// LoadHistory appends the messages of a metrics.jsonl file to the history,
// as if they had been emitted: so that a resumed run's dashboard shows the
// earlier epochs. A partial last line (left by a killed process) is
// skipped, and so are lines that do not decode as messages of this schema
// version, lines over MaxLineBytes and lines whose seq is not above the
// last one recorded. It
// returns the number of messages added; a missing file is an error that
// satisfies errors.Is(err, fs.ErrNotExist).
func (h *Hub) LoadHistory(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var skipped lineIssues
	r, err := h.appendLines(f, 0, &skipped)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	if r.tail.partial() {
		skipped.add(r.lines+1, "cut short")
	}
	if skipped.n > 0 {
		h.log.Printf("hub: %s: loaded %d messages, skipped %d lines (%s)", path, r.added, skipped.n, skipped.first)
	}
	return r.added, nil
}

// readResult is what appendLines read.
type readResult struct {
	added int      // messages appended
	lines int      // complete non-blank lines read
	end   int64    // offset just after the last complete line
	tail  lineTail // what follows end
}

// lineIssues counts the lines of a metrics.jsonl that were skipped and
// keeps the first reason.
type lineIssues struct {
	n     int
	first string // e.g. "line 17: not a metrics message"
}

func (li *lineIssues) add(line int, why string) {
	if li.n == 0 {
		li.first = fmt.Sprintf("line %d: %s", line, why)
	}
	li.n++
}

// appendLines appends the messages of a metrics.jsonl stream whose first
// non-blank line is number lineBase+1, recording the lines it skips in
// skipped. It holds at most MaxLineBytes of a line (see readLines).
func (h *Hub) appendLines(r io.Reader, lineBase int, skipped *lineIssues) (readResult, error) {
	type decoded struct {
		m    metrics.Message
		rec  record
		line int
	}
	var loaded []decoded
	var res readResult
	var err error
	res.end, res.tail, err = readLines(r, func(hd metrics.Header, ok bool, line []byte, size int64) {
		res.lines++ // line numbers count the non-blank lines (readLines skips blank ones)
		switch {
		case line == nil:
			skipped.add(lineBase+res.lines, tooLong(size))
			return
		case !ok:
			skipped.add(lineBase+res.lines, "not a metrics message of schema version "+fmt.Sprint(metrics.MinVersion)+" to "+fmt.Sprint(metrics.Version))
			return
		}
		m, err := metrics.DecodeAs(hd, line)
		if err != nil {
			skipped.add(lineBase+res.lines, strings.TrimPrefix(err.Error(), "metrics: "))
			return
		}
		loaded = append(loaded, decoded{m, newRecord(m, hd.Seq, line), lineBase + res.lines})
	})
	if err != nil {
		return res, err
	}
	h.mu.Lock()
	for _, d := range loaded {
		if h.appendLocked(d.m, d.rec) {
			skipped.add(d.line, fmt.Sprintf("seq %d is not after %d", d.rec.seq, h.lastSeqLocked()))
		} else {
			res.added++
		}
	}
	h.mu.Unlock()
	return res, nil
}

// appendLocked records r (the record of m) and wakes every client. It
// reports whether r was refused as a duplicate.
func (h *Hub) appendLocked(m metrics.Message, r record) (dup bool) {
	if r.seq <= h.lastSeqLocked() {
		return true
	}
	h.history = append(h.history, r)
	h.summary.Apply(m)
	if e, ok := m.(*metrics.Epoch); ok {
		h.epochs[e.Epoch] = e
	}
	for c := range h.subs {
		c.notify()
	}
	return false
}

func (h *Hub) lastSeqLocked() int64 {
	if len(h.history) == 0 {
		return 0
	}
	return h.history[len(h.history)-1].seq
}

// errHubClosed is returned by subscribe after Close.
var errHubClosed = errors.New("hub closed")

// subscribe registers c, places it at the first message after since and
// returns the number of messages it has to catch up on. Every later
// message wakes it (see client.notify).
func (h *Hub) subscribe(c *client, since int64) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return 0, errHubClosed
	}
	c.next = sort.Search(len(h.history), func(i int) bool { return h.history[i].seq > since })
	h.subs[c] = struct{}{}
	return len(h.history) - c.next, nil
}

// pending returns the messages from index next of the history on (a full
// slice expression: a later append never writes inside it) and the run's
// best epoch. After Close it returns only those up to where the history
// stood then, and end, the close frame to send after them.
func (h *Hub) pending(next int) (recs []record, best int, end *closeFrame) {
	h.mu.Lock()
	defer h.mu.Unlock()
	last := len(h.history)
	if h.closed {
		last = h.closedAt
		end = &closeFrame{h.closeCode, h.closeText}
	}
	if next < last {
		recs = h.history[next:last:last]
	}
	return recs, h.summary.BestEpoch, end
}

// closeFrame is the close frame a client gets once it has the history a
// closed hub leaves it.
type closeFrame struct {
	code int
	text string
}

// unsubscribe removes c (a no-op when it is gone already).
func (h *Hub) unsubscribe(c *client) {
	h.mu.Lock()
	delete(h.subs, c)
	h.mu.Unlock()
}

// noteDropped counts a client disconnected because it could not keep up.
func (h *Hub) noteDropped() {
	h.mu.Lock()
	h.dropped++
	h.mu.Unlock()
}

// Close disconnects every client with a normal close frame once it has
// been sent the history recorded so far, and refuses new clients. The
// history stays, and Emit keeps recording.
func (h *Hub) Close() { h.closeWith(websocket.CloseNormalClosure, "server shutting down") }

// closeWith is Close with the close frame's code and text.
func (h *Hub) closeWith(code int, text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed, h.closedAt, h.closeCode, h.closeText = true, len(h.history), code, text
	for c := range h.subs {
		delete(h.subs, c)
		c.notify()
	}
}

// History returns the encoded messages with seq above since, in order
// (each one line of JSON without the newline; do not modify them).
func (h *Hub) History(since int64) [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := sort.Search(len(h.history), func(i int) bool { return h.history[i].seq > since })
	out := make([][]byte, 0, len(h.history)-i)
	for _, e := range h.history[i:] {
		out = append(out, e.data)
	}
	return out
}

// Message returns the encoded message seq (false when there is none).
func (h *Hub) Message(seq int64) ([]byte, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := sort.Search(len(h.history), func(i int) bool { return h.history[i].seq >= seq })
	if i == len(h.history) || h.history[i].seq != seq {
		return nil, false
	}
	return h.history[i].data, true
}

// Summary is the run as the run list shows it, folded from its messages
// (its Name, Live and Warning are the server's to fill).
func (h *Hub) Summary() metrics.RunSummary {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.summary
}

// Epochs returns the latest message of each finished epoch, by epoch
// number (a resumed run's repeated epochs replace the earlier ones).
func (h *Hub) Epochs() []*metrics.Epoch {
	h.mu.Lock()
	out := make([]*metrics.Epoch, 0, len(h.epochs))
	for _, e := range h.epochs {
		out = append(out, e)
	}
	h.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Epoch < out[j].Epoch })
	return out
}

// LastSeq is the seq of the last message recorded (0 when none).
func (h *Hub) LastSeq() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastSeqLocked()
}

// Clients is the number of connected clients.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Dropped is the number of clients disconnected so far because they could
// not keep up (a write took longer than Options.WriteWait).
func (h *Hub) Dropped() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dropped
}
