package server

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"strconv"

	"github.com/pawnet/pawnet/shared/metrics"
)

// Bounds of one History frame: its size in bytes (the page's read limit is
// 16 MiB) and its number of step rows.
const (
	historyMaxBytes = 1 << 20
	historyMaxSteps = 1 << 17
)

// historyChunk is how many of recs (at least one) the next History frame
// of the run named run, whose best epoch is best, carries: as many as fit
// in historyMaxBytes, counted as encodeHistory writes them. One record
// always fits, for a line is at most MaxLineBytes.
func historyChunk(recs []record, best int, run string) int {
	head, _ := json.Marshal(metrics.HistoryHead{Run: run, Seq: math.MaxInt64, More: true})
	// magic, step count, head, `,"messages":[`, `]`, `,"deferred":[`, `]`, `}`
	size := 4 + binary.MaxVarintLen64 + len(head) + 13 + 1 + 13 + 1 + 1
	steps := 0
	var last *record  // the last step so far: sent in full
	var prev struct { // the last step row
		seq, global int64
		epoch       int
	}
	for i := range recs {
		r := &recs[i]
		switch {
		case r.kind == kindStep:
			if last != nil { // the step before becomes a row
				size += -len(last.data) - 1 + stepRowLen(last.seq-prev.seq, int64(last.epoch-prev.epoch), last.global-prev.global)
				prev.seq, prev.epoch, prev.global = last.seq, last.epoch, last.global
			}
			last = r
			size += len(r.data) + 1
			steps++
		case r.deferred(best):
			size += deferredLen(r.seq, r.epoch) + 1
		default:
			size += len(r.data) + 1
		}
		if i > 0 && (size > historyMaxBytes || steps > historyMaxSteps) {
			return i
		}
	}
	return len(recs)
}

// stepRowLen is the size of a step row with these deltas.
func stepRowLen(dseq, depoch, dglobal int64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], uint64(dseq)) + binary.PutVarint(b[:], depoch) + binary.PutVarint(b[:], dglobal) + 8
}

// deferredLen is the size of the JSON of a deferred misclassified message.
func deferredLen(seq int64, epoch int) int {
	var b [20]byte
	return len(`{"seq":,"type":"","epoch":}`) + len(metrics.TypeMisclassified) + len(strconv.AppendInt(b[:0], seq, 10)) + len(strconv.AppendInt(b[:0], int64(epoch), 10))
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
