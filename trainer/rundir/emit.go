package rundir

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/pawnet/pawnet/shared/metrics"
)

// Sink receives every event of a run, in order, already stamped, with its
// encoding: the metrics.jsonl line (JSON, no newline), which the receiver
// may keep but must not modify. It is the one hook for live consumers such
// as the dashboard's WebSocket server. Emit must not block for long: the
// training loop calls it.
type Sink interface {
	Emit(m metrics.Message, line []byte)
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(m metrics.Message, line []byte)

// Emit calls f(m, line).
func (f SinkFunc) Emit(m metrics.Message, line []byte) { f(m, line) }

// Emitter stamps messages with consecutive sequence numbers, appends them
// to a run's metrics.jsonl and forwards them to a Sink.
//
// When a line cannot be written (a full disk, say), the file is cut back
// to its last complete line and nothing more is written to it: it then
// holds exactly the messages up to Written, with no gap and no partial
// line. Later messages still reach the sink. Err reports the failure, and
// a training loop that sees it stops (see trainer/train).
type Emitter struct {
	mu      sync.Mutex
	f       *os.File
	seq     int64
	written int64 // the seq of the file's last line
	end     int64 // the offset just after the file's last line
	sink    Sink
	err     error
	werr    error // the first write or sync error: no more file writes
}

// OpenEmitter appends to the metrics file at path. Numbering continues
// after the larger of minSeq and the last sequence number in the file; a
// partial last line (left by a killed process) is cut off first. The file
// must be a regular file: anything else is refused, unopened when it is
// not (a named pipe would block the open).
func OpenEmitter(path string, minSeq int64, sink Sink) (*Emitter, error) {
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%v)", path, fi.Mode().Type())
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	last, end, err := lastSeq(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Truncate(end); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(end, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &Emitter{f: f, seq: max(last, minSeq), written: last, end: end, sink: sink}, nil
}

// lastSeq returns a metrics file's last sequence number and the offset
// just after its last complete line.
func lastSeq(f *os.File) (seq, end int64, err error) {
	end, _, err = metrics.ReadLines(f, func(h metrics.Header, ok bool, _ []byte) {
		if ok {
			seq = h.Seq
		}
	})
	return seq, end, err
}

// Emit stamps m, encodes it once, appends the line to the file and
// forwards m and the line to the sink. Errors are remembered and reported
// by Err and Close; a message that cannot be encoded is not sent and
// takes no sequence number. After a failed write nothing more is
// appended (see Emitter).
func (e *Emitter) Emit(m metrics.Message) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seq++
	metrics.Stamp(m, e.seq, time.Now().UnixMilli())
	data, err := metrics.Encode(m)
	if err != nil {
		e.fail(fmt.Errorf("encode %s %d: %w", m.MessageType(), e.seq, err))
		e.seq-- // the next message takes this number: no gap
		return
	}
	line := append(data, '\n')
	if e.werr == nil {
		if _, err := e.f.Write(line); err != nil {
			e.writeFailed(fmt.Errorf("write %s %d: %w", m.MessageType(), e.seq, err))
		} else {
			e.written, e.end = e.seq, e.end+int64(len(line))
		}
	}
	if e.sink != nil {
		e.sink.Emit(m, line[:len(data):len(data)])
	}
}

// writeFailed records a failed write or sync and cuts the file back to its
// last complete line (best effort: a reopen cuts a partial line too).
func (e *Emitter) writeFailed(err error) {
	e.werr = err
	e.fail(err)
	if terr := e.f.Truncate(e.end); terr == nil {
		e.f.Seek(e.end, io.SeekStart)
	}
}

func (e *Emitter) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// Err is the first error met so far (nil when none).
func (e *Emitter) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// Seq is the sequence number of the last message emitted.
func (e *Emitter) Seq() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.seq
}

// Written is the sequence number of the file's last line: Seq, unless a
// write failed. A state that covers the file (State.Seq) takes this one.
func (e *Emitter) Written() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.written
}

// Mark is a point in the metrics file: its last line then (see Rewind).
type Mark struct{ seq, end int64 }

// Mark returns the file's current end.
func (e *Emitter) Mark() Mark {
	e.mu.Lock()
	defer e.mu.Unlock()
	return Mark{e.written, e.end}
}

// Rewind cuts the file back to m, when lines were written since, so that
// it holds no message after m's: a caller whose step failed halfway takes
// back the messages that described it. Numbering goes on after Seq (the
// sink has seen those numbers), so a later line leaves a gap. A failed
// cut is a failed write.
func (e *Emitter) Rewind(m Mark) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if m.end >= e.end {
		return
	}
	if err := e.f.Truncate(m.end); err != nil {
		e.writeFailed(fmt.Errorf("rewind to seq %d: %w", m.seq, err))
		return
	}
	e.written, e.end = m.seq, m.end
	if _, err := e.f.Seek(m.end, io.SeekStart); err != nil {
		e.writeFailed(fmt.Errorf("rewind to seq %d: %w", m.seq, err))
	}
}

// Sync makes the lines written so far durable (fsync) and returns the
// first error met so far, as Err does; a failed sync is a failed write.
func (e *Emitter) Sync() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.werr == nil {
		if err := e.f.Sync(); err != nil {
			e.writeFailed(fmt.Errorf("sync: %w", err))
		}
	}
	return e.err
}

// Close syncs and closes the file.
func (e *Emitter) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.werr == nil {
		if err := e.f.Sync(); err != nil {
			e.fail(err)
		}
	}
	if err := e.f.Close(); err != nil {
		e.fail(err)
	}
	if e.err != nil {
		return fmt.Errorf("%s: %w", e.f.Name(), e.err)
	}
	return nil
}
