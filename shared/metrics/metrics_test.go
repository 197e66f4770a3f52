package metrics

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/preprocess"
)

func TestRoundTripEveryType(t *testing.T) {
	msgs := []Message{
		&RunStart{RunID: "r1", Model: alexnet.Small(), Batch: 32, LR: 1e-4, Epochs: 3, TrainSize: 1440, ValSize: 360,
			Classes: []string{"cat", "dog"}, Backend: "go", Device: "go: 2 cores", Stats: preprocess.Stats{Mean: [3]float64{0.5, 0.4, 0.3}, Std: [3]float64{0.2, 0.2, 0.2}, Size: 227}, StartEpoch: 1},
		&Step{Epoch: 1, Step: 7, StepsPerEpoch: 45, GlobalStep: 7, Loss: 0.69, ImagesPerSec: 300, ElapsedSec: 2, ETASec: 10, InputWait: 0.5, InputBound: true},
		&Epoch{Epoch: 1, Epochs: 3, TrainLoss: 0.6, TrainAcc: 0.6, ValLoss: 0.55, ValAcc: 0.7, ValLogLoss: 0.56, LR: 1e-4, Seconds: 12, Best: true, BestEpoch: 1, BestValAcc: 0.7},
		&Confusion{Epoch: 1, Classes: []string{"cat", "dog"}, Matrix: [][]int{{150, 30}, {40, 140}}},
		&Misclassified{Epoch: 1, Samples: []Sample{{PNG: "iVBORw0KGgo=", Path: "cat/cat.1.jpg", True: 0, PDog: 0.9, Index: 3}}},
		&Checkpoint{Epoch: 1, Kind: KindExport, Path: "runs/r1/model.safetensors", Bytes: 123},
		&RunEnd{Status: StatusFailed, Error: "boom", Epochs: 1, BestEpoch: 1, BestValAcc: 0.7},
	}
	for i, m := range msgs {
		t.Run(m.MessageType(), func(t *testing.T) {
			Stamp(m, int64(i+1), 1700000000000)
			data, err := Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, m) {
				t.Fatalf("round trip changed the message:\n%#v\n%#v", m, back)
			}
			if Seq(back) != int64(i+1) {
				t.Errorf("seq %d", Seq(back))
			}
			// DecodeAs with the header ReadLines parsed gives the same.
			if _, _, err := ReadLines(bytes.NewReader(append(data, '\n')), func(h Header, ok bool, line []byte) {
				as, err := DecodeAs(h, line)
				if !ok || err != nil || !reflect.DeepEqual(as, m) {
					t.Errorf("DecodeAs: ok %v, %v, %#v", ok, err, as)
				}
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, bad := range []string{`{`, `{"type":"step","v":99}`, `{"type":"nope","v":1}`} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%s) accepted", bad)
		}
	}
}
