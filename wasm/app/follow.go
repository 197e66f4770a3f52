package main

import (
	"context"
	"errors"
	"log"
	"net"
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
}

// follow keeps v connected to its run's /ws until ctx ends: it reads
// every message into v.State and reconnects with backoff, asking only for
// what it has not seen (?since=LastSeq).
func (v *RunView) follow(ctx context.Context, ee vugu.EventEnv) {
	backoff := backoffMin
	for ctx.Err() == nil {
		ee.RLock()
		since := v.State.LastSeq
		ee.RUnlock()
		conn, _, err := websocket.Dial(ctx, wsURL(v.Name, since), nil)
		if err == nil {
			conn.SetReadLimit(readLimit)
			ee.Lock()
			v.Conn = dash.Conn{State: dash.ConnOpen}
			ee.UnlockRender()
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
// any message arrived. A History frame with more to follow is applied
// without a render: the page is drawn once it has caught up.
func (v *RunView) read(ctx context.Context, ee vugu.EventEnv, conn *websocket.Conn) (got bool, err error) {
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return got, err
		}
		got = true
		m, err := metrics.Decode(data)
		if err != nil {
			log.Printf("pawnet: run %s: skipping a message: %v", v.Name, err)
			continue
		}
		ee.Lock()
		v.State.Apply(m)
		if h, ok := m.(*metrics.History); ok && h.More {
			ee.UnlockOnly()
		} else {
			ee.UnlockRender()
		}
	}
}
