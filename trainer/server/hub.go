package server

import (
	"errors"
	"fmt"
	"log"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/pawnet/pawnet/shared/metrics"
)

// entry is one encoded message of the history.
type entry struct {
	seq  int64
	data []byte // one line of JSON, no newline; never modified once stored
}

// Hub keeps a run's messages and fans them out to the WebSocket clients.
//
// Emit has the signature of rundir.Sink, so a *Hub can be passed to
// the training loop (or a rundir.Emitter) as its live consumer. The hub keeps the full history, in seq order, so that a client
// that connects late or reconnects first receives every earlier message
// (or those after ?since=SEQ) and then the live ones, with no gap and no
// duplicate. Emit never blocks on a client: each client has a bounded
// queue, and a client whose queue is full is disconnected.
//
// A hub holds one run: sequence numbers must increase (see Emit).
type Hub struct {
	log *log.Logger

	mu      sync.Mutex
	history []entry
	subs    map[*client]struct{}
	closed  bool
	dropped int64
}

// NewHub returns an empty hub that logs to logger (nil: the standard
// logger).
func NewHub(logger *log.Logger) *Hub {
	if logger == nil {
		logger = log.Default()
	}
	return &Hub{log: logger, subs: map[*client]struct{}{}}
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
	slow, dup := h.appendLocked(entry{seq: seq, data: line})
	last := h.lastSeqLocked()
	h.mu.Unlock()
	if dup {
		h.log.Printf("hub: %s with seq %d is not after the last seq %d; dropped", m.MessageType(), seq, last)
	}
	h.logSlow(slow)
}

// LoadHistory appends the messages of a metrics.jsonl file to the history,
// as if they had been emitted: so that `pawnet serve -run DIR` replays a
// finished run, and so that a resumed run's dashboard shows the earlier
// epochs. A partial last line (left by a killed process) is skipped, and
// so are lines that do not parse as messages of this schema version and
// lines whose seq is not above the last one recorded. It returns the
// number of messages added; a missing file is an error that satisfies
// errors.Is(err, fs.ErrNotExist).
func (h *Hub) LoadHistory(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var loaded []entry
	skipped := 0
	_, partial, err := metrics.ReadLines(f, func(hd metrics.Header, ok bool, line []byte) {
		if !ok {
			skipped++
			return
		}
		loaded = append(loaded, entry{seq: hd.Seq, data: line})
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	if partial {
		skipped++
	}
	h.mu.Lock()
	n := 0
	var slow []*client
	for _, e := range loaded {
		s, dup := h.appendLocked(e)
		slow = append(slow, s...)
		if dup {
			skipped++
		} else {
			n++
		}
	}
	h.mu.Unlock()
	h.logSlow(slow)
	if skipped > 0 {
		h.log.Printf("hub: %s: loaded %d messages, skipped %d lines (partial, unreadable or out of order)", path, n, skipped)
	}
	return n, nil
}

// appendLocked records e and queues it for every client. It returns the
// clients dropped because their queue was full, and whether e was refused
// as a duplicate.
func (h *Hub) appendLocked(e entry) (slow []*client, dup bool) {
	if e.seq <= h.lastSeqLocked() {
		return nil, true
	}
	h.history = append(h.history, e)
	for c := range h.subs {
		select {
		case c.queue <- e:
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
func (h *Hub) subscribe(c *client, since int64) ([]entry, error) {
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
