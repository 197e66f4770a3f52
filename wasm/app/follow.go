package main

import (
	"context"
	"errors"
	"log"
	"net"
	"strconv"
	"time"

	"github.com/coder/websocket"
	"github.com/vugu/vugu"
	"github.com/vugu/vugu/js"

	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/wasm/dash"
)

// readLimit bounds one WebSocket message. Misclassified messages carry
// base64 PNG thumbnails, and History frames carry up to a few MB of
// messages: both outgrow coder/websocket's 32 KiB default.
const readLimit = 16 << 20

// Reconnect backoff: it doubles after every failed attempt and resets once
// a message arrives.
const (
	backoffMin = 500 * time.Millisecond
	backoffMax = 10 * time.Second
)

// wsURL is the metrics WebSocket of run on the server that served the
// page, asking for the messages after since (all of them when 0), the
// backlog in History frames.
func wsURL(run string, since int64) string {
	loc := js.Global().Get("location")
	return dash.WSURL(loc.Get("protocol").String(), loc.Get("host").String(), run, since)
}

// RunView is one selected run: its state and its metrics connection.
// Its fields change only under the EventEnv lock.
type RunView struct {
	Name  string
	State *dash.State
	Conn  dash.Conn
	stop  context.CancelFunc
	// want receives the seq of a deferred message the page shows (see
	// dash.State.Wanted); fetchDeferred brings it.
	want chan int64
	// caughtUp is called, under the lock, after each History frame that
	// ends a backlog; named when a view of the default run (Name "")
	// learns the run's name.
	caughtUp func()
	named    func(run string)
}

// newRunView starts following run ("": the server's default run) until
// ctx ends. caughtUp and named are called under the EventEnv lock: each
// time the page has caught up on a backlog, and when the default run's
// view learns its name from its first frame.
func newRunView(ctx context.Context, ee vugu.EventEnv, run string, caughtUp func(), named func(string)) *RunView {
	ctx, cancel := context.WithCancel(ctx)
	v := &RunView{Name: run, State: &dash.State{}, Conn: dash.Conn{State: dash.ConnConnecting}, stop: cancel,
		want: make(chan int64, 1), caughtUp: caughtUp, named: named}
	go v.follow(ctx, ee)
	go v.fetchDeferred(ctx, ee)
	return v
}

// fetchDeferred fetches each deferred message asked for on v.want (once)
// and fills it in.
func (v *RunView) fetchDeferred(ctx context.Context, ee vugu.EventEnv) {
	tried := map[int64]bool{}
	for {
		var seq int64
		select {
		case <-ctx.Done():
			return
		case seq = <-v.want:
		}
		if tried[seq] {
			continue
		}
		tried[seq] = true
		ee.RLock()
		run := v.Name
		ee.RUnlock()
		body, err := fetchText(dash.RunFileURL(run, "messages/"+strconv.FormatInt(seq, 10)))
		var m metrics.Message
		if err == nil {
			m, err = metrics.Decode([]byte(body))
		}
		mis, ok := m.(*metrics.Misclassified)
		if err != nil || !ok {
			log.Printf("pawnet: run %s: message %d: %v", run, seq, err)
			continue
		}
		ee.Lock()
		v.State.Fill(mis)
		ee.UnlockRender()
	}
}

// ask asks fetchDeferred for the shown epoch's deferred message, if any
// (it never blocks).
func (v *RunView) ask() {
	if seq := v.State.Wanted(); seq != 0 {
		select {
		case v.want <- seq:
		default:
		}
	}
}

// follow keeps v connected to its run's /ws until ctx ends: it reads
// every message into v.State and reconnects with backoff, asking only for
// what it has not seen (?since=LastSeq).
func (v *RunView) follow(ctx context.Context, ee vugu.EventEnv) {
	backoff := backoffMin
	for ctx.Err() == nil {
		ee.RLock()
		run, since := v.Name, v.State.LastSeq
		ee.RUnlock()
		conn, _, err := websocket.Dial(ctx, wsURL(run, since), nil)
		if err == nil {
			conn.SetReadLimit(readLimit)
			// No render yet: the server's first frame, a History frame,
			// follows at once, and the page is drawn with it.
			ee.Lock()
			v.Conn = dash.Conn{State: dash.ConnOpen}
			ee.UnlockOnly()
			var got bool
			got, err = v.read(ctx, ee, conn)
			conn.CloseNow()
			if got {
				backoff = backoffMin
			}
		}
		if ctx.Err() != nil {
			return
		}
		why := "connection closed by the server"
		if err != nil && !errors.Is(err, net.ErrClosed) {
			why = err.Error()
		}
		ee.Lock()
		v.Conn = dash.Conn{State: dash.ConnReconnecting, Err: why}
		ee.UnlockRender()
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, backoffMax)
	}
}

// read applies messages until the connection fails; got reports whether
// any message arrived. Binary frames are History frames; one with more to
// follow is applied without a render: the page is drawn once it has
// caught up.
func (v *RunView) read(ctx context.Context, ee vugu.EventEnv, conn *websocket.Conn) (got bool, err error) {
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			return got, err
		}
		got = true
		if typ == websocket.MessageBinary {
			var h metrics.History
			if err := h.UnmarshalBinary(data); err != nil {
				log.Printf("pawnet: run %s: skipping a history frame: %v", v.Name, err)
				continue
			}
			ee.Lock()
			if v.Name == "" && h.Run != "" {
				v.Name = h.Run
				v.named(h.Run)
			}
			v.State.ApplyHistory(&h)
			if h.More {
				ee.UnlockOnly()
			} else {
				v.caughtUp()
				ee.UnlockRender()
			}
			continue
		}
		m, err := metrics.Decode(data)
		if err != nil {
			log.Printf("pawnet: run %s: skipping a message: %v", v.Name, err)
			continue
		}
		ee.Lock()
		v.State.Apply(m)
		ee.UnlockRender()
	}
}
