package metrics

import (
	"reflect"
	"strings"
	"testing"

	"github.com/pawnet/pawnet/shared/explain"
)

// TestSchemaVersions checks that a schema-1 run still reads (its messages
// decode, its lines are ok) while a newer schema is refused, and that the
// schema-2 Filters message and Sample.Heat round-trip.
func TestSchemaVersions(t *testing.T) {
	old := `{"type":"misclassified","v":1,"seq":4,"t":1,"epoch":2,"samples":[{"png":"iVBO","path":"a.jpg","true":1,"p_dog":0.2,"index":3}]}`
	m, err := Decode([]byte(old))
	if err != nil {
		t.Fatalf("schema 1 message: %v", err)
	}
	if mis := m.(*Misclassified); mis.Samples[0].Heat != "" || mis.Epoch != 2 {
		t.Errorf("schema 1 misclassified: %+v", mis)
	}
	var oks []bool
	if _, _, err := ReadLines(strings.NewReader(old+"\n"+strings.Replace(old, `"v":1`, `"v":3`, 1)+"\n"), func(_ Header, ok bool, _ []byte) { oks = append(oks, ok) }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(oks, []bool{true, false}) {
		t.Errorf("ReadLines ok flags %v for schema 1 and 3, want [true false]", oks)
	}
	if _, err := Decode([]byte(strings.Replace(old, `"v":1`, `"v":3`, 1))); err == nil || !strings.Contains(err.Error(), "1 to 2") {
		t.Errorf("schema 3: %v", err)
	}
	for _, msg := range []Message{
		&Filters{Epoch: 3, PNG: "iVBORw0KGgo=", Grid: explain.Grid{Count: 24, Cols: 6, Rows: 4, Tile: 11, Gap: 1}, Norm: explain.FilterNorm},
		&Misclassified{Epoch: 1, Samples: []Sample{{PNG: "a", Path: "p", True: 0, PDog: 0.9, Index: 1, Heat: "h"}}},
	} {
		Stamp(msg, 7, 100)
		b, err := Encode(msg)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, msg) {
			t.Errorf("round trip: %+v, want %+v", back, msg)
		}
		if header(back).V != Version {
			t.Errorf("stamped version %d, want %d", header(back).V, Version)
		}
	}
}
