package failover

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/api"
)

// End-to-end tests of routing by health (SPEC "Routing beyond the four
// policies", part "By health"): real CoreDNS servers, real HTTP backends,
// real probes, answers over UDP and TCP, the operator API, the log and the
// metrics.

// hcPace is the short probe pacing of these tests: a death is seen within
// about interval + fast_interval, a recovery within an interval.
const hcPace = `
		interval 200ms
		fast_interval 50ms
		timeout 100ms
		fall 2
		rise 1`

var hcNetworks = []string{"udp", "tcp"}

// hcSorted is the A and AAAA data of an answer, sorted: active-active
// answers rotate.
func hcSorted(m *dns.Msg) []string {
	out := addresses(m)
	slices.Sort(out)
	return out
}

func hcSortedCopy(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return out
}

// hcWait polls name over UDP and TCP until both answer exactly want (in any
// order), and returns when that was first seen on both.
func hcWait(t *testing.T, s server, name string, qtype uint16, want []string, within time.Duration) time.Time {
	t.Helper()
	want = hcSortedCopy(want)
	deadline := time.Now().Add(within)
	last := map[string][]string{}
	for {
		ok := true
		for _, network := range hcNetworks {
			r, err := s.ask(network, name, qtype)
			if err != nil {
				last[network] = []string{"error: " + err.Error()}
				ok = false
				continue
			}
			last[network] = hcSorted(r)
			ok = ok && slices.Equal(last[network], want)
		}
		now := time.Now()
		if ok {
			return now
		}
		if now.After(deadline) {
			t.Fatalf("Expected %s %s to answer %v over UDP and TCP within %s, last answers %v", name, dns.TypeToString[qtype], want, within, last)
		}
		time.Sleep(10 * time.Millisecond) // the query rate of the poll, not a wait for an event
	}
}

// hcHolds asserts that name keeps answering exactly want over UDP and TCP
// for d.
func hcHolds(t *testing.T, s server, name string, qtype uint16, want []string, d time.Duration) {
	t.Helper()
	want = hcSortedCopy(want)
	until := time.Now().Add(d)
	for time.Now().Before(until) {
		for _, network := range hcNetworks {
			got := hcSorted(s.mustAsk(t, network, name, qtype))
			if !slices.Equal(got, want) {
				t.Fatalf("Expected %s %s to keep answering %v over %s, got %v", name, dns.TypeToString[qtype], want, network, got)
			}
		}
		time.Sleep(20 * time.Millisecond) // the query rate of the poll, not a wait for an event
	}
}

// hcRecords asserts that an answer over each network is authoritative and
// holds want (in any order) as records of name, qtype and ttl.
func hcRecords(t *testing.T, s server, name string, qtype uint16, ttl uint32, want []string) {
	t.Helper()
	for _, network := range hcNetworks {
		r := s.mustAsk(t, network, name, qtype)
		if r.Rcode != dns.RcodeSuccess || !r.Authoritative {
			t.Errorf("Expected an authoritative NOERROR for %s %s over %s, got rcode %s AA=%t", name, dns.TypeToString[qtype], network, dns.RcodeToString[r.Rcode], r.Authoritative)
		}
		if got := hcSorted(r); !slices.Equal(got, hcSortedCopy(want)) {
			t.Errorf("Expected %s %s over %s to answer %v, got %v", name, dns.TypeToString[qtype], network, hcSortedCopy(want), got)
		}
		for _, rr := range r.Answer {
			h := rr.Header()
			if h.Name != name || h.Rrtype != qtype || h.Class != dns.ClassINET || h.Ttl != ttl {
				t.Errorf("Expected %s records of %s with TTL %d over %s, got %s", dns.TypeToString[qtype], name, ttl, network, rr)
			}
		}
	}
}

// hcAPI adds the server-wide block with the operator API on a free
// loopback port.
func hcAPI(t *testing.T) (block string, c apiClient) {
	t.Helper()
	addr := closedPort(t)
	return fmt.Sprintf("failover {\n\t\tapi %s\n\t}", addr), apiClient{base: "http://" + addr}
}

// hcCheck finds the check of an endpoint by its URL.
func hcCheck(ep api.Endpoint, url string) (api.Check, bool) {
	for _, c := range ep.Checks {
		if c.Check == url {
			return c, true
		}
	}
	return api.Check{}, false
}

func hcMetric(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	v, _ := metricValue(t, name, labels)
	return v
}

// hcChange polls a and b's A answers over UDP as fast as it can until a
// answers aWant and b answers bWant, and returns when each was first seen.
func hcChange(t *testing.T, s server, a string, aWant []string, b string, bWant []string, within time.Duration) (aAt, bAt time.Time, polls int) {
	t.Helper()
	aWant, bWant = hcSortedCopy(aWant), hcSortedCopy(bWant)
	deadline := time.Now().Add(within)
	var aLast, bLast []string
	for aAt.IsZero() || bAt.IsZero() {
		polls++
		r := s.mustAsk(t, "udp", a, dns.TypeA)
		now := time.Now()
		if aLast = hcSorted(r); aAt.IsZero() && slices.Equal(aLast, aWant) {
			aAt = now
		}
		r = s.mustAsk(t, "udp", b, dns.TypeA)
		now = time.Now()
		if bLast = hcSorted(r); bAt.IsZero() && slices.Equal(bLast, bWant) {
			bAt = now
		}
		if now.After(deadline) {
			t.Fatalf("Expected %s to answer %v and %s %v within %s, last %v and %v", a, aWant, b, bWant, within, aLast, bLast)
		}
	}
	return aAt, bAt, polls
}

func TestAliasChainEndToEnd(t *testing.T) {
	e1, e2 := newHealthBackend(t, nil), newHealthBackend(t, nil)
	u1, u2 := newHealthBackend(t, nil), newHealthBackend(t, nil)
	apiBlock, c := hcAPI(t)
	// Each backend vouches for one IPv4 and one IPv6 endpoint of its pool,
	// so that a backend's death thins out both families.
	s := startServer(t, fmt.Sprintf(`example.org:0 {
	bind 127.0.0.1
	%s
	failover eu.example.org {
		policy active-active
		endpoint 192.0.2.10 check %s
		endpoint 192.0.2.11 check %s
		endpoint 2001:db8:1::10 check %s
		endpoint 2001:db8:1::11 check %s
		min_healthy 2
		%s
	}
	failover us.example.org {
		policy active-active
		endpoint 198.51.100.20 check %s
		endpoint 198.51.100.21 check %s
		endpoint 2001:db8:2::20 check %s
		endpoint 2001:db8:2::21 check %s
		%s
	}
	failover app.example.org {
		endpoint alias:eu priority 1
		endpoint alias:us priority 2
		ttl 20
	}
}`, apiBlock, e1.url(), e2.url(), e1.url(), e2.url(), hcPace, u1.url(), u2.url(), u1.url(), u2.url(), hcPace))

	const app, eu, us = "app.example.org.", "eu.example.org.", "us.example.org."
	euA, euAAAA := []string{"192.0.2.10", "192.0.2.11"}, []string{"2001:db8:1::10", "2001:db8:1::11"}
	usA, usAAAA := []string{"198.51.100.20", "198.51.100.21"}, []string{"2001:db8:2::20", "2001:db8:2::21"}

	// Everything up: app answers the EU pool as its own records, TTL 20.
	hcWait(t, s, app, dns.TypeA, euA, 5*time.Second)
	hcRecords(t, s, app, dns.TypeA, 20, euA)
	hcRecords(t, s, app, dns.TypeAAAA, 20, euAAAA)
	hcRecords(t, s, eu, dns.TypeA, 60, euA)
	for _, network := range hcNetworks {
		if r := s.mustAsk(t, network, app, dns.TypeA); slices.ContainsFunc(r.Answer, func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeCNAME }) {
			t.Errorf("Expected the alias answered in place, without a CNAME, over %s, got %v", network, r.Answer)
		}
	}
	n := c.name(t, app)
	if !slices.Equal(hcSortedCopy(n.Answer.A), euA) || !slices.Equal(hcSortedCopy(n.Answer.AAAA), euAAAA) || n.FailedOver {
		t.Errorf("Expected the status of %s to answer the EU pool, not failed over, got A %v AAAA %v failed_over %t", app, n.Answer.A, n.Answer.AAAA, n.FailedOver)
	}
	for _, tc := range []struct {
		address, check string
		serving        bool
	}{{"alias:eu.example.org.", "alias:eu.example.org.", true}, {"alias:us.example.org.", "alias:us.example.org.", false}} {
		ep := endpointIn(n, tc.address)
		if ep.Address != tc.address || ep.Check != tc.check || ep.Serving != tc.serving {
			t.Errorf("Expected endpoint %s with check %q, serving %t, got %+v", tc.address, tc.check, tc.serving, ep)
		}
	}

	// One EU backend dies: the EU pool is below its min_healthy 2, so app
	// answers the US pool, while eu.example.org itself still answers its
	// healthy endpoint. Both change in the same rebuild.
	e1.failed.Store(true)
	killed := time.Now()
	euAt, appAt, polls := hcChange(t, s, eu, []string{"192.0.2.11"}, app, usA, 5*time.Second)
	lag := appAt.Sub(euAt)
	t.Logf("alias failover: eu changed %s after the backend died, app %s after eu (%d polls of both)", euAt.Sub(killed).Round(time.Millisecond), lag, polls)
	if lag > 25*time.Millisecond {
		t.Errorf("Expected app to follow eu's change in the same rebuild (within a few ms), got %s later", lag)
	}
	hcRecords(t, s, eu, dns.TypeA, 60, []string{"192.0.2.11"})
	hcRecords(t, s, app, dns.TypeA, 20, usA)
	hcWait(t, s, eu, dns.TypeAAAA, []string{"2001:db8:1::11"}, 5*time.Second)
	hcWait(t, s, app, dns.TypeAAAA, usAAAA, 5*time.Second)
	hcRecords(t, s, app, dns.TypeAAAA, 20, usAAAA)
	n = c.name(t, app)
	if !slices.Equal(hcSortedCopy(n.Answer.A), usA) || !slices.Equal(hcSortedCopy(n.Answer.AAAA), usAAAA) || !n.FailedOver {
		t.Errorf("Expected the status of %s to answer the US pool, failed over, got A %v AAAA %v failed_over %t", app, n.Answer.A, n.Answer.AAAA, n.FailedOver)
	}
	if ep := endpointIn(n, "alias:eu.example.org."); ep.Serving {
		t.Errorf("Expected alias:eu.example.org. out of the answer, got %+v", ep)
	}
	if ep := endpointIn(n, "alias:us.example.org."); !ep.Serving || ep.Check != "alias:us.example.org." {
		t.Errorf("Expected alias:us.example.org. serving, got %+v", ep)
	}
	t.Logf("status of alias:eu.example.org. while its target is below min_healthy: state %q", endpointIn(n, "alias:eu.example.org.").State)
	if ne := c.name(t, eu); !slices.Equal(hcSortedCopy(ne.Answer.A), []string{"192.0.2.11"}) || endpointIn(ne, "192.0.2.10").State != "down" {
		t.Errorf("Expected the status of %s to answer 192.0.2.11 with 192.0.2.10 down, got %v", eu, ne.Answer.A)
	}

	// Healed: the EU pool is whole again, and app returns to it at once.
	e1.failed.Store(false)
	healed := time.Now()
	euAt, appAt, polls = hcChange(t, s, eu, euA, app, euA, 5*time.Second)
	lag = appAt.Sub(euAt)
	t.Logf("alias failback: eu changed %s after the backend healed, app %s after eu (%d polls of both)", euAt.Sub(healed).Round(time.Millisecond), lag, polls)
	if lag > 25*time.Millisecond {
		t.Errorf("Expected app to follow eu's recovery in the same rebuild (within a few ms), got %s later", lag)
	}
	hcRecords(t, s, app, dns.TypeA, 20, euA)
	hcWait(t, s, app, dns.TypeAAAA, euAAAA, 5*time.Second)
	hcRecords(t, s, app, dns.TypeAAAA, 20, euAAAA)
	if n = c.name(t, app); n.FailedOver || !slices.Equal(hcSortedCopy(n.Answer.A), euA) {
		t.Errorf("Expected %s back on the EU pool, got A %v failed_over %t", app, n.Answer.A, n.FailedOver)
	}
}

func TestSeveralChecksRequire(t *testing.T) {
	logs := captureLog(t)
	p1, p2, p3 := newHealthBackend(t, nil), newHealthBackend(t, nil), newHealthBackend(t, nil)
	solo := newHealthBackend(t, nil) // checked by one name only
	apiBlock, c := hcAPI(t)
	// The three names share endpoint 192.0.2.10 with the same three checks
	// and pace: each check is one probe, whichever names use it.
	s := startServer(t, fmt.Sprintf(`example.org:0 {
	bind 127.0.0.1
	%s
	failover req2.example.org {
		endpoint 192.0.2.10 priority 1 check %s %s %s
		endpoint 192.0.2.20 priority 2 check %s
		require 2
		%s
	}
	failover reqany.example.org {
		endpoint 192.0.2.10 priority 1
		endpoint 192.0.2.20 priority 2 check none
		check %s %s %s
		require any
		%s
	}
	failover reqall.example.org {
		endpoint 192.0.2.10 priority 1
		endpoint 192.0.2.20 priority 2 check none
		check %s %s %s
		%s
	}
}`, apiBlock, p1.url(), p2.url(), p3.url(), solo.url(), hcPace,
		p1.url(), p2.url(), p3.url(), hcPace, p1.url(), p2.url(), p3.url(), hcPace))

	const req2, reqany, reqall = "req2.example.org.", "reqany.example.org.", "reqall.example.org."
	names := []string{req2, reqany, reqall}
	primary, backup := []string{"192.0.2.10"}, []string{"192.0.2.20"}
	checks := []*healthBackend{p1, p2, p3}
	for _, name := range names {
		hcWait(t, s, name, dns.TypeA, primary, 5*time.Second)
	}

	// Probed once: a check of three names gets the probes of a check of one.
	before := [4]int64{p1.hits.Load(), p2.hits.Load(), p3.hits.Load(), solo.hits.Load()}
	start := time.Now()
	const window = 6
	solo.waitHits(t, before[3]+window, 5*time.Second)
	elapsed := time.Since(start)
	soloHits := solo.hits.Load() - before[3]
	for i, b := range checks {
		got := b.hits.Load() - before[i]
		t.Logf("%s (three names) was probed %d times while %s (one name) was probed %d times, in %s", b.url(), got, solo.url(), soloHits, elapsed.Round(time.Millisecond))
		if got > soloHits+2 || got < soloHits-2 {
			t.Errorf("Expected the shared check %s probed as often as the check of one name (%d), got %d: probed once per name?", b.url(), soloHits, got)
		}
	}

	type stage struct {
		failed     int      // how many of p1, p2, p3 fail
		moved      []string // the names that now answer the backup
		stay       []string // the names that keep the primary
		epState    map[string]string
		checkState [3]string
	}
	stages := []stage{
		{1, []string{reqall}, []string{req2, reqany}, map[string]string{req2: "up", reqany: "up", reqall: "down"}, [3]string{"down", "up", "up"}},
		{2, []string{req2}, []string{reqany}, map[string]string{req2: "down", reqany: "up", reqall: "down"}, [3]string{"down", "down", "up"}},
		{3, []string{reqany}, nil, map[string]string{req2: "down", reqany: "down", reqall: "down"}, [3]string{"down", "down", "down"}},
	}
	for _, st := range stages {
		b := checks[st.failed-1]
		b.failed.Store(true)
		for _, name := range st.moved {
			hcWait(t, s, name, dns.TypeA, backup, 5*time.Second)
		}
		for _, name := range st.stay {
			hcHolds(t, s, name, dns.TypeA, primary, 300*time.Millisecond)
		}
		for _, name := range names {
			// One log line per check that changed, naming its URL.
			waitLog(t, logs, "plugin/failover: "+name+": endpoint 192.0.2.10 check "+b.url()+" up -> down", "HTTP status 503")
			n := c.name(t, name)
			ep := endpointIn(n, "192.0.2.10")
			if ep.State != st.epState[name] {
				t.Errorf("With %d of 3 checks failing, expected endpoint 192.0.2.10 of %s in state %q (its checks combined by require), got %q", st.failed, name, st.epState[name], ep.State)
			}
			wantUp := map[string]float64{"up": 1, "down": 0}[st.epState[name]]
			if up := hcMetric(t, "coredns_failover_endpoint_up", map[string]string{"name": name, "endpoint": "192.0.2.10"}); up != wantUp {
				t.Errorf("With %d of 3 checks failing, expected endpoint_up %v for %s, got %v", st.failed, wantUp, name, up)
			}
			if want := slices.Contains(st.stay, name); ep.Serving != want {
				t.Errorf("With %d of 3 checks failing, expected endpoint 192.0.2.10 of %s serving=%t, got %t", st.failed, name, want, ep.Serving)
			}
			if len(ep.Checks) != 3 {
				t.Fatalf("Expected three checks in the status of %s's endpoint, got %+v", name, ep.Checks)
			}
			for i, cb := range checks {
				ck, ok := hcCheck(ep, cb.url())
				if !ok || ep.Checks[i].Check != cb.url() {
					t.Errorf("Expected check %s at place %d in the status of %s, got %+v", cb.url(), i, name, ep.Checks)
					continue
				}
				if ck.State != st.checkState[i] || ck.LastProbe == nil || ck.Streak == nil {
					t.Errorf("Expected check %s of %s in state %s with its last probe, got %+v", cb.url(), name, st.checkState[i], ck)
					continue
				}
				wantResult := "success"
				if st.checkState[i] == "down" {
					wantResult = "status"
				}
				if ck.LastProbe.Result != wantResult || (wantResult == "status") != strings.Contains(ck.LastProbe.Error, "503") {
					t.Errorf("Expected the last probe of %s to be %s, got %+v", cb.url(), wantResult, *ck.LastProbe)
				}
				if ck.LastProbe.At.Before(start) || time.Since(ck.LastProbe.At) > 2*time.Second {
					t.Errorf("Expected a recent last probe of %s, got %s", cb.url(), ck.LastProbe.At)
				}
			}
		}
	}
	for _, b := range checks {
		for _, result := range []string{"success", "status"} {
			if v := hcMetric(t, "coredns_failover_probes_total", map[string]string{"endpoint": "192.0.2.10", "check": b.url(), "result": result}); v < 1 {
				t.Errorf("Expected coredns_failover_probes_total{check=%q,result=%q} counted, got %v", b.url(), result, v)
			}
		}
	}

	// The endpoint went down once, however many of its checks did.
	if v := hcMetric(t, "coredns_failover_transitions_total", map[string]string{"name": reqany, "endpoint": "192.0.2.10", "to": "down"}); v != 1 {
		t.Errorf("Expected one transition to down for %s's endpoint under require any after its three checks failed one by one, got %v", reqany, v)
	}

	// Healed from the first check on: any comes back with one passing
	// check, require 2 with two, all with three. While the first check
	// passes and the others do not, the endpoint is still down where
	// require asks for more.
	heals := []struct {
		b       *healthBackend
		back    string
		stay    []string
		epState map[string]string
	}{
		{p1, reqany, []string{req2, reqall}, map[string]string{req2: "down", reqany: "up", reqall: "down"}},
		{p2, req2, []string{reqall}, map[string]string{req2: "up", reqany: "up", reqall: "down"}},
		{p3, reqall, nil, map[string]string{req2: "up", reqany: "up", reqall: "up"}},
	}
	for i, h := range heals {
		h.b.failed.Store(false)
		hcWait(t, s, h.back, dns.TypeA, primary, 5*time.Second)
		for _, name := range h.stay {
			hcHolds(t, s, name, dns.TypeA, backup, 300*time.Millisecond)
		}
		for _, name := range names {
			waitLog(t, logs, "plugin/failover: "+name+": endpoint 192.0.2.10 check "+h.b.url()+" down -> up")
			ep := endpointIn(c.name(t, name), "192.0.2.10")
			if ep.State != h.epState[name] {
				t.Errorf("With %d of 3 checks passing again, expected endpoint 192.0.2.10 of %s in state %q (its checks combined by require), got %q", i+1, name, h.epState[name], ep.State)
			}
			if want := !slices.Contains(h.stay, name); ep.Serving != want {
				t.Errorf("With %d of 3 checks passing again, expected endpoint 192.0.2.10 of %s serving=%t, got %t", i+1, name, want, ep.Serving)
			}
		}
	}
}

// hcMaintenance serves /maintenance: 404 normally, 200 while a
// maintenance page exists.
type hcMaintenance struct {
	srv   *httptest.Server
	on    atomic.Bool
	hits  atomic.Int64
	paths atomic.Int64 // requests for another path
}

func newHCMaintenance(t *testing.T) *hcMaintenance {
	t.Helper()
	b := &hcMaintenance{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		if r.URL.Path != "/maintenance" {
			b.paths.Add(1)
		}
		if !b.on.Load() {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("down for maintenance"))
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *hcMaintenance) url() string { return b.srv.URL + "/maintenance" }

func TestInvertedCheck(t *testing.T) {
	logs := captureLog(t)
	page := newHCMaintenance(t)
	apiBlock, c := hcAPI(t)
	s := startServer(t, fmt.Sprintf(`example.org:0 {
	bind 127.0.0.1
	%s
	failover maint.example.org {
		endpoint 192.0.2.10 priority 1 check %s
		endpoint 192.0.2.20 priority 2
		invert
		%s
	}
}`, apiBlock, page.url(), hcPace))
	const name = "maint.example.org."

	// No maintenance page (404): the inverted check passes, the primary answers.
	hcWait(t, s, name, dns.TypeA, []string{"192.0.2.10"}, 5*time.Second)
	hcRecords(t, s, name, dns.TypeA, 60, []string{"192.0.2.10"})
	start := page.hits.Load()
	hcHolds(t, s, name, dns.TypeA, []string{"192.0.2.10"}, 500*time.Millisecond)
	if page.hits.Load()-start < 1 {
		t.Errorf("Expected the maintenance URL probed while the primary answers")
	}
	ep := endpointIn(c.name(t, name), "192.0.2.10")
	if ep.State != "up" || ep.LastProbe == nil || ep.LastProbe.Result != "success" {
		t.Errorf("Expected the primary up with a successful (inverted) last probe, got %+v", ep)
	}

	// The maintenance page appears (200): the primary is down, the backup answers.
	page.on.Store(true)
	hcWait(t, s, name, dns.TypeA, []string{"192.0.2.20"}, 5*time.Second)
	hcRecords(t, s, name, dns.TypeA, 60, []string{"192.0.2.20"})
	waitLog(t, logs, "plugin/failover: "+name+": endpoint 192.0.2.10 up -> down", "inverted: the check passed (HTTP status 200)")
	ep = endpointIn(c.name(t, name), "192.0.2.10")
	if ep.State != "down" || ep.Serving || ep.LastProbe == nil || ep.LastProbe.Result != "inverted" {
		t.Errorf("Expected the primary down, out of the answer, with last probe result inverted, got %+v", ep)
	}
	if v := hcMetric(t, "coredns_failover_probes_total", map[string]string{"endpoint": "192.0.2.10", "check": page.url(), "result": "inverted"}); v < 2 {
		t.Errorf("Expected at least fall=2 probes with result inverted, got %v", v)
	}

	// The page is gone again: the primary is back.
	page.on.Store(false)
	hcWait(t, s, name, dns.TypeA, []string{"192.0.2.10"}, 5*time.Second)
	waitLog(t, logs, "plugin/failover: "+name+": endpoint 192.0.2.10 down -> up")
	if page.paths.Load() != 0 {
		t.Errorf("Expected only /maintenance probed, got %d other requests", page.paths.Load())
	}
}

func TestObserveOnlyEndToEnd(t *testing.T) {
	logs := captureLog(t)
	primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
	apiBlock, c := hcAPI(t)
	s := startServer(t, fmt.Sprintf(`example.org:0 {
	bind 127.0.0.1
	%s
	failover watch.example.org {
		observe_only
		endpoint 192.0.2.50 priority 1 check %s
		endpoint 192.0.2.60 priority 2 check %s
		%s
	}
}`, apiBlock, primary.url(), backup.url(), hcPace))
	const name = "watch.example.org."
	want := []string{"192.0.2.50"}
	hcWait(t, s, name, dns.TypeA, want, 5*time.Second)

	series := func(metric, ep string) float64 {
		return hcMetric(t, metric, map[string]string{"name": name, "endpoint": ep})
	}
	const answered, would = "coredns_failover_answers_total", "coredns_failover_would_answer_total"

	// The primary's backend fails: the answers keep the primary, the log
	// says what would have happened.
	primary.failed.Store(true)
	waitLog(t, logs, "plugin/failover: "+name+": endpoint 192.0.2.50 up -> down", "HTTP status 503")
	line := waitLog(t, logs, "plugin/failover: "+name+": observe_only: would fail over", "192.0.2.60")
	t.Logf("log: %s", line)
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, name+": failover: answering away") {
			t.Errorf("Expected no real failover of an observe_only name, got %q", l)
		}
	}
	hcHolds(t, s, name, dns.TypeA, want, 300*time.Millisecond)

	// Counted: the answers for the primary, the would-be answers for the backup.
	ansPrimary, ansBackup := series(answered, "192.0.2.50"), series(answered, "192.0.2.60")
	wouldPrimary, wouldBackup := series(would, "192.0.2.50"), series(would, "192.0.2.60")
	const queries = 10
	for _, network := range hcNetworks {
		for range queries {
			if got := addresses(s.mustAsk(t, network, name, dns.TypeA)); !slices.Equal(got, want) {
				t.Fatalf("Expected observe_only to answer the failed primary over %s, got %v", network, got)
			}
		}
	}
	total := float64(queries * len(hcNetworks))
	if d := series(would, "192.0.2.60") - wouldBackup; d != total {
		t.Errorf("Expected would_answer_total{endpoint=192.0.2.60} to grow by %v, got %v", total, d)
	}
	if d := series(would, "192.0.2.50") - wouldPrimary; d != 0 {
		t.Errorf("Expected would_answer_total{endpoint=192.0.2.50} to stay, got +%v", d)
	}
	if d := series(answered, "192.0.2.50") - ansPrimary; d != total {
		t.Errorf("Expected answers_total{endpoint=192.0.2.50} to grow by %v, got %v", total, d)
	}
	if d := series(answered, "192.0.2.60") - ansBackup; d != 0 {
		t.Errorf("Expected answers_total{endpoint=192.0.2.60} to stay, got +%v", d)
	}

	// The status API still tells the truth about health.
	n := c.name(t, name)
	p, b := endpointIn(n, "192.0.2.50"), endpointIn(n, "192.0.2.60")
	if p.State != "down" || !p.Serving || p.LastProbe == nil || p.LastProbe.Result != "status" {
		t.Errorf("Expected the primary down yet serving, with its failed last probe, got %+v", p)
	}
	if b.State != "up" || b.Serving {
		t.Errorf("Expected the backup up and not serving, got state %q serving %t", b.State, b.Serving)
	}
	if !slices.Equal(n.Answer.A, want) {
		t.Errorf("Expected the status's answer to be the primary, got %v", n.Answer.A)
	}
	if up := hcMetric(t, "coredns_failover_endpoint_up", map[string]string{"name": name, "endpoint": "192.0.2.50"}); up != 0 {
		t.Errorf("Expected endpoint_up 0 for the failed primary, got %v", up)
	}
	t.Logf("failed_over of the observe_only name with its primary down: %t", n.FailedOver)

	// Healed: it would fail back.
	primary.failed.Store(false)
	waitLog(t, logs, "plugin/failover: "+name+": observe_only: would fail back to the first choice")
	hcRecords(t, s, name, dns.TypeA, 60, want)
	wouldPrimary = series(would, "192.0.2.50")
	s.mustAsk(t, "tcp", name, dns.TypeA)
	if d := series(would, "192.0.2.50") - wouldPrimary; d != 1 {
		t.Errorf("Expected would_answer_total{endpoint=192.0.2.50} to count again after the recovery, got +%v", d)
	}
}
