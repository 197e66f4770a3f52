package workflow

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/pawnet/pawnet/shared/metrics"
	"github.com/pawnet/pawnet/trainer/dataset"
	"github.com/pawnet/pawnet/trainer/model"
	"github.com/pawnet/pawnet/trainer/rundir"
)

// Scale rehearses Kaggle scale on the CPU and prints a table of each
// stage's time and peak memory. It generates a 25,000-photo Kaggle-layout
// folder of 500×375 JPEGs in data/scale (PAWNET_SCALE_N photos; or uses
// PAWNET_SCALE_DATA, a Kaggle train/ folder or a cat/ dog/ tree), then:
// separate → pack (227 px) → open the current pack again → stats from the
// pack → a full-model training run from the pack, batch 8, with a
// checkpoint every PAWNET_SCALE_EVERY steps (default 3) → kill -9 while
// it writes its second checkpoint → -resume for PAWNET_SCALE_EVERY more
// steps, checking that it continues from the last complete checkpoint →
// the same training start with the photos decoded into memory (-no-pack),
// stopped once it is ready, for the start-up comparison.
func Scale() error {
	mg.Deps(Build)
	n := envInt("PAWNET_SCALE_N", 25000)
	every := envInt("PAWNET_SCALE_EVERY", 3)
	data := getenv("PAWNET_SCALE_DATA")
	var rows []scaleRow
	add := func(r scaleRow) { rows = append(rows, r); fmt.Printf("  %-34s %8.1fs  %s\n", r.stage, r.secs, r.note) }
	if data == "" {
		data = filepath.Join("data", "scale", "train")
		marker := filepath.Join("data", "scale", fmt.Sprintf(".complete-%d", n))
		if _, err := os.Stat(marker); err != nil {
			if err := os.RemoveAll(filepath.Join("data", "scale")); err != nil {
				return err
			}
			r, err := measure("synth", nil, Binary, "synth", "-n", strconv.Itoa(n), "-out", filepath.Join("data", "scale"))
			if err != nil {
				return err
			}
			r.note = fmt.Sprintf("%d photos of 500×375", n)
			add(r)
			if err := os.WriteFile(marker, nil, 0o644); err != nil {
				return err
			}
		}
	}
	r, err := measure("separate", nil, Binary, "separate", data)
	if err != nil {
		return err
	}
	add(r)
	packPath := filepath.Join(data, dataset.PackName(227))
	if err := os.Remove(packPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if r, err = measure("pack (decode + resize 227)", nil, Binary, "pack", data); err != nil {
		return err
	}
	fi, err := os.Stat(packPath)
	if err != nil {
		return err
	}
	photos := countPhotos(data)
	r.note = fmt.Sprintf("%d photos, %.0f photos/s, pack %.2f GB", photos, float64(photos)/r.secs, float64(fi.Size())/1e9)
	add(r)
	if r, err = measure("pack again (open + check)", nil, Binary, "pack", data); err != nil {
		return err
	}
	r.note = fmt.Sprintf("%.2f GB/s", float64(fi.Size())/1e9/r.secs)
	add(r)
	if r, err = measure("stats from the pack", nil, Binary, "stats", data); err != nil {
		return err
	}
	add(r)

	runs, err := filepath.Abs(filepath.Join("data", "scale-runs"))
	if err != nil {
		return err
	}
	if err := os.RemoveAll(runs); err != nil {
		return err
	}
	run := filepath.Join(runs, "full")
	train := []string{"train", "-model", "full", "-batch", "8", "-epochs", "1", "-keep", "2", "-runs", runs}
	// Kill -9 during the second checkpoint write.
	var killedState rundir.State
	watch := func(cmd *exec.Cmd, r *scaleRow) (bool, error) {
		if r.startup == 0 {
			r.startup = runStartAfter(filepath.Join(run, rundir.MetricsFile), r.start)
		}
		done, partial := checkpointFiles(filepath.Join(run, rundir.CheckpointsDir))
		if done >= 1 && partial {
			st, err := rundir.ReadState(run)
			if err != nil {
				return false, err
			}
			killedState = st
			return true, cmd.Process.Kill()
		}
		return false, nil
	}
	args := append(append([]string{}, train...), "-name", "full", "-checkpoint-every", strconv.Itoa(every), data)
	r, err = measure("train from the pack, kill -9", watch, Binary, args...)
	if !r.killed {
		return fmt.Errorf("the training run ended before its second checkpoint write (%v):\n%s", err, r.out)
	}
	startPack := r.startup
	r.note = fmt.Sprintf("start-up %.1fs; killed while writing a checkpoint; state names %s", startPack, killedState.Checkpoint)
	add(r)
	ckpt, err := os.Stat(filepath.Join(run, killedState.Checkpoint, model.CheckpointFile))
	if err != nil {
		return fmt.Errorf("the checkpoint state.json names is not complete: %w", err)
	}
	saveSecs := checkpointSeconds(filepath.Join(run, rundir.MetricsFile))

	if r, err = measure("resume", nil, Binary, "train", "-resume", run, "-max-steps", strconv.Itoa(every)); err != nil {
		return err
	}
	if !strings.Contains(r.out, "from "+killedState.Checkpoint+" ") {
		return fmt.Errorf("the resumed run did not continue from %s:\n%s", killedState.Checkpoint, r.out)
	}
	r.note = "continued from " + killedState.Checkpoint
	add(r)
	st, err := rundir.ReadState(run)
	if err != nil {
		return err
	}
	r, err = measure("train, photos decoded into memory", func(cmd *exec.Cmd, r *scaleRow) (bool, error) {
		if r.startup = runStartAfter(filepath.Join(runs, "memory", rundir.MetricsFile), r.start); r.startup > 0 {
			return true, cmd.Process.Kill()
		}
		return false, nil
	}, Binary, append(append([]string{}, train...), "-name", "memory", "-no-pack", data)...)
	if !r.killed {
		return fmt.Errorf("the in-memory run ended before it was ready (%v):\n%s", err, r.out)
	}
	startMem := r.startup
	r.note = fmt.Sprintf("start-up %.1fs (stopped when ready)", startMem)
	add(r)

	disk := dirBytes(run)
	metricsFile := filepath.Join(run, rundir.MetricsFile)
	mb, lines, steps := metricsSize(metricsFile)
	fmt.Println()
	w := tabwriter.NewWriter(os.Stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(w, "stage\tseconds\tpeak RSS\tanon\tfile-backed\tnote")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%.1f\t%s\t%s\t%s\t%s\n", r.stage, r.secs, mib(r.rss), mib(r.anon), mib(r.file), r.note)
	}
	w.Flush()
	fmt.Println()
	fmt.Printf("start-up to the first training step: pack %.1fs, decoding into memory %.1fs: %.1f× faster\n", startPack, startMem, startMem/startPack)
	fmt.Printf("full-model checkpoint: %.0f MB, saved in %s\n", float64(ckpt.Size())/1e6, saveSecs)
	fmt.Printf("run folder with -keep 2 after the resume: %.0f MB (state.json names %s)\n", float64(disk)/1e6, st.Checkpoint)
	fmt.Printf("metrics.jsonl: %d bytes in %d messages (%d steps): %.0f bytes per step message, %.1f MB per hour of training at 4 step messages/s\n",
		mb, lines, steps, float64(mb)/float64(max(lines, 1)), float64(mb)/float64(max(lines, 1))*4*3600/1e6)
	return nil
}

// scaleRow is one measured stage.
type scaleRow struct {
	stage           string
	start           time.Time
	secs            float64
	rss, anon, file int64 // peak bytes: VmHWM, RssAnon, RssFile
	startup         float64
	killed          bool
	out             string
	note            string
}

// measure runs a command, polling it every 50 ms with watch (which may
// kill it) and its memory from /proc, and returns its row.
func measure(stage string, watch func(*exec.Cmd, *scaleRow) (bool, error), name string, args ...string) (scaleRow, error) {
	fmt.Println("$", name, strings.Join(args, " "))
	r := scaleRow{stage: stage, start: time.Now()}
	cmd := command(nil, name, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return r, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	for running := true; running; {
		select {
		case err = <-done:
			running = false
		case <-time.After(50 * time.Millisecond):
			peakMem(cmd.Process.Pid, &r)
			if watch != nil && !r.killed {
				killed, werr := watch(cmd, &r)
				if werr != nil {
					cmd.Process.Kill()
					<-done
					return r, werr
				}
				r.killed = killed
			}
		}
	}
	r.secs, r.out = time.Since(r.start).Seconds(), out.String()
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.rss = max(r.rss, ru.Maxrss*1024)
		}
	}
	if err != nil && !r.killed {
		fmt.Print(r.out)
		return r, fmt.Errorf("%s: %w", stage, err)
	}
	return r, err
}

// peakMem raises r's peaks with /proc/PID/status.
func peakMem(pid int, r *scaleRow) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmHWM":
			r.rss = max(r.rss, kb*1024)
		case "RssAnon":
			r.anon = max(r.anon, kb*1024)
		case "RssFile":
			r.file = max(r.file, kb*1024)
		}
	}
}

// runStartAfter is the seconds from start to the first run_start message
// in a metrics file stamped after start (0: none yet): the trainer sends it
// when the data and the model are ready, just before the first step.
func runStartAfter(path string, start time.Time) float64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		var h metrics.Header
		if json.Unmarshal([]byte(line), &h) == nil && h.Type == metrics.TypeRunStart && h.Time >= start.UnixMilli() {
			return float64(h.Time-start.UnixMilli()) / 1000
		}
	}
	return 0
}

// checkpointFiles counts the complete checkpoint files under dir and says
// whether one is being written (a temporary file exists).
func checkpointFiles(dir string) (complete int, partial bool) {
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		switch {
		case err != nil || d.IsDir():
		case d.Name() == model.CheckpointFile:
			complete++
		case strings.HasPrefix(d.Name(), "."+model.CheckpointFile+".tmp"):
			partial = true
		}
		return nil
	})
	return complete, partial
}

// checkpointSeconds lists the save times the run's checkpoint messages report.
func checkpointSeconds(path string) string {
	data, _ := os.ReadFile(path)
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		m, err := metrics.Decode([]byte(line))
		if c, ok := m.(*metrics.Checkpoint); err == nil && ok && c.Kind == metrics.KindCheckpoint {
			out = append(out, fmt.Sprintf("%.1fs", c.Seconds))
		}
	}
	return strings.Join(out, ", ")
}

// metricsSize returns the size of a metrics.jsonl, its lines and its
// step messages.
func metricsSize(path string) (bytes int64, lines, steps int) {
	data, _ := os.ReadFile(path)
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		lines++
		var h metrics.Header
		if json.Unmarshal([]byte(line), &h) == nil && h.Type == metrics.TypeStep {
			steps++
		}
	}
	return int64(len(data)), lines, steps
}

// dirBytes is the size of the files below dir.
func dirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// countPhotos is the number of photos dataset.Scan finds in dir.
func countPhotos(dir string) int {
	ds, err := dataset.Scan(dir)
	if err != nil {
		return 0
	}
	return len(ds.Items)
}

// mib formats a byte count in MB, "-" for none.
func mib(b int64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f MB", float64(b)/1e6)
}
