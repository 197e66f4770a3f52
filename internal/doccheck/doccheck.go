// Package doccheck keeps pawnet's documentation honest; `go tool mage
// lint` runs it. README.md must stay short (at most MaxLines lines, none
// over MaxLineLen characters), every relative link and image in README.md
// and docs/*.md must resolve to a file (and a #fragment to a heading or an
// <a id> in a Markdown target), and every figure in the README's headline
// section must be found in docs/benchmarks.md, the file `go tool mage
// bench` writes, so that no headline figure is typed by hand.
package doccheck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// MaxLines is the README's length limit.
	MaxLines = 150
	// MaxLineLen is the longest README line allowed, in characters.
	MaxLineLen = 300
	// HeadlineHeading starts the README section whose figures must be in
	// docs/benchmarks.md; the section ends at the next heading.
	HeadlineHeading = "## Headline figures"
	// Benchmarks is the generated benchmarks file, relative to the root.
	Benchmarks = "docs/benchmarks.md"
)

// Check checks README.md and docs/*.md under root and returns every
// problem found, joined, or nil.
func Check(root string) error {
	var errs []error
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		return err
	}
	errs = append(errs, checkLength("README.md", string(readme))...)
	docs, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	for _, p := range append([]string{filepath.Join(root, "README.md")}, docs...) {
		errs = append(errs, checkLinks(root, p)...)
	}
	bench, err := os.ReadFile(filepath.Join(root, Benchmarks))
	if err != nil {
		errs = append(errs, fmt.Errorf("%s: %w (go tool mage bench writes it)", Benchmarks, err))
	} else {
		errs = append(errs, checkHeadline(string(readme), string(bench))...)
	}
	return errors.Join(errs...)
}

func checkLength(name, text string) []error {
	var errs []error
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) > MaxLines {
		errs = append(errs, fmt.Errorf("%s: %d lines, more than %d (move detail to docs/)", name, len(lines), MaxLines))
	}
	for i, l := range lines {
		if n := utf8.RuneCountInString(l); n > MaxLineLen {
			errs = append(errs, fmt.Errorf("%s:%d: %d characters, more than %d", name, i+1, n, MaxLineLen))
		}
	}
	return errs
}

// link matches a Markdown link or image target: [text](target) or
// ![alt](target), the target up to a space or the closing parenthesis.
var link = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)[^)]*\)`)

// checkLinks checks the relative links of one Markdown file. Links in
// code spans and fenced code blocks are not links.
func checkLinks(root, path string) []error {
	b, err := os.ReadFile(path)
	if err != nil {
		return []error{err}
	}
	rel, _ := filepath.Rel(root, path)
	var errs []error
	for i, line := range strings.Split(stripCode(string(b)), "\n") {
		for _, m := range link.FindAllStringSubmatch(line, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue // not checked: no network here
			}
			file, frag, _ := strings.Cut(target, "#")
			dest := path
			if file != "" {
				dest = filepath.Join(filepath.Dir(path), filepath.FromSlash(file))
				if _, err := os.Stat(dest); err != nil {
					errs = append(errs, fmt.Errorf("%s:%d: link %q: no such file", rel, i+1, target))
					continue
				}
			}
			if frag != "" && strings.HasSuffix(dest, ".md") {
				anchors, err := Anchors(dest)
				if err != nil {
					errs = append(errs, err)
				} else if !slices.Contains(anchors, frag) {
					errs = append(errs, fmt.Errorf("%s:%d: link %q: no heading or id %q in %s", rel, i+1, target, frag, filepath.Base(dest)))
				}
			}
		}
	}
	return errs
}

var (
	fence   = regexp.MustCompile("(?ms)^```.*?^```")
	codeRun = regexp.MustCompile("`[^`\n]*`")
	htmlID  = regexp.MustCompile(`<a id="([^"]+)"`)
)

// stripCode blanks fenced blocks (keeping their line count) and code spans.
func stripCode(s string) string {
	return codeRun.ReplaceAllString(stripFences(s), "``")
}

// stripFences blanks fenced blocks, keeping their line count.
func stripFences(s string) string {
	return fence.ReplaceAllStringFunc(s, func(b string) string { return strings.Repeat("\n", strings.Count(b, "\n")) })
}

// Anchors lists the fragments a Markdown file defines: its headings'
// GitHub slugs (lower case, punctuation dropped, spaces to hyphens; a
// repeated slug gets -1, -2, …) and the ids of its <a id="…"> tags.
func Anchors(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]int{}
	for _, line := range strings.Split(stripFences(string(b)), "\n") {
		for _, m := range htmlID.FindAllStringSubmatch(line, -1) {
			out = append(out, m[1])
		}
		if !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(line, "#"))
		slug := Slug(title)
		if n := seen[slug]; n > 0 {
			out = append(out, fmt.Sprintf("%s-%d", slug, n))
		} else {
			out = append(out, slug)
		}
		seen[slug]++
	}
	return out, nil
}

// Slug is GitHub's anchor for a heading's text.
func Slug(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// figure matches what the headline section may only copy from the
// benchmarks file: a ratio (1.34×) or a number with a unit of time, rate
// or share.
var figure = regexp.MustCompile(`\d+(?:\.\d+)?(?:×| ?(?:ms|s|GMAC/s|img/s|%)\b)`)

func checkHeadline(readme, bench string) []error {
	start := strings.Index(readme, "\n"+HeadlineHeading)
	if start < 0 {
		return []error{fmt.Errorf("README.md: no %q section", HeadlineHeading)}
	}
	section := readme[start+1+len(HeadlineHeading):]
	if end := strings.Index(section, "\n#"); end >= 0 {
		section = section[:end]
	}
	section = link.ReplaceAllStringFunc(section, func(l string) string { // keep link texts, drop targets
		return l[:strings.Index(l, "](")]
	})
	var errs []error
	figures := figure.FindAllString(section, -1)
	for _, f := range figures {
		if !strings.Contains(bench, f) {
			errs = append(errs, fmt.Errorf("README.md: headline figure %q is not in %s (run go tool mage bench, then copy it from there)", f, Benchmarks))
		}
	}
	if len(figures) == 0 {
		errs = append(errs, fmt.Errorf("README.md: the %q section has no figure", HeadlineHeading))
	}
	return errs
}
