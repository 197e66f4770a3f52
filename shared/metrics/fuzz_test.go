package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"slices"
	"testing"
	"testing/iotest"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/preprocess"
)

// seedMessages returns one stamped message of every type.
func seedMessages() []Message {
	msgs := []Message{
		&RunStart{RunID: "r1", Model: alexnet.Small(), Batch: 32, LR: 1e-3, Epochs: 60, TrainSize: 1440, ValSize: 360,
			Classes: []string{"cat", "dog"}, Backend: "go", Device: "go: 2 cores", BackendReason: "no GPU",
			Stats: preprocess.Stats{Mean: [3]float64{0.5, 0.4, 0.3}, Std: [3]float64{0.2, 0.2, 0.2}, Size: 64}, StartEpoch: 1},
		&Step{Epoch: 1, Step: 7, StepsPerEpoch: 45, GlobalStep: 7, Loss: 0.69, ImagesPerSec: 300, ElapsedSec: 2, ETASec: 10, InputWait: 0.5, InputBound: true},
		&Epoch{Epoch: 1, Epochs: 3, TrainLoss: 0.6, TrainAcc: 0.6, ValLoss: 0.55, ValAcc: 0.7, ValLogLoss: 0.56, LR: 1e-4, Seconds: 12, Best: true, BestEpoch: 1, BestValAcc: 0.7},
		&Confusion{Epoch: 1, Classes: []string{"cat", "dog"}, Matrix: [][]int{{150, 30}, {40, 140}}},
		&Misclassified{Epoch: 1, Samples: []Sample{{PNG: "iVBORw0KGgo=", Path: "cat/cat.1.jpg", True: 0, PDog: 0.9, Index: 3}}},
		&Checkpoint{Epoch: 1, Kind: "export", Path: "runs/r1/model.safetensors", Bytes: 123},
		&RunEnd{Status: StatusFailed, Error: "boom", Epochs: 1, BestEpoch: 1, BestValAcc: 0.7, Weights: "model.safetensors"},
	}
	for i, m := range msgs {
		Stamp(m, int64(i+1), 1700000000000+int64(i))
	}
	return msgs
}

// seedLines returns the seed messages as metrics.jsonl text.
func seedLines(f *testing.F) []byte {
	var b bytes.Buffer
	for _, m := range seedMessages() {
		data, err := Encode(m)
		if err != nil {
			f.Fatal(err)
		}
		b.Write(data)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// FuzzDecode checks that Decode either fails or returns a message of the
// type its "type" field names, with the schema version, that round-trips:
// Encode then Decode gives an equal message and the same encoding again.
func FuzzDecode(f *testing.F) {
	for _, line := range bytes.Split(seedLines(f), []byte("\n")) {
		f.Add(line)
	}
	for _, s := range []string{
		`{`, `{"type":"step","v":99}`, `{"type":"nope","v":1}`, `null`, `[]`, `{"type":"step","v":1,"seq":"x"}`,
		`{"TYPE":"epoch","V":1,"seq":2,"epoch":3,"Epoch":4}`, `{"type":"confusion","v":1,"matrix":[[1,2],null,[]],"classes":null}`,
		`{"type":"run_start","v":1,"model":{"channels":[1,2,3,4,5,6]}}`, `{"type":"misclassified","v":1,"samples":[{"png":"\u00ff\ud800"}]}`,
		`{"type":"step","v":1,"loss":-0,"eta_sec":1e308,"elapsed_sec":1e-400}`, `{"type":"run_end","v":1,"error":"\xff\xfe"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			if m != nil {
				t.Fatalf("Decode returned %#v with error %v", m, err)
			}
			return
		}
		h := header(m)
		if h == nil {
			t.Fatalf("Decode returned %T, not one of the package's message types", m)
		}
		if h.Type != m.MessageType() || !readable(h.V) {
			t.Fatalf("decoded header %+v for a %T", *h, m)
		}
		enc, err := Encode(m)
		if err != nil {
			t.Fatalf("Encode of a decoded message: %v", err)
		}
		back, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode of the re-encoded message %s: %v", enc, err)
		}
		if !reflect.DeepEqual(back, m) {
			t.Fatalf("Decode→Encode→Decode changed the message:\n%#v\n%#v", m, back)
		}
		enc2, err := Encode(back)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encodings differ:\n%s\n%s", enc, enc2)
		}
	})
}

// readCall is one call of ReadLines' fn.
type readCall struct {
	h    Header
	ok   bool
	line string
}

func readAll(r io.Reader) ([]readCall, int64, bool, error) {
	var calls []readCall
	end, partial, err := ReadLines(r, func(h Header, ok bool, line []byte) {
		calls = append(calls, readCall{h, ok, string(line)})
	})
	return calls, end, partial, err
}

// FuzzReadLines checks ReadLines against a line splitter: the offset is
// within the input, just after a newline (or 0), with no newline after it;
// fn sees exactly the non-blank trimmed lines before it; partial reports
// a non-blank tail; ok agrees with the header and with Decode. Reading the
// same bytes one at a time gives the same result, and a read error after k
// bytes is returned with an offset ≤ k and a prefix of the lines.
func FuzzReadLines(f *testing.F) {
	lines := seedLines(f)
	f.Add(lines)
	f.Add(lines[:len(lines)-7]) // a killed writer's partial last line
	f.Add([]byte("\n\n  \r\n\t{\"type\":\"step\",\"v\":1,\"seq\":3}\r\n{\"type\":\"step\",\"v\":2,\"seq\":4}\nnot json\n{\"type\":\"\",\"v\":1,\"seq\":5}\n{\"type\":\"x\",\"v\":1,\"seq\":0}\n  "))
	f.Add([]byte("\xc2\x85{\"type\":\"step\",\"v\":1,\"seq\":1}\xc2\xa0\n\xc2\x85"))
	f.Add([]byte{})
	f.Add([]byte("{\"type\":\"step\""))
	f.Fuzz(func(t *testing.T, data []byte) {
		calls, end, partial, err := readAll(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("error reading from memory: %v", err)
		}
		if end < 0 || end > int64(len(data)) {
			t.Fatalf("end %d outside [0, %d]", end, len(data))
		}
		if end > 0 && data[end-1] != '\n' {
			t.Fatalf("end %d is not just after a newline", end)
		}
		tail := data[end:]
		if bytes.IndexByte(tail, '\n') >= 0 {
			t.Fatalf("end %d leaves a complete line behind: %q", end, tail)
		}
		if want := len(bytes.TrimSpace(tail)) > 0; partial != want {
			t.Fatalf("partial = %v for the tail %q", partial, tail)
		}
		var want []string
		for _, l := range bytes.SplitAfter(data[:end], []byte("\n")) {
			if l = bytes.TrimSpace(l); len(l) > 0 {
				want = append(want, string(l))
			}
		}
		if len(calls) != len(want) {
			t.Fatalf("%d lines passed to fn, want %d", len(calls), len(want))
		}
		for i, c := range calls {
			if c.line != want[i] {
				t.Fatalf("line %d = %q, want %q", i, c.line, want[i])
			}
			if c.ok && (!readable(c.h.V) || c.h.Seq <= 0 || c.h.Type == "" || !json.Valid([]byte(c.line))) {
				t.Fatalf("line %d %q: ok with header %+v", i, c.line, c.h)
			}
			if m, err := Decode([]byte(c.line)); err == nil && Seq(m) > 0 && !c.ok {
				t.Fatalf("line %d %q decodes as a %s with seq %d but is not ok", i, c.line, m.MessageType(), Seq(m))
			}
		}

		// Reading in one-byte pieces changes nothing.
		calls1, end1, partial1, err := readAll(iotest.OneByteReader(bytes.NewReader(data)))
		if err != nil || end1 != end || partial1 != partial || !slices.Equal(calls1, calls) {
			t.Fatalf("one byte at a time: end %d partial %v err %v, %d lines; want end %d partial %v, %d lines",
				end1, partial1, err, len(calls1), end, partial, len(calls))
		}

		// A read error after k bytes is returned, with what came before it.
		k := len(data) / 2
		boom := errors.New("boom")
		callsK, endK, partialK, err := readAll(io.MultiReader(bytes.NewReader(data[:k]), iotest.ErrReader(boom)))
		if !errors.Is(err, boom) {
			t.Fatalf("read error after %d bytes: got err %v", k, err)
		}
		if endK > int64(k) || (endK > 0 && data[endK-1] != '\n') || partialK {
			t.Fatalf("read error after %d bytes: end %d partial %v", k, endK, partialK)
		}
		if len(callsK) > len(calls) || !slices.Equal(callsK, calls[:len(callsK)]) {
			t.Fatalf("read error after %d bytes: the %d lines read are not a prefix of the %d lines", k, len(callsK), len(calls))
		}
	})
}
