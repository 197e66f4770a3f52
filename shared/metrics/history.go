package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
)

// TypeHistory is the type of a History frame. History frames travel only
// on the dashboard's WebSocket; metrics.jsonl never holds one.
const TypeHistory = "history"

// History carries a stretch of a run's messages in one WebSocket frame, so
// that a page catches up on a long run at once instead of message by
// message: Messages holds every message of the stretch except the step
// messages, in seq order, and Steps the step messages as columns of the
// fields the dashboard plots, which decode much faster than as messages.
// The stretch's last step message is in Messages in full (its throughput
// and ETA are shown). Seq is the last seq the frame covers: a page that
// applied it asks for the messages after it when it reconnects. More is
// set when another History frame follows before the live messages.
type History struct {
	Header
	More     bool        `json:"more,omitempty"`
	Messages []Message   `json:"messages"`
	Steps    StepColumns `json:"steps"`
}

// StepColumns holds step messages column by column: entry i of each slice
// is one step message's field.
type StepColumns struct {
	Seq        []int64   `json:"seq"`
	Epoch      []int     `json:"epoch"`
	GlobalStep []int64   `json:"global_step"`
	Loss       []float64 `json:"loss"`
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

// MessageType implements Message.
func (History) MessageType() string { return TypeHistory }

// errNested is History's error for a History inside a History.
var errNested = errors.New("a history frame inside a history frame")

// UnmarshalJSON decodes a History, each of its messages with Decode. The
// step columns must have equal lengths.
func (h *History) UnmarshalJSON(data []byte) error {
	var raw struct {
		Header
		More     bool              `json:"more"`
		Messages []json.RawMessage `json:"messages"`
		Steps    StepColumns       `json:"steps"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	c := raw.Steps
	if n := len(c.Seq); len(c.Epoch) != n || len(c.GlobalStep) != n || len(c.Loss) != n {
		return fmt.Errorf("step columns of lengths %d, %d, %d and %d", len(c.Seq), len(c.Epoch), len(c.GlobalStep), len(c.Loss))
	}
	var msgs []Message
	if raw.Messages != nil {
		msgs = make([]Message, 0, len(raw.Messages))
	}
	for i, r := range raw.Messages {
		m, err := Decode(r)
		if err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
		if m.MessageType() == TypeHistory {
			return errNested
		}
		msgs = append(msgs, m)
	}
	*h = History{Header: raw.Header, More: raw.More, Messages: msgs, Steps: raw.Steps}
	return nil
}
