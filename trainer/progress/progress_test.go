package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// clock is a fake time that a test moves on.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// TestBarInALog counts 100 items, 1 s apart, into a buffer (not a
// terminal): a plain line every 5 s and a last one, no carriage return.
func TestBarInALog(t *testing.T) {
	var out bytes.Buffer
	c := &clock{t: time.Unix(1000, 0)}
	b := newBar(&out, 100, "predict", "photos", false, 5*time.Second, c.now)
	for range 12 {
		c.t = c.t.Add(time.Second)
		b.Add(1)
	}
	b.Finish()
	b.Finish() // a second Finish writes nothing
	got := out.String()
	want := "predict: 5/100 photos (1.0 photos/s, ETA 1m35s)\npredict: 10/100 photos (1.0 photos/s, ETA 1m30s)\npredict: 12/100 photos (1.0 photos/s, ETA 1m28s)\n"
	if got != want {
		t.Errorf("log:\n%s\nwant:\n%s", got, want)
	}
}

func TestLine(t *testing.T) {
	for _, tc := range []struct {
		name     string
		terminal bool
		want     string
	}{
		// A terminal redraws one line in place, blanking longer text.
		{"terminal", true, "\rfit 1/3 (cross-validation)\rfit 2/3 (cross-validation)\rfit 3/3, loss 0.5         \rfit 3/3, loss 0.4\n"},
		// A log gets the first status, one 5 s later, then the last one.
		{"log", false, "fit 1/3 (cross-validation)\nfit 3/3, loss 0.5\nfit 3/3, loss 0.4\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			c := &clock{t: time.Unix(1000, 0)}
			l := newLine(&out, tc.terminal, 5*time.Second, c.now)
			l.Printf("fit %d/3 (cross-validation)", 1)
			c.t = c.t.Add(2 * time.Second)
			l.Printf("fit %d/3 (cross-validation)", 2)
			c.t = c.t.Add(4 * time.Second)
			l.Printf("fit 3/3, loss %.1f", 0.5)
			c.t = c.t.Add(time.Second)
			l.Printf("fit 3/3, loss %.1f", 0.4)
			l.Done()
			if got := out.String(); got != tc.want {
				t.Errorf("wrote %q, want %q", got, tc.want)
			}
			if !tc.terminal && strings.Contains(out.String(), "\r") {
				t.Error("a carriage return in a log")
			}
		})
	}
}

func TestIsTerminal(t *testing.T) {
	if IsTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is a terminal")
	}
}
