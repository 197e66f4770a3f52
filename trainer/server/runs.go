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

	"github.com/pawnet/pawnet/shared/metrics"
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
	skipped lineIssues // lines that did not decode or were out of order
	partial int64      // bytes of a partial last line (0: none)
	missing bool       // no metrics.jsonl
	empty   bool       // an empty metrics.jsonl
	shrank  bool       // the file got shorter than what was read
	written time.Time  // the file's modification time
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
	case r.empty:
		return rundir.MetricsFile + " is empty"
	case r.shrank:
		w = rundir.MetricsFile + " got shorter while being read; showing what was read before"
	}
	if r.skipped.n > 0 {
		w = join(w, fmt.Sprintf("%d unreadable line%s skipped (%s)", r.skipped.n, plural(r.skipped.n), r.skipped.first))
	}
	if r.partial > 0 {
		w = join(w, fmt.Sprintf("the last line is cut short (%d bytes)", r.partial))
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
// runs appear and runs written by another process are followed as their
// metrics.jsonl grows.
type runSet struct {
	opts *Options
	live string // the live run's name ("" when none)

	mu   sync.Mutex
	runs map[string]*run
	stop chan struct{}
	done chan struct{}
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

// scan adds the run folders that appeared and reads what was appended to
// the metrics.jsonl of each file-backed run. A run folder is a folder of
// RunsDir with a metrics.jsonl or a run.json.
func (rs *runSet) scan() {
	entries, err := os.ReadDir(rs.opts.RunsDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		rs.opts.Log.Printf("server: runs folder: %v", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || (rs.opts.OnlyRun != "" && name != rs.opts.OnlyRun) {
			continue
		}
		rs.mu.Lock()
		_, known := rs.runs[name]
		rs.mu.Unlock()
		if known {
			continue
		}
		dir := filepath.Join(rs.opts.RunsDir, name)
		if !exists(filepath.Join(dir, rundir.MetricsFile)) && !exists(filepath.Join(dir, rundir.ConfigFile)) {
			continue
		}
		rs.mu.Lock()
		rs.runs[name] = &run{name: name, dir: dir, hub: NewHub(rs.opts.Log)}
		rs.mu.Unlock()
	}
	rs.mu.Lock()
	var files []*run
	for _, r := range rs.runs {
		if !r.live {
			files = append(files, r)
		}
	}
	rs.mu.Unlock()
	for _, r := range files {
		rs.follow(r)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// follow reads the complete lines appended to r's metrics.jsonl since the
// last call into its hub, which streams them to r's clients.
func (rs *runSet) follow(r *run) {
	path := filepath.Join(r.dir, rundir.MetricsFile)
	f, err := os.Open(path)
	if err != nil {
		missing := errors.Is(err, fs.ErrNotExist)
		rs.mu.Lock()
		r.missing = missing
		rs.mu.Unlock()
		if !missing {
			rs.opts.Log.Printf("server: %v", err)
		}
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		rs.opts.Log.Printf("server: %v", err)
		return
	}
	rs.mu.Lock()
	r.missing, r.empty, r.written = false, st.Size() == 0, st.ModTime()
	offset, lines := r.offset, r.lines
	if st.Size() < offset {
		r.shrank = true
	}
	changed := st.Size() > offset+r.partial
	rs.mu.Unlock()
	if !changed {
		return
	}
	var skipped lineIssues
	res, err := r.hub.appendLines(io.NewSectionReader(f, offset, st.Size()-offset), lines, &skipped)
	if err != nil {
		rs.opts.Log.Printf("server: %s: %v", path, err)
		return
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r.offset += res.end
	r.lines += res.lines
	r.partial = 0
	if res.partial {
		r.partial = st.Size() - r.offset
	}
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
func (rs *runSet) defaultRun() *run {
	if rs.live != "" {
		return rs.get(rs.live)
	}
	l := rs.list()
	if l.Default == "" {
		return nil
	}
	return rs.get(l.Default)
}
