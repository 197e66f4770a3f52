package alexnet

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
)

// fuzzMaxPad bounds the tensor bytes FuzzLoad appends: more than a Small
// model's 2.1 MB, so that whole valid files are in reach.
const fuzzMaxPad = 4 << 20

// fuzzPattern is the tensor data FuzzLoad appends: varied bit patterns
// (NaNs and infinities included), so that a float that changes on the way
// through Load and Save shows.
var fuzzPattern = func() []byte {
	b := make([]byte, fuzzMaxPad)
	for i := range b {
		b[i] = byte(i*131 + i>>9)
	}
	return b
}()

// addWeights adds a weights file to FuzzLoad's seeds, split into the
// length and header (the whole file when its header length runs past the
// end) and the number of tensor bytes that follow.
func addWeights(f *testing.F, data []byte) {
	if len(data) < 8 || binary.LittleEndian.Uint64(data) > uint64(len(data)-8) {
		f.Add(data, uint32(0))
		return
	}
	n := 8 + binary.LittleEndian.Uint64(data)
	f.Add(data[:n], uint32(uint64(len(data))-n))
}

// sameMeta compares metadata exactly, floats by their bits; no class names
// and an empty list are the same (Save writes both as []).
func sameMeta(a, b Metadata) bool {
	return a.Format == b.Format && bytes.Equal(a.Stats, b.Stats) && slices.Equal(a.Classes, b.Classes) &&
		a.BestEpoch == b.BestEpoch &&
		math.Float64bits(a.ValAcc) == math.Float64bits(b.ValAcc) &&
		math.Float64bits(a.ValLogLoss) == math.Float64bits(b.ValLogLoss)
}

// sameParams compares two parameter sets bit for bit.
func sameParams(a, b map[string][]float32) bool {
	if len(a) != len(b) {
		return false
	}
	for name, va := range a {
		vb, ok := b[name]
		if !ok || len(va) != len(vb) {
			return false
		}
		for i := range va {
			if math.Float32bits(va[i]) != math.Float32bits(vb[i]) {
				return false
			}
		}
	}
	return true
}

// FuzzLoad feeds Load a file made of head followed by pad bytes of tensor
// data (so that the fuzzer can reach whole files while mutating only the
// header). Load either fails with an "alexnet: " error and no model, or
// returns a model with exactly its configuration's tensors whose
// re-encoding with Save loads back to the same configuration, metadata
// and tensors (bit for bit), and saves again to the same bytes.
func FuzzLoad(f *testing.F) {
	params, good := savedSmall(f)
	addWeights(f, good)
	addWeights(f, writeRaw(smallRaw(params)))
	hlen := int(binary.LittleEndian.Uint64(good))
	for _, data := range [][]byte{
		nil, good[:5], good[:8], good[:8+hlen/2], good[:8+hlen], good[:len(good)-1],
		append(slices.Clone(good), 0, 0, 0, 0),
		[]byte("PK\x03\x04 this is a zip file, not weights"),
		editHeader(good, `"data_offsets":[34848,34944]`, `"data_offsets":[34852,34948]`),
		editHeader(good, `"data_offsets":[34848,34944]`, `"data_offsets":[-4,34944]`),
		editHeader(good, `"F32"`, `"F16"`),
		editHeader(good, `\"small\"`, `\"full\"`),
		editHeader(good, `"pawnet.best_epoch":"7"`, `"pawnet.best_epoch":"-7","pawnet.best_epoch":"8"`),
		editHeader(good, `"pawnet.val_acc":"0.8125"`, `"pawnet.val_acc":"NaN"`),
		editHeader(good, `"pawnet.val_logloss":"0.4142135623730951"`, `"pawnet.val_logloss":"-0x1p-1074"`),
		editHeader(good, `"pawnet.classes":"[\"cat\",\"dog\"]"`, `"pawnet.classes":"null"`),
		editHeader(good, `"pawnet.classes":"[\"cat\",\"dog\"]"`, `"pawnet.classes":"[\"\\u003c\\ud800\",\"\\\\\"]"`),
		editHeader(good, `"pawnet.stats":"{`, `"pawnet.stats":" \"x\" ","x":"{`),
	} {
		addWeights(f, data)
	}
	f.Fuzz(func(t *testing.T, head []byte, pad uint32) {
		pad %= fuzzMaxPad + 1
		data := append(slices.Clip(head), fuzzPattern[:pad]...)
		m, err := Load(data)
		if err != nil {
			if m != nil {
				t.Fatalf("a model came with the error %v", err)
			}
			if !strings.HasPrefix(err.Error(), "alexnet: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			return
		}
		cfg, meta, got := m.Config(), m.Metadata(), m.Params()
		// The JSON metadata values it read are each one well-formed value.
		var header struct {
			Meta map[string]string `json:"__metadata__"`
		}
		if err := json.Unmarshal(data[8:8+binary.LittleEndian.Uint64(data)], &header); err != nil {
			t.Fatalf("loaded a file whose header does not parse: %v", err)
		}
		for _, key := range []string{MetaConfig, MetaClasses, MetaStats} {
			if v, ok := header.Meta[key]; ok && !json.Valid([]byte(v)) {
				t.Fatalf("loaded a file whose %s is not valid JSON: %q", key, v)
			}
		}
		if err := checkParams(cfg, got); err != nil {
			t.Fatalf("loaded model: %v", err)
		}
		var again bytes.Buffer
		if err := Save(&again, cfg, got, meta); err != nil {
			t.Fatalf("Save of a loaded model: %v", err)
		}
		m2, err := Load(again.Bytes())
		if err != nil {
			t.Fatalf("Load of the re-encoded model: %v", err)
		}
		if m2.Config() != cfg {
			t.Fatalf("config %v after Save and Load, %v before", m2.Config(), cfg)
		}
		if !sameMeta(m2.Metadata(), meta) {
			t.Fatalf("metadata %+v after Save and Load, %+v before", m2.Metadata(), meta)
		}
		if !sameParams(m2.Params(), got) {
			t.Fatal("tensors changed through Save and Load")
		}
		var third bytes.Buffer
		if err := Save(&third, m2.Config(), m2.Params(), m2.Metadata()); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(third.Bytes(), again.Bytes()) {
			t.Fatal("Save(Load(Save(m))) differs from Save(m)")
		}
	})
}
