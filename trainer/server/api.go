package server

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/rundir"
)

// Files of a run under /api/runs/NAME/.
const (
	fileMetrics = rundir.MetricsFile // the messages, as metrics.jsonl lines
	fileEpochs  = "epochs.csv"       // one row per epoch
	fileWeights = "weights"          // model.safetensors
	fileConfig  = rundir.ConfigFile  // run.json
)

// serveRunList serves the run list (metrics.RunList) as JSON.
func (s *Server) serveRunList(w http.ResponseWriter, r *http.Request) {
	data, err := json.Marshal(s.runs.list())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(data)
}

// serveRunFile serves /api/runs/NAME/FILE: metrics.jsonl (every message
// the dashboard shows, one line each), epochs.csv, weights and run.json.
// The first two are downloads named after the run.
func (s *Server) serveRunFile(w http.ResponseWriter, r *http.Request) {
	run := s.runs.get(r.PathValue("name"))
	if run == nil {
		http.Error(w, "no run "+strconv.Quote(r.PathValue("name")), http.StatusNotFound)
		return
	}
	switch file := r.PathValue("file"); file {
	case fileMetrics:
		attachment(w, run.name+"-"+file, "application/x-ndjson")
		for _, line := range run.hub.History(0) {
			if _, err := w.Write(append(line[:len(line):len(line)], '\n')); err != nil {
				return
			}
		}
	case fileEpochs:
		attachment(w, run.name+"-"+file, "text/csv; charset=utf-8")
		writeEpochsCSV(w, run.hub.Epochs())
	case fileWeights:
		s.serveWeightsAt(w, r, run.weights(&s.opts))
	case fileConfig:
		s.serveFile(w, r, run.runInfo(&s.opts), "application/json", "no run.json for this run")
	default:
		http.NotFound(w, r)
	}
}

// serveRunMessage serves /api/runs/NAME/messages/SEQ: one message of the
// run, as its metrics.jsonl line (what a History frame defers).
func (s *Server) serveRunMessage(w http.ResponseWriter, r *http.Request) {
	run := s.runs.get(r.PathValue("name"))
	if run == nil {
		http.Error(w, "no run "+strconv.Quote(r.PathValue("name")), http.StatusNotFound)
		return
	}
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil || seq <= 0 {
		http.Error(w, "seq must be a sequence number ≥ 1", http.StatusBadRequest)
		return
	}
	line, ok := run.hub.Message(seq)
	if !ok {
		http.Error(w, "no message "+strconv.FormatInt(seq, 10), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(line)
}

// attachment sets the headers of a download named name.
func attachment(w http.ResponseWriter, name, ctype string) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="`+safeFilename(name)+`"`)
}

// safeFilename keeps the characters of name that need no quoting in a
// Content-Disposition header, replacing the others with '_'.
func safeFilename(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	return string(b)
}

// epochsCSVHeader is the header row of epochs.csv. Each following row is
// one epoch (the latest message for it), in epoch order; numbers have the
// fewest digits that read back as the same float64, and new_best is 1 for
// an epoch that improved on the best validation accuracy.
var epochsCSVHeader = []string{"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "val_log_loss", "lr", "seconds", "new_best"}

// writeEpochsCSV writes epochs as epochs.csv.
func writeEpochsCSV(w io.Writer, epochs []*metrics.Epoch) error {
	cw := csv.NewWriter(w)
	cw.Write(epochsCSVHeader)
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, e := range epochs {
		best := "0"
		if e.Best {
			best = "1"
		}
		cw.Write([]string{strconv.Itoa(e.Epoch), f(e.TrainLoss), f(e.TrainAcc), f(e.ValLoss), f(e.ValAcc), f(e.ValLogLoss), f(e.LR), f(e.Seconds), best})
	}
	cw.Flush()
	return cw.Error()
}
