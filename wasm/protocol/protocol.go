// Package protocol is the one home of the messages between the
// dashboard's page and its workers, as shared/metrics is of the server's.
// Three parties speak it, each named for its job:
//
//   - the page: wasm/app (Go), which posts Requests and reads Replies;
//   - the pool: static/worker.js, the page's one Web Worker, which keeps
//     the weights (download and browser cache), queues the photos and
//     hands them to the classifiers, and keeps the taught head
//     (static/taught.js);
//   - the classifiers: static/infer.js Web Workers, each running
//     worker.wasm (wasm/worker, Go over shared/classify), which compute
//     what the pool asks and make the Result and WeightsInfo that reach
//     the page.
//
// A message is a JavaScript object whose "type" names it (the Type*
// constants). The Go types here marshal to exactly those objects as
// JSON; what JSON cannot carry (a photo's File, a heatmap's bytes) is set
// on the object after (see Job). TestScriptsSpeakTheProtocol checks the
// JavaScript side against these constants.
package protocol

// Requests: the page → the pool.
const (
	TypeHello        = "hello"        // Hello
	TypeClassify     = "classify"     // Classify
	TypeBench        = "bench"        // Bench (and the pool's reply)
	TypeFeatures     = "features"     // Features
	TypeTeachSet     = "teachSet"     // TeachSet
	TypeTeach        = "teach"        // Teach
	TypeUseHead      = "useHead"      // UseHead
	TypeExportTaught = "exportTaught" // ExportTaught
	TypeForgetTeach  = "forgetTeach"  // ForgetTeach
	TypeModule       = "module"       // the compiled worker.wasm (index.html's, not Go's)
)

// Replies: the pool → the page. The classifier panel's are Reply, the
// Teach panel's TeachReply (IsTeachReply), a taught weights file's
// TypeTeachExport (with bytes, never batched), and TypeBatch carries
// several as JSON.
const (
	TypeReady   = "ready"   // the classifiers can start
	TypeFatal   = "fatal"   // they could not
	TypeWeights = "weights" // the weights' State: WeightsLoading, WeightsReady, WeightsError
	TypeQueued  = "queued"  // the photos' thumbnail URLs
	TypeStart   = "start"   // a photo's classification started
	TypeResult  = "result"  // a photo's Result, or its error
	TypeBatch   = "batch"   // {type, json: [replies…], heat: [id, [PNG…], …]}

	TypeTeachState    = "teachState"    // what the browser kept: classes, photos, head
	TypeTeachQueued   = "teachQueued"   // taught photos' thumbnail URLs
	TypeTeachPhoto    = "teachPhoto"    // a taught photo's features are ready, or its error
	TypeTeachStale    = "teachStale"    // kept features of another architecture were dropped
	TypeTeachProgress = "teachProgress" // the fit's progress
	TypeTaught        = "taught"        // the fit's report, or its error
	TypeTeachHead     = "teachHead"     // which head classifies now
	TypeTeachExport   = "teachExport"   // the taught weights file (bytes), or its error
)

// The weights' states in a TypeWeights reply.
const (
	WeightsLoading = "loading"
	WeightsReady   = "ready"
	WeightsError   = "error"
)

// PageRequests are the types the page posts to the pool; PageReplies
// the types the pool posts to the page.
var (
	PageRequests = []string{TypeHello, TypeClassify, TypeBench, TypeFeatures, TypeTeachSet, TypeTeach, TypeUseHead, TypeExportTaught, TypeForgetTeach}
	PageReplies  = []string{TypeReady, TypeFatal, TypeWeights, TypeQueued, TypeStart, TypeResult, TypeBatch, TypeBench,
		TypeTeachState, TypeTeachQueued, TypeTeachPhoto, TypeTeachStale, TypeTeachProgress, TypeTaught, TypeTeachHead, TypeTeachExport}
)

// Hello tells the pool that the page listens now: the pool says its
// state again (the page may have created it before its code ran) and,
// with Batch, sends its replies in batches from now on.
type Hello struct {
	Type  string `json:"type"` // TypeHello
	Batch bool   `json:"batch"`
}

// WeightsRef names the weights a request needs: the run's (Run, "" when
// unknown; with Version it names the cached weights, and another run
// reloads them), the export the page knows of (Version: reload when
// newer; 0 for any), and their URL relative to the pool's script
// (Weights: default "weights", the server's default run; e.g.
// api/runs/NAME/weights).
type WeightsRef struct {
	Version float64 `json:"version"`
	Run     string  `json:"run"`
	Weights string  `json:"weights"`
}

// Job is one photo to classify or to compute the features of. Its File
// (a File or Blob) is set on the object as "file" after the JSON.
type Job struct {
	ID  int64 `json:"id"`
	TTA bool  `json:"tta,omitempty"` // average with the mirror (Classify)
}

// Classify asks for the Jobs' classification; with Thumbs, the pool makes
// their thumbnails' object URLs (which cost the page's thread a few ms
// each) and replies TypeQueued first.
type Classify struct {
	Type   string `json:"type"` // TypeClassify
	Jobs   []Job  `json:"jobs"`
	Thumbs bool   `json:"thumbs"`
	WeightsRef
}

// Bench times N forward passes and N Grad-CAMs of the last photo
// classified (BenchmarkBrowserGradCAM); the pool replies
// {type: "bench", id, forwardMs, camMs} or {type: "bench", id, error}.
type Bench struct {
	Type string `json:"type"` // TypeBench
	ID   int64  `json:"id"`
	N    int    `json:"n"`
}

// Features asks for the teaching features of the Jobs (photos dropped
// into a Teach class); with Thumbs, the pool replies TypeTeachQueued first.
type Features struct {
	Type   string `json:"type"` // TypeFeatures
	Jobs   []Job  `json:"jobs"`
	Thumbs bool   `json:"thumbs"`
	WeightsRef
}

// PhotoRef is a taught photo: its ID, its class (Label), its file's Name;
// in a TypeTeachState, Stale says why its kept features were forgotten
// (another architecture's).
type PhotoRef struct {
	ID    int64  `json:"id"`
	Label int    `json:"label"`
	Name  string `json:"name,omitempty"`
	Stale string `json:"stale,omitempty"`
}

// TeachSet sends the Teach panel's classes and usable photos, which the
// pool keeps in the browser across reloads; Removed are photos whose
// features it may forget.
type TeachSet struct {
	Type    string     `json:"type"` // TypeTeachSet
	Classes []string   `json:"classes"`
	Photos  []PhotoRef `json:"photos"`
	Removed []int64    `json:"removed"`
	WeightsRef
}

// Teach asks for a head taught on Photos, labelled into Classes, its
// cross-validation's folds seeded with Seed.
type Teach struct {
	Type    string     `json:"type"` // TypeTeach
	Seed    uint64     `json:"seed"`
	Classes []string   `json:"classes"`
	Photos  []PhotoRef `json:"photos"`
	WeightsRef
}

// UseHead has the classifiers use the taught head (On) or the weights'
// own.
type UseHead struct {
	Type string `json:"type"` // TypeUseHead
	On   bool   `json:"on"`
	WeightsRef
}

// ExportTaught asks for the weights file with the taught head (a
// TypeTeachExport reply).
type ExportTaught struct {
	Type string `json:"type"` // TypeExportTaught
	WeightsRef
}

// ForgetTeach deletes the taught head, the classes and the photos'
// features, in the pool and in the browser's storage.
type ForgetTeach struct {
	Type string `json:"type"` // TypeForgetTeach
	WeightsRef
}
