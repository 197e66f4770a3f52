package benchdoc

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// output is `go test -bench` output as mage bench prints it: commands,
// config lines, b.Log lines and results of two packages.
const output = `pawnet-commit: abc1234
pawnet-load-start: 0.50 0.40 0.30
$ go test -run ^$ -bench ForwardVsTorch -benchtime 10x ./trainer/predict
goos: linux
goarch: amd64
pkg: github.com/pawnet/pawnet/trainer/predict
cpu: AMD EPYC 7B13
BenchmarkForwardVsTorch/batch1-2         	      10	  20000000 ns/op	        20.60 ms/photo	        28.90 torch-ms/photo	         1.403 torch/pawnet
    bench_test.go:126: PyTorch (python3): 1.13.1; logits [1 2] vs pawnet [1 2], max |Δ| 1e-06
BenchmarkForwardVsTorch/batch8-2         	      10	 126000000 ns/op	        15.80 ms/photo	        21.20 torch-ms/photo	         1.342 torch/pawnet
PASS
ok  	github.com/pawnet/pawnet/trainer/predict	12.1s
pkg: github.com/pawnet/pawnet/shared/alexnet
BenchmarkGemm/conv1/build-2   	     100	   1000000 ns/op	        22.5 GMAC/s
BenchmarkGemm/conv1/scalar-2  	      20	   7000000 ns/op	         3.1 GMAC/s
BenchmarkTrainStepVsTorch/small/batch=32-2   	       3	 120000000 ns/op	       120.0 ms/step
BenchmarkBrowserHistory/msgs=30000-2   	       5	 3748617608 ns/op	       803.9 ms-to-complete
pawnet-load-end: 1.90 1.20 0.70
`

func TestParseAndWrite(t *testing.T) {
	res, err := Parse(strings.NewReader(output))
	if err != nil {
		t.Fatal(err)
	}
	if res.Len() != 6 {
		t.Fatalf("parsed %d results, want 6", res.Len())
	}
	for _, tc := range []struct {
		m    Metric
		want float64
	}{
		{Metric{"BenchmarkForwardVsTorch/batch8", "torch/pawnet"}, 1.342},
		{Metric{"BenchmarkForwardVsTorch/batch1", "ms/photo"}, 20.6},
		{Metric{"BenchmarkGemm/conv1/scalar", "GMAC/s"}, 3.1},
		{Metric{"BenchmarkTrainStepVsTorch/small/batch=32", "ms/step"}, 120},
	} {
		if got, ok := res.Get(tc.m); !ok || got != tc.want {
			t.Errorf("Get(%v) = %v, %v; want %v", tc.m, got, ok, tc.want)
		}
	}
	if res.Config("pawnet-commit") != "abc1234" || res.Config("pawnet-load-end") != "1.90 1.20 0.70" || res.Config("pawnet-date") != "" {
		t.Errorf("config lines: commit %q, load end %q, date %q", res.Config("pawnet-commit"), res.Config("pawnet-load-end"), res.Config("pawnet-date"))
	}
	if _, ok := res.Get(Metric{"BenchmarkBrowserReload", "ms-reload-to-result"}); ok {
		t.Error("a benchmark that did not run has a value")
	}

	var b bytes.Buffer
	mach := Machine{Cores: 2, LoadStart: "0.50 0.40 0.30", LoadEnd: "1.90 1.20 0.70", Date: "2026-12-05T08:00:00Z", Commit: "abc1234", Go: "go1.26.8"}
	if err := Write(&b, Rows, res, mach); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	for _, want := range []string{
		"# Benchmarks\n",
		"**Machine:** 2 cores (AMD EPYC 7B13), load average 0.50 0.40 0.30 at the start and 1.90 1.20 0.70 at the end; 2026-12-05T08:00:00Z; commit abc1234; go1.26.8.",
		// The ratio of the figures shown, the peer's beside ours.
		`| <a id="native-inference-batch8"></a>full AlexNet inference, native pure Go (AVX2+FMA), batch 8 | 15.8 ms/photo | PyTorch on the CPU: 21.2 torch-ms/photo | 1.34× |`,
		// A computed ratio of rates: ours ÷ peer.
		`| 22.5 GMAC/s | scalar kernels: 3.10 GMAC/s | 7.26× |`,
		// A peer not measured, a row without a peer, and one not measured.
		`| 120 ms/step | PyTorch on the CPU: not measured in this run | — |`,
		`| 804 ms-to-complete | — | — |`,
		`| <a id="browser-reload"></a>reload to the first classified photo, full model, int8 weights cached in the browser | not measured in this run | — | — |`,
		"| `BenchmarkGemm/conv1/build` | 22.5 GMAC/s, 0.001 sec/op |",
		// Pipes in a command are escaped for the table.
		"`go test -run '^$' -bench 'BrowserGradCAM/full\\|BrowserORT' ./internal/browsertest/`",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("benchmarks.md lacks %q:\n%s", want, doc)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {0.0123, "0.0123"}, {0.5, "0.5"}, {1.342, "1.34"}, {9.999, "10.00"}, {22.46, "22.5"}, {120.4, "120"}, {76012, "76012"}, {-3.25, "-3.25"},
	} {
		if got := Format(tc.v); got != tc.want {
			t.Errorf("Format(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
	if got := FormatRatio(1.3421); got != "1.34×" {
		t.Errorf("FormatRatio = %q", got)
	}
}

// TestBestOfRuns parses a benchmark run three times (go test -count 3):
// each unit keeps its best value, the lowest time and the highest rate or
// ratio, and Missing names the rows with no figure.
func TestBestOfRuns(t *testing.T) {
	const runs = `BenchmarkTrainStepVsTorch/small/batch=32-2   	10	 40000000 ns/op	 40.0 ms/step	 24.0 torch-ms/step	 0.600 torch/pawnet	 800 img/s
BenchmarkTrainStepVsTorch/small/batch=32-2   	10	 30000000 ns/op	 30.0 ms/step	 26.0 torch-ms/step	 0.867 torch/pawnet	 1066 img/s
BenchmarkTrainStepVsTorch/small/batch=32-2   	10	 35000000 ns/op	 35.0 ms/step	 22.0 torch-ms/step	 0.629 torch/pawnet	 914 img/s
BenchmarkGemm/conv1/build-2   	     100	   1000000 ns/op	        22.5 GMAC/s
`
	res, err := Parse(strings.NewReader(runs))
	if err != nil {
		t.Fatal(err)
	}
	const name = "BenchmarkTrainStepVsTorch/small/batch=32"
	if res.Runs(name) != 3 || res.Len() != 2 {
		t.Errorf("Runs = %d, Len = %d; want 3 and 2", res.Runs(name), res.Len())
	}
	for _, tc := range []struct {
		unit string
		want float64
	}{{"ms/step", 30}, {"torch-ms/step", 22}, {"torch/pawnet", 0.867}, {"img/s", 1066}} {
		if got, _ := res.Get(Metric{name, tc.unit}); got != tc.want {
			t.Errorf("%s = %v, want the best run's %v", tc.unit, got, tc.want)
		}
	}
	missing := Missing(Rows, res)
	if len(missing) != len(Rows)-1 || slices.Contains(missing, "train-step-small") {
		t.Errorf("Missing = %v: want every row but train-step-small", missing)
	}
	var b bytes.Buffer
	if err := Write(&b, Rows, res, Machine{Cores: 2, Quiet: "yes: load 0.42 after 0 s"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"**Quiet machine (1-minute load average under 1 before the start):** yes: load 0.42 after 0 s.", "| `" + name + "` (3 runs) |",
		// The best of each side, 22 ÷ 30, not the best reported ratio (0.867,
		// from PyTorch's slowest run).
		"| 30.0 ms/step | PyTorch on the CPU: 22.0 torch-ms/step | 0.73× |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("benchmarks.md lacks %q", want)
		}
	}
}

func TestHigherIsBetter(t *testing.T) {
	for unit, want := range map[string]bool{
		"ms/step": false, "torch-ms/step": false, "sec/op": false, "B/client-held": false, "x-one-worker": false, "peak-heap-MiB": false,
		"GMAC/s": true, "img/s": true, "torch/pawnet": true, "ort/pawnet-forward": true, "top1-agree-%": true,
	} {
		if got := HigherIsBetter(unit); got != want {
			t.Errorf("HigherIsBetter(%q) = %v, want %v", unit, got, want)
		}
	}
}

// TestCommandsCoverRows checks that every row's benchmarks are selected by
// one of the commands mage bench runs.
func TestCommandsCoverRows(t *testing.T) {
	selects := func(bench string) bool {
		top, _, _ := strings.Cut(bench, "/")
		for _, c := range Commands {
			if len(c) == 3 && c[0] == "tool" && c[1] == "mage" && MageBenchmarks[c[2]] == top {
				return true
			}
			i := slices.Index(c, "-bench")
			if i >= 0 && regexp.MustCompile(c[i+1]).MatchString(top) {
				return true
			}
		}
		return false
	}
	for _, row := range Rows {
		for _, m := range []Metric{row.Ours, row.Peer, row.Ratio} {
			if m != (Metric{}) && !selects(m.Bench) {
				t.Errorf("row %s: no command of Commands runs %s", row.ID, m.Bench)
			}
		}
	}
}
