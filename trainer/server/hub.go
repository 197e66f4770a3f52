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
// never blocks on a client: each client has a bounded queue, and a client
// whose queue is full is disconnected. The hub also folds the messages
// into the run's metrics.RunSummary and keeps the latest message of each
// epoch, for the run list and the CSV export.
//
// A hub holds one run: sequence numbers must increase (see Emit).
type Hub struct {
	log *log.Logger

	mu      sync.Mutex
	history []record
	subs    map[*client]struct{}
	closed  bool
	dropped int64
	summary metrics.RunSummary
	epochs  map[int]*metrics.Epoch // the latest message of each epoch
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

// Emit records m and queues it for every connected client. line is m's
// encoding (one line of JSON without the newline, as the training loop's
// rundir.Emitter writes it to metrics.jsonl); the hub keeps it and never
// modifies it. With a nil line the hub encodes m itself, and an unstamped
// message (seq 0) is first stamped with the next sequence number and the
// current time. A message whose seq is not above the last one recorded is
// a duplicate or out of order: it is logged and dropped. Emit never waits
// for a client.
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
	slow, dup := h.appendLocked(m, newRecord(m, seq, line))
	last := h.lastSeqLocked()
	h.mu.Unlock()
	if dup {
		h.log.Printf("hub: %s with seq %d is not after the last seq %d; dropped", m.MessageType(), seq, last)
	}
	h.logSlow(slow)
}

// LoadHistory appends the messages of a metrics.jsonl file to the history,
// as if they had been emitted: so that a resumed run's dashboard shows the
// earlier epochs. A partial last line (left by a killed process) is
// skipped, and so are lines that do not decode as messages of this schema
// version and lines whose seq is not above the last one recorded. It
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
	if r.partial {
		skipped.add(r.lines+1, "cut short")
	}
	if skipped.n > 0 {
		h.log.Printf("hub: %s: loaded %d messages, skipped %d lines (%s)", path, r.added, skipped.n, skipped.first)
	}
	return r.added, nil
}

// readResult is what appendLines read.
type readResult struct {
	added   int   // messages appended
	lines   int   // complete non-blank lines read
	end     int64 // offset just after the last complete line
	partial bool  // a partial line follows end
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
// skipped.
func (h *Hub) appendLines(r io.Reader, lineBase int, skipped *lineIssues) (readResult, error) {
	type decoded struct {
		m    metrics.Message
		rec  record
		line int
	}
	var loaded []decoded
	var res readResult
	var err error
	res.end, res.partial, err = metrics.ReadLines(r, func(hd metrics.Header, ok bool, line []byte) {
		res.lines++ // line numbers count the non-blank lines (ReadLines skips blank ones)
		if !ok {
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
	var slow []*client
	for _, d := range loaded {
		s, dup := h.appendLocked(d.m, d.rec)
		slow = append(slow, s...)
		if dup {
			skipped.add(d.line, fmt.Sprintf("seq %d is not after %d", d.rec.seq, h.lastSeqLocked()))
		} else {
			res.added++
		}
	}
	h.mu.Unlock()
	h.logSlow(slow)
	return res, nil
}

// appendLocked records r (the record of m) and queues it for every
// client. It returns the clients dropped because their queue was full,
// and whether r was refused as a duplicate.
func (h *Hub) appendLocked(m metrics.Message, r record) (slow []*client, dup bool) {
	if r.seq <= h.lastSeqLocked() {
		return nil, true
	}
	h.history = append(h.history, r)
	h.summary.Apply(m)
	if e, ok := m.(*metrics.Epoch); ok {
		h.epochs[e.Epoch] = e
	}
	for c := range h.subs {
		select {
		case c.queue <- r.entry:
		default:
			delete(h.subs, c)
			h.dropped++
			c.stop(closeTooSlow, "too slow: send queue full")
			slow = append(slow, c)
		}
	}
	return slow, false
}

func (h *Hub) logSlow(slow []*client) {
	for _, c := range slow {
		h.log.Printf("hub: client %s cannot keep up (%d messages queued); disconnected", c.addr, cap(c.queue))
	}
}

func (h *Hub) lastSeqLocked() int64 {
	if len(h.history) == 0 {
		return 0
	}
	return h.history[len(h.history)-1].seq
}

// errHubClosed is returned by subscribe after Close.
var errHubClosed = errors.New("hub closed")

// subscribe registers c and returns the history after since, under one
// lock: every later message goes to c's queue, so the backlog and the
// queue together hold each message once, in order.
func (h *Hub) subscribe(c *client, since int64) ([]record, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errHubClosed
	}
	i := sort.Search(len(h.history), func(i int) bool { return h.history[i].seq > since })
	h.subs[c] = struct{}{}
	// A full slice expression: a later append never writes inside it.
	return h.history[i:len(h.history):len(h.history)], nil
}

// unsubscribe removes c (a no-op when it was dropped already).
func (h *Hub) unsubscribe(c *client) {
	h.mu.Lock()
	delete(h.subs, c)
	h.mu.Unlock()
}

// Close disconnects every client with a normal close frame once it has
// been sent what is already queued, and refuses new clients. The history
// stays, and Emit keeps recording.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for c := range h.subs {
		delete(h.subs, c)
		close(c.queue) // only Emit sends, under this lock, and only to subs
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
// not keep up.
func (h *Hub) Dropped() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dropped
}
