package server

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pawnet/pawnet/shared/metrics"
)

// clientsEnv makes the test binary a process of WebSocket clients (see
// TestMain), so that their memory is not counted as the server's.
const clientsEnv = "PAWNET_BENCH_CLIENTS"

func TestMain(m *testing.M) {
	if spec := os.Getenv(clientsEnv); spec != "" {
		os.Exit(runClients(spec))
	}
	if spec := os.Getenv(soakEnv); spec != "" {
		os.Exit(runSoakPages(spec))
	}
	os.Exit(m.Run())
}

// runClients connects n pages' worth of clients to url ("URL N LAST"):
// each reads the history up to seq LAST (History frames, or one text frame
// per message without batch=1), then the process prints "ready" and keeps
// the connections open, reading, until its stdin closes.
func runClients(spec string) int {
	f := strings.Fields(spec)
	if len(f) != 3 {
		fmt.Fprintln(os.Stderr, "want URL N LAST")
		return 2
	}
	n, err1 := strconv.Atoi(f[1])
	last, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "want URL N LAST")
		return 2
	}
	for range n {
		c, _, err := websocket.DefaultDialer.Dial(f[0], nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for seen := int64(0); seen < last; {
			typ, data, err := c.ReadMessage()
			if err != nil {
				fmt.Fprintln(os.Stderr, "history:", err)
				return 1
			}
			if typ == websocket.BinaryMessage {
				var h metrics.History
				if err := h.UnmarshalBinary(data); err != nil {
					fmt.Fprintln(os.Stderr, err)
					return 1
				}
				seen = h.Seq
			} else if m, err := metrics.Decode(data); err == nil {
				seen = metrics.Seq(m)
			}
		}
		go func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}()
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// longRunMessage is message seq of a 30,000-message run of 48 epochs:
// mostly steps, and per epoch an epoch, confusion, misclassified (8
// thumbnails of about 4 KB) and checkpoint message.
func longRunMessage(seq int64) metrics.Message {
	const perEpoch = 625
	e := int(seq-1)/perEpoch + 1
	var m metrics.Message
	switch (seq - 1) % perEpoch {
	case perEpoch - 4:
		m = &metrics.Epoch{Epoch: e, Epochs: 48, TrainLoss: 0.5, ValAcc: 0.7, BestEpoch: e}
	case perEpoch - 3:
		m = &metrics.Confusion{Epoch: e, Classes: []string{"cat", "dog"}, Matrix: [][]int{{150, 30}, {40, 140}}}
	case perEpoch - 2:
		s := make([]metrics.Sample, 8)
		for i := range s {
			s[i] = metrics.Sample{PNG: strings.Repeat("iVBO", 1000), Path: "cat/cat.1.jpg", PDog: 0.9}
		}
		m = &metrics.Misclassified{Epoch: e, Samples: s}
	case perEpoch - 1:
		m = &metrics.Checkpoint{Epoch: e, Kind: metrics.KindCheckpoint, Path: "checkpoints/epoch-001", Bytes: 6_500_000}
	default:
		m = &metrics.Step{Epoch: e, Step: int(seq % perEpoch), StepsPerEpoch: 45, GlobalStep: seq, Loss: 0.4 + 1/float64(seq),
			ImagesPerSec: 312.5, ElapsedSec: 12.25, ETASec: 3.5, InputWait: 0.02}
	}
	metrics.Stamp(m, seq, 1764000000000+seq*250)
	return m
}

// heapAndStacks is the memory the Go runtime holds for live objects and
// goroutine stacks, after a GC.
func heapAndStacks() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

// BenchmarkServerMemoryPerClient reports the server's memory per
// connected page of a 30,000-message run: B/client-held is what each
// client keeps once it has caught up (its goroutines and buffers),
// B/client-alloc what sending it the history allocated. The clients run
// in a child process. One op connects 20 clients.
func BenchmarkServerMemoryPerClient(b *testing.B) {
	const n, clients = 30000, 20
	hub := NewHub(quiet())
	for seq := int64(1); seq <= n; seq++ {
		hub.Emit(longRunMessage(seq), nil)
	}
	s := start(b, hub, Options{})
	var held, allocated float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		before := heapAndStacks()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		alloc0 := ms.TotalAlloc
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %d", clientsEnv, wsURL(s, "?batch=1"), clients, n))
		stdin, err := cmd.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
			b.Fatalf("clients: %q %v", line, err)
		}
		waitFor(b, "the clients", func() bool { return hub.Clients() == clients })
		time.Sleep(100 * time.Millisecond) // the writers finish their last frame
		after := heapAndStacks()
		runtime.ReadMemStats(&ms)
		held += (float64(after) - float64(before)) / clients
		allocated += float64(ms.TotalAlloc-alloc0) / clients
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
		waitFor(b, "the clients to leave", func() bool { return hub.Clients() == 0 })
	}
	b.StopTimer()
	b.ReportMetric(held/float64(b.N), "B/client-held")
	b.ReportMetric(allocated/float64(b.N), "B/client-alloc")
}
