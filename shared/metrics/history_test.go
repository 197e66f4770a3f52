package metrics

import (
	"bytes"
	"math"
	"reflect"
	"testing"

	"github.com/pawnet/pawnet/shared/alexnet"
)

func TestHistoryBinaryRoundTrip(t *testing.T) {
	msgs := seedMessages()
	tests := []struct {
		name string
		h    History
	}{
		{"empty", History{HistoryHead: HistoryHead{Seq: 7}}},
		{"messages only", History{HistoryHead: HistoryHead{Run: "r1", Seq: 7, More: true}, Messages: msgs}},
		{"steps, messages and deferred", History{
			HistoryHead: HistoryHead{Run: "demo", Seq: 40},
			Messages:    msgs[:2],
			Deferred:    []Deferred{{Seq: 30, Type: TypeMisclassified, Epoch: 3}},
			Steps: StepColumns{
				// A resumed run goes back in epoch and global step; seqs
				// jump; losses need all 64 bits.
				Seq:        []int64{8, 9, 20, 1 << 40},
				Epoch:      []int{1, 2, 1, 1},
				GlobalStep: []int64{45, 90, 46, 47},
				Loss:       []float64{0.6931471805599453, 1e-300, math.MaxFloat64, 0.1 + 0.2},
			},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := tc.h.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var back History
			if err := back.UnmarshalBinary(data); err != nil {
				t.Fatal(err)
			}
			want := tc.h
			if want.Messages == nil {
				want.Messages = []Message{}
			}
			if !reflect.DeepEqual(back, want) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", back, want)
			}
		})
	}
}

// The step rows take a few bytes each: a long run's history is small.
func TestHistoryRowSize(t *testing.T) {
	var h History
	for i := int64(1); i <= 1000; i++ {
		h.Steps.Add(i, int(i/100)+1, i*3, 0.5)
	}
	data, err := h.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(data); n > 1000*12+100 {
		t.Errorf("1000 step rows take %d bytes, want ≤ 12 each", n)
	}
}

func TestHistoryDecodeErrors(t *testing.T) {
	good, err := (&History{HistoryHead: HistoryHead{Seq: 2}, Steps: StepColumns{Seq: []int64{1}, Epoch: []int{1}, GlobalStep: []int64{1}, Loss: []float64{1}}}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"not a history frame": []byte(`{"type":"step","v":1}`),
		"empty":               nil,
		"no step count":       []byte(historyMagic),
		"too many steps":      append([]byte(historyMagic), 0xff, 0xff, 0x03),
		"cut in a row":        good[:len(historyMagic)+3],
		"no JSON":             good[:bytes.IndexByte(good, '{')],
		"a bad message":       append(append([]byte(nil), good[:bytes.IndexByte(good, '{')]...), `{"seq":2,"messages":[{"type":"nope","v":1}]}`...),
		"a zero seq step":     append([]byte(historyMagic), 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '{', '}'),
	} {
		var h History
		if err := h.UnmarshalBinary(data); err == nil {
			t.Errorf("%s: decoded %+v", name, h)
		}
	}
	e := NewHistoryEncoder(&bytes.Buffer{}, 1)
	if err := e.Finish(HistoryHead{}, nil, nil); err == nil {
		t.Error("Finish short of a step row: no error")
	}
	e = NewHistoryEncoder(&bytes.Buffer{}, 2)
	e.Step(5, 1, 1, 0)
	e.Step(5, 1, 2, 0)
	if err := e.Finish(HistoryHead{}, nil, nil); err == nil {
		t.Error("a seq that does not increase: no error")
	}
}

// FuzzHistoryDecode checks that UnmarshalBinary either fails or returns a
// History that encodes and decodes back to itself.
func FuzzHistoryDecode(f *testing.F) {
	for _, h := range []History{
		{},
		{HistoryHead: HistoryHead{Run: "r", Seq: 9, More: true}, Messages: seedMessages()[:3], Deferred: []Deferred{{Seq: 4, Type: TypeMisclassified, Epoch: 1}},
			Steps: StepColumns{Seq: []int64{5, 6}, Epoch: []int{1, 1}, GlobalStep: []int64{10, 9}, Loss: []float64{0.5, 0.25}}},
	} {
		data, err := h.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(historyMagic + "\x00{}"))
	f.Add([]byte(historyMagic + "\x01\x01\x7f\x01\x00\x00\x00\x00\x00\x00\xf8\x7f{\"seq\":1}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var h History
		if err := h.UnmarshalBinary(data); err != nil {
			return
		}
		if h.Steps.Len() != len(h.Steps.Seq) {
			t.Fatalf("columns of different lengths: %+v", h.Steps)
		}
		enc, err := h.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary of a decoded frame: %v", err)
		}
		var back History
		if err := back.UnmarshalBinary(enc); err != nil {
			t.Fatalf("decoding the re-encoded frame: %v", err)
		}
		// NaN losses are equal bit for bit, not by ==.
		for i := range h.Steps.Loss {
			if math.Float64bits(h.Steps.Loss[i]) != math.Float64bits(back.Steps.Loss[i]) {
				t.Fatalf("loss %d: %v became %v", i, h.Steps.Loss[i], back.Steps.Loss[i])
			}
		}
		h.Steps.Loss, back.Steps.Loss = nil, nil
		if !reflect.DeepEqual(back, h) {
			t.Fatalf("decode→encode→decode changed the frame:\n%#v\n%#v", h, back)
		}
	})
}

func TestRunSummaryApply(t *testing.T) {
	stamped := func(m Message, seq, ms int64) Message { Stamp(m, seq, ms); return m }
	var s RunSummary
	s.Apply(stamped(&RunStart{RunID: "r1", Model: alexnet.Small(), Backend: "go", Epochs: 5}, 1, 1000))
	s.Apply(stamped(&Step{Epoch: 1}, 2, 1100))
	s.Apply(stamped(&Epoch{Epoch: 1, Epochs: 5, ValAcc: 0.6, ValLogLoss: 0.7, BestEpoch: 1, BestValAcc: 0.6}, 3, 1200))
	s.Apply(stamped(&Epoch{Epoch: 2, Epochs: 5, ValAcc: 0.55, ValLogLoss: 0.65, BestEpoch: 1, BestValAcc: 0.6}, 4, 1300))
	want := RunSummary{RunID: "r1", Model: "small", InputSize: 64, Backend: "go", Status: StatusRunning, Epochs: 2, TotalEpochs: 5,
		BestEpoch: 1, BestValAcc: 0.6, BestValLogLoss: 0.7, Started: 1000, Updated: 1300, LastSeq: 4, Messages: 4}
	s.logLoss = nil
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("running:\n got %+v\nwant %+v", s, want)
	}
	s.Apply(stamped(&RunEnd{Status: StatusStopped, BestEpoch: 1, BestValAcc: 0.6}, 5, 1400))
	s.Apply(stamped(&RunStart{RunID: "r1", Epochs: 6, Resumed: true}, 6, 5000))
	if s.Status != StatusRunning || s.Started != 1000 || s.TotalEpochs != 6 {
		t.Errorf("resumed: %+v", s)
	}
	s.Apply(stamped(&Epoch{Epoch: 3, Epochs: 6, ValAcc: 0.8, ValLogLoss: 0.4, BestEpoch: 3, BestValAcc: 0.8}, 7, 5100))
	s.Apply(stamped(&RunEnd{Status: StatusFinished, BestEpoch: 3, BestValAcc: 0.8}, 8, 5200))
	if s.Status != StatusFinished || s.BestEpoch != 3 || s.BestValLogLoss != 0.4 || s.Epochs != 3 || s.Messages != 8 {
		t.Errorf("finished: %+v", s)
	}
}
