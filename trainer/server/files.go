// File serving: the static page, and each run's weights, run.json and CSV.

package server

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pawnet/pawnet/shared/alexnet"
)

// serveWeights serves the default run's exported weights (see
// serveWeightsAt).
func (s *Server) serveWeights(w http.ResponseWriter, r *http.Request) {
	path := ""
	if run := s.runs.defaultRun(); run != nil {
		path = run.weights(&s.opts)
	}
	s.serveWeightsAt(w, r, path)
}

// serveWeightsAt serves the exported weights file path with
// http.ServeContent (Content-Length, Range, If-Range, Last-Modified and an
// ETag that changes with each export). ?variant=int8,fp16,fp32 lists the
// variants the page accepts, most wanted first: it gets the first one that
// exists (see alexnet.VariantPath), named in the X-Pawnet-Variant header.
// Without the parameter it gets the float32 file.
func (s *Server) serveWeightsAt(w http.ResponseWriter, r *http.Request, path string) {
	variants := []alexnet.Variant{alexnet.F32}
	if q := r.URL.Query()["variant"]; len(q) > 0 {
		variants = variants[:0]
		for _, name := range strings.Split(strings.Join(q, ","), ",") {
			v, err := alexnet.ParseVariant(strings.TrimSpace(name))
			if err != nil {
				http.Error(w, strings.TrimPrefix(err.Error(), "alexnet: "), http.StatusBadRequest)
				return
			}
			variants = append(variants, v)
		}
	}
	if path == "" {
		http.Error(w, noWeights, http.StatusNotFound)
		return
	}
	for _, v := range variants {
		vp := alexnet.VariantPath(path, v)
		if st, err := os.Stat(vp); err == nil {
			part := ""
			if rg := r.Header.Get("Range"); rg != "" {
				part = " " + rg + " of"
			}
			s.opts.Log.Printf("server: %s%s the %s weights (%.1f MB) to %s", r.Method, part, v, float64(st.Size())/1e6, r.RemoteAddr)
			w.Header().Set("X-Pawnet-Variant", string(v))
			s.serveFile(w, r, vp, "application/octet-stream", noWeights)
			return
		}
	}
	http.Error(w, noWeights, http.StatusNotFound)
}

const noWeights = "no weights yet: the run exports them after its first best epoch"

// serveRunInfo serves the default run's run.json.
func (s *Server) serveRunInfo(w http.ResponseWriter, r *http.Request) {
	path := ""
	if run := s.runs.defaultRun(); run != nil {
		path = run.runInfo(&s.opts)
	}
	s.serveFile(w, r, path, "application/json", "no run.json for this run yet")
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, path, ctype, missing string) {
	if path == "" {
		http.Error(w, missing, http.StatusNotFound)
		return
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		http.Error(w, missing, http.StatusNotFound)
		return
	}
	if err != nil {
		s.opts.Log.Printf("server: %v", err)
		http.Error(w, "cannot read "+filepath.Base(path), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		http.Error(w, "cannot read "+filepath.Base(path), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-cache") // replaced by each new best epoch
	w.Header().Set("ETag", fmt.Sprintf(`"%x-%x"`, st.Size(), st.ModTime().UnixNano()))
	http.ServeContent(w, r, filepath.Base(path), st.ModTime(), f)
}

// serveStatic serves StaticDir (see serveAsset: compressed siblings,
// versioned URLs, ETags; Options.PlainStatic: as plain files), or a short
// help page at / when it has no index.html. It opens the folder as an os.Root, so that no path, through
// ".." or a symlink, leads out of it; a folder is served as its
// index.html, never as a listing.
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	var root *os.Root
	if s.opts.StaticDir != "" {
		root, _ = os.OpenRoot(s.opts.StaticDir)
	}
	if root != nil {
		defer root.Close()
	}
	if r.URL.Path == "/" {
		if root == nil || !isFile(root, "index.html") {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintf(w, "pawnet dashboard server\n\nNo index.html in the static folder %q: build the dashboard into it.\n"+
				"The run list is /api/runs; a run's metrics stream is the WebSocket /ws (?run=NAME&since=SEQ&batch=1), its files /api/runs/NAME/{metrics.jsonl,epochs.csv,weights,run.json}, one message /api/runs/NAME/messages/SEQ.\n", s.opts.StaticDir)
			return
		}
	}
	if root == nil {
		http.NotFound(w, r)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" {
		name = "."
	}
	st, err := root.Stat(name)
	if err == nil && st.IsDir() {
		if !isFile(root, path.Join(name, "index.html")) {
			http.NotFound(w, r)
			return
		}
		if !strings.HasSuffix(r.URL.Path, "/") {
			// As http.FileServer does: relative links resolve in the folder.
			http.Redirect(w, r, path.Base(r.URL.Path)+"/", http.StatusMovedPermanently)
			return
		}
		name = path.Join(name, "index.html")
	}
	f, err := root.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil || !st.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	if s.opts.PlainStatic {
		http.ServeContent(w, r, path.Base(name), st.ModTime(), f)
		return
	}
	s.serveAsset(w, r, root, name, f, st)
}

// isFile reports whether name is a regular file inside root.
func isFile(root *os.Root, name string) bool {
	st, err := root.Stat(name)
	return err == nil && st.Mode().IsRegular()
}
