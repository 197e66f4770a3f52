package predict

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pawnet/pawnet/internal/fixtures"
	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/shared/classify"
	"github.com/pawnet/pawnet/trainer/dataset"
	"github.com/pawnet/pawnet/trainer/model"
)

// zipOf returns a real zip holding the given entries, in order.
func zipOf(t *testing.T, entries [][2]string, method uint16) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, e := range entries {
		ew, err := w.CreateHeader(&zip.FileHeader{Name: e[0], Method: method})
		if err == nil {
			_, err = ew.Write([]byte(e[1]))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestPredictFromZip: the test photos of test.zip, alone or inside the
// competition zip (stored or deflated), are classified in place; the
// submission follows sample_submission.csv's order and header, gives an
// id without a photo 0.5 and says so, and names the photo whose name is
// not a Kaggle id.
func TestPredictFromZip(t *testing.T) {
	st := statsOf(t)
	stats, _ := json.Marshal(st)
	cfg := alexnet.Small()
	w := filepath.Join(t.TempDir(), "w.safetensors")
	if _, err := model.WriteWeights(w, cfg, alexnet.InitParams(cfg, 3), alexnet.Metadata{Stats: stats, Classes: []string{"cat", "dog"}}); err != nil {
		t.Fatal(err)
	}
	m, err := alexnet.LoadFile(w)
	if err != nil {
		t.Fatal(err)
	}
	c, err := classify.New(m)
	if err != nil {
		t.Fatal(err)
	}
	testDir := filepath.Join(fixtures.SampleDir(t), "test")
	var test [][2]string
	for _, n := range []string{"1", "2", "3", "4", "5", "cover"} {
		src := n
		if n == "cover" {
			src = "6"
		}
		b, err := os.ReadFile(filepath.Join(testDir, src+".jpg"))
		if err != nil {
			t.Fatal(err)
		}
		test = append(test, [2]string{"test/" + n + ".jpg", string(b)})
	}
	testZip := zipOf(t, test, zip.Deflate)
	// Kaggle's order need not be numeric: this one is reversed, and id 7
	// has no photo.
	sampleCSV := "id,label\n7,0.5\n5,0.5\n4,0.5\n3,0.5\n2,0.5\n1,0.5\n"
	for _, tc := range []struct {
		name   string
		zip    []byte
		order  bool // the zip holds sample_submission.csv
		inside string
	}{
		{"test.zip", testZip, false, "test.zip"},
		{"outer, stored", zipOf(t, [][2]string{{"sample_submission.csv", sampleCSV}, {"test.zip", string(testZip)}}, zip.Store), true, "x.zip/test.zip"},
		{"outer, deflated", zipOf(t, [][2]string{{"test.zip", string(testZip)}, {"sample_submission.csv", sampleCSV}}, zip.Deflate), true, "x.zip/test.zip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "x.zip")
			if tc.name == "test.zip" {
				file = filepath.Join(t.TempDir(), "test.zip")
			}
			if err := os.WriteFile(file, tc.zip, 0o644); err != nil {
				t.Fatal(err)
			}
			files, skipped, err := Files([]string{file})
			if err != nil || len(files) != 6 || len(skipped) != 0 || !strings.Contains(files[0].Path, tc.inside+"/test/") {
				t.Fatalf("files %v, skipped %v, %v", files, skipped, err)
			}
			res := Run(c, files, true, 4, nil)
			for _, r := range res {
				if r.Err != nil {
					t.Fatalf("%s: %v", r.Path, r.Err)
				}
			}
			var order []int
			if data, err := dataset.ReadZipEntry(file, "sample_submission.csv", 1<<20); err == nil {
				if order, err = ReadOrder(bytes.NewReader(data)); err != nil {
					t.Fatal(err)
				}
			}
			if (order != nil) != tc.order {
				t.Fatalf("order %v, want one: %v", order, tc.order)
			}
			var sub bytes.Buffer
			n, notes := WriteSubmissionIn(&sub, res, 1, 0.005, order)
			text := fmt.Sprint(notes)
			want := 5 // the photos with a Kaggle id
			if tc.order {
				want = 6 // the sample's ids
			}
			if n != want || !strings.Contains(text, "cover.jpg: not a Kaggle test file name") {
				t.Fatalf("%d rows, notes %v", n, notes)
			}
			lines := strings.Split(strings.TrimSpace(sub.String()), "\n")
			if !tc.order {
				if lines[0] != "id,label" || len(lines) != 6 || !strings.HasPrefix(lines[1], "1,") {
					t.Fatalf("submission:\n%s", sub.String())
				}
				return
			}
			if len(lines) != 7 || lines[0] != "id,label" || lines[1] != "7,0.5" || !strings.HasPrefix(lines[2], "5,") || !strings.HasPrefix(lines[6], "1,") {
				t.Fatalf("submission not in the sample's order:\n%s", sub.String())
			}
			if !strings.Contains(text, "1 ids of the sample submission have no prediction") {
				t.Errorf("notes %v do not report id 7", notes)
			}
		})
	}
}
