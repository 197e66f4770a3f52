// Package benchdoc turns the output of pawnet's benchmarks (`go test
// -bench`, as `go tool mage bench` runs them) into docs/benchmarks.md: a
// table of the figures that matter, each with its peer's figure from the
// same run, their ratio, the command that prints it and the machine it ran
// on, followed by every benchmark result of the run. Nothing in that file
// is written by hand, so re-running the benchmarks rewrites it, and prose
// elsewhere links to its rows instead of copying figures.
package benchdoc

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
)

// Metric names one reported value: the benchmark's full name without its
// GOMAXPROCS suffix (e.g. "BenchmarkForwardVsTorch/batch8") and the unit
// it was reported in (e.g. "ms/photo").
type Metric struct {
	Bench, Unit string
}

// Row is one line of the table of figures.
type Row struct {
	ID   string // the row's anchor in docs/benchmarks.md (#ID)
	What string // what is measured, in words
	Ours Metric
	// Peer is what a user would pick instead, measured in the same run;
	// PeerName names it. A zero Peer means the row has no peer.
	Peer     Metric
	PeerName string
	// Ratio is the metric that holds the ratio as one run reported it
	// (e.g. "torch/pawnet"); it is shown only when the peer's figure is
	// missing. Otherwise the ratio is computed from the two figures shown
	// (each the best of its runs): peer ÷ ours for a time (LowerBetter),
	// ours ÷ peer for a rate, so a ratio above 1 means pawnet is ahead.
	Ratio       Metric
	LowerBetter bool
	Cmd         string // the command that prints the figures
	Note        string // what the ratio is, or why there is no peer
}

// Results holds the parsed values of one run: name → unit → the best of
// the values reported, with the GOMAXPROCS suffix of each name removed
// (ns/op is read as sec/op, as benchfmt converts it), and the processor
// the run reported. A benchmark run several times (go test -count N)
// keeps each unit's best value: the lowest for a time or a size, the
// highest for a rate or a ratio of a peer's time over pawnet's
// (HigherIsBetter). On a shared machine the best of several runs is the
// one least disturbed by other processes.
type Results struct {
	values map[string]map[string]float64
	runs   map[string]int // how many times each name was reported
	order  []string       // names in the order first seen
	cpu    string
	config map[string]string // the pawnet-KEY lines' values
}

// Config returns the value of the output's last "pawnet-KEY: value" line
// (mage bench writes pawnet-commit, pawnet-date, pawnet-load-start and
// pawnet-load-end around the benchmarks' output), or "".
func (r *Results) Config(key string) string { return r.config[key] }

// Parse reads `go test -bench` output (other lines are skipped).
func Parse(r io.Reader) (*Results, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	res := &Results{values: map[string]map[string]float64{}, runs: map[string]int{}, config: map[string]string{}}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok && strings.HasPrefix(k, "pawnet-") && !strings.ContainsAny(k, " \t") {
			res.config[k] = strings.TrimSpace(v)
		}
	}
	rd := benchfmt.NewReader(bytes.NewReader(data), "bench")
	for rd.Scan() {
		rec, ok := rd.Result().(*benchfmt.Result)
		if !ok {
			continue
		}
		// benchfmt drops the "Benchmark" prefix; the rows name benchmarks
		// as the code and `go test` do.
		name := "Benchmark" + trimProcs(rec.Name.String())
		if cpu := strings.TrimSpace(rec.GetConfig("cpu")); cpu != "" {
			res.cpu = cpu
		}
		m, ok := res.values[name]
		if !ok {
			m = map[string]float64{}
			res.values[name] = m
			res.order = append(res.order, name)
		}
		res.runs[name]++
		for _, v := range rec.Values {
			old, seen := m[v.Unit]
			if !seen || (HigherIsBetter(v.Unit) && v.Value > old) || (!HigherIsBetter(v.Unit) && v.Value < old) {
				m[v.Unit] = v.Value
			}
		}
	}
	return res, rd.Err()
}

// HigherIsBetter reports whether a larger value of unit is better: rates
// (".../s"), percentages, and ratios of a peer's time over pawnet's
// ("torch/pawnet", "ort/pawnet-forward"). Everything else (times, sizes,
// "x-one-worker") is better lower.
func HigherIsBetter(unit string) bool {
	return strings.HasSuffix(unit, "/s") || strings.HasSuffix(unit, "%") || strings.Contains(unit, "/pawnet")
}

// Runs returns how many times a benchmark reported results.
func (r *Results) Runs(bench string) int { return r.runs[bench] }

// Missing returns the IDs of the rows whose figure, or whose peer's, is
// not in res: a run that leaves one out is incomplete.
func Missing(rows []Row, res *Results) []string {
	var ids []string
	for _, row := range rows {
		_, ok := res.Get(row.Ours)
		if row.Peer != (Metric{}) {
			_, okPeer := res.Get(row.Peer)
			ok = ok && okPeer
		}
		if !ok {
			ids = append(ids, row.ID)
		}
	}
	return ids
}

var procsSuffix = regexp.MustCompile(`-\d+$`)

func trimProcs(name string) string { return procsSuffix.ReplaceAllString(name, "") }

// Get returns a metric's value.
func (r *Results) Get(m Metric) (float64, bool) {
	v, ok := r.values[m.Bench][m.Unit]
	return v, ok
}

// Len is the number of benchmark results.
func (r *Results) Len() int { return len(r.order) }

// Machine describes where and when the run happened.
type Machine struct {
	Cores     int
	LoadStart string // /proc/loadavg's 1-, 5- and 15-minute averages
	LoadEnd   string
	Date      string // UTC, RFC 3339
	Commit    string // git commit, with "+changes" when the tree was dirty
	Go        string // go version
	CPU       string // the processor, when the run did not report one
	// Quiet says whether the run waited for a quiet machine and got one,
	// e.g. "yes: load 0.62 after 40 s"; empty when not recorded.
	Quiet string
}

// Format renders a figure: integers from 100 on, one decimal from 10,
// two from 1, and three significant digits below 1.
func Format(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a < 1:
		return strconv.FormatFloat(v, 'g', 3, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// FormatRatio renders a ratio as the README and the table show it, e.g.
// "1.34×".
func FormatRatio(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + "×" }

// Write renders docs/benchmarks.md: the rows measured in res (a row whose
// figure is missing says so), then every result of the run.
func Write(w io.Writer, rows []Row, res *Results, mach Machine) error {
	var b bytes.Buffer
	cpu := res.cpu
	if cpu == "" {
		cpu = mach.CPU
	}
	fmt.Fprintf(&b, "# Benchmarks\n\n")
	fmt.Fprintf(&b, "This file is written by `go tool mage bench`, which runs pawnet's benchmarks and then rewrites it: edit `trainer/benchdoc` (the rows) or the benchmarks, never this file. ")
	fmt.Fprintf(&b, "Each row gives pawnet's figure, the figure of what a user would pick instead (its peer), measured in the same run, their ratio, and the command that prints them. ")
	fmt.Fprintf(&b, "A ratio above 1 means pawnet is ahead. The machines here are shared and noisy: compare ratios, not single figures, and read the load average.\n\n")
	fmt.Fprintf(&b, "**Machine:** %d cores (%s), load average %s at the start and %s at the end; %s; commit %s; %s.\n\n",
		mach.Cores, cpu, mach.LoadStart, mach.LoadEnd, mach.Date, mach.Commit, mach.Go)
	if mach.Quiet != "" {
		fmt.Fprintf(&b, "**Quiet machine (1-minute load average under 1 before the start):** %s. ", mach.Quiet)
	}
	b.WriteString("Benchmarks run several times (`-count`) show their best run: the lowest time, the highest rate or ratio.\n\n")
	b.WriteString("| figure | pawnet | peer | ratio | command |\n|---|---|---|---|---|\n")
	for _, row := range rows {
		ours, okOurs := res.Get(row.Ours)
		oursCell := "not measured in this run"
		if okOurs {
			oursCell = Format(ours) + " " + row.Ours.Unit
		}
		peerCell, ratioCell := "—", "—"
		if row.Peer != (Metric{}) {
			peerCell = row.PeerName + ": not measured in this run"
			if p, ok := res.Get(row.Peer); ok {
				peerCell = fmt.Sprintf("%s: %s %s", row.PeerName, Format(p), row.Peer.Unit)
				// The ratio of the two figures shown, each the best of its
				// runs: a ratio reported by one run (row.Ratio) would pair
				// pawnet's figure with one run's peer, and the best such
				// ratio with the peer's slowest run.
				if okOurs && ours != 0 && p != 0 {
					ratio := p / ours
					if !row.LowerBetter {
						ratio = ours / p
					}
					ratioCell = FormatRatio(ratio)
				}
			}
		}
		if ratioCell == "—" && row.Ratio != (Metric{}) {
			if v, ok := res.Get(row.Ratio); ok {
				ratioCell = FormatRatio(v)
			}
		}
		what := row.What
		if row.Note != "" {
			what += " (" + row.Note + ")"
		}
		fmt.Fprintf(&b, "| <a id=\"%s\"></a>%s | %s | %s | %s | `%s` |\n", row.ID, cell(what), oursCell, cell(peerCell), ratioCell, cell(row.Cmd))
	}
	fmt.Fprintf(&b, "\n## Every result of this run\n\n")
	fmt.Fprintf(&b, "%d benchmarks, each with the best of the values it reported (`go test -bench` output, the GOMAXPROCS suffix removed; runs in parentheses where more than one).\n\n", res.Len())
	b.WriteString("| benchmark | values |\n|---|---|\n")
	for _, name := range res.order {
		units := make([]string, 0, len(res.values[name]))
		for u := range res.values[name] {
			units = append(units, u)
		}
		slices.Sort(units)
		var vals []string
		for _, u := range units {
			vals = append(vals, Format(res.values[name][u])+" "+u)
		}
		runs := ""
		if n := res.runs[name]; n > 1 {
			runs = fmt.Sprintf(" (%d runs)", n)
		}
		fmt.Fprintf(&b, "| `%s`%s | %s |\n", name, runs, cell(strings.Join(vals, ", ")))
	}
	_, err := w.Write(b.Bytes())
	return err
}

// cell escapes a table cell's pipes.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
