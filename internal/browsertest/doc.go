// Package browsertest runs the dashboard (static/ with the wasm/app and
// wasm/worker builds) in a real headless Chromium, driven by chromedp,
// against a server fed by a real training run on the sample data.
//
// The tests build the two wasm binaries themselves (into a temp web root,
// with the same flags as `go tool mage wasm`), so they never run a stale
// build. They need /usr/bin/chromium ($PAWNET_CHROMIUM overrides): without
// it they skip, unless $CI is set, when they fail. Every test saves a
// full-page screenshot when it fails, and the happy paths save theirs, into
// $PAWNET_ARTIFACTS (default: artifacts/ at the repository root).
package browsertest

// This file only carries the package comment, so that `go doc` shows it:
// the package has no code outside its tests.
