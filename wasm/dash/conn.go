package dash

import (
	"net/url"
	"strconv"
)

// Connection states of the page's metrics WebSocket.
const (
	ConnConnecting   = "connecting"
	ConnOpen         = "open"
	ConnReconnecting = "reconnecting"
)

// Conn is the page's metrics connection as the header's indicator shows
// it.
type Conn struct {
	State string // one of the Conn* states
	Err   string // why the last connection ended
}

// Text describes the connection; running says whether the run trains.
func (c Conn) Text(running bool) string {
	switch c.State {
	case ConnOpen:
		if running {
			return "Live"
		}
		return "Connected"
	case ConnReconnecting:
		return "Reconnecting…"
	}
	return "Connecting…"
}

// Title is the indicator's tooltip, with the sequence number of the last
// message applied.
func (c Conn) Title(lastSeq int64) string {
	s := "WebSocket /ws · last seq " + strconv.FormatInt(lastSeq, 10)
	if c.Err != "" {
		s += " · " + c.Err
	}
	return s
}

// WSURL is the address of the metrics WebSocket of run on the server at
// host (the page's location.host) for a page loaded over protocol
// ("http:" or "https:"), asking for the messages after since (all of them
// when 0), the backlog in History frames (batch=1).
func WSURL(protocol, host, run string, since int64) string {
	scheme := "ws:"
	if protocol == "https:" {
		scheme = "wss:"
	}
	q := url.Values{"batch": {"1"}}
	if run != "" {
		q.Set("run", run)
	}
	if since > 0 {
		q.Set("since", strconv.FormatInt(since, 10))
	}
	return scheme + "//" + host + "/ws?" + q.Encode()
}

// RunFileURL is the address, relative to the page, of a file of run under
// /api/runs/NAME/ (metrics.jsonl, epochs.csv, weights, run.json).
func RunFileURL(run, file string) string {
	return "api/runs/" + url.PathEscape(run) + "/" + file
}
