package server

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// closeGrace is how long a closing connection waits for the peer's close
// frame before the TCP connection is closed.
const closeGrace = time.Second

// client is one WebSocket connection. Three goroutines serve it: the
// reader (control frames, pongs, the read limit), the writer (what the
// hub's history holds past the client's place in it, and pings) and the
// handler, which waits for done and closes the connection.
type client struct {
	conn    *websocket.Conn
	opts    *Options
	hub     *Hub
	addr    string
	runName string // the run's name
	since   int64
	// batch sends the messages as metrics.History frames, but a single
	// new message, which goes as a text frame; without it every message
	// goes as a text frame of its own.
	batch bool
	// next is the index in the hub's history of the next message to send
	// (set by Hub.subscribe, then the writer's).
	next int
	// wake is signalled (without blocking) when the history grows or the
	// hub closes.
	wake chan struct{}
	done chan struct{} // closed by stop

	once sync.Once
	code int // close code to send (0: none, already sent or not possible)
	text string
	// peerClosed is set by the reader, before it ends, when the peer sent
	// a close frame.
	peerClosed bool
}

// notify wakes the writer; it never blocks.
func (c *client) notify() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// stop ends the connection: the handler sends a close frame with code and
// text (unless code is 0) and closes it. It never blocks; the first call
// wins.
func (c *client) stop(code int, text string) {
	c.once.Do(func() {
		c.code, c.text = code, text
		close(c.done)
	})
}

// stopped reports whether stop was called.
func (c *client) stopped() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// run serves the connection until it ends, then closes it.
func (c *client) run(h *Hub) {
	readDone := make(chan struct{})
	writeDone := make(chan struct{})
	go func() {
		defer close(readDone)
		c.readLoop()
	}()
	go func() {
		defer close(writeDone)
		c.writeLoop()
	}()
	<-c.done
	h.unsubscribe(c)
	if c.code != 0 {
		// WriteControl may run beside a blocked write; it gives up at
		// its deadline.
		_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(c.code, c.text), time.Now().Add(closeGrace))
	}
	select {
	case <-readDone:
		if !c.peerClosed {
			// The read failed before the peer's close frame (say, over
			// the read limit). Read what the peer still sends until it
			// closes: closing with unread data resets the connection,
			// which can destroy our close frame before the peer reads it.
			nc := c.conn.NetConn()
			nc.SetReadDeadline(time.Now().Add(closeGrace))
			io.Copy(io.Discard, nc)
		}
	case <-time.After(closeGrace):
	}
	c.conn.Close()
	<-readDone
	<-writeDone
}

func (c *client) readLoop() {
	c.conn.SetReadLimit(c.opts.ReadLimit)
	c.conn.SetReadDeadline(time.Now().Add(c.opts.PongWait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(c.opts.PongWait))
	})
	for {
		// Clients only send small control messages; none needs an answer.
		_, r, err := c.conn.NextReader()
		if err == nil {
			_, err = io.Copy(io.Discard, r)
		}
		if err == nil {
			c.conn.SetReadDeadline(time.Now().Add(c.opts.PongWait))
			continue
		}
		// gorilla reports a connection that ends without a close frame
		// as a CloseError with code 1006, which no peer may send.
		var ce *websocket.CloseError
		c.peerClosed = errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure
		if c.stopped() {
			return // we are closing it
		}
		var ne net.Error
		switch {
		case errors.Is(err, websocket.ErrReadLimit):
			// gorilla has sent the close frame (1009, message too big).
			c.opts.Log.Printf("server: client %s sent a message over %d bytes; disconnected", c.addr, c.opts.ReadLimit)
			c.stop(0, "")
		case websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived):
			c.stop(0, "") // the client left; gorilla answered its close frame
		case errors.As(err, &ne) && ne.Timeout():
			c.opts.Log.Printf("server: client %s answered no ping for %v; disconnected", c.addr, c.opts.PongWait)
			c.stop(websocket.CloseGoingAway, "ping timeout")
		default:
			c.opts.Log.Printf("server: client %s: %v", c.addr, err)
			c.stop(0, "")
		}
		return
	}
}

// writeLoop sends the history past the client's place, then waits for
// more: a page (batch) starts with a History frame, possibly empty, and
// gets what arrived since its last frame as History frames, or a single
// new message as a text frame.
func (c *client) writeLoop() {
	ping := time.NewTicker(c.opts.PingInterval)
	defer ping.Stop()
	first := c.batch
	for {
		// One look at the history per wake: an append made while we send
		// leaves a wake behind.
		recs, best, end := c.hub.pending(c.next)
		if len(recs) > 0 || first {
			c.next += len(recs)
			if !c.send(recs, best, first, ping.C) {
				return
			}
			first = false
		}
		if end != nil {
			c.stop(end.code, end.text)
			return
		}
		select {
		case <-c.done:
			return
		case <-c.wake:
		case <-ping.C:
			if !c.ping() {
				return
			}
		}
	}
}

// send writes recs (those after since): as History frames of at most
// historyMaxBytes when the client is a page and they are several, or it
// starts; else one text frame each. Between frames it answers the ping
// ticker and stops when the client does.
func (c *client) send(recs []record, best int, first bool, ping <-chan time.Time) bool {
	for len(recs) > 0 && recs[0].seq <= c.since {
		recs = recs[1:] // a page that has seen more than this run holds
	}
	between := func() bool {
		select {
		case <-c.done:
			return false
		case <-ping:
			return c.ping()
		default:
			return true
		}
	}
	if c.batch && (first || len(recs) > 1) {
		if len(recs) == 0 {
			return c.writeHistory(nil, best, false)
		}
		for len(recs) > 0 {
			n := historyChunk(recs, best, c.runName)
			if !c.writeHistory(recs[:n], best, n < len(recs)) {
				return false
			}
			recs = recs[n:]
			if len(recs) > 0 && !between() {
				return false
			}
		}
		return true
	}
	for i, r := range recs {
		if i > 0 && !between() {
			return false
		}
		if !c.write(r.entry) {
			return false
		}
	}
	return true
}

func (c *client) write(e entry) bool {
	c.conn.SetWriteDeadline(time.Now().Add(c.opts.WriteWait))
	err := c.conn.WriteMessage(websocket.TextMessage, e.data)
	if err != nil {
		c.writeFailed(err)
		return false
	}
	return true
}

// writeHistory sends recs as one metrics.History frame of a run whose best
// epoch is best, More set when another follows. It streams the JSON into
// the frame from the history's records: nothing is copied per client.
func (c *client) writeHistory(recs []record, best int, more bool) bool {
	c.conn.SetWriteDeadline(time.Now().Add(c.opts.WriteWait))
	w, err := c.conn.NextWriter(websocket.BinaryMessage)
	if err == nil {
		err = encodeHistory(w, c.runName, best, recs, c.since, more)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		c.writeFailed(err)
		return false
	}
	return true
}

func (c *client) ping() bool {
	if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.opts.WriteWait)); err != nil {
		c.writeFailed(err)
		return false
	}
	return true
}

func (c *client) writeFailed(err error) {
	if c.stopped() {
		return
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.opts.Log.Printf("server: client %s cannot keep up (a write took over %v); disconnected", c.addr, c.opts.WriteWait)
		if c.hub != nil {
			c.hub.noteDropped()
		}
		c.stop(closeTooSlow, "too slow: write timeout")
		return
	}
	c.opts.Log.Printf("server: client %s: %v", c.addr, err)
	c.stop(0, "")
}
