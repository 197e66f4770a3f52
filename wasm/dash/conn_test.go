package dash

import "testing"

func TestConn(t *testing.T) {
	for _, tc := range []struct {
		conn    Conn
		running bool
		seq     int64
		text    string
		title   string
	}{
		{Conn{State: ConnConnecting}, false, 0, "Connecting…", "WebSocket /ws · last seq 0"},
		{Conn{}, true, 0, "Connecting…", "WebSocket /ws · last seq 0"},
		{Conn{State: ConnOpen}, true, 42, "Live", "WebSocket /ws · last seq 42"},
		{Conn{State: ConnOpen}, false, 42, "Connected", "WebSocket /ws · last seq 42"},
		{Conn{State: ConnReconnecting, Err: "connection closed by the server"}, true, 7, "Reconnecting…",
			"WebSocket /ws · last seq 7 · connection closed by the server"},
	} {
		if got := tc.conn.Text(tc.running); got != tc.text {
			t.Errorf("%+v.Text(%v) = %q, want %q", tc.conn, tc.running, got, tc.text)
		}
		if got := tc.conn.Title(tc.seq); got != tc.title {
			t.Errorf("%+v.Title(%d) = %q, want %q", tc.conn, tc.seq, got, tc.title)
		}
	}
}

func TestWSURL(t *testing.T) {
	for _, tc := range []struct {
		protocol, host string
		since          int64
		want           string
	}{
		{"http:", "localhost:8080", 0, "ws://localhost:8080/ws"},
		{"https:", "pawnet.example", 0, "wss://pawnet.example/ws"},
		{"http:", "127.0.0.1:9000", 1234, "ws://127.0.0.1:9000/ws?since=1234"},
		{"https:", "h", -1, "wss://h/ws"},
	} {
		if got := WSURL(tc.protocol, tc.host, tc.since); got != tc.want {
			t.Errorf("WSURL(%q, %q, %d) = %q, want %q", tc.protocol, tc.host, tc.since, got, tc.want)
		}
	}
}
