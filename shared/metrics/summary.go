package metrics

// Run statuses of a RunSummary, besides StatusFinished, StatusStopped and
// StatusFailed (a run_end's status).
const (
	// StatusWaiting: no run_start yet.
	StatusWaiting = "waiting"
	// StatusRunning: started, not ended, and still being written.
	StatusRunning = "running"
	// StatusInterrupted: started and never ended, and its metrics.jsonl
	// is no longer written (the process was killed or crashed).
	StatusInterrupted = "interrupted"
)

// RunSummary is one run of the dashboard's run list (GET /api/runs): what
// its messages say about it, as Apply folds them.
type RunSummary struct {
	// Name is the run's key: its folder's name under the runs folder.
	Name  string `json:"name"`
	RunID string `json:"run_id,omitempty"`
	// Model is the model config's name ("small", "full") and InputSize
	// its input side in pixels.
	Model     string `json:"model,omitempty"`
	InputSize int    `json:"input_size,omitempty"`
	Backend   string `json:"backend,omitempty"`
	// Status is StatusWaiting, StatusRunning, a run_end's status, or
	// StatusInterrupted (set by the server, which sees the file).
	Status string `json:"status"`
	// Epochs is the number of the last finished epoch, of TotalEpochs.
	Epochs      int `json:"epochs"`
	TotalEpochs int `json:"total_epochs"`
	// BestEpoch is the epoch of the best validation accuracy so far (0
	// before the first), with that epoch's accuracy and log loss.
	BestEpoch      int     `json:"best_epoch"`
	BestValAcc     float64 `json:"best_val_acc"`
	BestValLogLoss float64 `json:"best_val_log_loss"`
	// Started is the run_start's time and Updated the last message's
	// (Unix ms, 0 when unknown).
	Started int64 `json:"started"`
	Updated int64 `json:"updated"`
	// LastSeq is the seq of the last message, Messages how many there are.
	LastSeq  int64 `json:"last_seq"`
	Messages int   `json:"messages"`
	// Live is set for the run that the serving process trains.
	Live bool `json:"live,omitempty"`
	// Warning says what was wrong with the run's files (unreadable,
	// truncated or out-of-order lines, no metrics.jsonl), "" when nothing.
	Warning string `json:"warning,omitempty"`

	logLoss map[int]float64 // val log loss by epoch, for the best one's
}

// Apply folds one message (in seq order) into the summary.
func (s *RunSummary) Apply(m Message) {
	h := header(m)
	if h == nil {
		return
	}
	s.LastSeq, s.Updated = h.Seq, max(s.Updated, h.Time)
	s.Messages++
	if s.Status == "" {
		s.Status = StatusWaiting
	}
	switch v := m.(type) {
	case *RunStart:
		s.RunID, s.Model, s.InputSize, s.Backend = v.RunID, v.Model.Name, v.Model.InputSize, v.Backend
		s.TotalEpochs, s.Status = v.Epochs, StatusRunning
		if s.Started == 0 || !v.Resumed {
			s.Started = v.Time
		}
	case *Epoch:
		s.Epochs, s.TotalEpochs = max(s.Epochs, v.Epoch), max(s.TotalEpochs, v.Epochs)
		if s.logLoss == nil {
			s.logLoss = map[int]float64{}
		}
		s.logLoss[v.Epoch] = v.ValLogLoss
		s.best(v.BestEpoch, v.BestValAcc)
	case *RunEnd:
		s.Status = v.Status
		s.best(v.BestEpoch, v.BestValAcc)
	}
}

func (s *RunSummary) best(epoch int, acc float64) {
	if epoch <= 0 {
		return
	}
	s.BestEpoch, s.BestValAcc = epoch, acc
	s.BestValLogLoss = s.logLoss[epoch]
}

// RunList is the body of GET /api/runs.
type RunList struct {
	Runs []RunSummary `json:"runs"`
	// Default is the run a page shows when its URL names none: the run
	// the server trains, else the most recently started one.
	Default string `json:"default"`
}
