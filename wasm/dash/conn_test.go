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
		protocol, host, run string
		since               int64
		want                string
	}{
		{"http:", "localhost:8080", "", 0, "ws://localhost:8080/ws?batch=1"},
		{"https:", "pawnet.example", "r1", 0, "wss://pawnet.example/ws?batch=1&run=r1"},
		{"http:", "127.0.0.1:9000", "demo-1", 1234, "ws://127.0.0.1:9000/ws?batch=1&run=demo-1&since=1234"},
		{"https:", "h", "a b&c", -1, "wss://h/ws?batch=1&run=a+b%26c"},
	} {
		if got := WSURL(tc.protocol, tc.host, tc.run, tc.since); got != tc.want {
			t.Errorf("WSURL(%q, %q, %q, %d) = %q, want %q", tc.protocol, tc.host, tc.run, tc.since, got, tc.want)
		}
	}
}

func TestRunFileURL(t *testing.T) {
	for run, want := range map[string]string{
		"demo-20261201": "api/runs/demo-20261201/epochs.csv",
		"a b/c?":        "api/runs/a%20b%2Fc%3F/epochs.csv",
	} {
		if got := RunFileURL(run, "epochs.csv"); got != want {
			t.Errorf("RunFileURL(%q) = %q, want %q", run, got, want)
		}
	}
}
