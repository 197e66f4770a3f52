// Host and Origin checks: which requests the server answers.

package server

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// checkHost refuses requests whose Host header is not a loopback name or
// an allowed origin's host when the server listens on loopback: a web page
// on another site cannot reach it through DNS rebinding.
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.loopback && !s.hostAllowed(r.Host) {
			s.opts.Log.Printf("server: refused %s %s from %s: Host %q is not a loopback name (see -allow-origin)", r.Method, r.URL.Path, r.RemoteAddr, r.Host)
			http.Error(w, "forbidden: unexpected Host header", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	for _, a := range s.opts.AllowOrigins {
		if strings.EqualFold(originHost(a), hostport) || strings.EqualFold(originHost(a), host) {
			return true
		}
	}
	return false
}

// originHost returns the host[:port] of an allow-list entry, which may be
// a full origin or a bare host.
func originHost(a string) string {
	a = strings.TrimSuffix(strings.TrimSpace(a), "/")
	if strings.Contains(a, "://") {
		if u, err := url.Parse(a); err == nil {
			return u.Host
		}
	}
	return a
}

// checkOrigin allows WebSocket requests without an Origin (not from a
// browser), from the page's own host, and from the allow-list.
func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err == nil && u.Host != "" {
		if strings.EqualFold(u.Host, r.Host) {
			return true
		}
		for _, a := range s.opts.AllowOrigins {
			a = strings.TrimSuffix(strings.TrimSpace(a), "/")
			if strings.EqualFold(a, origin) || (!strings.Contains(a, "://") && strings.EqualFold(a, u.Host)) {
				return true
			}
		}
	}
	s.opts.Log.Printf("server: refused WebSocket from %s: Origin %q is neither %s nor allowed (-allow-origin)", r.RemoteAddr, origin, r.Host)
	return false
}
