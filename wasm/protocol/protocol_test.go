package protocol

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestRoundTrip marshals each request and reply as the page or a
// classifier does and reads it back as the other side does: the same
// value, and a "type" first-class in the JSON.
func TestRoundTrip(t *testing.T) {
	ref := WeightsRef{Version: 17, Run: "demo-1", Weights: "api/runs/demo-1/weights"}
	photos := []PhotoRef{{ID: 1_733_000_000_000_001, Label: 0, Name: "tabby.jpg"}, {ID: 7, Label: 2, Stale: "another architecture's"}}
	for _, tc := range []struct {
		typ string
		msg any
	}{
		{TypeHello, &Hello{Type: TypeHello, Batch: true}},
		{TypeClassify, &Classify{Type: TypeClassify, Jobs: []Job{{ID: 1, TTA: true}, {ID: 2}}, Thumbs: true, WeightsRef: ref}},
		{TypeBench, &Bench{Type: TypeBench, ID: 3, N: 20}},
		{TypeFeatures, &Features{Type: TypeFeatures, Jobs: []Job{{ID: 1_733_000_000_000_001}}, Thumbs: true, WeightsRef: ref}},
		{TypeTeachSet, &TeachSet{Type: TypeTeachSet, Classes: []string{"cat", "dog", "toy blocks"}, Photos: photos, Removed: []int64{9}, WeightsRef: ref}},
		{TypeTeach, &Teach{Type: TypeTeach, Seed: 1, Classes: []string{"cat", "dog"}, Photos: photos, WeightsRef: ref}},
		{TypeUseHead, &UseHead{Type: TypeUseHead, On: true, WeightsRef: ref}},
		{TypeExportTaught, &ExportTaught{Type: TypeExportTaught, WeightsRef: ref}},
		{TypeForgetTeach, &ForgetTeach{Type: TypeForgetTeach}},
		{TypeResult, &Reply{Type: TypeResult, ID: 4, Result: Result{Probs: []float64{0.125, 0.875}, Classes: []string{"cat", "dog"}, Best: 1, Label: "dog",
			Ms: 42.5, TTA: true, Resample: "bilinear", Taught: true, Temperature: 1.25, HeatW: 64, HeatH: 48, CamSide: 227, TotalMs: 50}}},
		{TypeResult, &Reply{Type: TypeResult, ID: 5, Error: "imageio: the file is corrupt"}},
		{TypeWeights, &Reply{Type: TypeWeights, State: WeightsReady, Version: 17, DownloadMs: 250, Info: &WeightsInfo{Config: "small", InputSize: 64,
			Params: 1_234_567, Classes: []string{"cat", "dog"}, Dense: 512, Kernels: "simd", Bytes: 4_938_268, BestEpoch: 3, ValAcc: 0.71,
			Variant: "int8", Cached: true, Workers: 2, ReadMs: 4.5, LoadMs: 35, Warm: true}}},
		{TypeQueued, &Reply{Type: TypeQueued, URLs: map[string]string{"1": "blob:x"}}},
		{TypeTeachState, &TeachReply{Type: TypeTeachState, Classes: []string{"tabby", "rex"}, Photos: photos, Head: &KeptHead{Report: "{}", Losses: []float64{0.7, 0.2}, Active: true}}},
		{TypeTeachProgress, &TeachReply{Type: TypeTeachProgress, Stage: "final", Done: 15, Total: 16, Iter: 3, Loss: 0.3}},
		{TypeTeachStale, &TeachReply{Type: TypeTeachStale, IDs: []int64{7}, Message: "another architecture's"}},
		{TypeTeachHead, &TeachReply{Type: TypeTeachHead, Has: true, Active: true, Classes: []string{"cat", "dog"}, Report: "{}"}},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			data, err := json.Marshal(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			var head struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal(data, &head); err != nil || head.Type != tc.typ {
				t.Fatalf("%s: type %q (%v), want %q", data, head.Type, err, tc.typ)
			}
			back := reflect.New(reflect.TypeOf(tc.msg).Elem())
			if err := json.Unmarshal(data, back.Interface()); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back.Interface(), tc.msg) {
				t.Errorf("round trip of %s:\n got %+v\nwant %+v", data, back.Elem(), reflect.ValueOf(tc.msg).Elem())
			}
		})
	}
}

// TestJobsCarryFiles checks the shape the page's post relies on: a
// request's jobs are an array whose i-th object gets the i-th File.
func TestJobsCarryFiles(t *testing.T) {
	for _, msg := range []any{
		Classify{Type: TypeClassify, Jobs: []Job{{ID: 1}, {ID: 2, TTA: true}}},
		Features{Type: TypeFeatures, Jobs: []Job{{ID: 1}, {ID: 2}}},
	} {
		data, _ := json.Marshal(msg)
		var obj struct {
			Jobs []map[string]any `json:"jobs"`
		}
		if err := json.Unmarshal(data, &obj); err != nil || len(obj.Jobs) != 2 || obj.Jobs[1]["id"] != 2.0 {
			t.Errorf("%s: jobs %v, %v", data, obj.Jobs, err)
		}
	}
}

// poolScripts is the pool's JavaScript, with its comments removed.
func poolScripts(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, f := range []string{"../../static/worker.js", "../../static/taught.js"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(line), "//") {
				b.WriteString(line + "\n")
			}
		}
	}
	return b.String()
}

// TestScriptsSpeakTheProtocol reads the pool's scripts: every request the
// page may post is handled there, and the messages the pool posts to the
// page (not those to its classifiers) are exactly PageReplies.
func TestScriptsSpeakTheProtocol(t *testing.T) {
	js := poolScripts(t)
	for _, typ := range PageRequests {
		if !strings.Contains(js, `msg.type === "`+typ+`"`) && !strings.Contains(js, `msg.type !== "`+typ+`"`) && !strings.Contains(js, `case "`+typ+`":`) {
			t.Errorf("the pool does not handle the page's %q", typ)
		}
	}
	literal := regexp.MustCompile(`type:\s*"(\w+)"`)
	toClassifier := regexp.MustCompile(`(worker\.postMessage|onWorkerMessage\(p,)\(?\s*\{\s*$`)
	posted := map[string]bool{}
	for _, m := range literal.FindAllStringSubmatchIndex(js, -1) {
		before := js[max(0, m[0]-60):m[0]]
		if toClassifier.MatchString(before) {
			continue
		}
		posted[js[m[2]:m[3]]] = true
	}
	var got []string
	for typ := range posted {
		got = append(got, typ)
	}
	sort.Strings(got)
	want := slices.Clone(PageReplies)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("the pool posts to the page %q;\nwasm/protocol's PageReplies are %q", got, want)
	}
}

// TestIsTeachReply: the Teach panel's replies, and not the taught file
// (handled on its own, never batched) nor the classifier panel's.
func TestIsTeachReply(t *testing.T) {
	teach := []string{TypeTeachState, TypeTeachQueued, TypeTeachPhoto, TypeTeachStale, TypeTeachProgress, TypeTaught, TypeTeachHead}
	for _, typ := range PageReplies {
		if got := IsTeachReply(typ); got != slices.Contains(teach, typ) {
			t.Errorf("IsTeachReply(%q) = %v", typ, got)
		}
	}
}
