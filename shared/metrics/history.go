package metrics

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

// History carries a stretch of a run's messages in one binary WebSocket
// frame, so that a page catches up on a long run at once instead of
// message by message, and decodes it quickly:
//
//   - Steps holds the step messages' plotted fields in columns, sent as
//     compact binary rows instead of JSON, which is slow to decode in the
//     browser and makes up most of a long run;
//   - Messages holds the other messages in full, in seq order, and the
//     stretch's last step message (its throughput and ETA are shown);
//   - Deferred lists the misclassified messages, by seq and epoch, without
//     their thumbnails: a page fetches the one it shows.
//
// The frame's HistoryHead names its run and says how far it goes.
type History struct {
	HistoryHead
	Messages []Message
	Deferred []Deferred
	Steps    StepColumns
}

// HistoryHead is what a History frame says of itself.
type HistoryHead struct {
	// Run names the run (the page may have asked for the default run).
	Run string `json:"run,omitempty"`
	// Seq is the last seq the frame covers: a page that applied it asks
	// for the messages after it when it reconnects.
	Seq int64 `json:"seq"`
	// More is set when another History frame follows before the live
	// messages.
	More bool `json:"more,omitempty"`
}

// Deferred is a message of a History frame sent as a reference: its seq,
// type and epoch.
type Deferred struct {
	Seq   int64  `json:"seq"`
	Type  string `json:"type"`
	Epoch int    `json:"epoch"`
}

// StepColumns holds step messages column by column: entry i of each slice
// is one step message's field.
type StepColumns struct {
	Seq        []int64
	Epoch      []int
	GlobalStep []int64
	Loss       []float64
}

// Len is the number of step messages (0 when the columns' lengths differ).
func (c StepColumns) Len() int {
	n := len(c.Seq)
	if len(c.Epoch) != n || len(c.GlobalStep) != n || len(c.Loss) != n {
		return 0
	}
	return n
}

// Add appends a step message's plotted fields.
func (c *StepColumns) Add(seq int64, epoch int, globalStep int64, loss float64) {
	c.Seq = append(c.Seq, seq)
	c.Epoch = append(c.Epoch, epoch)
	c.GlobalStep = append(c.GlobalStep, globalStep)
	c.Loss = append(c.Loss, loss)
}

// historyMagic opens a History frame (and names its format's version).
const historyMagic = "PWH1"

// The binary layout of a History frame:
//
//	"PWH1"
//	uvarint n                        the number of step rows
//	n rows, each:
//	  uvarint  seq − previous seq    (the first row: seq − 0)
//	  varint   epoch − previous epoch
//	  varint   global step − previous global step
//	  8 bytes  loss, IEEE 754 float64 bits, little-endian
//	the rest: JSON {"run":R,"seq":S,"more":true,"messages":[…],"deferred":[…]}
//
// The rows come first so that a server can stream a frame from its
// history without holding it: it counts the steps, writes their rows,
// then writes the messages' lines as they are.
type historyTail struct {
	HistoryHead
	Messages []json.RawMessage `json:"messages"`
	Deferred []Deferred        `json:"deferred,omitempty"`
}

// HistoryEncoder writes one History frame to a writer without holding
// it: NewHistoryEncoder, exactly steps calls of Step, then Finish.
type HistoryEncoder struct {
	w         io.Writer
	b         []byte
	left      int
	prevSeq   int64
	prevEpoch int
	prevStep  int64
	err       error
}

// NewHistoryEncoder starts a frame of steps step rows on w.
func NewHistoryEncoder(w io.Writer, steps int) *HistoryEncoder {
	e := &HistoryEncoder{w: w, b: make([]byte, 0, 8<<10), left: steps}
	e.b = append(e.b, historyMagic...)
	e.b = binary.AppendUvarint(e.b, uint64(steps))
	return e
}

// flush writes the buffer when it is full (or always, with force).
func (e *HistoryEncoder) flush(force bool) {
	if e.err == nil && (force || len(e.b) >= 4<<10) {
		_, e.err = e.w.Write(e.b)
		e.b = e.b[:0]
	}
}

// Step writes one step row. Seqs must increase.
func (e *HistoryEncoder) Step(seq int64, epoch int, globalStep int64, loss float64) {
	if e.left == 0 || seq <= e.prevSeq {
		e.err = errors.Join(e.err, fmt.Errorf("metrics: history step %d: one step too many or seq not increasing", seq))
		return
	}
	e.left--
	e.b = binary.AppendUvarint(e.b, uint64(seq-e.prevSeq))
	e.b = binary.AppendVarint(e.b, int64(epoch-e.prevEpoch))
	e.b = binary.AppendVarint(e.b, globalStep-e.prevStep)
	e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(loss))
	e.prevSeq, e.prevEpoch, e.prevStep = seq, epoch, globalStep
	e.flush(false)
}

// Finish writes the frame's head, messages (each one JSON message, as
// its metrics.jsonl line) and deferred references, and reports the first
// error met.
func (e *HistoryEncoder) Finish(head HistoryHead, messages [][]byte, deferred []Deferred) error {
	if e.left != 0 {
		e.err = errors.Join(e.err, fmt.Errorf("metrics: history frame short of %d step rows", e.left))
	}
	if hd, err := json.Marshal(head); err == nil {
		e.b = append(e.b, hd[:len(hd)-1]...) // without its closing brace
	} else {
		e.err = errors.Join(e.err, err)
	}
	e.b = append(e.b, `,"messages":[`...)
	for i, m := range messages {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.flush(true)
		if e.err == nil {
			_, e.err = e.w.Write(m)
		}
	}
	e.b = append(e.b, ']')
	if len(deferred) > 0 {
		d, err := json.Marshal(deferred)
		e.err = errors.Join(e.err, err)
		e.b = append(e.b, `,"deferred":`...)
		e.b = append(e.b, d...)
	}
	e.b = append(e.b, '}')
	e.flush(true)
	return e.err
}

// MarshalBinary encodes h as a History frame.
func (h *History) MarshalBinary() ([]byte, error) {
	var buf bytes.Buffer
	n := h.Steps.Len()
	if n != len(h.Steps.Seq) {
		return nil, errors.New("metrics: history step columns of different lengths")
	}
	e := NewHistoryEncoder(&buf, n)
	for i := range n {
		e.Step(h.Steps.Seq[i], h.Steps.Epoch[i], h.Steps.GlobalStep[i], h.Steps.Loss[i])
	}
	lines := make([][]byte, len(h.Messages))
	for i, m := range h.Messages {
		var err error
		if lines[i], err = Encode(m); err != nil {
			return nil, err
		}
	}
	if err := e.Finish(h.HistoryHead, lines, h.Deferred); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// errHistory is the error of a frame that is not a History frame.
var errHistory = errors.New("metrics: not a history frame")

// UnmarshalBinary decodes a History frame; each message with Decode.
func (h *History) UnmarshalBinary(data []byte) error {
	if !bytes.HasPrefix(data, []byte(historyMagic)) {
		return errHistory
	}
	p := data[len(historyMagic):]
	n, k := binary.Uvarint(p)
	// A row takes at least 11 bytes: bound n before allocating.
	if k <= 0 || n > uint64(len(p))/11 {
		return fmt.Errorf("%w: bad step count", errHistory)
	}
	p = p[k:]
	var c StepColumns
	if n > 0 {
		c = StepColumns{Seq: make([]int64, n), Epoch: make([]int, n), GlobalStep: make([]int64, n), Loss: make([]float64, n)}
	}
	var seq, step int64
	epoch := 0
	for i := range int(n) {
		ds, k1 := binary.Uvarint(p)
		if k1 <= 0 {
			return fmt.Errorf("%w: step row %d", errHistory, i)
		}
		de, k2 := binary.Varint(p[k1:])
		if k2 <= 0 {
			return fmt.Errorf("%w: step row %d", errHistory, i)
		}
		dg, k3 := binary.Varint(p[k1+k2:])
		if k3 <= 0 || len(p) < k1+k2+k3+8 || ds == 0 || ds > math.MaxInt64 || seq > math.MaxInt64-int64(ds) {
			return fmt.Errorf("%w: step row %d", errHistory, i)
		}
		p = p[k1+k2+k3:]
		seq, epoch, step = seq+int64(ds), epoch+int(de), step+dg
		c.Seq[i], c.Epoch[i], c.GlobalStep[i] = seq, epoch, step
		c.Loss[i] = math.Float64frombits(binary.LittleEndian.Uint64(p))
		p = p[8:]
	}
	var tail historyTail
	if err := json.Unmarshal(p, &tail); err != nil {
		return fmt.Errorf("%w: %v", errHistory, err)
	}
	msgs := make([]Message, 0, len(tail.Messages))
	for i, r := range tail.Messages {
		m, err := Decode(r)
		if err != nil {
			return fmt.Errorf("metrics: history message %d: %w", i, err)
		}
		msgs = append(msgs, m)
	}
	*h = History{HistoryHead: tail.HistoryHead, Messages: msgs, Deferred: tail.Deferred, Steps: c}
	return nil
}
