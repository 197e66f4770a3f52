// Package progress shows a long task's progress: on a terminal, a bar
// redrawn in place (schollz/progressbar); anywhere else (a log file, a
// pipe, a CI job), a plain line at most every few seconds and a last one
// when the task ends, so that logs get lines instead of carriage-return
// frames.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Every is how often a Bar or a Line writes a plain line when its writer
// is not a terminal.
const Every = 5 * time.Second

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Bar counts a task's items. It is safe for concurrent use.
type Bar struct {
	mu    sync.Mutex
	w     io.Writer
	bar   *progressbar.ProgressBar // nil when w is not a terminal
	total int
	done  int
	what  string
	unit  string
	start time.Time
	last  time.Time // when the last plain line was written
	every time.Duration
	now   func() time.Time
	ended bool
}

// New returns a Bar for total items of unit (e.g. "photos") described as
// what (e.g. "predict") that writes to w.
func New(w io.Writer, total int, what, unit string) *Bar {
	return newBar(w, total, what, unit, IsTerminal(w), Every, time.Now)
}

func newBar(w io.Writer, total int, what, unit string, terminal bool, every time.Duration, now func() time.Time) *Bar {
	b := &Bar{w: w, total: total, what: what, unit: unit, every: every, now: now}
	b.start, b.last = now(), now()
	if terminal {
		b.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(what),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString(unit),
			progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	return b
}

// Add counts n more items done.
func (b *Bar) Add(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.set(b.done + n)
}

// Set sets the number of items done (for a task resumed part way).
func (b *Bar) Set(done int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.set(done)
}

// set is Set with b.mu held.
func (b *Bar) set(done int) {
	if b.ended {
		return
	}
	b.done = min(done, b.total)
	if b.bar != nil {
		_ = b.bar.Set(b.done)
		return
	}
	switch t := b.now(); {
	case b.done == b.total:
		// The last item: the task is done, whether or not Finish is called.
		b.ended = true
		b.line(t)
	case t.Sub(b.last) >= b.every:
		b.line(t)
	}
}

// Describe changes what the bar says the task is (e.g. a running loss).
func (b *Bar) Describe(what string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.what = what
	if b.bar != nil {
		b.bar.Describe(what)
	}
}

// Finish ends the bar: the terminal's bar is cleared, and elsewhere the
// last count is written as a line (as it is when the count reaches the
// total).
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ended {
		return
	}
	b.ended = true
	if b.bar != nil {
		_ = b.bar.Finish()
		return
	}
	b.line(b.now())
}

// line writes "what: done/total unit (rate unit/s, ETA d)"; b.mu is held.
func (b *Bar) line(t time.Time) {
	b.last = t
	s := fmt.Sprintf("%s: %d/%d %s", b.what, b.done, b.total, b.unit)
	if el := t.Sub(b.start).Seconds(); el > 0 && b.done > 0 {
		rate := float64(b.done) / el
		s += fmt.Sprintf(" (%.1f %s/s", rate, b.unit)
		if left := b.total - b.done; left > 0 {
			s += ", ETA " + (time.Duration(float64(left)/rate) * time.Second).Round(time.Second).String()
		}
		s += ")"
	}
	fmt.Fprintln(b.w, s)
}

// Line is a one-line status that changes, such as "teaching: fit 3/26".
type Line struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	every    time.Duration
	now      func() time.Time
	last     time.Time
	text     string // the latest text
	shown    bool   // text was written
	width    int    // the terminal line's width to blank
}

// NewLine returns a Line writing to w.
func NewLine(w io.Writer) *Line { return newLine(w, IsTerminal(w), Every, time.Now) }

func newLine(w io.Writer, terminal bool, every time.Duration, now func() time.Time) *Line {
	return &Line{w: w, terminal: terminal, every: every, now: now, last: now().Add(-every)}
}

// Printf sets the status: on a terminal it redraws the line; elsewhere it
// writes it when Every has passed since the last line written.
func (l *Line) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.text, l.shown = fmt.Sprintf(format, args...), false
	if l.terminal {
		pad := max(0, l.width-len(l.text))
		fmt.Fprintf(l.w, "\r%s%*s", l.text, pad, "")
		l.width, l.shown = len(l.text), true
		return
	}
	if t := l.now(); t.Sub(l.last) >= l.every {
		l.last = t
		fmt.Fprintln(l.w, l.text)
		l.shown = true
	}
}

// Done ends the line: the terminal's line is closed with a newline, and
// elsewhere the latest status is written if it was not.
func (l *Line) Done() {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.terminal && l.width > 0:
		fmt.Fprintln(l.w)
	case !l.terminal && !l.shown && l.text != "":
		fmt.Fprintln(l.w, l.text)
	}
	l.width, l.shown = 0, true
}
