package server

import (
	"io"

	"github.com/pawnet/pawnet/shared/metrics"
)

// Bounds of one History frame: the bytes of the messages it carries in
// full and its number of step rows. A frame stays within a few MB, well
// under the page's 16 MiB read limit.
const (
	historyMaxBytes = 1 << 20
	historyMaxSteps = 1 << 17
)

// historyChunk is how many of recs (at least one) the next History frame
// carries, for a run whose best epoch is best.
func historyChunk(recs []record, best int) int {
	size, steps := 0, 0
	for i, r := range recs {
		switch {
		case r.kind == kindStep:
			steps++
		case !r.deferred(best):
			size += len(r.data)
		}
		if i > 0 && (size > historyMaxBytes || steps > historyMaxSteps) {
			return i
		}
	}
	return len(recs)
}

// deferred reports whether a History frame sends r by reference: a
// misclassified message of an epoch other than best (the page shows the
// best epoch's photos first, so those come in full).
func (r record) deferred(best int) bool {
	return r.kind == kindMisclassified && r.epoch != best
}

// encodeHistory writes recs as a metrics.History frame of the run named
// run, whose best epoch is best (with no record, an empty one covering up
// to since): the step messages as rows (but the last, which goes in full
// with the other messages' lines) and the misclassified messages of the
// other epochs as deferred references. It streams from the history's
// records: nothing is copied per client but the list of lines.
func encodeHistory(w io.Writer, run string, best int, recs []record, since int64, more bool) error {
	lastStep, steps := -1, 0
	for i, r := range recs {
		if r.kind == kindStep {
			lastStep = i
			steps++
		}
	}
	if lastStep >= 0 {
		steps--
	}
	e := metrics.NewHistoryEncoder(w, steps)
	var lines [][]byte
	var deferred []metrics.Deferred
	for i, r := range recs {
		switch {
		case r.kind == kindStep && i != lastStep:
			e.Step(r.seq, r.epoch, r.global, r.loss)
		case r.deferred(best):
			deferred = append(deferred, metrics.Deferred{Seq: r.seq, Type: metrics.TypeMisclassified, Epoch: r.epoch})
		default:
			lines = append(lines, r.data)
		}
	}
	last := since
	if len(recs) > 0 {
		last = recs[len(recs)-1].seq
	}
	return e.Finish(metrics.HistoryHead{Run: run, Seq: last, More: more}, lines, deferred)
}
