package metrics

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
)

// ReadLines reads a metrics.jsonl stream and calls fn with the header and
// the trimmed text of each complete, non-empty line, in order (line is
// fn's to keep). A line whose header does not parse gets ok = false. A
// partial last line, as a killed writer leaves it, is not passed to fn:
// partial reports it, and end is the offset just after the last complete
// line, where a writer should continue.
func ReadLines(r io.Reader, fn func(h Header, ok bool, line []byte)) (end int64, partial bool, err error) {
	return ScanLines(r, func(h Header, ok bool, line []byte, _ int64) bool {
		fn(h, ok, line)
		return true
	})
}

// ScanLines is ReadLines with the offset just after each line (its end,
// where a file cut after it would end) passed to fn, which returns false
// to stop: end is then that line's end.
func ScanLines(r io.Reader, fn func(h Header, ok bool, line []byte, end int64) bool) (end int64, partial bool, err error) {
	br := bufio.NewReaderSize(r, 1<<16)
	for {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			return end, len(bytes.TrimSpace(line)) > 0, nil
		}
		if err != nil {
			return end, false, err
		}
		end += int64(len(line))
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var h Header
		ok := json.Unmarshal(line, &h) == nil && readable(h.V) && h.Seq > 0 && h.Type != ""
		if !fn(h, ok, line, end) {
			return end, false, nil
		}
	}
}
