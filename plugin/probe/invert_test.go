package probe

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// Under invert every failure of the check passes the probe, saying what was
// turned around, and a check that passes fails it with kind Inverted;
// neither reports a round trip.
func TestInvert(t *testing.T) {
	checkLeaks(t)
	srv := quietServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/maintenance" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		io.WriteString(w, "maintenance\n")
	}), nil)
	page, addr := checkURL(t, srv.URL, "/")
	down, _ := checkURL(t, srv.URL, "/maintenance")
	refused, _ := closedServer(t)
	hung, hungAddr := rawServer(t, func(c *net.TCPConn) {
		defer c.Close()
		io.Copy(io.Discard, c)
	})
	open := "tcp://{address}:" + strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	closed := asScheme(refused, "tcp")

	tests := []struct {
		name    string
		spec    Spec
		address string
		kind    Kind
		status  int
		detail  string
	}{
		{"page answers", Spec{URL: page}, addr, Inverted, 200, "inverted: the check passed (HTTP status 200)"},
		{"status not expected", Spec{URL: down}, addr, OK, 503, "inverted: HTTP status 503, expected 200-299"},
		{"body without the text", Spec{URL: page, Body: "healthy"}, addr, OK, 200, `inverted: body does not contain "healthy" in its first 64 KiB`},
		{"refused", Spec{URL: refused}, addr, OK, 0, "inverted: connection refused"},
		{"timeout", Spec{URL: hung, Timeout: waitTimeout}, hungAddr, OK, 0, "inverted: timeout after " + waitTimeout.String()},
		{"tcp connects", Spec{URL: open}, addr, Inverted, 0, "inverted: the check passed (connection established)"},
		{"tcp refused", Spec{URL: closed}, addr, OK, 0, "inverted: connection refused"},
	}
	for _, tc := range tests {
		tc.spec.Invert = true
		r := runProbe(t, tc.spec, tc.address)
		if r.Kind != tc.kind || r.Status != tc.status || r.Detail != tc.detail || r.RTT != 0 {
			t.Errorf("%s: expected %s, status %d, %q and no round trip, got %s, status %d, %q and %s",
				tc.name, tc.kind, tc.status, tc.detail, r.Kind, r.Status, r.Detail, r.RTT)
		}
		if r.Duration <= 0 {
			t.Errorf("%s: expected the probe's duration, got %s", tc.name, r.Duration)
		}
	}
}

// A probe its caller stopped judged nothing, so it is not turned into a
// pass.
func TestInvertCancelled(t *testing.T) {
	checkLeaks(t)
	tmpl, addr := rawServer(t, func(c *net.TCPConn) {
		defer c.Close()
		io.Copy(io.Discard, c)
	})
	p, err := New(Spec{URL: tmpl, Timeout: time.Minute, Invert: true}, addr)
	if err != nil {
		t.Fatalf("Failed to make a prober: %s", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r := p.Probe(ctx); r.OK() || r.Kind == Inverted {
		t.Errorf("Expected a cancelled inverted probe to fail as the check did, got %s: %s", r.Kind, r.Reason())
	}
}
