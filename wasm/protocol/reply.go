package protocol

// Result is a photo's classification as a classifier (wasm/worker)
// makes it; the pool adds the reply's type and the photo's id, and the
// page reads it in a Reply. The heatmaps' PNG bytes travel beside the
// JSON (see TypeBatch).
type Result struct {
	Probs    []float64 `json:"probs"`
	Classes  []string  `json:"classes"` // the head's (the taught one's when Taught)
	Best     int       `json:"best"`
	Label    string    `json:"label"`
	Ms       float64   `json:"ms"`
	TTA      bool      `json:"tta"`
	Resample string    `json:"resample"`
	Taught   bool      `json:"taught"` // the taught head answered
	// Temperature is the head's calibration temperature (1: none).
	Temperature float64 `json:"temperature,omitempty"`
	// HeatW×HeatH is the heatmaps' size (the photo's aspect); CamSide the
	// side the photo was classified at; HeatError why there are none.
	HeatW     int     `json:"heatW"`
	HeatH     int     `json:"heatH"`
	CamSide   int     `json:"camSide,omitempty"`
	HeatError string  `json:"heatError,omitempty"`
	TotalMs   float64 `json:"totalMs,omitempty"` // with the heatmaps
}

// WeightsInfo describes loaded weights: a classifier's load (wasm/worker)
// with the pool's additions (Cached, Workers, ReadMs, Warm).
type WeightsInfo struct {
	Config    string   `json:"config"`
	InputSize int      `json:"inputSize"`
	Params    float64  `json:"params"`
	Classes   []string `json:"classes,omitempty"`
	Dense     int      `json:"dense,omitempty"`
	Kernels   string   `json:"kernels,omitempty"`
	Bytes     float64  `json:"bytes"`
	BestEpoch int      `json:"bestEpoch"` // 0 when unknown
	ValAcc    float64  `json:"valAcc"`
	Variant   string   `json:"variant"` // fp32, fp16 or int8 ("" from older workers: fp32)
	Cached    bool     `json:"cached"`  // read from the browser's cache, not downloaded
	Workers   int      `json:"workers"` // classifiers in the pool
	ReadMs    float64  `json:"readMs"`  // reading the cached file (0 when downloaded)
	LoadMs    float64  `json:"ms"`      // Go's load: parse, expand, prepare the kernels
	Warm      bool     `json:"warm"`    // the classifiers' code has been warmed up
}

// Reply is one message of the pool to the page's classifier panel:
//
//	{type: "ready", ms}
//	{type: "fatal", message}
//	{type: "weights", state: "loading", loaded, total}
//	{type: "weights", state: "ready", info, version, downloadMs}
//	{type: "weights", state: "error", message}
//	{type: "queued", urls}  urls: by photo id, the object URLs the pool made
//	{type: "start", id}
//	{type: "result", id, …Result}  or  {type: "result", id, error}
type Reply struct {
	Type       string            `json:"type"`
	Message    string            `json:"message,omitempty"`
	State      string            `json:"state,omitempty"` // TypeWeights: one of the Weights* states
	Loaded     float64           `json:"loaded,omitempty"`
	Total      float64           `json:"total,omitempty"` // 0 when unknown
	Info       *WeightsInfo      `json:"info,omitempty"`
	Version    float64           `json:"version,omitempty"` // the export the weights are
	DownloadMs float64           `json:"downloadMs,omitempty"`
	ID         int               `json:"id,omitempty"`
	URLs       map[string]string `json:"urls,omitempty"`
	Error      string            `json:"error,omitempty"`
	Result
	// Heat are the heatmaps' object URLs, which the page makes from the
	// reply's PNGs (not JSON).
	Heat []string `json:"-"`
}

// KeptHead is the taught head the browser kept (TypeTeachState).
type KeptHead struct {
	Report string    `json:"report"`
	Losses []float64 `json:"losses"`
	Active bool      `json:"active"`
}

// TeachReply is one message of the pool to the page's Teach panel (the
// types IsTeachReply accepts; see static/taught.js).
type TeachReply struct {
	Type    string            `json:"type"`
	Classes []string          `json:"classes,omitempty"`
	Photos  []PhotoRef        `json:"photos,omitempty"`
	Head    *KeptHead         `json:"head,omitempty"`
	URLs    map[string]string `json:"urls,omitempty"`
	ID      int64             `json:"id,omitempty"`
	IDs     []int64           `json:"ids,omitempty"`
	Ms      float64           `json:"ms,omitempty"`
	Error   string            `json:"error,omitempty"`
	Message string            `json:"message,omitempty"`
	Stage   string            `json:"stage,omitempty"`
	Done    int               `json:"done,omitempty"`
	Total   int               `json:"total,omitempty"`
	Iter    int               `json:"iter,omitempty"`
	Loss    float64           `json:"loss,omitempty"`
	Report  string            `json:"report,omitempty"` // teach.Report as JSON
	Losses  []float64         `json:"losses,omitempty"`
	Has     bool              `json:"has,omitempty"`
	Active  bool              `json:"active,omitempty"`
}

// IsTeachReply reports whether a pool message of this type is for the
// Teach panel.
func IsTeachReply(typ string) bool {
	switch typ {
	case TypeTeachState, TypeTeachQueued, TypeTeachPhoto, TypeTeachStale, TypeTeachProgress, TypeTaught, TypeTeachHead:
		return true
	}
	return false
}
