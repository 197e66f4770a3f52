package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/pawnet/pawnet/shared/metrics"
)

// MaxLineBytes is the longest metrics.jsonl line (not counting its
// newline) that the server takes: a longer line is skipped with a
// warning, from a file as from Hub.Emit, and its bytes are never held in
// memory. The largest messages the trainer writes (a misclassified
// message: 8 thumbnails of 64 px with their Grad-CAM maps, as base64 PNG)
// stay well under it, and it keeps every message, with the head of a
// History frame, within one frame of at most 1 MiB.
const MaxLineBytes = 512 << 10

// tooLong is the reason given for a line over MaxLineBytes.
func tooLong(n int64) string {
	return fmt.Sprintf("%d bytes, over the %d KiB limit", n, MaxLineBytes>>10)
}

// lineTail is what follows the last complete line of a metrics.jsonl:
// the bytes of a line not yet ended by a newline (a writer is writing it,
// or was killed while writing it).
type lineTail struct {
	n     int64 // its length
	blank bool  // it holds only white space (so far)
}

// partial reports whether t is a cut-short line worth a warning.
func (t lineTail) partial() bool { return t.n > 0 && !t.blank }

// lineFunc receives each complete, non-blank line of a metrics.jsonl: its
// header (ok false when the line is not a message of a schema version
// this build reads), its trimmed text (line, the callee's to keep), or,
// for a line over MaxLineBytes, only its length (line nil, size set).
type lineFunc func(h metrics.Header, ok bool, line []byte, size int64)

// readLines reads a metrics.jsonl stream as metrics.ReadLines does, but
// holds at most MaxLineBytes of any line: a longer one reaches fn with its
// length only. It returns the offset just after the last complete line
// and what follows it.
func readLines(r io.Reader, fn lineFunc) (end int64, tail lineTail, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		buf   []byte // the line so far, while it is within the limit
		n     int64  // its length so far
		over  bool   // it is over the limit: its bytes are dropped
		blank = true // only white space so far
	)
	for {
		chunk, err := br.ReadSlice('\n')
		n += int64(len(chunk))
		if blank && len(bytes.TrimSpace(chunk)) > 0 {
			blank = false
		}
		if !over {
			body := n
			if err == nil {
				body-- // the newline
			}
			if body > MaxLineBytes {
				over, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case err == nil:
			end += n
			switch {
			case blank:
			case over:
				fn(metrics.Header{}, false, nil, n-1)
			default:
				line := bytes.Clone(bytes.TrimSpace(buf))
				var h metrics.Header
				ok := json.Unmarshal(line, &h) == nil && h.V >= metrics.MinVersion && h.V <= metrics.Version && h.Seq > 0 && h.Type != ""
				fn(h, ok, line, int64(len(line)))
			}
			buf, n, over, blank = buf[:0], 0, false, true
		case errors.Is(err, bufio.ErrBufferFull):
		case err == io.EOF:
			return end, lineTail{n: n, blank: blank}, nil
		default:
			return end, lineTail{}, err
		}
	}
}

// findNewline looks for a newline in r from offset from up to offset to,
// reading only those bytes: it returns the offset of the first one (-1
// when none) and whether the bytes before it are all white space.
func findNewline(r io.ReaderAt, from, to int64) (at int64, blank bool, err error) {
	buf := make([]byte, min(to-from, 64<<10))
	blank = true
	for pos := from; pos < to; {
		k, err := r.ReadAt(buf[:min(int64(len(buf)), to-pos)], pos)
		if k == 0 && err != nil {
			return -1, blank, err
		}
		chunk := buf[:k]
		if i := bytes.IndexByte(chunk, '\n'); i >= 0 {
			return pos + int64(i), blank && len(bytes.TrimSpace(chunk[:i])) == 0, nil
		}
		blank = blank && len(bytes.TrimSpace(chunk)) == 0
		pos += int64(k)
	}
	return -1, blank, nil
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r io.ReaderAt
	n int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	k, err := c.r.ReadAt(p, off)
	c.n += int64(k)
	return k, err
}
