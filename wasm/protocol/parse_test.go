package protocol

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestParseReply reads replies as the pool writes them.
func TestParseReply(t *testing.T) {
	for _, tc := range []struct {
		json string
		want Reply
	}{
		{`{"type":"ready","ms":812.5}`, Reply{Type: "ready", Ms: 812.5}},
		{`{"type":"fatal","message":"the classifier stopped"}`, Reply{Type: "fatal", Message: "the classifier stopped"}},
		{`{"type":"weights","state":"loading","loaded":1200000,"total":4900000}`,
			Reply{Type: "weights", State: "loading", Loaded: 1200000, Total: 4900000}},
		{`{"type":"weights","state":"ready","info":{"config":"small","inputSize":64,"params":1234567,"classes":["cat","dog"],` +
			`"bestEpoch":3,"valAcc":0.7123,"bytes":4938268,"ms":35.2,"readMs":4.5},"version":17,"downloadMs":250.5}`,
			Reply{Type: "weights", State: "ready", Version: 17, DownloadMs: 250.5, Info: &WeightsInfo{Classes: []string{"cat", "dog"},
				Config: "small", InputSize: 64, Params: 1234567, BestEpoch: 3, ValAcc: 0.7123, Bytes: 4938268, LoadMs: 35.2, ReadMs: 4.5}}},
		{`{"type":"weights","state":"error","message":"GET /weights: HTTP 500"}`,
			Reply{Type: "weights", State: "error", Message: "GET /weights: HTTP 500"}},
		{`{"type":"start","id":3}`, Reply{Type: "start", ID: 3}},
		{`{"type":"result","id":1,"probs":[0.12345679104328156,0.8765432238578796],"best":1,"label":"dog","classes":["cat","dog"],"ms":42.345}`,
			Reply{Type: "result", ID: 1, Probs: []float64{0.12345679104328156, 0.8765432238578796}, Best: 1, Label: "dog",
				Classes: []string{"cat", "dog"}, Ms: 42.345}},
		{`{"type":"result","id":2,"error":"image: unknown format"}`, Reply{Type: "result", ID: 2, Error: "image: unknown format"}},
	} {
		var got Reply
		err := json.Unmarshal([]byte(tc.json), &got)
		if err != nil {
			t.Errorf("%s: %v", tc.json, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.json, got, tc.want)
		}
	}
	for _, bad := range []string{``, `{"type":`, `{"type":"start","id":"x"}`} {
		if err := json.Unmarshal([]byte(bad), new(Reply)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestParseReplies reads a batch's JSON.
func TestParseReplies(t *testing.T) {
	for _, tc := range []struct {
		json string
		want []Reply
		ok   bool
	}{
		{`[{"type":"result","id":1,"probs":[0.25,0.75],"best":1,"label":"dog","heat":[{},{}]},{"type":"start","id":2}]`,
			[]Reply{{Type: "result", ID: 1, Probs: []float64{0.25, 0.75}, Best: 1, Label: "dog"}, {Type: "start", ID: 2}}, true},
		{`[]`, []Reply{}, true},
		{`{"type":"start","id":2}`, nil, false},
		{`[{"type":"start","id":"x"}]`, nil, false},
	} {
		var got []Reply
		err := json.Unmarshal([]byte(tc.json), &got)
		if (err == nil) != tc.ok {
			t.Errorf("%s: error %v", tc.json, err)
			continue
		}
		if tc.ok && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.json, got, tc.want)
		}
	}
}
