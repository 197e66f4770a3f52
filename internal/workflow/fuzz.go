package workflow

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Fuzzers are the native Go fuzz tests, one per parser of untrusted
// bytes, that Fuzz runs.
var Fuzzers = []struct{ Pkg, Name string }{
	{"./shared/alexnet", "FuzzLoad"},          // weights files
	{"./shared/imageio", "FuzzDecode"},        // photos
	{"./shared/metrics", "FuzzDecode"},        // metrics messages
	{"./shared/metrics", "FuzzReadLines"},     // metrics.jsonl
	{"./shared/metrics", "FuzzHistoryDecode"}, // History frames, in the page
	{"./trainer/server", "FuzzParseSince"},    // the /ws query string
	{"./trainer/server", "FuzzClientFrames"},  // WebSocket frames from clients
	{"./trainer/pretrained", "FuzzRead"},      // -init weights files
}

var (
	fuzzExecs  = regexp.MustCompile(`execs: (\d+)`)
	fuzzFailed = regexp.MustCompile(`Failing input written to (\S+)`)
)

// fuzzResult is one fuzzer's outcome, read from go test's output.
type fuzzResult struct {
	name, execs string
	crashers    []string
	err         error
}

// parseFuzz reads the executions (the last count go test printed; "?"
// without one) and the new crashers' paths (under pkg) from a fuzz run's
// output.
func parseFuzz(name, pkg, out string, err error) fuzzResult {
	r := fuzzResult{name: name, execs: "?", err: err}
	if m := fuzzExecs.FindAllStringSubmatch(out, -1); len(m) > 0 {
		r.execs = m[len(m)-1][1]
	}
	for _, m := range fuzzFailed.FindAllStringSubmatch(out, -1) {
		r.crashers = append(r.crashers, filepath.Join(pkg, m[1]))
	}
	return r
}

// row is r's line of Fuzz's table.
func (r fuzzResult) row() string {
	crashers := fmt.Sprint(len(r.crashers))
	if len(r.crashers) > 0 {
		crashers += " " + strings.Join(r.crashers, " ")
	} else if r.err != nil {
		crashers += " (go test failed: " + r.err.Error() + ")"
	}
	return fmt.Sprintf("%-32s %10s  %s", r.name, r.execs, crashers)
}

// Fuzz runs each fuzz test in turn (go test fuzzes one target per package
// per run) for PAWNET_FUZZTIME (a -fuzztime value, default 60s; e.g. 30s,
// or 100000x for a count), with PAWNET_FUZZPARALLEL workers when set
// (default GOMAXPROCS), and prints a table of each one's executions and
// new crashers. Minimizing a new input is capped at 5 s: by default it may
// take 60 s, with none of its executions counted. A crasher is written to
// PKG/testdata/fuzz/FuzzX/: commit it with the fix as a regression case,
// since plain go test (and so CI) runs those files and the f.Add seeds.
// The imageio fuzzer also seeds from the sample photos when
// PAWNET_SAMPLE_DIR is set or mage test has prepared .cache/testdata.
func Fuzz() error {
	fuzztime := getenv("PAWNET_FUZZTIME")
	if fuzztime == "" {
		fuzztime = "60s"
	}
	e := map[string]string{}
	if d := getenv("PAWNET_SAMPLE_DIR"); d != "" {
		e["PAWNET_SAMPLE_DIR"] = d
	} else if abs, err := filepath.Abs(TestData); err == nil {
		if _, err := os.Stat(filepath.Join(abs, "test")); err == nil {
			e["PAWNET_SAMPLE_DIR"] = abs
		}
	}
	var results []fuzzResult
	for _, fz := range Fuzzers {
		args := []string{"test", "-run", "^$", "-fuzz", "^" + fz.Name + "$", "-fuzztime", fuzztime, "-fuzzminimizetime", "5s"}
		if p := getenv("PAWNET_FUZZPARALLEL"); p != "" {
			args = append(args, "-parallel", p)
		}
		args = append(args, fz.Pkg)
		fmt.Println("$ go", strings.Join(args, " "))
		var out bytes.Buffer
		cmd := command(e, "go", args...)
		cmd.Stdout = io.MultiWriter(os.Stdout, &out)
		cmd.Stderr = cmd.Stdout
		err := cmd.Run()
		results = append(results, parseFuzz(strings.TrimPrefix(fz.Pkg, "./")+"."+fz.Name, fz.Pkg, out.String(), err))
	}
	fmt.Printf("\nfuzzing for %s each:\n%-32s %10s  %s\n", fuzztime, "fuzzer", "execs", "new-crashers")
	var failed []string
	for _, r := range results {
		fmt.Println(r.row())
		if r.err != nil {
			failed = append(failed, r.name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("fuzzing failed: %s", strings.Join(failed, ", "))
	}
	return nil
}
