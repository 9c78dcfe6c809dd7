package failover

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/api"
)

// The deploy runbook, measured through a real resolver cache: lower the TTL,
// wait for cutover_ready_at, drain, wait for safe_at, stop the endpoint,
// clear the override and the TTL. www.example.test answers both endpoints,
// 192.0.2.11 (the one deployed to) and 192.0.2.12.
const (
	runbookName    = "www.example.test."
	runbookDrained = "192.0.2.11"
	runbookOther   = "192.0.2.12"
)

// Unbound counts a record's TTL from the whole second of its clock in which
// it took the record in, and answers it, with TTL 0 at the end, until that
// count's last second is over: a record taken in at 10.1 s or at 10.9 s
// with TTL 2 is answered until 13.0 s. safe_at and cutover_ready_at allow
// for that second; what remains is the time a query takes to be answered
// (answers are dated by when they were asked).
const secondRounding = 100 * time.Millisecond

// runbookServer serves example.test from a file zone with the API and a
// state file, and www answering both endpoints with TTL ttl, each with a
// health check of its own. It returns the server, the API and the backend of
// the endpoint to drain.
func runbookServer(t *testing.T, ttl int) (server, apiClient, *healthBackend) {
	t.Helper()
	dir := t.TempDir()
	zone := filepath.Join(dir, "db.example.test")
	if err := os.WriteFile(zone, []byte(testZone), 0o644); err != nil {
		t.Fatal(err)
	}
	drained, other := newHealthBackend(t, nil), newHealthBackend(t, nil)
	apiAddr := closedPort(t)
	s := startServer(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    failover {
        api %s
        state %s
    }
    failover www {
        policy active-active
        endpoint %s check %s
        endpoint %s check %s
        ttl %d
        %s
    }
    file %s
}`, apiAddr, filepath.Join(dir, "state"), runbookDrained, drained.url(), runbookOther, other.url(), ttl, fastPace, zone))
	return s, apiClient{base: "http://" + apiAddr}, drained
}

// cachingUnbound runs unbound in front of s with its cache as users meet it:
// no floor under TTLs (cache-min-ttl 0), the default ceiling, no refresh
// before a record expires and no answer after.
func cachingUnbound(t *testing.T, s server) string {
	t.Helper()
	return runUnbound(t, "example.test.", s.udp, `module-config: "iterator"
    prefetch: no
    serve-expired: no`)
}

// look is one answer to www A: when it was asked and got, what it named and
// its lowest TTL.
type look struct {
	sent, got time.Time
	addrs     []string
	ttl       uint32
}

func (l look) names(address string) bool { return slices.Contains(l.addrs, address) }

// lookUp asks addr for www A with recursion desired; the answer must name
// at least one endpoint.
func lookUp(t *testing.T, addr string) look {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(runbookName, dns.TypeA)
	l := look{sent: time.Now()}
	r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, addr)
	l.got = time.Now()
	if err != nil {
		t.Fatalf("Expected %s to answer %s, got %v", addr, runbookName, err)
	}
	l.addrs = addresses(r)
	if r.Rcode != dns.RcodeSuccess || len(l.addrs) == 0 {
		t.Fatalf("Expected %s to answer %s with addresses, got %v", addr, runbookName, r)
	}
	l.ttl = r.Answer[0].Header().Ttl
	for _, rr := range r.Answer {
		l.ttl = min(l.ttl, rr.Header().Ttl)
	}
	return l
}

// staleness follows one address through a resolver's answers: when the
// last answer that still named it was asked, and the first answer after
// that one.
type staleness struct {
	address     string
	last, clean time.Time
}

func (s *staleness) note(l look) {
	if l.names(s.address) {
		s.last, s.clean = l.sent, time.Time{}
	} else if s.clean.IsZero() {
		s.clean = l.sent
	}
}

// pollUntil calls each at a steady query rate until the wall clock passes
// until.
func pollUntil(until time.Time, each func()) {
	for time.Now().Before(until) {
		each()
		time.Sleep(75 * time.Millisecond) // the query rate of the poll, not a wait for an event
	}
}

// drain puts a drain on the endpoint and returns the override and when the
// PUT was answered: the drain is in force from then.
func drain(t *testing.T, c apiClient) (api.Override, time.Time) {
	t.Helper()
	var o api.Override
	c.ok(t, http.MethodPut, "/v1/names/"+runbookName+"/endpoints/"+runbookDrained+"/override", `{"state":"drain","reason":"deploy"}`, &o)
	done := time.Now()
	if o.DrainedAt == nil || o.SafeAt == nil {
		t.Fatalf("Expected drained_at and safe_at in the drain's answer, got %+v", o)
	}
	return o, done
}

// The runbook as written: once the lowered TTL is all a cache can hold,
// the drained endpoint is gone from the resolver's answers by safe_at (give
// or take unbound's last second), two seconds after the drain rather than
// six.
func TestRunbookDrainThroughUnbound(t *testing.T) {
	s, c, backend := runbookServer(t, 6)
	resolver := cachingUnbound(t, s)
	both := []string{runbookDrained, runbookOther}
	waitBoth(t, s, 5*time.Second)

	// Prime the cache with the configured TTL.
	primed := lookUp(t, resolver)
	if !slices.Equal(slices.Sorted(slices.Values(primed.addrs)), both) || primed.ttl < 5 || primed.ttl > 6 {
		t.Fatalf("Expected unbound to answer both endpoints with TTL 6, got %v TTL %d", primed.addrs, primed.ttl)
	}

	// Lower the TTL: caches may hold the six seconds answered until now for
	// six more seconds.
	var tt api.TTL
	c.ok(t, http.MethodPut, "/v1/names/"+runbookName+"/ttl", `{"ttl":2,"for":"1m"}`, &tt)
	lowered := time.Now()
	if got := tt.CutoverReadyAt.Sub(tt.SetAt); got != 7*time.Second {
		t.Errorf("Expected cutover_ready_at one configured TTL (6 s) and a second after set_at, got %s", got)
	}
	if d := lookUp(t, s.udp); d.ttl != 2 {
		t.Errorf("Expected the server itself to answer TTL 2 right after the lowering, got %d", d.ttl)
	}
	prev := lookUp(t, resolver)
	if prev.ttl <= 2 || prev.ttl > 6 || len(prev.addrs) != 2 {
		t.Errorf("Expected unbound still to answer its cached record (TTL above 2, at most 6) right after the lowering, got %v TTL %d", prev.addrs, prev.ttl)
	}

	// Until cutover_ready_at unbound may answer the record it took in before
	// the lowering; from then on no answer has a TTL above 2. Polled from
	// the lowering on, its copy counts down second by second and is replaced
	// by a fresh one, which shows as a TTL going up. The drain comes right
	// after the fresh copy, so that unbound holds the endpoint for as long
	// as a cache can.
	var old, fresh look // the last answer from the copy before the lowering; the first from the one after
	afterCutover := 0
	check := func(l look) {
		t.Helper()
		if !l.sent.Before(tt.CutoverReadyAt) {
			afterCutover++
			if l.ttl > 2 {
				t.Errorf("Expected TTL at most 2 through unbound after cutover_ready_at %s, got TTL %d asked at %s", stamp(tt.CutoverReadyAt), l.ttl, l.sent.UTC().Format(time.StampMilli))
			}
		}
		if fresh.got.IsZero() {
			if l.ttl > prev.ttl {
				fresh = l
			} else {
				old = l
			}
		}
		prev = l
	}
	deadline := tt.CutoverReadyAt.Add(secondRounding + time.Second)
	for fresh.got.IsZero() || time.Now().Before(tt.CutoverReadyAt) {
		if time.Now().After(deadline) {
			t.Fatalf("Expected unbound to take in a fresh copy within %s of cutover_ready_at, last answer %v TTL %d", secondRounding, prev.addrs, prev.ttl)
		}
		check(lookUp(t, resolver))
		time.Sleep(75 * time.Millisecond) // the query rate of the poll, not a wait for an event
	}
	if old.sent.After(tt.CutoverReadyAt.Add(secondRounding)) {
		t.Errorf("Expected unbound to answer its copy from before the lowering no later than cutover_ready_at + %s, got it %s after", secondRounding, since(old.sent, tt.CutoverReadyAt))
	}
	if !fresh.names(runbookDrained) || fresh.ttl > 2 {
		t.Errorf("Expected unbound's fresh copy to name both endpoints with TTL at most 2, got %v TTL %d", fresh.addrs, fresh.ttl)
	}
	t.Logf("lowering: set_at %s is %s before the PUT was answered; cutover_ready_at - set_at = %s; "+
		"unbound answered its copy from before the lowering until %s after cutover_ready_at (TTL %d), then a fresh one with TTL %d",
		stamp(tt.SetAt), lowered.Sub(tt.SetAt).Round(time.Millisecond), tt.CutoverReadyAt.Sub(tt.SetAt),
		since(old.sent, tt.CutoverReadyAt), old.ttl, fresh.ttl)

	// Drain: out of the server's answer at once, out of every cache two
	// seconds later (the TTL answered now, the cutover being done).
	lastDirect := lookUp(t, s.udp)
	o, drainedAt := drain(t, c)
	if got := o.SafeAt.Sub(*o.DrainedAt); got != 3*time.Second {
		t.Errorf("Expected safe_at one lowered TTL (2 s) and a second after drained_at, got %s", got)
	}
	if o.SafeAt.Before(tt.CutoverReadyAt) {
		t.Errorf("Expected safe_at %s not before cutover_ready_at %s", stamp(*o.SafeAt), stamp(tt.CutoverReadyAt))
	}
	if got := lookUp(t, s.udp).addrs; !slices.Equal(got, []string{runbookOther}) {
		t.Errorf("Expected the server's answer without the drained endpoint at once, got %v", got)
	}
	stale := staleness{address: runbookDrained}
	pollUntil(o.SafeAt.Add(secondRounding+400*time.Millisecond), func() {
		l := lookUp(t, resolver)
		check(l)
		stale.note(l)
		if d := lookUp(t, s.udp); d.names(runbookDrained) {
			t.Errorf("Expected the server never to answer the drained endpoint, got %v", d.addrs)
		}
	})
	if afterCutover == 0 {
		t.Error("Expected answers through unbound after cutover_ready_at")
	}
	if stale.last.IsZero() {
		t.Error("Expected unbound to answer the drained endpoint from its fresh copy for a while after the drain")
	}
	assertGoneBySafeAt(t, stale, o, drainedAt)
	logDrain(t, "drain with the TTL lowered", stale, o, drainedAt, lastDirect)

	// Stop the endpoint: its probe fails, and it stays out of every answer.
	backend.failed.Store(true)
	excluded := func(what string) {
		t.Helper()
		if d := lookUp(t, s.udp); d.names(runbookDrained) {
			t.Errorf("%s: expected the server to leave the endpoint out, got %v", what, d.addrs)
		}
		if l := lookUp(t, resolver); l.names(runbookDrained) {
			t.Errorf("%s: expected unbound to leave the endpoint out, got %v", what, l.addrs)
		}
	}
	deadline = time.Now().Add(5 * time.Second)
	for endpointIn(c.name(t, runbookName), runbookDrained).State != "down" {
		if time.Now().After(deadline) {
			t.Fatal("Expected the stopped endpoint's probe to fail within 5 s")
		}
		excluded("while it stops")
		time.Sleep(75 * time.Millisecond) // the poll's pace, not a wait for an event
	}
	excluded("stopped")

	// Deployed: clear the override and the TTL while it is still down.
	var cl api.Cleared
	c.ok(t, http.MethodDelete, "/v1/names/"+runbookName+"/endpoints/"+runbookDrained+"/override", "", &cl)
	if !cl.Cleared {
		t.Error("Expected the drain to be cleared")
	}
	c.ok(t, http.MethodDelete, "/v1/names/"+runbookName+"/ttl", "", &cl)
	if !cl.Cleared {
		t.Error("Expected the temporary TTL to be cleared")
	}
	if d := lookUp(t, s.udp); d.ttl != 6 || d.names(runbookDrained) {
		t.Errorf("Expected the configured TTL back and the endpoint still out while its probe fails, got %v TTL %d", d.addrs, d.ttl)
	}
	excluded("cleared while down")

	// Healthy again: back in the server's answer once its probe rises, in
	// unbound's once its cached answer (TTL 6 at most) has expired.
	backend.failed.Store(false)
	healed := time.Now()
	back := waitBoth(t, s, 5*time.Second)
	deadline = time.Now().Add(6*time.Second + secondRounding + time.Second)
	l := lookUp(t, resolver)
	for !l.names(runbookDrained) {
		if time.Now().After(deadline) {
			t.Fatalf("Expected the endpoint back through unbound once its cache expired, got %v TTL %d", l.addrs, l.ttl)
		}
		time.Sleep(75 * time.Millisecond) // the resolver's cache expires on its own clock
		l = lookUp(t, resolver)
	}
	if len(l.addrs) != 2 || l.ttl > 6 {
		t.Errorf("Expected both endpoints through unbound with TTL at most 6, got %v TTL %d", l.addrs, l.ttl)
	}
	t.Logf("back: in the server's answer %s after the backend healed, through unbound %s after", since(back, healed), since(l.got, healed))
}

// Without the lowering, the runbook's wait matters: a drain is safe one
// configured TTL (6 s) later, and unbound does answer the drained endpoint
// well past the two seconds a lowered TTL would have allowed, but not past
// safe_at (give or take unbound's last second).
func TestRunbookDrainWithoutLoweringTheTTL(t *testing.T) {
	s, c, _ := runbookServer(t, 6)
	resolver := cachingUnbound(t, s)
	waitBoth(t, s, 5*time.Second)
	if primed := lookUp(t, resolver); len(primed.addrs) != 2 || primed.ttl < 5 || primed.ttl > 6 {
		t.Fatalf("Expected unbound to answer both endpoints with TTL 6, got %v TTL %d", primed.addrs, primed.ttl)
	}
	lastDirect := lookUp(t, s.udp)
	o, drainedAt := drain(t, c)
	if got := o.SafeAt.Sub(*o.DrainedAt); got != 7*time.Second {
		t.Errorf("Expected safe_at one configured TTL (6 s) and a second after drained_at, got %s", got)
	}
	if got := lookUp(t, s.udp).addrs; !slices.Equal(got, []string{runbookOther}) {
		t.Errorf("Expected the server's answer without the drained endpoint at once, got %v", got)
	}
	stale := staleness{address: runbookDrained}
	pollUntil(o.SafeAt.Add(secondRounding+400*time.Millisecond), func() { stale.note(lookUp(t, resolver)) })
	if stale.last.IsZero() || stale.last.Sub(drainedAt) <= 2*time.Second {
		t.Errorf("Expected unbound to answer the drained endpoint more than 2 s after the drain (it holds TTL 6), last seen %s after", since(stale.last, drainedAt))
	}
	assertGoneBySafeAt(t, stale, o, drainedAt)
	logDrain(t, "drain without lowering", stale, o, drainedAt, lastDirect)
}

// assertGoneBySafeAt checks that the resolver's last answer naming the
// drained endpoint came before safe_at, give or take unbound's whole
// seconds, and that answers without it followed.
func assertGoneBySafeAt(t *testing.T, stale staleness, o api.Override, drainedAt time.Time) {
	t.Helper()
	if !stale.last.IsZero() && stale.last.After(o.SafeAt.Add(secondRounding)) {
		t.Errorf("Expected no answer through unbound naming %s after safe_at %s (+%s), got one %s after safe_at (%s after the drain)",
			stale.address, stamp(*o.SafeAt), secondRounding, since(stale.last, *o.SafeAt), since(stale.last, drainedAt))
	}
	if stale.clean.IsZero() {
		t.Errorf("Expected unbound to answer without %s by safe_at + %s, it never did", stale.address, secondRounding)
	}
}

// logDrain reports a drain's dates beside what unbound answered after it,
// and how long a cache that counts TTLs exactly keeps lastDirect, the
// server's last answer before the drain.
func logDrain(t *testing.T, what string, stale staleness, o api.Override, drainedAt time.Time, lastDirect look) {
	t.Helper()
	t.Logf("%s: drained_at %s is %s before the PUT was answered; safe_at - drained_at = %s, safe_at is %s after the PUT; "+
		"the last answer through unbound naming %s came %s after the drain, %s after safe_at; none from %s after the drain; "+
		"a cache counting exactly would keep the server's last answer before the drain (TTL %d) until %s after safe_at",
		what, stamp(*o.DrainedAt), since(drainedAt, *o.DrainedAt), o.SafeAt.Sub(*o.DrainedAt), since(*o.SafeAt, drainedAt),
		stale.address, since(stale.last, drainedAt), since(stale.last, *o.SafeAt), since(stale.clean, drainedAt),
		lastDirect.ttl, since(lastDirect.got.Add(time.Duration(lastDirect.ttl)*time.Second), *o.SafeAt))
}

// since is how long after from at came, rounded for a log line.
func since(at, from time.Time) time.Duration {
	if at.IsZero() {
		return 0
	}
	return at.Sub(from).Round(time.Millisecond)
}

// waitBoth polls the server until it answers both endpoints, in whichever
// order active-active rotates them to, and returns when it first did.
func waitBoth(t *testing.T, s server, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		l := lookUp(t, s.udp)
		if l.names(runbookDrained) && l.names(runbookOther) {
			return l.got
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected the server to answer both endpoints within %s, got %v", within, l.addrs)
		}
		time.Sleep(50 * time.Millisecond) // the query rate of the poll, not a wait for an event
	}
}
