package server

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/fsutil"
	"github.com/pawnet/pawnet/trainer/rundir"
)

// run is one run the server shows: the live run this process feeds (its
// hub is the one passed to Start), or a run folder read from its files.
type run struct {
	name string
	dir  string // the run folder ("" for a live run with none)
	hub  *Hub
	live bool

	// The file-backed run's metrics.jsonl as read so far; guarded by
	// runSet.mu.
	offset  int64      // just after the last complete line read
	lines   int        // non-blank complete lines read
	skipped lineIssues // lines that did not decode, too long or out of order
	// tail is what follows offset: bytes with no newline, scanned once;
	// a growing file is read from its end on.
	tail     lineTail
	missing  bool      // no metrics.jsonl
	notFile  string    // what metrics.jsonl is when not a regular file ("a directory")
	problem  string    // why metrics.jsonl cannot be read (logged once)
	empty    bool      // an empty metrics.jsonl
	shrank   bool      // the file got shorter than what was read
	written  time.Time // the file's modification time
	bytesIn  int64     // bytes read from metrics.jsonl so far
	scanned  int       // times it was looked at
	notified string    // the last problem logged (so each is logged once)
}

// weights is the run's exported weights file.
func (r *run) weights(opts *Options) string {
	if r.live && opts.WeightsPath != "" {
		return opts.WeightsPath
	}
	if r.dir == "" {
		return ""
	}
	return filepath.Join(r.dir, rundir.WeightsFile)
}

// runInfo is the run's run.json.
func (r *run) runInfo(opts *Options) string {
	if r.live && opts.RunInfoPath != "" {
		return opts.RunInfoPath
	}
	if r.dir == "" {
		return ""
	}
	return filepath.Join(r.dir, rundir.ConfigFile)
}

// warning says what is wrong with a file-backed run's metrics.jsonl.
func (r *run) warning() string {
	var w string
	switch {
	case r.missing:
		return "no " + rundir.MetricsFile
	case r.notFile != "":
		return rundir.MetricsFile + " is " + r.notFile + ", not a file"
	case r.problem != "":
		return "cannot read " + rundir.MetricsFile + ": " + r.problem
	case r.empty:
		return rundir.MetricsFile + " is empty"
	case r.shrank:
		w = rundir.MetricsFile + " got shorter while being read; showing what was read before"
	}
	if r.skipped.n > 0 {
		w = join(w, fmt.Sprintf("%d unreadable line%s skipped (%s)", r.skipped.n, plural(r.skipped.n), r.skipped.first))
	}
	if r.tail.partial() {
		w = join(w, fmt.Sprintf("the last line is cut short (%d bytes)", r.tail.n))
	}
	return w
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// runSet is the runs a Server shows: the live run, if any, and every run
// folder under Options.RunsDir, rescanned every ScanInterval so that new
// runs appear, deleted ones leave, and runs written by another process are
// followed as their metrics.jsonl grows.
type runSet struct {
	opts *Options
	live string // the live run's name ("" when none)

	mu     sync.Mutex
	runs   map[string]*run
	scans  int    // rescans done
	dirErr string // the runs folder's last read error (logged once)
	stop   chan struct{}
	done   chan struct{}
}

func newRunSet(opts *Options, live *Hub) *runSet {
	rs := &runSet{opts: opts, runs: map[string]*run{}, stop: make(chan struct{}), done: make(chan struct{})}
	if live != nil {
		rs.live = opts.RunName
		dir := ""
		if opts.RunsDir != "" {
			dir = filepath.Join(opts.RunsDir, opts.RunName)
		}
		rs.runs[rs.live] = &run{name: rs.live, dir: dir, hub: live, live: true}
	}
	return rs
}

// start reads the runs folder once, then rescans it in the background
// until close.
func (rs *runSet) start() {
	if rs.opts.RunsDir == "" {
		close(rs.done)
		return
	}
	rs.scan()
	go func() {
		defer close(rs.done)
		t := time.NewTicker(rs.opts.ScanInterval)
		defer t.Stop()
		for {
			select {
			case <-rs.stop:
				return
			case <-t.C:
				rs.scan()
			}
		}
	}()
}

// close stops the rescans and closes every hub (see Hub.Close).
func (rs *runSet) close() {
	select {
	case <-rs.stop:
	default:
		close(rs.stop)
	}
	<-rs.done
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, r := range rs.runs {
		r.hub.Close()
	}
}

// scan adds the run folders that appeared, removes those that are gone
// (their clients get a close frame), and reads what was appended to the
// metrics.jsonl of each file-backed run. A run folder is a folder of
// RunsDir (not a symlink) with a metrics.jsonl or a run.json.
func (rs *runSet) scan() {
	entries, err := os.ReadDir(rs.opts.RunsDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		// Keep the runs: the folder may be readable again at the next scan.
		rs.mu.Lock()
		first := rs.dirErr != err.Error()
		rs.dirErr = err.Error()
		rs.scans++
		rs.mu.Unlock()
		if first {
			rs.opts.Log.Printf("server: runs folder: %v", err)
		}
		return
	}
	present := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || (rs.opts.OnlyRun != "" && name != rs.opts.OnlyRun) || name == rs.live {
			continue
		}
		dir := filepath.Join(rs.opts.RunsDir, name)
		if !exists(filepath.Join(dir, rundir.MetricsFile)) && !exists(filepath.Join(dir, rundir.ConfigFile)) {
			continue
		}
		present[name] = true
		rs.mu.Lock()
		if _, known := rs.runs[name]; !known {
			rs.runs[name] = &run{name: name, dir: dir, hub: NewHub(rs.opts.Log)}
		}
		rs.mu.Unlock()
	}
	rs.mu.Lock()
	rs.dirErr = ""
	var files, gone []*run
	for name, r := range rs.runs {
		switch {
		case r.live:
		case present[name]:
			files = append(files, r)
		default:
			delete(rs.runs, name)
			gone = append(gone, r)
		}
	}
	rs.mu.Unlock()
	for _, r := range gone {
		rs.opts.Log.Printf("server: run %q is gone from %s; removed from the list", r.name, rs.opts.RunsDir)
		r.hub.closeWith(websocket.CloseGoingAway, "run deleted")
	}
	for _, r := range files {
		rs.follow(r)
	}
	rs.mu.Lock()
	rs.scans++
	rs.mu.Unlock()
}

// exists reports whether path names something (a file or not: follow
// tells apart what is not a file).
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// follow reads the complete lines appended to r's metrics.jsonl since the
// last call into its hub, which streams them to r's clients. Each byte is
// read once, but a line's when it completes (up to MaxLineBytes more); a
// metrics.jsonl that is not a regular file, or that cannot be read, is
// reported in the run's warning and logged once.
func (rs *runSet) follow(r *run) {
	path := filepath.Join(r.dir, rundir.MetricsFile)
	rs.mu.Lock()
	r.scanned++
	rs.mu.Unlock()
	// Stat before opening: opening a named pipe would wait for a writer.
	st, err := os.Stat(path)
	var f *os.File
	if err == nil && st.Mode().IsRegular() {
		if f, err = os.Open(path); err == nil {
			defer f.Close()
			st, err = f.Stat()
		}
	}
	missing := errors.Is(err, fs.ErrNotExist)
	rs.mu.Lock()
	r.missing, r.notFile, r.problem = missing, "", ""
	switch {
	case missing:
	case err != nil:
		r.problem = err.Error()
	case !st.Mode().IsRegular():
		r.notFile = fsutil.DescribeMode(st.Mode())
	}
	note := ""
	if w := r.notFile + r.problem; w != "" && w != r.notified {
		note = r.warning()
	}
	r.notified = r.notFile + r.problem
	if note != "" || missing || err != nil || r.notFile != "" {
		rs.mu.Unlock()
		if note != "" {
			rs.opts.Log.Printf("server: run %q: %s", r.name, note)
		}
		return
	}
	size := st.Size()
	r.empty, r.written = size == 0, st.ModTime()
	offset, lines, tail := r.offset, r.lines, r.tail
	switch {
	case size < offset:
		r.shrank = true
	case size < offset+tail.n:
		tail = lineTail{} // the cut-short line was cut off (a resumed writer does): read it again
	}
	rs.mu.Unlock()
	if size < offset || size == offset+tail.n {
		return // nothing new
	}
	in := &countingReaderAt{r: f}
	var skipped lineIssues
	from := offset
	if tail.n > 0 {
		// [offset, offset+tail.n) holds no newline: look for one in the
		// appended bytes only.
		nl, blank, err := findNewline(in, offset+tail.n, size)
		if err != nil {
			rs.opts.Log.Printf("server: %s: %v", path, err)
			return
		}
		if nl < 0 {
			rs.mu.Lock()
			r.tail = lineTail{n: size - offset, blank: tail.blank && blank}
			r.bytesIn += in.n
			rs.mu.Unlock()
			return
		}
		if n := nl - offset; n > MaxLineBytes {
			// Skipped without reading it.
			if !(tail.blank && blank) {
				lines++
				skipped.add(lines, tooLong(n))
			}
			from = nl + 1
		}
	}
	res, err := r.hub.appendLines(io.NewSectionReader(in, from, size-from), lines, &skipped)
	if err != nil {
		rs.opts.Log.Printf("server: %s: %v", path, err)
		return
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r.bytesIn += in.n
	r.offset = from + res.end
	r.lines = lines + res.lines
	r.tail = res.tail
	if skipped.n > 0 {
		if r.skipped.n == 0 {
			r.skipped.first = skipped.first
		}
		r.skipped.n += skipped.n
		rs.opts.Log.Printf("server: %s: skipped %d line%s (%s)", path, skipped.n, plural(skipped.n), skipped.first)
	}
}

// get returns the run named name (nil when none).
func (rs *runSet) get(name string) *run {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.runs[name]
}

// summary is r's entry of the run list.
func (rs *runSet) summary(r *run) metrics.RunSummary {
	s := r.hub.Summary()
	s.Name, s.Live = r.name, r.live
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if !r.live {
		s.Warning = r.warning()
		if s.Status == metrics.StatusRunning && time.Since(r.written) > rs.opts.StaleAfter {
			s.Status = metrics.StatusInterrupted
		}
	}
	return s
}

// list is the run list: the most recently started run first.
func (rs *runSet) list() metrics.RunList {
	rs.mu.Lock()
	all := make([]*run, 0, len(rs.runs))
	for _, r := range rs.runs {
		all = append(all, r)
	}
	rs.mu.Unlock()
	l := metrics.RunList{Runs: make([]metrics.RunSummary, 0, len(all))}
	for _, r := range all {
		l.Runs = append(l.Runs, rs.summary(r))
	}
	sort.Slice(l.Runs, func(i, j int) bool {
		a, b := l.Runs[i], l.Runs[j]
		if a.Started != b.Started {
			return a.Started > b.Started
		}
		return a.Name < b.Name
	})
	l.Default = rs.live
	if l.Default == "" && len(l.Runs) > 0 {
		l.Default = l.Runs[0].Name
	}
	return l
}

// defaultRun is the run shown when a request names none (nil when there
// is no run).
// It is list's Default found in one pass over the runs' start times,
// without building and sorting the whole list.
func (rs *runSet) defaultRun() *run {
	if rs.live != "" {
		return rs.get(rs.live)
	}
	rs.mu.Lock()
	all := make([]*run, 0, len(rs.runs))
	for _, r := range rs.runs {
		all = append(all, r)
	}
	rs.mu.Unlock()
	var best *run
	var bestStarted int64
	for _, r := range all {
		started := r.hub.Summary().Started
		if best == nil || started > bestStarted || (started == bestStarted && r.name < best.name) {
			best, bestStarted = r, started
		}
	}
	return best
}
