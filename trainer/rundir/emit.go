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
type Emitter struct {
	mu   sync.Mutex
	f    *os.File
	seq  int64
	sink Sink
	err  error
}

// OpenEmitter appends to the metrics file at path. Numbering continues
// after the larger of minSeq and the last sequence number in the file; a
// partial last line (left by a killed process) is cut off first.
func OpenEmitter(path string, minSeq int64, sink Sink) (*Emitter, error) {
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
	return &Emitter{f: f, seq: max(last, minSeq), sink: sink}, nil
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
// takes no sequence number.
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
	if _, err := e.f.Write(line); err != nil {
		e.fail(err)
	}
	if e.sink != nil {
		e.sink.Emit(m, line[:len(data):len(data)])
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

// Close syncs and closes the file.
func (e *Emitter) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.f.Sync(); err != nil {
		e.fail(err)
	}
	if err := e.f.Close(); err != nil {
		e.fail(err)
	}
	if e.err != nil {
		return fmt.Errorf("%s: %w", e.f.Name(), e.err)
	}
	return nil
}
