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
// base64 PNG thumbnails and outgrow coder/websocket's 32 KiB default.
const readLimit = 16 << 20

// Reconnect backoff: it doubles after every failed attempt and resets once
// a message arrives.
const (
	backoffMin = 500 * time.Millisecond
	backoffMax = 10 * time.Second
)

// wsURL is the metrics WebSocket of the server that served the page, asking
// for the messages after since (all of them when 0).
func wsURL(since int64) string {
	loc := js.Global().Get("location")
	return dash.WSURL(loc.Get("protocol").String(), loc.Get("host").String(), since)
}

// follow keeps the page connected to /ws for as long as it is open: it
// reads every message into the state and reconnects with backoff, asking
// only for what it has not seen (?since=LastSeq).
func (c *Root) follow(ee vugu.EventEnv) {
	ctx := context.Background()
	backoff := backoffMin
	for {
		ee.RLock()
		since := c.State.LastSeq
		ee.RUnlock()
		conn, _, err := websocket.Dial(ctx, wsURL(since), nil)
		if err == nil {
			conn.SetReadLimit(readLimit)
			ee.Lock()
			c.Conn = dash.Conn{State: dash.ConnOpen}
			ee.UnlockRender()
			var got bool
			got, err = c.read(ctx, ee, conn)
			conn.CloseNow()
			if got {
				backoff = backoffMin
			}
		}
		why := "connection closed by the server"
		if err != nil && !errors.Is(err, net.ErrClosed) {
			why = err.Error()
		}
		ee.Lock()
		c.Conn = dash.Conn{State: dash.ConnReconnecting, Err: why}
		ee.UnlockRender()
		time.Sleep(backoff)
		backoff = min(2*backoff, backoffMax)
	}
}

// read applies messages until the connection fails; got reports whether
// any message arrived.
func (c *Root) read(ctx context.Context, ee vugu.EventEnv, conn *websocket.Conn) (got bool, err error) {
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return got, err
		}
		got = true
		m, err := metrics.Decode(data)
		if err != nil {
			log.Printf("pawnet: skipping a message: %v", err)
			continue
		}
		ee.Lock()
		c.State.Apply(m)
		ee.UnlockRender()
	}
}
