// The WebSocket: /ws query parsing and streaming a run's messages.

package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
)

// DropConnections closes every WebSocket connection at once, without a
// close frame, as a network failure would; the pages reconnect and resume
// with ?since=. The history and new connections are unaffected.
func (s *Server) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for conn := range s.conns {
		conn.NetConn().Close()
	}
}

// errSince is parseSince's error for a since that is not a number ≥ 0.
var errSince = errors.New("since must be a sequence number ≥ 0")

// parseSince returns the since parameter of a /ws query string: the
// sequence number after which to stream, 0 when absent or empty. A query
// string that does not parse, or that gives since more than once, is an
// error: a since that failed to decode must not read as absent.
func parseSince(rawQuery string) (int64, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return 0, fmt.Errorf("bad query string: %v", err)
	}
	vs := q["since"]
	if len(vs) > 1 {
		return 0, errors.New("since given more than once")
	}
	if len(vs) == 0 || vs[0] == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(vs[0], 10, 64)
	if err != nil || n < 0 {
		return 0, errSince
	}
	return n, nil
}

// wsQuery is what a /ws request asks for.
type wsQuery struct {
	since int64  // stream the messages after this seq
	run   string // the run's name ("": the default run)
	batch bool   // send the backlog as metrics.History frames
}

// parseWSQuery reads a /ws query string: since (see parseSince), run (a
// run's name, at most once) and batch ("1" for History frames, "0" or
// absent for one frame per message).
func parseWSQuery(rawQuery string) (wsQuery, error) {
	since, err := parseSince(rawQuery)
	if err != nil {
		return wsQuery{}, err
	}
	q, _ := url.ParseQuery(rawQuery) // parseSince has checked that it parses
	out := wsQuery{since: since}
	switch run := q["run"]; len(run) {
	case 0:
	case 1:
		out.run = run[0]
	default:
		return wsQuery{}, errors.New("run given more than once")
	}
	switch batch := q["batch"]; {
	case len(batch) > 1:
		return wsQuery{}, errors.New("batch given more than once")
	case len(batch) == 0 || batch[0] == "" || batch[0] == "0":
	case batch[0] == "1":
		out.batch = true
	default:
		return wsQuery{}, errors.New("batch must be 0 or 1")
	}
	return out, nil
}

// serveWS upgrades to a WebSocket and streams the history of the run
// ?run= (default: the default run) after ?since= (default 0: all of it),
// then the live messages; with ?batch=1 the history comes as
// metrics.History frames.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	q, err := parseWSQuery(r.URL.RawQuery)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var run *run
	if q.run != "" {
		run = s.runs.get(q.run)
	} else {
		run = s.runs.defaultRun()
	}
	if run == nil {
		http.Error(w, "no run "+strconv.Quote(q.run), http.StatusNotFound)
		return
	}
	since := q.since
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has replied (403 for a bad Origin, 400 …)
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
		conn.Close()
		return
	}
	s.conns[conn] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
		s.wg.Done()
	}()
	c := &client{
		conn:    conn,
		opts:    &s.opts,
		hub:     run.hub,
		addr:    r.RemoteAddr,
		runName: run.name,
		since:   since,
		batch:   q.batch,
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	backlog, err := run.hub.subscribe(c, since)
	if err != nil {
		c.stop(websocket.CloseGoingAway, "server shutting down")
	}
	s.opts.Log.Printf("server: client %s connected (since %d, %d messages to replay, run %q)", c.addr, since, backlog, run.name)
	c.run(run.hub)
}
