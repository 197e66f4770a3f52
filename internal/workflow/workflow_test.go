package workflow

import (
	"archive/zip"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/device"
	"github.com/pawnet/pawnet/trainer/model"
	"github.com/pawnet/pawnet/trainer/rundir"
)

// TestVarsAreListed reads this package's source: every getenv names a
// listed variable, nothing else reads the environment, and every listed
// variable is read somewhere.
func TestVarsAreListed(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	getenvCall := regexp.MustCompile(`getenv\("([A-Z_]+)"\)|envInt\("([A-Z_]+)"|envDuration\("([A-Z_]+)"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if f != "vars.go" && strings.Contains(string(src), "os.Getenv(") {
			t.Errorf("%s reads os.Getenv: use getenv and list the variable in Vars", f)
		}
		for _, m := range getenvCall.FindAllStringSubmatch(string(src), -1) {
			used[m[1]+m[2]+m[3]] = true
		}
	}
	listed := map[string]bool{}
	for _, v := range Vars {
		if listed[v.Name] {
			t.Errorf("%s listed twice", v.Name)
		}
		listed[v.Name] = true
		if !used[v.Name] {
			t.Errorf("%s is listed but no workflow reads it", v.Name)
		}
		if v.Means == "" {
			t.Errorf("%s says nothing about what it sets", v.Name)
		}
	}
	for name := range used {
		if !listed[name] {
			t.Errorf("%s is read but not listed in Vars", name)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("getenv of an unlisted variable did not panic")
		}
	}()
	getenv("PAWNET_NOT_LISTED")
}

func TestEnvNumbers(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  int
		dur   time.Duration
	}{
		{"", 7, time.Minute},
		{"12", 12, time.Minute},
		{"-3", 7, time.Minute},
		{"x", 7, time.Minute},
		{"90s", 7, 90 * time.Second},
	} {
		t.Setenv("PAWNET_SCALE_N", tc.value)
		t.Setenv("PAWNET_BENCH_WAIT", tc.value)
		if got := envInt("PAWNET_SCALE_N", 7); got != tc.want {
			t.Errorf("envInt(%q) = %d, want %d", tc.value, got, tc.want)
		}
		if got := envDuration("PAWNET_BENCH_WAIT", time.Minute); got != tc.dur {
			t.Errorf("envDuration(%q) = %v, want %v", tc.value, got, tc.dur)
		}
	}
}

// TestModelFor checks the default model against trainer/device's
// discovery on made-up systems.
func TestModelFor(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		devices []string
		want    string
	}{
		{"no GPU", nil, nil, "small"},
		{"GOMLX_BACKEND on CUDA", map[string]string{"GOMLX_BACKEND": "xla:cuda"}, nil, "full"},
		{"GOMLX_BACKEND on the CPU", map[string]string{"GOMLX_BACKEND": "go"}, []string{"/dev/nvidia0"}, "small"},
		{"a GPU without a CUDA plugin", nil, []string{"/dev/nvidia0"}, "small"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := device.System{
				Getenv: func(k string) string { return tc.env[k] },
				Glob: func(p string) ([]string, error) {
					if strings.HasPrefix(p, "/dev/nvidia") {
						return tc.devices, nil
					}
					return nil, nil
				},
				Python: func(string) (string, error) { return "", errors.New("no python") },
				Home:   t.TempDir(),
			}
			if got := modelFor(s); got != tc.want {
				t.Errorf("modelFor = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseFuzz(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		err       error
		execs     string
		crashers  []string
		row       string
	}{
		{"clean", "fuzz: elapsed: 3s, execs: 1200 (400/sec)\nfuzz: elapsed: 6s, execs: 2500 (433/sec)\nPASS\n", nil, "2500", nil, "0"},
		{"no count", "ok  \tpkg\t0.1s\n", nil, "?", nil, "0"},
		{"a crasher", "fuzz: elapsed: 1s, execs: 10 (10/sec)\n    Failing input written to testdata/fuzz/FuzzLoad/abc123\n", errors.New("exit status 1"),
			"10", []string{"shared/alexnet/testdata/fuzz/FuzzLoad/abc123"}, "1 shared/alexnet/testdata/fuzz/FuzzLoad/abc123"},
		{"failed without a crasher", "build failed\n", errors.New("exit status 2"), "?", nil, "0 (go test failed: exit status 2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := parseFuzz("alexnet.FuzzLoad", "./shared/alexnet", tc.out, tc.err)
			if r.execs != tc.execs || !slices.Equal(r.crashers, tc.crashers) {
				t.Errorf("execs %q crashers %q, want %q %q", r.execs, r.crashers, tc.execs, tc.crashers)
			}
			if row := r.row(); !strings.HasSuffix(row, "  "+tc.row) || !strings.HasPrefix(row, "alexnet.FuzzLoad") {
				t.Errorf("row %q does not end with %q", row, tc.row)
			}
		})
	}
}

func TestChanged(t *testing.T) {
	for _, tc := range []struct {
		name          string
		before, after map[string]string
		want          []string
	}{
		{"same", map[string]string{"a": "1"}, map[string]string{"a": "1"}, nil},
		{"edited", map[string]string{"a": "1", "b": "2"}, map[string]string{"a": "1", "b": "3"}, []string{"b"}},
		{"added and removed", map[string]string{"b": "1"}, map[string]string{"a": "1"}, []string{"a", "b"}},
	} {
		if got := changed(tc.before, tc.after); !slices.Equal(got, tc.want) {
			t.Errorf("%s: changed = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestWaitQuiet(t *testing.T) {
	for _, tc := range []struct {
		load, prefix string
	}{
		{"0.42 0.50 0.61", "yes: load 0.42 0.50 0.61"},
		{"3.10 2.00 1.00", "no: load 3.10 2.00 1.00"},
		{"unknown", "no: load unknown"},
	} {
		got := waitQuiet(0, func() string { return tc.load }, time.Millisecond)
		if !strings.HasPrefix(got, tc.prefix) {
			t.Errorf("waitQuiet with load %q = %q, want %q…", tc.load, got, tc.prefix)
		}
	}
	if got := loadAverage(); len(strings.Fields(got)) != 3 {
		t.Errorf("loadAverage = %q, want three averages", got)
	}
}

func TestNewestWeights(t *testing.T) {
	runs := t.TempDir()
	if _, err := newestWeights(runs); err == nil || !strings.Contains(err.Error(), "PAWNET_WEIGHTS") {
		t.Errorf("no runs: err %v, want one that names PAWNET_WEIGHTS", err)
	}
	now := time.Now()
	for i, name := range []string{"old", "new", "middle"} {
		p := filepath.Join(runs, name, rundir.WeightsFile)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		mod := now.Add(time.Duration([]int{-3, 0, -1}[i]) * time.Hour)
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	got, err := newestWeights(runs)
	if err != nil || got != filepath.Join(runs, "new", rundir.WeightsFile) {
		t.Errorf("newestWeights = %q, %v; want runs/new's", got, err)
	}
}

// TestMeasure runs real processes: one to its end, one that watch kills.
func TestMeasure(t *testing.T) {
	r, err := measure("echo", nil, "sh", "-c", "echo hello; echo $GOEXPERIMENT")
	if err != nil || r.out != "hello\nsimd\n" || r.rss <= 0 {
		t.Errorf("measure(echo) = out %q rss %d, %v; want hello, simd and a peak RSS", r.out, r.rss, err)
	}
	start := time.Now()
	r, _ = measure("sleep", func(cmd *exec.Cmd, r *scaleRow) (bool, error) {
		return true, cmd.Process.Kill()
	}, "sleep", "30")
	if !r.killed || time.Since(start) > 20*time.Second {
		t.Errorf("watch did not kill the command (killed %v after %v)", r.killed, time.Since(start))
	}
	if _, err := measure("fails", nil, "sh", "-c", "exit 3"); err == nil || !strings.Contains(err.Error(), "fails") {
		t.Errorf("a failing command: err %v, want one naming its stage", err)
	}
}

func TestPeakMem(t *testing.T) {
	var r scaleRow
	peakMem(os.Getpid(), &r)
	if r.rss <= 0 || r.anon <= 0 {
		t.Errorf("peakMem of this process: rss %d anon %d, want both > 0", r.rss, r.anon)
	}
	before := r
	peakMem(1<<30, &r) // no such process: nothing changes
	if r != before {
		t.Errorf("peakMem of a missing process changed the row")
	}
}

func TestRunFiles(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, rundir.CheckpointsDir)
	write := func(p, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(ck, "a", model.CheckpointFile), "x")
	if n, partial := checkpointFiles(ck); n != 1 || partial {
		t.Errorf("checkpointFiles = %d, %v; want 1, false", n, partial)
	}
	write(filepath.Join(ck, "b", "."+model.CheckpointFile+".tmp123"), "x")
	if n, partial := checkpointFiles(ck); n != 1 || !partial {
		t.Errorf("checkpointFiles with a temporary file = %d, %v; want 1, true", n, partial)
	}
	start := time.Now()
	var lines []string
	for i, m := range []metrics.Message{
		&metrics.RunStart{}, // before start: not this run's
		&metrics.RunStart{},
		&metrics.Step{},
		&metrics.Step{},
	} {
		at := start.Add(time.Duration(i*1500-1000) * time.Millisecond)
		metrics.Stamp(m, int64(i+1), at.UnixMilli())
		b, err := metrics.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	mf := filepath.Join(dir, rundir.MetricsFile)
	data := strings.Join(lines, "\n") + "\n"
	write(mf, data)
	if got := runStartAfter(mf, start); got < 0.4 || got > 0.6 {
		t.Errorf("runStartAfter = %.2f s, want 0.5 (the second run_start)", got)
	}
	if size, n, steps := metricsSize(mf); size != int64(len(data)) || n != 4 || steps != 2 {
		t.Errorf("metricsSize = %d bytes, %d lines, %d steps; want %d, 4, 2", size, n, steps, len(data))
	}
	if got := dirBytes(dir); got != int64(len(data))+2 {
		t.Errorf("dirBytes = %d, want %d", got, len(data)+2)
	}
}

func TestLinkTreeAndTestZip(t *testing.T) {
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "copy")
	for name, data := range map[string]string{
		"train/cat.1.jpg": "c", "train/dog.1.jpg": "d", "train/stats.json": "{}", "train/x.pack": "p",
	} {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := linkTree(src, dst); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(dst, "train"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"cat.1.jpg", "dog.1.jpg"}; !slices.Equal(names, want) {
		t.Errorf("linkTree copied %q, want %q (no pack, no stats)", names, want)
	}
	zp := filepath.Join(t.TempDir(), "test.zip")
	if err := writeTestZip(filepath.Join(dst, "train"), zp); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(zp)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	names = nil
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if want := []string{"test/1.jpg", "test/2.jpg"}; !slices.Equal(names, want) {
		t.Errorf("writeTestZip wrote %q, want %q", names, want)
	}
}

func TestMiB(t *testing.T) {
	for _, tc := range []struct {
		b    int64
		want string
	}{{0, "-"}, {1_500_000, "2 MB"}, {254_000_000, "254 MB"}} {
		if got := mib(tc.b); got != tc.want {
			t.Errorf("mib(%d) = %q, want %q", tc.b, got, tc.want)
		}
	}
}
