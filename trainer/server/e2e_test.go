package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pawnet/pawnet/internal/fixtures"
	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/rundir"
	"github.com/pawnet/pawnet/trainer/train"
)

// A real short training run on the sample, with the hub as its Sink: a
// WebSocket client connected through the real HTTP server sees the whole
// run as metrics.jsonl records it, and /weights then serves the exported
// model.
func TestEndToEndTraining(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	if raceEnabled {
		t.Skip("gomlx/compute's matmul fails checkptr, which -race turns on")
	}
	data := fixtures.ClassTree(t, 40)
	o := train.Defaults(alexnet.Small())
	o.DataDir, o.RunsDir, o.RunID, o.Epochs, o.BatchSize, o.Log = data, t.TempDir(), "e2e", 2, 16, io.Discard
	run, err := train.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	runDir := run.Dir()
	hub := NewHub(quiet())
	s := start(t, hub, Options{
		WeightsPath: filepath.Join(runDir, rundir.WeightsFile),
		RunInfoPath: filepath.Join(runDir, rundir.ConfigFile),
	})
	// Open wrote run.json: the page can show the run before training starts.
	if resp, body := get(t, s, "/api/run", ""); resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"e2e"`)) {
		t.Fatalf("/api/run before training: %d %q", resp.StatusCode, body)
	}
	if resp, body := get(t, s, "/weights", ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/weights before training: %d %q", resp.StatusCode, body)
	}

	c := dial(t, s, "")
	waitFor(t, "the client", func() bool { return hub.Clients() == 1 })
	type stream struct {
		msgs  [][]byte
		types map[string]int
		end   *metrics.RunEnd
		err   error
	}
	got := make(chan stream, 1)
	go func() {
		st := stream{types: map[string]int{}}
		defer func() { got <- st }()
		for seq := int64(1); ; seq++ {
			c.SetReadDeadline(time.Now().Add(2 * readGuard)) // covers caching and the first compile
			_, data, err := c.ReadMessage()
			if err != nil {
				st.err = err
				return
			}
			m, err := metrics.Decode(data)
			if err != nil {
				st.err = err
				return
			}
			if metrics.Seq(m) != seq {
				st.err = fmt.Errorf("seq %d, want %d", metrics.Seq(m), seq)
				return
			}
			st.msgs = append(st.msgs, data)
			st.types[m.MessageType()]++
			if e, ok := m.(*metrics.RunEnd); ok {
				st.end = e
				return
			}
		}
	}()

	res, err := run.Train(context.Background(), hub)
	if err != nil {
		t.Fatal(err)
	}
	st := <-got
	if st.err != nil {
		t.Fatalf("client, after %d messages: %v", len(st.msgs), st.err)
	}
	t.Logf("client received %d messages: %v", len(st.msgs), st.types)
	if st.types[metrics.TypeRunStart] != 1 || st.types[metrics.TypeStep] < 2 || st.types[metrics.TypeEpoch] != 2 ||
		st.types[metrics.TypeCheckpoint] < 3 || st.types[metrics.TypeRunEnd] != 1 {
		t.Errorf("message types %v", st.types)
	}
	if st.end.Status != metrics.StatusFinished || st.end.Weights == "" {
		t.Errorf("run_end %+v", st.end)
	}
	// The stream is metrics.jsonl, byte for byte.
	file, err := os.ReadFile(filepath.Join(runDir, rundir.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := bytes.Join(st.msgs, []byte("\n")); !bytes.Equal(bytes.TrimSuffix(file, []byte("\n")), want) {
		t.Errorf("stream differs from metrics.jsonl")
	}

	weights, err := os.ReadFile(res.Weights)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, s, "/weights", "")
	if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(weights)) || !bytes.Equal(body, weights) {
		t.Errorf("/weights: %d, Content-Length %d (%d bytes); want the %d bytes of %s",
			resp.StatusCode, resp.ContentLength, len(body), len(weights), res.Weights)
	}
	if resp, body := get(t, s, "/api/run", ""); resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"e2e"`)) {
		t.Errorf("/api/run: %d %q", resp.StatusCode, body)
	}
}
