package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pawnet/pawnet/trainer/rundir"
)

// soakEnv makes the test binary a process of soak pages (see TestMain and
// runSoakPages), so that their memory is not counted as the server's.
const soakEnv = "PAWNET_SOAK_PAGES"

// soakConfig is one soak: a run of messages written by another process
// (here a goroutine appending to its metrics.jsonl) over write, followed
// by pages that disconnect and reconnect with ?since= at random.
type soakConfig struct {
	messages int64         // 14,400: an hour at 4 messages/s
	pages    int           // 20
	write    time.Duration // the hour, compressed
	seed     uint64
}

// soakResult is what one soak measured.
type soakResult struct {
	messages   int64
	pages      int
	reconnects int
	exact      int    // pages that got every message exactly once
	frames     int    // History frames the pages got, all together
	texts      int    // text frames
	maxFrame   int    // the largest History frame, bytes
	peakHeap   uint64 // the server process's largest HeapAlloc sampled
	liveHeap   uint64 // its heap after a GC at the end
	fileBytes  int64  // the metrics.jsonl's size
	wall       time.Duration
}

func (r soakResult) String() string {
	return fmt.Sprintf("soak: %d messages, %d pages, %d reconnects, %d pages got every message exactly once; "+
		"%d History frames (largest %d bytes), %d text frames; server peak heap %.1f MiB, %.1f MiB live after the run "+
		"(metrics.jsonl %.1f MiB); %.1f s",
		r.messages, r.pages, r.reconnects, r.exact, r.frames, r.maxFrame, r.texts,
		float64(r.peakHeap)/(1<<20), float64(r.liveHeap)/(1<<20), float64(r.fileBytes)/(1<<20), r.wall.Seconds())
}

// pageReport is what a soak page reports, one JSON line each.
type pageReport struct {
	Page       int    `json:"page"`
	Reconnects int    `json:"reconnects"`
	Frames     int    `json:"frames"`
	Texts      int    `json:"texts"`
	MaxFrame   int    `json:"max_frame"`
	Bad        int64  `json:"bad"`       // the first seq not seen exactly once (0: none)
	BadCount   int    `json:"bad_count"` // how often it was seen
	Err        string `json:"err,omitempty"`
}

// soak runs a soak and checks that every page ends with every message
// exactly once and that no client was dropped.
func soak(tb testing.TB, cfg soakConfig) soakResult {
	tb.Helper()
	t0 := time.Now()
	runs := tb.TempDir()
	dir := filepath.Join(runs, "soak")
	if err := os.Mkdir(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, rundir.MetricsFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	// The scans a second the server makes, compressed as the hour is.
	scan := max(time.Millisecond, cfg.write/time.Duration(cfg.messages/4))
	s := start(tb, nil, Options{RunsDir: runs, ScanInterval: scan})
	waitFor(tb, "the run to be listed", func() bool { return s.runs.get("soak") != nil })
	hub := s.runs.get("soak").hub

	// The server's memory, sampled until the pages are done.
	var peak uint64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
		}
	}()

	// The pages, in a child process.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %d %d %d", soakEnv, wsURL(s, "?run=soak&batch=1"), cfg.pages, cfg.messages, cfg.seed, cfg.write.Milliseconds()/2))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	var reports []pageReport
	var readErr error
	var readWG sync.WaitGroup
	readWG.Go(func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var r pageReport
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				readErr = fmt.Errorf("page report %q: %v", sc.Text(), err)
				continue
			}
			reports = append(reports, r)
		}
	})

	// The run: lines appended in ticks of 5 ms, a line now and then cut
	// in two across ticks, as a writer's buffered writes may be.
	rng := rand.New(rand.NewPCG(cfg.seed, 1))
	tick := 5 * time.Millisecond
	perTick := max(1, cfg.messages*int64(tick)/int64(cfg.write))
	var carry []byte
	for from := int64(1); from <= cfg.messages; from += perTick {
		data := append(carry, encodeLines(tb, from, min(from+perTick-1, cfg.messages), longRunMessage)...)
		carry = nil
		if from+perTick <= cfg.messages && rng.IntN(4) == 0 {
			cut := len(data) - 1 - rng.IntN(40)
			data, carry = data[:cut], append([]byte(nil), data[cut:]...)
		}
		if _, err := f.Write(data); err != nil {
			tb.Fatal(err)
		}
		time.Sleep(tick) // the writer's pace, not an assertion
	}

	readWG.Wait()
	werr := cmd.Wait()
	close(stopSampling)
	<-sampled
	if werr != nil || readErr != nil {
		tb.Fatalf("pages: %v %v", werr, readErr)
	}
	res := soakResult{messages: cfg.messages, pages: len(reports), peakHeap: peak, wall: time.Since(t0)}
	for _, r := range reports {
		if r.Err != "" || r.Bad != 0 {
			tb.Errorf("page %d: %s; seq %d seen %d times", r.Page, r.Err, r.Bad, r.BadCount)
		} else {
			res.exact++
		}
		res.reconnects += r.Reconnects
		res.frames += r.Frames
		res.texts += r.Texts
		res.maxFrame = max(res.maxFrame, r.MaxFrame)
	}
	if res.pages != cfg.pages {
		tb.Errorf("%d pages reported, want %d", res.pages, cfg.pages)
	}
	if hub.LastSeq() != cfg.messages || hub.Dropped() != 0 {
		tb.Errorf("the hub has %d messages and dropped %d clients; want %d and 0", hub.LastSeq(), hub.Dropped(), cfg.messages)
	}
	if res.maxFrame > historyMaxBytes {
		tb.Errorf("a History frame of %d bytes", res.maxFrame)
	}
	if st, err := f.Stat(); err == nil {
		res.fileBytes = st.Size()
	}
	res.liveHeap = heapAndStacks()
	return res
}

// runSoakPages runs soak pages ("URL PAGES LAST SEED JOINMS"): half
// open at once, the others at random within JOINMS milliseconds (with a
// backlog to catch up on); each follows the run until it has seq LAST,
// closing its connection (cleanly or not) after a random number of frames
// and reconnecting with ?since= the last seq it has, then prints a
// pageReport.
func runSoakPages(spec string) int {
	f := strings.Fields(spec)
	if len(f) != 5 {
		fmt.Fprintln(os.Stderr, "want URL PAGES LAST SEED JOINMS")
		return 2
	}
	pages, err1 := strconv.Atoi(f[1])
	last, err2 := strconv.ParseInt(f[2], 10, 64)
	seed, err3 := strconv.ParseUint(f[3], 10, 64)
	joinMS, err4 := strconv.Atoi(f[4])
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || joinMS < 1 {
		fmt.Fprintln(os.Stderr, "want URL PAGES LAST SEED JOINMS")
		return 2
	}
	reports := make([]pageReport, pages)
	var wg sync.WaitGroup
	for i := range pages {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(i)+2))
			if i%2 == 1 {
				time.Sleep(time.Duration(rng.IntN(joinMS)) * time.Millisecond)
			}
			reports[i] = soakPage(f[0], i, last, rng)
		})
	}
	wg.Wait()
	enc := json.NewEncoder(os.Stdout)
	for _, r := range reports {
		enc.Encode(r)
	}
	return 0
}

// soakPage is one page of a soak (see runSoakPages); each connection and
// read is bounded, and so is the whole.
func soakPage(url string, i int, last int64, rng *rand.Rand) pageReport {
	rep := pageReport{Page: i}
	p := newPage()
	deadline := time.Now().Add(4 * time.Minute)
	dialer := websocket.Dialer{HandshakeTimeout: readGuard}
	for p.last < last {
		if time.Now().After(deadline) {
			rep.Err = fmt.Sprintf("still at seq %d of %d after 4 minutes", p.last, last)
			break
		}
		conn, _, err := dialer.Dial(url+"&since="+strconv.FormatInt(p.last, 10), nil)
		if err != nil {
			rep.Err = err.Error()
			break
		}
		conn.SetReadLimit(16 << 20) // the page's
		for k := 1 + rng.IntN(60); k > 0 && p.last < last && err == nil; k-- {
			conn.SetReadDeadline(time.Now().Add(readGuard))
			var typ int
			var data []byte
			if typ, data, err = conn.ReadMessage(); err == nil {
				err = p.apply(typ, data)
			}
		}
		if err != nil {
			rep.Err = err.Error()
			conn.Close()
			break
		}
		if p.last < last {
			rep.Reconnects++
			if rng.IntN(2) == 0 { // a tab closed: a close frame
				conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(time.Second))
			} // else the network went: the connection just ends
			time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
		}
		conn.Close()
	}
	rep.Frames, rep.Texts, rep.MaxFrame = p.frames, p.texts, p.maxFrame
	if rep.Err == "" {
		rep.Bad, rep.BadCount = p.once(1, last)
	}
	return rep
}

// TestSoak follows a simulated hour-long run (14,400 messages at 4 a
// second, written in about 10 s, the rescans compressed alike) with 20
// pages, half of them opened during the run, that disconnect and
// reconnect with ?since= at random; every page ends with every message
// exactly once, and no client is dropped. It logs the figures (run it
// with -v to see them): messages, pages, reconnects, frames and the
// server's peak heap (sampled every 5 ms; the pages run in a child
// process).
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak takes about 10 s")
	}
	cfg := soakConfig{messages: 14_400, pages: 20, write: 10 * time.Second, seed: 28}
	res := soak(t, cfg)
	t.Log(res)
}

// BenchmarkSoak is TestSoak as a benchmark, one soak per op, so that its
// figures come out as benchmark metrics: go test -run '^$' -bench Soak
// -benchtime 1x.
func BenchmarkSoak(b *testing.B) {
	cfg := soakConfig{messages: 14_400, pages: 20, write: 10 * time.Second, seed: 28}
	var res soakResult
	var peak uint64
	reconnects := 0
	for i := 0; i < b.N; i++ {
		cfg.seed = 28 + uint64(i)
		res = soak(b, cfg)
		peak = max(peak, res.peakHeap)
		reconnects += res.reconnects
	}
	b.ReportMetric(float64(res.messages), "messages")
	b.ReportMetric(float64(res.pages), "pages")
	b.ReportMetric(float64(reconnects)/float64(b.N), "reconnects/op")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(res.liveHeap)/(1<<20), "live-heap-MiB")
	b.Log(res)
}
