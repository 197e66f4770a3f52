package alexnet

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func TestTemperedProbabilities(t *testing.T) {
	logits := []float32{2, -1, 0.5}
	for _, tc := range []struct {
		t    float64
		want []float32 // softmax of logits/t
	}{
		{0, Probabilities(logits)},
		{1, Probabilities(logits)},
		{2, Probabilities([]float32{1, -0.5, 0.25})},
		{0.5, Probabilities([]float32{4, -2, 1})},
	} {
		got := TemperedProbabilities(logits, tc.t)
		for i := range got {
			if math.Abs(float64(got[i]-tc.want[i])) > 1e-7 {
				t.Errorf("T %v: P %v, want %v", tc.t, got, tc.want)
				break
			}
		}
		if Argmax(got) != 0 {
			t.Errorf("T %v changed the arg-max: %v", tc.t, got)
		}
	}
}

// TestTemperatureMetadata checks that a bad temperature is refused on save
// and on load, and that none recorded reads as 0.
func TestTemperatureMetadata(t *testing.T) {
	cfg := Small()
	params := InitParams(cfg, 3)
	for _, bad := range []float64{-1, math.NaN(), math.Inf(1)} {
		meta := testMeta
		meta.Temperature = bad
		if err := Save(&bytes.Buffer{}, cfg, params, meta); err == nil {
			t.Errorf("Save with temperature %v succeeded", bad)
		}
	}
	meta := testMeta
	meta.Temperature = 0
	var buf bytes.Buffer
	if err := Save(&buf, cfg, params, meta); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte(MetaTemperature)) {
		t.Error("a zero temperature was written")
	}
	m, err := Load(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if m.Metadata().Temperature != 0 {
		t.Errorf("temperature %v read from a file without one", m.Metadata().Temperature)
	}
	// The same length, so the header stays consistent: "1.375" → "-1.37".
	meta.Temperature = 1.375
	buf.Reset()
	if err := Save(&buf, cfg, params, meta); err != nil {
		t.Fatal(err)
	}
	damaged := bytes.Replace(buf.Bytes(), []byte(`"1.375"`), []byte(`"-1.37"`), 1)
	if bytes.Equal(damaged, buf.Bytes()) {
		t.Fatal("temperature not found in the header")
	}
	if _, err := Load(damaged); err == nil || !strings.Contains(err.Error(), MetaTemperature) {
		t.Errorf("Load of a negative temperature: %v, want an error naming %s", err, MetaTemperature)
	}
}
