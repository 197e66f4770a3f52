package dash

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pawnet/pawnet/shared/metrics"
)

// Selection is what the page shows, as its URL's query string holds it,
// so that a link reopens the same view: ?run=A&run=B (the runs, overlaid
// when several), &epoch=N (the epoch picked for the first run's
// confusion matrix and gallery; absent: the best epoch) and &smooth=W
// (the step chart's smoothing).
type Selection struct {
	Runs   []string
	Epoch  int
	Smooth float64
}

// ParseSelection reads a selection from a query string (with or without
// its leading "?"). Values that do not parse are ignored, and a run named
// twice is kept once.
func ParseSelection(query string) Selection {
	q, _ := url.ParseQuery(strings.TrimPrefix(query, "?"))
	var s Selection
	for _, r := range q["run"] {
		if r != "" && !slices.Contains(s.Runs, r) {
			s.Runs = append(s.Runs, r)
		}
	}
	if e, err := strconv.Atoi(q.Get("epoch")); err == nil && e > 0 {
		s.Epoch = e
	}
	if w, err := strconv.ParseFloat(q.Get("smooth"), 64); err == nil && w > 0 {
		s.Smooth = min(w, MaxSmooth)
	}
	return s
}

// Query writes the selection as a query string with its "?" ("" when
// empty): ParseSelection(s.Query()) gives s back.
func (s Selection) Query() string {
	q := url.Values{}
	for _, r := range s.Runs {
		q.Add("run", r)
	}
	if s.Epoch > 0 {
		q.Set("epoch", strconv.Itoa(s.Epoch))
	}
	if s.Smooth > 0 {
		q.Set("smooth", strconv.FormatFloat(s.Smooth, 'g', -1, 64))
	}
	if len(q) == 0 {
		return ""
	}
	// url.Values.Encode sorts by key; the runs keep their order.
	return "?" + q.Encode()
}

// QueryKeeping is Query with the parameters of query (the page's
// current query string) that a Selection does not hold kept, e.g.
// ?workers=2, the classifier pool's size: the page rewrites its URL as
// the selection changes, and a reload must keep them.
func (s Selection) QueryKeeping(query string) string {
	q, err := url.ParseQuery(strings.TrimPrefix(query, "?"))
	if err != nil {
		return s.Query()
	}
	kept := url.Values{}
	for k, v := range q {
		if k != "run" && k != "epoch" && k != "smooth" {
			kept[k] = v
		}
	}
	if len(kept) == 0 {
		return s.Query()
	}
	own, _ := url.ParseQuery(strings.TrimPrefix(s.Query(), "?"))
	for k, v := range own {
		kept[k] = v
	}
	return "?" + kept.Encode()
}

// Has reports whether run is selected.
func (s Selection) Has(run string) bool { return slices.Contains(s.Runs, run) }

// Only selects run alone, with the best epoch.
func (s Selection) Only(run string) Selection {
	s.Runs, s.Epoch = []string{run}, 0
	return s
}

// Toggle adds run to the selection or removes it (keeping at least one
// run); the picked epoch is kept only while the first run stays first.
func (s Selection) Toggle(run string) Selection {
	first := ""
	if len(s.Runs) > 0 {
		first = s.Runs[0]
	}
	if i := slices.Index(s.Runs, run); i >= 0 {
		if len(s.Runs) > 1 {
			s.Runs = slices.Delete(slices.Clone(s.Runs), i, i+1)
		}
	} else {
		s.Runs = append(slices.Clone(s.Runs), run)
	}
	if len(s.Runs) == 0 || s.Runs[0] != first {
		s.Epoch = 0
	}
	return s
}

// RunRow is one run of the run list as the page writes it.
type RunRow struct{ metrics.RunSummary }

// ModelText is e.g. "small · 64 px" ("—" before the run starts).
func (r RunRow) ModelText() string {
	if r.Model == "" {
		return "—"
	}
	return r.Model + " · " + strconv.Itoa(r.InputSize) + " px"
}

// BackendText is the backend ("—" when unknown).
func (r RunRow) BackendText() string {
	if r.Backend == "" {
		return "—"
	}
	return r.Backend
}

// StatusText is the capitalized status, e.g. "Interrupted".
func (r RunRow) StatusText() string {
	if r.Status == "" {
		return ""
	}
	return strings.ToUpper(r.Status[:1]) + r.Status[1:]
}

// BestAccText is the best validation accuracy, e.g. "74.7%" ("—" before
// the first epoch).
func (r RunRow) BestAccText() string {
	if r.BestEpoch == 0 {
		return "—"
	}
	return Percent(r.BestValAcc, 1)
}

// LogLossText is the best epoch's validation log loss, e.g. "0.545".
func (r RunRow) LogLossText() string {
	if r.BestEpoch == 0 {
		return "—"
	}
	return Fixed(r.BestValLogLoss, 3)
}

// EpochsText is the finished epochs of the planned ones, e.g. "48 / 60".
func (r RunRow) EpochsText() string {
	if r.TotalEpochs == 0 {
		return "—"
	}
	return strconv.Itoa(r.Epochs) + " / " + strconv.Itoa(r.TotalEpochs)
}

// StartedText is the start time in the local time zone, e.g.
// "2026-12-01 09:43" ("—" when unknown).
func (r RunRow) StartedText() string {
	if r.Started <= 0 {
		return "—"
	}
	return time.UnixMilli(r.Started).Local().Format("2006-01-02 15:04")
}

// Rows are the run list's runs as rows.
func Rows(runs []metrics.RunSummary) []RunRow {
	out := make([]RunRow, len(runs))
	for i, r := range runs {
		out[i] = RunRow{r}
	}
	return out
}
