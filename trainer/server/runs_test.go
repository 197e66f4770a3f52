package server

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/rundir"
)

// runsFolder writes a runs folder of every kind the run list meets and
// returns it:
//
//	good/       a finished run (run.json and metrics.jsonl)
//	corrupt/    the same with two lines that do not decode and a cut-short last line
//	empty/      an empty metrics.jsonl
//	fresh/      only run.json (the trainer has not emitted yet)
//	killed/     a run that never ended, its file untouched for an hour
//	notes/      a folder that is not a run
func runsFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	mk := func(name string) string {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	good := mk("good")
	writeRun(t, filepath.Join(good, rundir.MetricsFile))
	if err := rundir.WriteConfig(good, rundir.Config{RunID: "good", Model: alexnet.Small()}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(good, rundir.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	bad := strings.Join(lines[:3], "") + "not json at all\n" + `{"type":"epoch","v":1,"seq":4,"t":1,"epoch":"two"}` + "\n" +
		strings.Join(lines[3:6], "") + `{"type":"step","v":1,"se`
	if err := os.WriteFile(filepath.Join(mk("corrupt"), rundir.MetricsFile), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mk("empty"), rundir.MetricsFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := rundir.WriteConfig(mk("fresh"), rundir.Config{RunID: "fresh"}); err != nil {
		t.Fatal(err)
	}
	killed := filepath.Join(mk("killed"), rundir.MetricsFile)
	if err := os.WriteFile(killed, []byte(strings.Join(lines[:3], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	hourAgo := time.Now().Add(-time.Hour)
	if err := os.Chtimes(killed, hourAgo, hourAgo); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mk("notes"), "todo.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// summaries returns the run list by name.
func summaries(t *testing.T, s *Server) (map[string]metrics.RunSummary, metrics.RunList) {
	t.Helper()
	resp, body := get(t, s, "/api/runs", "")
	var l metrics.RunList
	if err := json.Unmarshal(body, &l); resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("/api/runs: %d %v %q", resp.StatusCode, err, body)
	}
	m := map[string]metrics.RunSummary{}
	for _, r := range l.Runs {
		m[r.Name] = r
	}
	return m, l
}

// `pawnet serve -runs DIR`: every run folder is listed with its status and
// a warning for damaged files, and its readable part is served.
func TestRunsDir(t *testing.T) {
	dir := runsFolder(t)
	s := start(t, nil, Options{RunsDir: dir, ScanInterval: 10 * time.Millisecond, StaleAfter: time.Minute})
	runs, list := summaries(t, s)
	for _, tc := range []struct {
		name, status, warning string
		epochs                int
		lastSeq               int64
	}{
		{"good", metrics.StatusFinished, "", 1, 7},
		{"corrupt", metrics.StatusRunning, "2 unreadable lines skipped (line 4: not a metrics message of schema version 1 to 2); the last line is cut short (24 bytes)", 1, 6},
		{"empty", metrics.StatusWaiting, "metrics.jsonl is empty", 0, 0},
		{"fresh", metrics.StatusWaiting, "no metrics.jsonl", 0, 0},
		{"killed", metrics.StatusInterrupted, "", 1, 3},
	} {
		r, ok := runs[tc.name]
		if !ok {
			t.Errorf("%s not listed", tc.name)
			continue
		}
		if r.Status != tc.status || r.Warning != tc.warning || r.Epochs != tc.epochs || r.LastSeq != tc.lastSeq || r.Live {
			t.Errorf("%s: %+v\nwant status %q, warning %q, %d epochs, last seq %d", tc.name, r, tc.status, tc.warning, tc.epochs, tc.lastSeq)
		}
	}
	if len(list.Runs) != 5 {
		t.Errorf("%d runs listed, want 5 (not notes/)", len(list.Runs))
	}
	if r := s.runs.defaultRun(); r == nil || r.name != list.Default {
		t.Errorf("defaultRun %v, the list's default %q", r, list.Default)
	}
	if r := runs["good"]; r.RunID != "r1" || r.Model != "small" || r.BestEpoch != 1 || r.BestValAcc != 0.5 || r.TotalEpochs != 2 {
		t.Errorf("good: %+v", r)
	}

	// The readable part of the corrupt run is served.
	c := dial(t, s, "?run=corrupt")
	if _, err := readUntil(c, 1, 6); err != nil {
		t.Fatal(err)
	}
	if _, resp, err := websocketDial(s, "?run=nope"); err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("/ws?run=nope: %v, want 404", err)
	}

	// A new run appears, and is followed as another process writes it.
	newDir := filepath.Join(dir, "new")
	if err := os.MkdirAll(newDir, 0o755); err != nil {
		t.Fatal(err)
	}
	em, err := rundir.OpenEmitter(filepath.Join(newDir, rundir.MetricsFile), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	em.Emit(&metrics.RunStart{RunID: "new", Model: alexnet.Small(), Epochs: 3})
	waitFor(t, "the new run", func() bool { r, ok := summariesQuiet(s)["new"]; return ok && r.LastSeq == 1 })
	if _, l := summaries(t, s); l.Default != "new" || l.Runs[0].Name != "new" {
		t.Errorf("default %q, first %q; want the newest run first and default", l.Default, l.Runs[0].Name)
	}
	if r := s.runs.defaultRun(); r == nil || r.name != "new" {
		t.Errorf("defaultRun %v, want the new run", r)
	}
	live := dial(t, s, "?run=new")
	if _, err := readUntil(live, 1, 1); err != nil {
		t.Fatal(err)
	}
	em.Emit(&metrics.Step{Epoch: 1, Step: 1, GlobalStep: 1, Loss: 0.7})
	em.Emit(&metrics.Epoch{Epoch: 1, Epochs: 3, ValAcc: 0.6, ValLogLoss: 0.66, BestEpoch: 1, BestValAcc: 0.6})
	if _, err := readUntil(live, 2, 3); err != nil {
		t.Fatal(err)
	}
	if r := summariesQuiet(s)["new"]; r.Status != metrics.StatusRunning || r.BestValLogLoss != 0.66 {
		t.Errorf("new: %+v", r)
	}
}

func summariesQuiet(s *Server) map[string]metrics.RunSummary {
	m := map[string]metrics.RunSummary{}
	for _, r := range s.Runs().Runs {
		m[r.Name] = r
	}
	return m
}

// `pawnet train -serve`: the live run is listed with the others under its
// folder's name, and is not read from its file.
func TestRunsDirWithLiveRun(t *testing.T) {
	dir := runsFolder(t)
	hub := NewHub(quiet())
	s := start(t, hub, Options{RunsDir: dir, RunName: "good"}) // the live run's folder is good/
	runs, list := summaries(t, s)
	if list.Default != "good" || !runs["good"].Live || runs["good"].LastSeq != 0 || len(list.Runs) != 5 {
		t.Fatalf("list %+v", list)
	}
	hub.Emit(&metrics.RunStart{RunID: "good", Epochs: 2}, nil)
	if r := summariesQuiet(s)["good"]; r.LastSeq != 1 || r.Status != metrics.StatusRunning {
		t.Errorf("live run %+v", r)
	}
	// Its weights are the folder's.
	if err := os.WriteFile(filepath.Join(dir, "good", rundir.WeightsFile), []byte("w"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/weights", "/api/runs/good/weights"} {
		if resp, body := get(t, s, path, ""); resp.StatusCode != 200 || string(body) != "w" {
			t.Errorf("GET %s: %d %q", path, resp.StatusCode, body)
		}
	}
}

// A run's files: epochs.csv (one row per epoch, the latest message of a
// replayed epoch), metrics.jsonl, weights and run.json.
func TestRunFiles(t *testing.T) {
	dir := runsFolder(t)
	s := start(t, nil, Options{RunsDir: dir})
	em, err := rundir.OpenEmitter(filepath.Join(dir, "good", rundir.MetricsFile), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	em.Emit(&metrics.RunStart{RunID: "r1", Epochs: 3, Resumed: true, StartEpoch: 2})
	em.Emit(&metrics.Epoch{Epoch: 2, Epochs: 3, TrainLoss: 0.5, TrainAcc: 0.75, ValLoss: 0.52, ValAcc: 0.7, ValLogLoss: 0.51, LR: 1e-3, Seconds: 4.25, Best: true, BestEpoch: 2, BestValAcc: 0.7})
	em.Emit(&metrics.Epoch{Epoch: 1, Epochs: 3, TrainLoss: 0.30000000000000004, ValAcc: 1.0 / 3})
	if err := em.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the resumed run", func() bool { return summariesQuiet(s)["good"].LastSeq == 10 })

	resp, body := get(t, s, "/api/runs/good/epochs.csv", "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename="good-epochs.csv"` {
		t.Fatalf("epochs.csv: %d %v", resp.StatusCode, resp.Header)
	}
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		epochsCSVHeader,
		{"1", "0.30000000000000004", "0", "0", "0.3333333333333333", "0", "0", "0", "0"},
		{"2", "0.5", "0.75", "0.52", "0.7", "0.51", "0.001", "4.25", "1"},
	}
	if len(rows) != len(want) {
		t.Fatalf("epochs.csv:\n%s", body)
	}
	for i := range want {
		if strings.Join(rows[i], ",") != strings.Join(want[i], ",") {
			t.Errorf("row %d: %v, want %v", i, rows[i], want[i])
		}
	}

	resp, body = get(t, s, "/api/runs/good/metrics.jsonl", "")
	file, err := os.ReadFile(filepath.Join(dir, "good", rundir.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || string(body) != string(file) || resp.Header.Get("Content-Disposition") != `attachment; filename="good-metrics.jsonl"` {
		t.Errorf("metrics.jsonl: %d, %d bytes, want the file's %d", resp.StatusCode, len(body), len(file))
	}
	// The corrupt run's: its readable lines only.
	if _, body := get(t, s, "/api/runs/corrupt/metrics.jsonl", ""); strings.Count(string(body), "\n") != 6 || strings.Contains(string(body), "not json") {
		t.Errorf("corrupt metrics.jsonl:\n%s", body)
	}
	for path, code := range map[string]int{
		"/api/runs/good/run.json":          200,
		"/api/runs/good/weights":           404,
		"/api/runs/fresh/run.json":         200,
		"/api/runs/nope/epochs.csv":        404,
		"/api/runs/good/other.txt":         404,
		"/api/runs/empty/epochs.csv":       200,
		"/api/runs/empty/run.json":         404,
		"/api/runs/good%2F..%2Fx/run.json": 404,
	} {
		if resp, _ := get(t, s, path, ""); resp.StatusCode != code {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, code)
		}
	}
	if got := safeFilename(`a b"/\c.csv`); got != "a_b___c.csv" {
		t.Errorf("safeFilename: %q", got)
	}
}

// websocketDial dials /ws with query, without failing the test.
func websocketDial(s *Server, query string) (*websocket.Conn, *http.Response, error) {
	c, resp, err := websocket.DefaultDialer.Dial(wsURL(s, query), nil)
	if c != nil {
		c.Close()
	}
	return c, resp, err
}
