package main

import (
	"strings"
	"testing"
	"time"

	"github.com/failover-dns/failover/plugin/api"
)

var heldSince = probeTime.Add(-10 * time.Minute)

const heldReason = "primary 198.51.100.10 down: dial tcp 198.51.100.10:443: i/o timeout"

func TestFailbackPendingShowsAndEnds(t *testing.T) {
	f := newFake(t, wwwName(), heldName())
	f.hold("held.example.org.", api.FailbackPending{Since: heldSince, Reason: heldReason})

	st := f.run(t, "status")
	st.want(t, exitOK)
	if !strings.Contains(st.stdout, "\nfailback pending; confirm with failoverctl failback NAME:\n") {
		t.Errorf("status does not say a failback is pending:\n%s", st.stdout)
	}
	if got, want := line(t, st.stdout, "held.example.org.", "since"), strings.Fields("held.example.org. since 2026-03-01T11:50:00Z "+heldReason); !equal(got, want) {
		t.Errorf("pending line %q, want %q", got, want)
	}
	if strings.Contains(st.stdout, "www.example.org.  since") {
		t.Errorf("a name without a pending failback is listed:\n%s", st.stdout)
	}
	show := f.run(t, "show", "held.example.org")
	show.want(t, exitOK)
	want := strings.Fields("failback: pending since 2026-03-01T11:50:00Z (" + heldReason + "); confirm with failoverctl failback held.example.org.")
	if got := line(t, show.stdout, "failback:"); !equal(got, want) {
		t.Errorf("show line %q, want %q", got, want)
	}

	r := f.run(t, "failback", "HELD.example.org", "--reason", "primary fixed")
	r.want(t, exitOK)
	if got := f.last(); got.method != "POST" || got.uri != "/v1/names/held.example.org./failback" || got.body != `{"reason":"primary fixed"}` {
		t.Errorf("sent %s %s %s", got.method, got.uri, got.body)
	}
	if !strings.HasPrefix(r.stdout, "failed back held.example.org. to its first choice: 198.51.100.10\n") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	for _, want := range [][]string{
		strings.Fields("held since: 2026-03-01T11:50:00Z (" + heldReason + ")"),
		strings.Fields("reason: primary fixed"),
	} {
		if got := line(t, r.stdout, want[0], want[1]); !equal(got, want) {
			t.Errorf("line %q, want %q", got, want)
		}
	}
	if got := line(t, r.stdout, "at:"); len(got) != 2 {
		t.Errorf("at line %q", got)
	}

	if out := f.run(t, "show", "held.example.org").stdout; strings.Contains(out, "failback:") {
		t.Errorf("show still says a failback is pending:\n%s", out)
	}
	if out := f.run(t, "status").stdout; strings.Contains(out, "failback pending") {
		t.Errorf("status still says a failback is pending:\n%s", out)
	}
	// A second failback finds nothing to do: the API refuses it, and so exit 1.
	again := f.run(t, "failback", "held.example.org.")
	again.want(t, exitRefused)
	if again.stderr != "failoverctl: held.example.org. has no failback pending (HTTP 409)\n" {
		t.Errorf("stderr %q", again.stderr)
	}
	if got := f.last(); got.body != `{"reason":""}` {
		t.Errorf("sent body %s without --reason", got.body)
	}
}

func TestFailbackRefused(t *testing.T) {
	f := newFake(t, wwwName(), apiName())
	f.hold("api.example.org.", api.FailbackPending{Since: heldSince})
	for _, c := range []struct {
		name, stderr string
	}{
		{"api.example.org", "failoverctl: its first choice is still down; failing back now would fail over again (HTTP 409)\n"},
		{"nosuch.example.org", "failoverctl: no managed name nosuch.example.org. (HTTP 404)\n"},
	} {
		r := f.run(t, "failback", c.name)
		r.want(t, exitRefused)
		if r.stderr != c.stderr || r.stdout != "" {
			t.Errorf("failback %s: stdout %q, stderr %q, want %q", c.name, r.stdout, r.stderr, c.stderr)
		}
	}
	// A pending failback without a reason shows none.
	if got := line(t, f.run(t, "show", "api.example.org").stdout, "failback:"); !equal(got, strings.Fields("failback: pending since 2026-03-01T11:50:00Z; confirm with failoverctl failback api.example.org.")) {
		t.Errorf("show line %q", got)
	}
}

func TestFailbackNeedsToken(t *testing.T) {
	f := newFake(t, heldName())
	f.token = "s3cret"
	f.hold("held.example.org.", api.FailbackPending{Since: heldSince})
	r := f.run(t, "failback", "held.example.org")
	r.want(t, exitRefused)
	if !strings.Contains(r.stderr, "(HTTP 401); set FAILOVER_TOKEN") {
		t.Errorf("stderr %q", r.stderr)
	}
	runCLI(t, map[string]string{"FAILOVER_API": f.URL, "FAILOVER_TOKEN": "s3cret"}, "failback", "held.example.org").want(t, exitOK)
}
