package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
)

// guard decides who may read and who may change. With a token, every change
// and every read from beyond loopback must carry it; without one, only
// loopback clients are served at all (setup refuses an API beyond loopback
// without a token, so that is every client).
type guard struct {
	token atomic.Pointer[[sha256.Size]byte] // nil: no token
}

func (g *guard) set(token string) {
	if token == "" {
		g.token.Store(nil)
		return
	}
	sum := sha256.Sum256([]byte(token))
	g.token.Store(&sum)
}

// check returns the status to refuse r with, or 0 to serve it.
func (g *guard) check(r *http.Request, change bool) (int, string) {
	// A page that rebinds its own host name to 127.0.0.1 reaches a loopback
	// listener from a browser as if it were local; its Host header still
	// names that host, so loopback trust holds only for a loopback Host.
	local := fromLoopback(r) && Loopback(hostPort(r.Host))
	want := g.token.Load()
	if want == nil {
		if !local {
			return http.StatusForbidden, "this API takes requests from loopback, to a loopback address, only; set api_token to serve other clients"
		}
		return 0, ""
	}
	if local && !change {
		return 0, ""
	}
	got, ok := bearer(r)
	// Hashing both sides makes the comparison constant-time whatever the
	// length of what the client sent.
	sum := sha256.Sum256([]byte(got))
	if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
		return http.StatusUnauthorized, "missing or wrong token: send Authorization: Bearer TOKEN"
	}
	return 0, ""
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// Loopback reports whether a listen address only takes loopback clients:
// an IP address in 127.0.0.0/8 or ::1, or localhost.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// hostPort gives a Host header a port, so that Loopback can read it.
func hostPort(host string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), "80")
}
