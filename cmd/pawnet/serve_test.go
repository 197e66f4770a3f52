package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/sample"
)

// classTree links the first n photos of each class of the sample
// ($PAWNET_SAMPLE_DIR, else made in the temp folder) into cat/ and dog/.
func classTree(t *testing.T, n int) string {
	t.Helper()
	src := os.Getenv("PAWNET_SAMPLE_DIR")
	if src == "" {
		src = filepath.Join(os.TempDir(), "pawnet-test-sample")
	}
	if _, err := sample.Make(src, sample.DefaultCacheDir(), io.Discard); err != nil {
		t.Fatalf("sample data: %v", err)
	}
	dst := t.TempDir()
	for _, cls := range []string{"cat", "dog"} {
		if err := os.MkdirAll(filepath.Join(dst, cls), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			name := cls + "." + strconv.Itoa(i) + ".jpg"
			from, to := filepath.Join(src, "train", name), filepath.Join(dst, cls, name)
			if os.Link(from, to) != nil {
				data, err := os.ReadFile(from)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(to, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return dst
}

// `pawnet train -serve ADDR -exit` trains with the dashboard on and
// quits; `pawnet serve -run DIR` then replays the run over the WebSocket,
// serves its weights and page, and stops cleanly on Ctrl-C.
func TestTrainServeAndServe(t *testing.T) {
	bin := pawnet(t)
	data := classTree(t, 40)
	runs := t.TempDir()
	out, err := exec.Command(bin, "train", "-serve", "127.0.0.1:0", "-exit", "-epochs", "1", "-batch", "16",
		"-runs", runs, "-name", "r1", data).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "dashboard: http://127.0.0.1:") || !strings.Contains(string(out), "best val acc") {
		t.Fatalf("pawnet train -serve: %v\n%s", err, out)
	}
	dir := filepath.Join(runs, "r1")
	file, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(file, []byte("\n")), []byte("\n"))

	static := t.TempDir()
	if err := os.WriteFile(filepath.Join(static, "index.html"), []byte("<title>pawnet</title>"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "-run", dir, "-addr", "127.0.0.1:0", "-static", static)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	guard := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() }) // never hang
	defer guard.Stop()
	defer cmd.Process.Kill()
	first, err := bufio.NewReader(stdout).ReadString('\n')
	url := regexp.MustCompile(`http://127\.0\.0\.1:\d+/`).FindString(first)
	if err != nil || url == "" || !strings.Contains(first, "(1 runs)") {
		t.Fatalf("pawnet serve printed %q (%v); stderr:\n%s", first, err, stderr.String())
	}

	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http")+"ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i, want := range lines {
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, got, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("message %d:\n got %s\nfile %s", i+1, got, want)
		}
	}
	if m, err := metrics.Decode(lines[len(lines)-1]); err != nil || m.MessageType() != metrics.TypeRunEnd {
		t.Errorf("last message %v, %v; want run_end", m, err)
	}

	st, err := os.Stat(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"weights": strconv.FormatInt(st.Size(), 10), "": "21"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Length") != want {
			t.Errorf("GET /%s: %d, Content-Length %q, want %s", path, resp.StatusCode, resp.Header.Get("Content-Length"), want)
		}
	}

	// Ctrl-C: a normal close frame, then a clean exit.
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, _, err := conn.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Errorf("after Ctrl-C the client read %v, want a normal close", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("pawnet serve exited with %v; stderr:\n%s", err, stderr.String())
	}
}
