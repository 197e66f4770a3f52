// Package dash is the browser dashboard's model, free of any browser API so
// that it builds and tests on the host: State folds the metrics messages of
// a run (shared/metrics) into what the page shows and writes the page's
// text (header.go), chart.go lays out the SVG charts in float coordinates,
// confusion.go and conn.go describe the confusion matrix and the metrics
// connection, and format.go writes numbers for people. The classifier
// panel's model is the subpackage classifier. wasm/app holds only the Vugu
// components and the browser glue.
package dash

import (
	"cmp"
	"slices"
	"sort"

	"github.com/pawnet/pawnet/shared/metrics"
)

// Run statuses shown in the header, besides metrics.StatusFinished,
// StatusStopped, StatusFailed and StatusInterrupted.
const (
	StatusWaiting = metrics.StatusWaiting // no run_start yet
	StatusRunning = metrics.StatusRunning
)

// StepPoint is one point of the per-step smoothed training loss. Every
// step message gives one; the step chart draws at most a few per pixel
// column (see Layout), so a long run stays cheap to draw.
type StepPoint struct {
	Epoch      int
	GlobalStep int64
	Loss       float64
}

// State is everything the dashboard knows about the run it watches. The
// zero value is an empty dashboard; feed it messages with Apply.
type State struct {
	Run           *metrics.RunStart
	Epochs        []*metrics.Epoch // ascending by epoch number, one per epoch
	Steps         []StepPoint      // ascending by global step
	Step          *metrics.Step    // the latest step message
	Confusion     *metrics.Confusion
	Misclassified *metrics.Misclassified
	// Confusions and Misclassifieds hold every epoch's, by epoch.
	Confusions     map[int]*metrics.Confusion
	Misclassifieds map[int]*metrics.Misclassified
	// Deferred holds, by epoch, the seq of the misclassified messages that
	// a History frame deferred and Fill has not brought yet.
	Deferred map[int]int64
	// Picked is the epoch the user picked for the confusion matrix and
	// the gallery (0: the best epoch; see ShownEpoch).
	Picked int
	// Filters holds the conv1 filter grids, ascending by epoch (schema 2;
	// none in older runs).
	Filters    []*metrics.Filters
	Export     *metrics.Checkpoint // the latest exported weights
	Checkpoint *metrics.Checkpoint // the latest training checkpoint
	End        *metrics.RunEnd
	// LastSeq is the sequence number of the last message applied; a
	// reconnecting client asks for the messages after it.
	LastSeq int64
	// Gaps counts messages whose sequence number skipped ahead.
	Gaps int

	stepCache stepCache
	// epochSeq is the seq of the last message that changed what the epoch
	// charts show (with Picked, their key); id tells the keys of this
	// state from another's (0 until the first key).
	epochSeq int64
	id       uint64
}

// Apply folds one message into the state. It reports false, and changes
// nothing, for a message already seen (seq ≤ LastSeq).
func (s *State) Apply(m metrics.Message) bool {
	if !s.advance(metrics.Seq(m)) {
		return false
	}
	switch m.(type) {
	case *metrics.RunStart, *metrics.Epoch, *metrics.Confusion, *metrics.RunEnd:
		s.epochSeq = s.LastSeq // the epoch charts change
	}
	switch v := m.(type) {
	case *metrics.RunStart:
		// A resumed run starts again: it is running until its next run_end.
		s.Run, s.End = v, nil
	case *metrics.Step:
		s.Step = v
		s.addStep(StepPoint{Epoch: v.Epoch, GlobalStep: v.GlobalStep, Loss: v.Loss})
	case *metrics.Epoch:
		s.addEpoch(v)
	case *metrics.Confusion:
		s.Confusion = v
		if s.Confusions == nil {
			s.Confusions = map[int]*metrics.Confusion{}
		}
		s.Confusions[v.Epoch] = v
	case *metrics.Misclassified:
		s.Misclassified = v
		s.fill(v)
	case *metrics.Checkpoint:
		if v.Kind == metrics.KindExport {
			s.Export = v
		} else {
			s.Checkpoint = v
		}
	case *metrics.RunEnd:
		s.End = v
	case *metrics.Filters:
		s.addFilters(v)
	}
	return true
}

// advance records seq as the last one applied, counting a gap, and
// reports false for a message already seen (seq ≤ LastSeq). Seq 0 (an
// unstamped message) is always applied.
func (s *State) advance(seq int64) bool {
	if seq != 0 && seq <= s.LastSeq {
		return false
	}
	if seq > s.LastSeq+1 && s.LastSeq != 0 {
		s.Gaps++
	}
	if seq != 0 {
		s.LastSeq = seq
	}
	return true
}

// fill records an epoch's misclassified photos.
func (s *State) fill(m *metrics.Misclassified) {
	if s.Misclassifieds == nil {
		s.Misclassifieds = map[int]*metrics.Misclassified{}
	}
	s.Misclassifieds[m.Epoch] = m
	delete(s.Deferred, m.Epoch)
}

// Fill brings in a misclassified message that a History frame deferred
// (fetched by its seq): it is kept when it is still the latest of its
// epoch, and it does not count as a new message.
func (s *State) Fill(m *metrics.Misclassified) {
	if seq, ok := s.Deferred[m.Epoch]; ok && seq == m.Seq {
		s.fill(m)
	}
}

// ApplyHistory folds a History frame: the same as applying, in seq order,
// its messages, a step message for each of its step rows (whose plotted
// fields are all the state keeps of a step message but the last, which
// the frame carries in full), and its deferred misclassified messages,
// which are recorded in Deferred until Fill brings them. It reports
// whether anything was new.
func (s *State) ApplyHistory(h *metrics.History) bool {
	c := h.Steps
	n := c.Len()
	s.Steps = slices.Grow(s.Steps, n)
	applied := false
	next := func(seq int64) bool { // advance, noting whether anything was new
		ok := s.advance(seq)
		applied = applied || ok
		return ok
	}
	const none = int64(1<<63 - 1)
	for i, j, k := 0, 0, 0; i < len(h.Messages) || j < n || k < len(h.Deferred); {
		ms, ss, ds := none, none, none
		if i < len(h.Messages) {
			ms = metrics.Seq(h.Messages[i])
		}
		if j < n {
			ss = c.Seq[j]
		}
		if k < len(h.Deferred) {
			ds = h.Deferred[k].Seq
		}
		switch {
		case ss <= ms && ss <= ds:
			if next(ss) {
				s.addStep(StepPoint{Epoch: c.Epoch[j], GlobalStep: c.GlobalStep[j], Loss: c.Loss[j]})
			}
			j++
		case ds <= ms:
			if d := h.Deferred[k]; next(ds) && d.Type == metrics.TypeMisclassified {
				if s.Deferred == nil {
					s.Deferred = map[int]int64{}
				}
				s.Deferred[d.Epoch] = d.Seq
				delete(s.Misclassifieds, d.Epoch)
			}
			k++
		default:
			if s.Apply(h.Messages[i]) {
				applied = true
			}
			i++
		}
	}
	return applied
}

func (s *State) addStep(p StepPoint) {
	if n := len(s.Steps); n == 0 || s.Steps[n-1].GlobalStep < p.GlobalStep {
		s.Steps = append(s.Steps, p)
		return
	}
	// A resumed run replays the steps after its checkpoint: drop the points
	// it supersedes.
	i := sort.Search(len(s.Steps), func(i int) bool { return s.Steps[i].GlobalStep >= p.GlobalStep })
	s.Steps = append(s.Steps[:i], p)
}

func (s *State) addEpoch(e *metrics.Epoch) {
	s.Epochs = putByEpoch(s.Epochs, e, func(e *metrics.Epoch) int { return e.Epoch })
}

// putByEpoch inserts v into list, kept in epoch order, replacing the
// element of the same epoch (sent again by a resumed run) if there is one.
func putByEpoch[T any](list []*T, v *T, epoch func(*T) int) []*T {
	i, found := slices.BinarySearchFunc(list, epoch(v), func(e *T, n int) int { return cmp.Compare(epoch(e), n) })
	if found {
		list[i] = v
		return list
	}
	return slices.Insert(list, i, v)
}

// Status is StatusWaiting before the run starts, StatusRunning while it
// runs, then the run_end status (finished, stopped or failed).
func (s *State) Status() string {
	switch {
	case s.End != nil:
		return s.End.Status
	case s.Run != nil:
		return StatusRunning
	}
	return StatusWaiting
}

// Running reports whether the run has started and not ended.
func (s *State) Running() bool { return s.Status() == StatusRunning }

// LastEpoch returns the latest finished epoch, or nil.
func (s *State) LastEpoch() *metrics.Epoch {
	if len(s.Epochs) == 0 {
		return nil
	}
	return s.Epochs[len(s.Epochs)-1]
}

// EpochRecord returns the record of a finished epoch, or nil.
func (s *State) EpochRecord(epoch int) *metrics.Epoch {
	for i := len(s.Epochs) - 1; i >= 0; i-- {
		if s.Epochs[i].Epoch == epoch {
			return s.Epochs[i]
		}
	}
	return nil
}

// TotalEpochs is the number of epochs the run is set to train.
func (s *State) TotalEpochs() int {
	n := 0
	if s.Run != nil {
		n = s.Run.Epochs
	}
	if e := s.LastEpoch(); e != nil {
		n = max(n, e.Epochs, e.Epoch)
	}
	return n
}

// CurrentEpoch is the epoch in progress while the run trains, else the
// last finished one (0 before any).
func (s *State) CurrentEpoch() int {
	done := 0
	if e := s.LastEpoch(); e != nil {
		done = e.Epoch
	}
	if s.Running() && s.Step != nil && s.Step.Epoch > done {
		return s.Step.Epoch
	}
	if s.Running() && s.Run != nil && done < s.TotalEpochs() {
		return max(done+1, s.Run.StartEpoch)
	}
	return done
}

// Progress is the fraction of the planned training done, in [0, 1].
func (s *State) Progress() float64 {
	total := s.TotalEpochs()
	if total == 0 {
		return 0
	}
	if s.End != nil && s.End.Status == metrics.StatusFinished {
		return 1
	}
	done := 0.0
	if e := s.LastEpoch(); e != nil {
		done = float64(e.Epoch)
	}
	if st := s.Step; st != nil && s.Running() && float64(st.Epoch) > done && st.StepsPerEpoch > 0 {
		done = float64(st.Epoch-1) + float64(st.Step)/float64(st.StepsPerEpoch)
	}
	return min(1, max(0, done/float64(total)))
}

// ImagesPerSec is the latest training throughput (0 when unknown).
func (s *State) ImagesPerSec() float64 {
	if s.Step == nil {
		return 0
	}
	return s.Step.ImagesPerSec
}

// ETASec estimates the seconds left in the run: the rest of the current
// epoch (from the latest step) plus the remaining epochs at the mean epoch
// time so far. It is negative when unknown or the run is over.
func (s *State) ETASec() float64 {
	if !s.Running() || s.Step == nil {
		return -1
	}
	st := s.Step
	perEpoch := st.ElapsedSec + st.ETASec
	if n := len(s.Epochs); n > 0 {
		sum := 0.0
		for _, e := range s.Epochs {
			sum += e.Seconds
		}
		perEpoch = sum / float64(n)
	}
	finished := 0
	if last := s.LastEpoch(); last != nil {
		finished = last.Epoch
	}
	if st.Epoch > finished {
		return st.ETASec + float64(max(s.TotalEpochs()-st.Epoch, 0))*perEpoch
	}
	// Between epochs: the step's epoch is over.
	return float64(max(s.TotalEpochs()-finished, 0)) * perEpoch
}

// TrainSeconds is the time the finished epochs took.
func (s *State) TrainSeconds() float64 {
	sum := 0.0
	for _, e := range s.Epochs {
		sum += e.Seconds
	}
	return sum
}

// Best returns the best epoch so far and its validation accuracy
// (0, 0 before the first epoch).
func (s *State) Best() (epoch int, valAcc float64) {
	if s.End != nil && s.End.BestEpoch > 0 {
		return s.End.BestEpoch, s.End.BestValAcc
	}
	if e := s.LastEpoch(); e != nil {
		return e.BestEpoch, e.BestValAcc
	}
	return 0, 0
}

// ExportVersion identifies the latest exported weights: the sequence
// number of its checkpoint message (0 when none was seen).
func (s *State) ExportVersion() int64 {
	if s.Export == nil {
		return 0
	}
	return s.Export.Seq
}

// ClassName returns the name of class i of the run ("class i" when
// unknown).
func (s *State) ClassName(i int) string {
	var names []string
	switch {
	case s.Confusion != nil && len(s.Confusion.Classes) > 0:
		names = s.Confusion.Classes
	case s.Run != nil:
		names = s.Run.Classes
	}
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return "class " + itoa(i)
}
