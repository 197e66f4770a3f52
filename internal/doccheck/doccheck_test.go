package doccheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodBench = "# Benchmarks\n\n| <a id=\"native\"></a>inference | 15.8 ms/photo | PyTorch: 21.2 | 1.34× |\n"

const goodReadme = "# pawnet\n\n![dashboard](docs/shot.png)\n\nSee [the design](docs/architecture.md#the-flow) and [a row](docs/benchmarks.md#native).\n\n" +
	HeadlineHeading + "\n\n| figure | ratio |\n|---|---|\n| [native inference](docs/benchmarks.md#native), 15.8 ms | **1.34×** PyTorch |\n\n## Docs\n\n" +
	"`[not a link](nowhere.md)` and 99 ms outside the section.\n"

// write lays out a root with the given files (name → content).
func write(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestCheck(t *testing.T) {
	base := map[string]string{
		"README.md":            goodReadme,
		"docs/benchmarks.md":   goodBench,
		"docs/shot.png":        "png",
		"docs/architecture.md": "# Architecture\n\nText.\n\n## The flow\n\nSee [back](../README.md).\n",
	}
	for _, tc := range []struct {
		name   string
		change map[string]string
		want   []string // substrings of the error; none = passes
	}{
		{name: "good"},
		{name: "too long", change: map[string]string{"README.md": goodReadme + strings.Repeat("line\n", MaxLines)}, want: []string{"lines, more than 150"}},
		{name: "long line", change: map[string]string{"README.md": goodReadme + strings.Repeat("é", MaxLineLen+1) + "\n"}, want: []string{"301 characters"}},
		{name: "missing file", change: map[string]string{"README.md": goodReadme + "[x](docs/missing.md)\n"}, want: []string{`link "docs/missing.md": no such file`}},
		{name: "missing anchor", change: map[string]string{"README.md": goodReadme + "[x](docs/architecture.md#nope)\n"}, want: []string{`no heading or id "nope" in architecture.md`}},
		{name: "broken link in docs", change: map[string]string{"docs/architecture.md": "# A\n\n![img](gone.png)\n"}, want: []string{"docs/architecture.md:3", "no such file"}},
		{name: "figure not generated", change: map[string]string{"docs/benchmarks.md": strings.Replace(goodBench, "1.34×", "1.30×", 1)}, want: []string{`headline figure "1.34×" is not in docs/benchmarks.md`}},
		{name: "no benchmarks file", change: map[string]string{"docs/benchmarks.md": ""}, want: []string{"headline figure"}},
		{name: "no headline section", change: map[string]string{"README.md": "# pawnet\n"}, want: []string{"no \"## Headline figures\" section"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range base {
				files[k] = v
			}
			for k, v := range tc.change {
				files[k] = v
			}
			err := Check(write(t, files))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check passed; want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestSlug(t *testing.T) {
	for title, want := range map[string]string{
		"The flow":                  "the-flow",
		"Fine-tuning from ImageNet": "fine-tuning-from-imagenet",
		"`pawnet train` flags (v2)": "pawnet-train-flags-v2",
		"Grad-CAM: why?":            "grad-cam-why",
	} {
		if got := Slug(title); got != want {
			t.Errorf("Slug(%q) = %q, want %q", title, got, want)
		}
	}
}

// TestRepository checks the real README and docs, as mage lint does.
func TestRepository(t *testing.T) {
	if err := Check("../.."); err != nil {
		t.Error(err)
	}
}
