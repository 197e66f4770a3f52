package server

import (
	"io"
	"strconv"

	"github.com/pawnet/pawnet/shared/metrics"
)

// Bounds of one History frame: the bytes of its messages (thumbnails make
// them large) and its number of step messages. A frame stays within a few
// MB, well under the page's 16 MiB read limit.
const (
	historyMaxBytes = 1 << 20
	historyMaxSteps = 1 << 16
)

// historyChunk is how many of recs (at least one) the next History frame
// carries.
func historyChunk(recs []record) int {
	size, steps := 0, 0
	for i, r := range recs {
		if r.step {
			steps++
		} else {
			size += len(r.data)
		}
		if i > 0 && (size > historyMaxBytes || steps > historyMaxSteps) {
			return i
		}
	}
	return len(recs)
}

// encodeHistory writes recs (at least one) as the JSON of a
// metrics.History: the non-step lines and the last step line verbatim in
// Messages, the other steps' fields in the columns. Losses are written
// with the fewest digits that read back as the same float64.
func encodeHistory(w io.Writer, recs []record, more bool) error {
	lastStep := -1
	for i, r := range recs {
		if r.step {
			lastStep = i
		}
	}
	b := make([]byte, 0, 8<<10)
	flush := func(force bool) error {
		if len(b) < 4<<10 && !force {
			return nil
		}
		_, err := w.Write(b)
		b = b[:0]
		return err
	}
	b = append(b, `{"type":"`+metrics.TypeHistory+`","v":`...)
	b = strconv.AppendInt(b, metrics.Version, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, recs[len(recs)-1].seq, 10)
	b = append(b, `,"t":0`...)
	if more {
		b = append(b, `,"more":true`...)
	}
	b = append(b, `,"messages":[`...)
	first := true
	for i, r := range recs {
		if r.step && i != lastStep {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		if err := flush(true); err != nil {
			return err
		}
		if _, err := w.Write(r.data); err != nil {
			return err
		}
	}
	b = append(b, `],"steps":{`...)
	columns := []struct {
		name  string
		value func(b []byte, r record) []byte
	}{
		{"seq", func(b []byte, r record) []byte { return strconv.AppendInt(b, r.seq, 10) }},
		{"epoch", func(b []byte, r record) []byte { return strconv.AppendInt(b, int64(r.epoch), 10) }},
		{"global_step", func(b []byte, r record) []byte { return strconv.AppendInt(b, r.global, 10) }},
		{"loss", func(b []byte, r record) []byte { return strconv.AppendFloat(b, r.loss, 'g', -1, 64) }},
	}
	for k, col := range columns {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, col.name...)
		b = append(b, `":[`...)
		first := true
		for i, r := range recs {
			if !r.step || i == lastStep {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = col.value(b, r)
			if err := flush(false); err != nil {
				return err
			}
		}
		b = append(b, ']')
	}
	b = append(b, "}}"...)
	return flush(true)
}
