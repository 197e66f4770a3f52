package browsertest

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pawnet/pawnet/shared/metrics"
)

// TestFiltersCardAndGalleryHeat opens a finished Small run: the "What
// conv1 learned" card shows 24 tiles (the latest snapshot), its slider
// replays the snapshots (the initialization, then each exported epoch),
// and every misclassified photo of the best epoch carries its heatmap.
// The same run rewritten as schema 1 (no filters, no heatmaps) still
// opens, with the card saying it has none. Screenshots: artifacts/filters.png
// (the page) and artifacts/filters-card.png.
func TestFiltersCardAndGalleryHeat(t *testing.T) {
	b := newBrowser(t)
	r := finishedRun(t)
	var snapshots []int
	for _, m := range r.msgs {
		if f, ok := m.(*metrics.Filters); ok {
			snapshots = append(snapshots, f.Epoch)
		}
	}
	if len(snapshots) < 2 || snapshots[0] != 0 {
		t.Fatalf("the run sent filters for epochs %v, want 0 and the exports", snapshots)
	}
	srv := newServer(t, webRoot(t), r.weights)
	srv.loadHistory(t, r.metrics)
	b.open(srv.URL())
	b.wait("the history", epochsShownJS(runEpochs), 30*time.Second)
	last := strconv.Itoa(snapshots[len(snapshots)-1])
	b.wait("24 filter tiles", `(() => { const c = document.querySelector("#filters");
		return !!c && c.dataset.count === "24" && c.dataset.epoch === "`+last+`" && c.querySelectorAll(".filter-tile").length === 24; })()`, 20*time.Second)
	if n := eval[int](b, `Number(document.querySelector("#filters").dataset.snapshots)`); n != len(snapshots) {
		t.Errorf("card holds %d snapshots, the run sent %d", n, len(snapshots))
	}
	// Replay: the slider's first position is the initialization.
	eval[bool](b, `(() => { const s = document.querySelector("#filters-epoch"); s.value = "0"; s.dispatchEvent(new Event("input", { bubbles: true })); return true; })()`)
	b.wait("the initialization's filters", `document.querySelector("#filters").dataset.epoch === "0" &&
		document.querySelector("#filters-note").textContent.includes("initialization")`, 10*time.Second)
	// The best epoch's mistakes with their heatmaps.
	b.wait("the gallery's heatmaps", `(() => { const f = document.querySelectorAll("#misclassified .mis-item");
		return f.length > 0 && document.querySelectorAll("#misclassified .mis-item img.mis-heat").length === f.length &&
			document.querySelector("#misclassified .gallery").classList.contains("why"); })()`, 20*time.Second)
	b.screenshot("filters")
	b.elementShot("filters-card", "#filters")

	// Schema 1: no filters, no heatmaps.
	old := filepath.Join(t.TempDir(), "metrics.jsonl")
	if err := os.WriteFile(old, schema1(t, r.metrics), 0o644); err != nil {
		t.Fatal(err)
	}
	srv1 := newServer(t, webRoot(t), r.weights)
	srv1.loadHistory(t, old)
	b.open(srv1.URL())
	b.wait("the schema-1 history", epochsShownJS(runEpochs)+` && document.querySelectorAll("#misclassified .mis-item").length > 0`, 30*time.Second)
	st := eval[struct {
		Count string `json:"count"`
		Note  string `json:"note"`
		Heat  int    `json:"heat"`
		Why   bool   `json:"why"`
	}](b, `({ count: document.querySelector("#filters").dataset.count, note: document.querySelector("#filters-note").textContent,
		heat: document.querySelectorAll("#misclassified img.mis-heat").length, why: !!document.querySelector("#gallery-why") })`)
	if st.Count != "0" || st.Heat != 0 || st.Why || !bytes.Contains([]byte(st.Note), []byte("none")) {
		t.Errorf("schema-1 run: %+v", st)
	}
}

// schema1 rewrites a metrics.jsonl as schema version 1 wrote it: without
// the filters messages and the misclassified heatmaps.
func schema1(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	seq := int64(0)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		m, err := metrics.Decode(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m.(*metrics.Filters); ok {
			continue
		}
		if mis, ok := m.(*metrics.Misclassified); ok {
			for i := range mis.Samples {
				mis.Samples[i].Heat = ""
			}
		}
		seq++
		metrics.Stamp(m, seq, 1)
		line, err := metrics.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		out.Write(bytes.Replace(line, []byte(`"v":2,`), []byte(`"v":1,`), 1))
		out.WriteByte('\n')
	}
	return out.Bytes()
}
