package failover

// End-to-end tests of the routing that goes beyond the four policies by
// weight and by health: slow_start, trickle, weights inside a tier (and a
// geo group), ttl_failover and weight_from. Each runs a real CoreDNS server
// whose endpoints are probed over HTTP against real backends, and measures
// shares over real UDP and TCP queries. The virtual-clock counterparts are
// in holddown_test.go; within, the 4-sigma tolerance, is from there.

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/api"
)

// wtPace makes a death seen in about 250 ms and a recovery at the next
// probe, at most 200 ms after it.
const wtPace = `
        interval 200ms
        fast_interval 50ms
        timeout 100ms
        fall 2
        rise 1`

// wtWorkers is how many connections a burst of queries runs on at once.
const wtWorkers = 4

// wtBackend is an HTTP server whose /health answers 200 with the value
// it is told, in a header or as the body's first line (weight_from).
type wtBackend struct {
	srv    *httptest.Server
	header string // the header that carries the value; "" for the body
	value  atomic.Value
	hits   atomic.Int64
}

func newWtBackend(t *testing.T, header, value string) *wtBackend {
	t.Helper()
	b := &wtBackend{header: header}
	b.value.Store(value)
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		if r.URL.Path != "/health" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		v := b.value.Load().(string)
		if b.header != "" {
			w.Header().Set(b.header, v)
			w.Write([]byte("OK\n"))
			return
		}
		w.Write([]byte(v + "\nready\n"))
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *wtBackend) url() string   { return b.srv.URL + "/health" }
func (b *wtBackend) set(v string)  { b.value.Store(v) }
func (b *wtBackend) probes() int64 { return b.hits.Load() }

// waitProbes waits until the backend has been probed at least n times.
func (b *wtBackend) waitProbes(t *testing.T, n int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for b.hits.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("Expected %d probes of %s within %s, got %d", n, b.url(), within, b.hits.Load())
		}
		time.Sleep(10 * time.Millisecond) // the pace of the poll
	}
}

// wtServer starts corefile, whose one "%s" is the address of its API, on a
// free port, and returns the server and its API client.
func wtServer(t *testing.T, corefile string) (server, apiClient) {
	t.Helper()
	apiAddr := closedPort(t)
	s := startServer(t, fmt.Sprintf(corefile, apiAddr))
	return s, apiClient{base: "http://" + apiAddr}
}

// wtWaitEndpoint polls the API until ok holds for address's status in name,
// and returns that status.
func wtWaitEndpoint(t *testing.T, c apiClient, name, address string, within time.Duration, what string, ok func(ep api.Endpoint) bool) api.Endpoint {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ep := endpointIn(c.name(t, name), address)
		if ok(ep) {
			return ep
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected the API to show %s %s %s within %s, got %+v", name, address, what, within, ep)
		}
		time.Sleep(10 * time.Millisecond) // the pace of the poll
	}
}

// wtQuestion builds a fresh A query for name, with an ECS option for ecs
// unless it is empty.
func wtQuestion(t *testing.T, name, ecs string) func() *dns.Msg {
	var opt *dns.EDNS0_SUBNET
	if ecs != "" {
		opt = ecsOption(t, ecs)
	}
	return func() *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		if opt != nil {
			m.SetEdns0(1232, false)
			e := *opt
			m.IsEdns0().Option = append(m.IsEdns0().Option, &e)
		}
		return m
	}
}

// shares is what a burst of queries got: per address, the answers naming it.
type wtShares struct {
	count map[string]int
	n     int // answers
	ttls  map[uint32]int
}

func (sh wtShares) of(address string) float64 {
	if sh.n == 0 {
		return 0
	}
	return float64(sh.count[address]) / float64(sh.n)
}

func (sh wtShares) String() string {
	keys := make([]string, 0, len(sh.count))
	for k := range sh.count {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %d (%.4f) ", k, sh.count[k], sh.of(k))
	}
	fmt.Fprintf(&b, "of %d", sh.n)
	return b.String()
}

// worker is one connection to a server, redialled after a transport error.
type wtWorker struct {
	t      *testing.T
	client *dns.Client
	addr   string
	conn   *dns.Conn
	failed int
}

func newWtWorker(t *testing.T, s server, network string) *wtWorker {
	addr := s.udp
	if network == "tcp" {
		addr = s.tcp
	}
	return &wtWorker{t: t, client: &dns.Client{Net: network, Timeout: 2 * time.Second}, addr: addr}
}

// ask sends m and returns the reply, or nil after a transport error.
func (w *wtWorker) ask(m *dns.Msg) *dns.Msg {
	if w.conn == nil {
		c, err := w.client.Dial(w.addr)
		if err != nil {
			w.failed++
			return nil
		}
		w.conn = c
	}
	r, _, err := w.client.ExchangeWithConn(m, w.conn)
	if err != nil {
		w.failed++
		w.conn.Close()
		w.conn = nil
		return nil
	}
	return r
}

func (w *wtWorker) close() {
	if w.conn != nil {
		w.conn.Close()
	}
}

// burst sends n queries built by q over network, wtWorkers at a time, and
// tallies the addresses of the answers. Every answer must name exactly one
// address; lost queries (at most 1 %) are left out of the tally.
func wtBurst(t *testing.T, s server, network string, n int, q func() *dns.Msg) wtShares {
	t.Helper()
	sh := wtShares{count: map[string]int{}, ttls: map[uint32]int{}}
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	failed, malformed := 0, []string{}
	for range wtWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newWtWorker(t, s, network)
			defer w.close()
			local := map[string]int{}
			ttls := map[uint32]int{}
			answered := 0
			var bad []string
			for next.Add(1) <= int64(n) {
				r := w.ask(q())
				if r == nil {
					continue
				}
				got := addresses(r)
				if len(got) != 1 || r.Rcode != dns.RcodeSuccess {
					bad = append(bad, fmt.Sprintf("%s %v", dns.RcodeToString[r.Rcode], got))
					continue
				}
				answered++
				local[got[0]]++
				ttls[r.Answer[0].Header().Ttl]++
			}
			mu.Lock()
			defer mu.Unlock()
			for k, v := range local {
				sh.count[k] += v
			}
			for k, v := range ttls {
				sh.ttls[k] += v
			}
			sh.n += answered
			failed += w.failed
			malformed = append(malformed, bad...)
		}()
	}
	wg.Wait()
	if len(malformed) > 0 {
		t.Errorf("Over %s: expected every answer to name exactly one address, got %d that did not, such as %v", network, len(malformed), malformed[0])
	}
	if failed > n/100 {
		t.Fatalf("Over %s: expected at most 1 %% of %d queries lost, %d were", network, n, failed)
	}
	return sh
}

// waitNone queries over UDP until run answers in a row name none of
// addresses, and fails after within.
func wtWaitNone(t *testing.T, s server, q func() *dns.Msg, run int, within time.Duration, avoid ...string) {
	t.Helper()
	w := newWtWorker(t, s, "udp")
	defer w.close()
	deadline := time.Now().Add(within)
	streak := 0
	var last []string
	for streak < run {
		if time.Now().After(deadline) {
			t.Fatalf("Expected %d answers in a row without %v within %s, last %v", run, avoid, within, last)
		}
		r := w.ask(q())
		if r == nil {
			continue
		}
		last = addresses(r)
		streak++
		for _, a := range last {
			if slices.Contains(avoid, a) {
				streak = 0
			}
		}
	}
}

// waitSome queries over UDP until an answer names address, and fails after
// within.
func wtWaitSome(t *testing.T, s server, q func() *dns.Msg, address string, within time.Duration) {
	t.Helper()
	w := newWtWorker(t, s, "udp")
	defer w.close()
	deadline := time.Now().Add(within)
	for {
		if r := w.ask(q()); r != nil && slices.Contains(addresses(r), address) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected an answer naming %s within %s", address, within)
		}
	}
}

// assertShare checks a measured share against p within 4 sigma.
func wtShare(t *testing.T, what string, sh wtShares, address string, p float64) {
	t.Helper()
	got := sh.of(address)
	if !within(got, p, sh.n) {
		t.Errorf("%s: expected %s's share within 4 sigma (%.4f) of %.4f over %d answers, got %.4f (%v)",
			what, address, 4*math.Sqrt(p*(1-p)/float64(sh.n)), p, sh.n, got, sh)
	}
}

// assertNone checks that no answer named address.
func wtNone(t *testing.T, what string, sh wtShares, address string) {
	t.Helper()
	if c := sh.count[address]; c != 0 {
		t.Errorf("%s: expected no answer naming %s, got %d of %d (%v)", what, address, c, sh.n, sh)
	}
}

func TestSlowStartCurveEndToEnd(t *testing.T) {
	// The curve of the release note: weights 50/50 over 6 s.
	table := wtSlowStart(t, 50, 6*time.Second, 7*time.Second)
	t.Logf("Measured slow-start curve (A's share of the answers):\n%s", table)

	// The default weight, 1, must ramp as well: a weighted stanza without
	// weights is the common case, and its recovered endpoint must get a
	// rising share, not none for the whole ramp and then all of it at once.
	t.Run("default weight 1", func(t *testing.T) {
		table := wtSlowStart(t, 1, 3*time.Second, 3*time.Second)
		t.Logf("Measured slow-start curve with weights 1/1 (A's share of the answers):\n%s", table)
	})
}

// wtSlowStart runs a weighted stanza of two endpoints of weight w each with
// slow_start ramp; it fails A, waits until only B answers, heals A and
// measures A's share over UDP in 1-second buckets from A's recovery to span
// after it, comparing each with the linear ramp. It returns the curve as a
// table.
func wtSlowStart(t *testing.T, w int, ramp, span time.Duration) string {
	t.Helper()
	a, b := newHealthBackend(t, nil), newHealthBackend(t, nil)
	s, c := wtServer(t, `example.org:0 {
    bind 127.0.0.1
    failover {
        api %s
    }
    failover ramp.example.org {
        policy weighted
        endpoint 192.0.2.10 weight `+fmt.Sprint(w)+` check `+a.url()+`
        endpoint 192.0.2.20 weight `+fmt.Sprint(w)+` check `+b.url()+`
        max_answers 1
        slow_start `+ramp.String()+wtPace+`
    }
}`)
	const name, epA = "ramp.example.org.", "192.0.2.10"
	q := wtQuestion(t, name, "")

	a.failed.Store(true)
	wtWaitEndpoint(t, c, name, epA, 5*time.Second, "down", func(ep api.Endpoint) bool { return ep.State == "down" })
	wtWaitNone(t, s, q, 200, 5*time.Second, epA)
	for _, network := range []string{"udp", "tcp"} {
		sh := wtBurst(t, s, network, 400, q)
		wtNone(t, "With A failed over "+network, sh, epA)
	}

	a.failed.Store(false)
	up := wtWaitEndpoint(t, c, name, epA, 5*time.Second, "up", func(ep api.Endpoint) bool { return ep.State == "up" && ep.Since != nil })
	// The ramp starts when the monitor flips the endpoint up, which the API
	// tells to the nanosecond; the rebuild that starts the ramp follows it
	// on the probe's goroutine.
	t0 := *up.Since
	seen := time.Since(t0)

	// 400 queries per 250 ms window, evenly spaced, from now to span after
	// the recovery, each kept with its time since the recovery. A worker
	// that falls behind the schedule sends at once, so the count is bounded.
	const (
		window    = 250 * time.Millisecond
		perWindow = 400
		gap       = window / perWindow
	)
	type sample struct {
		at time.Duration
		a  bool
	}
	end := t0.Add(span)
	start := time.Now()
	var next atomic.Int64
	var mu sync.Mutex
	var samples []sample
	var wg sync.WaitGroup
	var lost atomic.Int64
	for range wtWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newWtWorker(t, s, "udp")
			defer w.close()
			var local []sample
			for {
				at := start.Add(time.Duration(next.Add(1)-1) * gap)
				if !at.Before(end) {
					break
				}
				if d := time.Until(at); d > 0 {
					time.Sleep(d) // the query's place in the schedule
				}
				now := time.Now()
				if !now.Before(end) {
					break
				}
				r := w.ask(q())
				if r == nil {
					continue
				}
				got := addresses(r)
				if len(got) != 1 {
					t.Errorf("Expected one address per answer, got %v", got)
					continue
				}
				local = append(local, sample{at: now.Sub(t0), a: got[0] == epA})
			}
			lost.Add(int64(w.failed))
			mu.Lock()
			samples = append(samples, local...)
			mu.Unlock()
		}()
	}
	// Meanwhile the API's weight_in_use, in the middle of every second.
	buckets := int(span / time.Second)
	inUse := make([]int, buckets)
	for i := range buckets {
		at := t0.Add(time.Duration(i)*time.Second + 500*time.Millisecond)
		if d := time.Until(at); d > 0 {
			time.Sleep(d) // the moment of the reading
		}
		inUse[i] = -1
		if time.Since(at) < 100*time.Millisecond {
			inUse[i] = int(endpointIn(c.name(t, name), epA).InUse)
		}
	}
	wg.Wait()
	if l := lost.Load(); l > int64(len(samples))/100 {
		t.Fatalf("Expected at most 1 %% of the queries lost, %d of %d were", l, len(samples)+int(l))
	}

	// The weight and the expected share of A at x seconds since the recovery.
	cw := float64(w)
	weight := func(x float64) float64 { return cw * min(max(x, 0)/ramp.Seconds(), 1) }
	share := func(x float64) float64 { v := weight(x); return v / (v + cw) }
	// Its slope, steepest at the start: d/dx v/(v+w) = w v'/(v+w)^2.
	slope := func(x float64) float64 {
		if x >= ramp.Seconds() {
			return 0
		}
		v := weight(x)
		return cw * (cw / ramp.Seconds()) / ((v + cw) * (v + cw))
	}
	// The tolerance of a bucket [lo, lo+1 s) of n queries with share p:
	//  - 4 sigma of the sample: 4 sqrt(p(1-p)/n);
	//  - the ramp's steps: the weight is republished every rampStep =
	//    max(ramp/50, 50 ms) (120 ms for 6 s) and may be truncated by up to
	//    one such step more, so the weight in effect lags the line by at
	//    most 2 rampStep;
	//  - the detection jitter: the ramp starts at the rebuild that follows
	//    the monitor's flip (the API's since), within 50 ms of it;
	//  - a lag of L seconds moves the share by at most slope(lo) L, the
	//    slope taken at the bucket's start, where it is steepest;
	//  - comparing the bucket's mean share with the share at its middle
	//    (the mean time of its queries) errs by at most max|share''| var/2
	//    = 2(w/ramp)²w/w³ × (1/12 s²)/2, 0.003 for 6 s.
	step := max(ramp/50, 50*time.Millisecond).Seconds()
	lag := 2*step + 0.050
	curvature := 2 / (ramp.Seconds() * ramp.Seconds()) / 24
	type bucket struct {
		n, a  int
		sumAt float64
	}
	counts := make([]bucket, buckets)
	for _, sm := range samples {
		i := int(sm.at / time.Second)
		if i < 0 || i >= len(counts) {
			continue
		}
		counts[i].n++
		counts[i].sumAt += sm.at.Seconds()
		if sm.a {
			counts[i].a++
		}
	}
	var table strings.Builder
	fmt.Fprintf(&table, "slow_start %s, weights %d/%d, recovery seen by the API %s after it:\n", ramp, w, w, seen.Round(time.Millisecond))
	fmt.Fprintf(&table, "%-8s %-9s %-9s %-9s %-6s %-10s %s\n", "second", "middle s", "expected", "measured", "n", "tolerance", "weight_in_use at the middle (line)")
	for i, bk := range counts {
		if bk.n < 200 {
			t.Errorf("Second %d after the recovery: expected at least 200 queries to measure by, got %d", i, bk.n)
			continue
		}
		mid := bk.sumAt / float64(bk.n)
		p := share(mid)
		got := float64(bk.a) / float64(bk.n)
		tol := 4*math.Sqrt(p*(1-p)/float64(bk.n)) + slope(float64(i))*lag + curvature
		fmt.Fprintf(&table, "%d-%d s    %-9.3f %-9.4f %-9.4f %-6d ±%-9.4f %d (%.1f)\n", i, i+1, mid, p, got, bk.n, tol, inUse[i], weight(float64(i)+0.5))
		if math.Abs(got-p) > tol {
			t.Errorf("Second %d-%d after the recovery (slow_start %s, weights %d/%d): expected A's share %.4f ± %.4f over %d answers, got %.4f",
				i, i+1, ramp, w, w, p, tol, bk.n, got)
		}
		// The weight in use, a whole number in the API, is the line's,
		// lagging by at most the lag above, give or take the rounding.
		if line := weight(float64(i) + 0.5); inUse[i] >= 0 && (float64(inUse[i]) > line+1 || float64(inUse[i]) < weight(float64(i)+0.5-lag)-1) {
			t.Errorf("Second %d-%d after the recovery: expected the API's weight_in_use near the line's %.1f, got %d", i, i+1, line, inUse[i])
		}
	}

	// The ramp's last step is republished within a rampStep of its end.
	wtWaitSome(t, s, q, epA, 5*time.Second)
	if ep := endpointIn(c.name(t, name), epA); ep.InUse != uint32(w) {
		t.Errorf("Expected the API to show A's full weight %d in use after the ramp, got %d", w, ep.InUse)
	}
	for _, network := range []string{"udp", "tcp"} {
		sh := wtBurst(t, s, network, 2000, q)
		wtShare(t, "After the ramp over "+network, sh, epA, 0.5)
	}
	return table.String()
}

func TestTrickleShareEndToEnd(t *testing.T) {
	b1, b2, b3 := newHealthBackend(t, nil), newHealthBackend(t, nil), newHealthBackend(t, nil)
	s, c := wtServer(t, `example.org:0 {
    bind 127.0.0.1
    failover {
        api %s
    }
    failover standby.example.org {
        policy active-passive
        endpoint 192.0.2.10 priority 1 check `+b1.url()+`
        endpoint 192.0.2.20 priority 2 check `+b2.url()+`
        endpoint 192.0.2.30 priority 3 check `+b3.url()+`
        trickle 2`+wtPace+`
    }
}`)
	const name, t1, t2, t3 = "standby.example.org.", "192.0.2.10", "192.0.2.20", "192.0.2.30"
	q := wtQuestion(t, name, "")

	const n = 10000
	sh := wtBurst(t, s, "udp", n, q)
	t.Logf("trickle 2, every tier up, over UDP: %v", sh)
	wtShare(t, "Every tier up, UDP", sh, t2, 0.02)
	wtShare(t, "Every tier up, UDP", sh, t1, 0.98)
	wtNone(t, "Every tier up, UDP", sh, t3)
	sh = wtBurst(t, s, "tcp", 3000, q)
	t.Logf("trickle 2, every tier up, over TCP: %v", sh)
	wtShare(t, "Every tier up, TCP", sh, t2, 0.02)
	wtNone(t, "Every tier up, TCP", sh, t3)

	// Never a down endpoint: with the second tier failed, the third tier's
	// healthy endpoint takes the share.
	b2.failed.Store(true)
	wtWaitEndpoint(t, c, name, t2, 5*time.Second, "down", func(ep api.Endpoint) bool { return ep.State == "down" })
	wtWaitSome(t, s, q, t3, 5*time.Second)
	sh = wtBurst(t, s, "udp", n, q)
	t.Logf("trickle 2, second tier down, over UDP: %v", sh)
	wtShare(t, "Second tier down, UDP", sh, t3, 0.02)
	wtShare(t, "Second tier down, UDP", sh, t1, 0.98)
	wtNone(t, "Second tier down, UDP", sh, t2)
	sh = wtBurst(t, s, "tcp", 3000, q)
	t.Logf("trickle 2, second tier down, over TCP: %v", sh)
	wtShare(t, "Second tier down, TCP", sh, t3, 0.02)
	wtNone(t, "Second tier down, TCP", sh, t2)
}

func TestWeightsInsideATierEndToEnd(t *testing.T) {
	b10, b11, b20 := newHealthBackend(t, nil), newHealthBackend(t, nil), newHealthBackend(t, nil)
	s, _ := wtServer(t, `example.org:0 {
    bind 127.0.0.1
    failover {
        api %s
    }
    failover tier.example.org {
        policy active-passive
        endpoint 192.0.2.10 priority 1 weight 3 check `+b10.url()+`
        endpoint 192.0.2.11 priority 1 weight 1 check `+b11.url()+`
        endpoint 192.0.2.20 priority 2 check `+b20.url()+`
        max_answers 1`+wtPace+`
    }
    failover region.example.org {
        policy geo
        endpoint 192.0.2.1 geo net:10.7.0.0/16 weight 9
        endpoint 192.0.2.2 geo net:10.7.0.0/16 weight 1
        endpoint 192.0.2.9 default
        max_answers 1
        ecs_from 127.0.0.0/8
    }
}`)
	tier := wtQuestion(t, "tier.example.org.", "")
	const n = 8000
	sh := wtBurst(t, s, "udp", n, tier)
	t.Logf("active-passive tier of weights 3 and 1, over UDP: %v", sh)
	wtShare(t, "Tier weights 3/1, UDP", sh, "192.0.2.10", 0.75)
	wtShare(t, "Tier weights 3/1, UDP", sh, "192.0.2.11", 0.25)
	wtNone(t, "Tier weights 3/1, UDP", sh, "192.0.2.20")
	sh = wtBurst(t, s, "tcp", 2000, tier)
	t.Logf("active-passive tier of weights 3 and 1, over TCP: %v", sh)
	wtShare(t, "Tier weights 3/1, TCP", sh, "192.0.2.10", 0.75)
	wtNone(t, "Tier weights 3/1, TCP", sh, "192.0.2.20")

	// A client of the listed net, by ECS: its group shares by weight 9/1,
	// and the default gets none of it.
	geoQ := wtQuestion(t, "region.example.org.", "10.7.3.0/24")
	sh = wtBurst(t, s, "udp", n, geoQ)
	t.Logf("geo group net:10.7.0.0/16 of weights 9 and 1, over UDP: %v", sh)
	wtShare(t, "Geo group weights 9/1, UDP", sh, "192.0.2.1", 0.9)
	wtShare(t, "Geo group weights 9/1, UDP", sh, "192.0.2.2", 0.1)
	wtNone(t, "Geo group weights 9/1, UDP", sh, "192.0.2.9")
	sh = wtBurst(t, s, "tcp", 2000, geoQ)
	t.Logf("geo group net:10.7.0.0/16 of weights 9 and 1, over TCP: %v", sh)
	wtShare(t, "Geo group weights 9/1, TCP", sh, "192.0.2.1", 0.9)
	wtNone(t, "Geo group weights 9/1, TCP", sh, "192.0.2.9")
	// A client outside the net gets the default alone.
	if sh := wtBurst(t, s, "udp", 200, wtQuestion(t, "region.example.org.", "10.8.0.0/24")); sh.count["192.0.2.9"] != sh.n {
		t.Errorf("Expected a client outside the net to get the default only, got %v", sh)
	}
}

func TestTTLFailoverEndToEnd(t *testing.T) {
	primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
	s, c := wtServer(t, `example.org:0 {
    bind 127.0.0.1
    failover {
        api %s
    }
    failover away.example.org {
        endpoint 192.0.2.10 priority 1 check `+primary.url()+`
        endpoint 192.0.2.20 priority 2 check `+backup.url()+`
        ttl 300
        ttl_failover 5`+wtPace+`
    }
}`)
	const name = "away.example.org."
	expect := func(phase string, want string, ttl uint32) {
		t.Helper()
		for _, network := range []string{"udp", "tcp"} {
			r := s.mustAsk(t, network, name, dns.TypeA)
			if got := addresses(r); !slices.Equal(got, []string{want}) || r.Answer[0].Header().Ttl != ttl {
				var have []uint32
				for _, rr := range r.Answer {
					have = append(have, rr.Header().Ttl)
				}
				t.Errorf("%s over %s: expected %s with TTL %d, got %v with TTLs %v", phase, network, want, ttl, got, have)
			}
		}
		if n := c.name(t, name); n.TTL != ttl {
			t.Errorf("%s: expected the API to show TTL %d, got %d", phase, ttl, n.TTL)
		}
	}
	s.waitAnswer(t, name, []string{"192.0.2.10"}, 5*time.Second)
	expect("On the first choice", "192.0.2.10", 300)

	primary.failed.Store(true)
	s.waitAnswer(t, name, []string{"192.0.2.20"}, 5*time.Second)
	expect("Failed over", "192.0.2.20", 5)

	primary.failed.Store(false)
	s.waitAnswer(t, name, []string{"192.0.2.10"}, 5*time.Second)
	expect("Back on the first choice", "192.0.2.10", 300)
}

func TestWeightFromEndToEnd(t *testing.T) {
	logs := captureLog(t)
	ha, hb := newWtBackend(t, "X-Weight", "3"), newWtBackend(t, "X-Weight", "1")
	ba, bb := newWtBackend(t, "", "7"), newWtBackend(t, "", "1")
	s, c := wtServer(t, `example.org:0 {
    bind 127.0.0.1
    failover {
        api %s
    }
    failover byheader.example.org {
        policy weighted
        endpoint 192.0.2.10 weight 1 check `+ha.url()+`
        endpoint 192.0.2.20 weight 1 check `+hb.url()+`
        weight_from header X-Weight`+wtPace+`
    }
    failover bybody.example.org {
        policy weighted
        endpoint 192.0.2.30 weight 1 check `+ba.url()+`
        endpoint 192.0.2.40 weight 1 check `+bb.url()+`
        weight_from body`+wtPace+`
    }
}`)
	const name, epA, epB = "byheader.example.org.", "192.0.2.10", "192.0.2.20"
	q := wtQuestion(t, name, "")
	inUse := func(phase string, w uint32, problem string) {
		t.Helper()
		wtWaitEndpoint(t, c, name, epA, 5*time.Second, fmt.Sprintf("(%s) with weight_in_use %d and weight_problem %q", phase, w, problem), func(ep api.Endpoint) bool {
			return ep.InUse == w && (problem == "" && ep.Problem == "" || problem != "" && strings.Contains(ep.Problem, problem))
		})
	}
	measure := func(phase string, p float64) {
		t.Helper()
		for _, network := range []string{"udp", "tcp"} {
			n := 4000
			if network == "tcp" {
				n = 1500
			}
			sh := wtBurst(t, s, network, n, q)
			t.Logf("weight_from header, %s, over %s: %v", phase, network, sh)
			wtShare(t, phase+" over "+network, sh, epA, p)
		}
	}

	// 3 against B's 1.
	inUse("X-Weight: 3", 3, "")
	measure("A reports 3", 0.75)

	// 0 drains A: no answers name it.
	ha.set("0")
	inUse("X-Weight: 0", 0, "")
	wtWaitNone(t, s, q, 200, 5*time.Second, epA)
	for _, network := range []string{"udp", "tcp"} {
		sh := wtBurst(t, s, network, 1000, q)
		wtNone(t, "A reports 0 over "+network, sh, epA)
		if sh.count[epB] != sh.n {
			t.Errorf("A reports 0 over %s: expected every answer on B, got %v", network, sh)
		}
	}

	// Garbage: the configured weight 1 is back, the API says why, and the
	// log says it once however many probes see it.
	const problem = `header X-Weight holds "abc", not a whole number from 0 to 65535`
	ha.set("abc")
	inUse("X-Weight: abc", 1, problem)
	from := ha.probes()
	measure("A reports garbage", 0.5)
	ha.waitProbes(t, from+10, 5*time.Second)
	if ep := endpointIn(c.name(t, name), epA); ep.InUse != 1 || !strings.Contains(ep.Problem, problem) || ep.Weight != 1 {
		t.Errorf("Expected the API to keep showing weight 1 in use and the problem after many probes, got %+v", ep)
	}
	var lines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "endpoint "+epA+": weight_from:") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], problem) || !strings.Contains(lines[0], "keeping the configured weight 1") {
		t.Errorf("Expected one log line naming the problem over %d probes, got %d:\n%s", ha.probes()-from+1, len(lines), strings.Join(lines, "\n"))
	}

	// Out of range is a new problem, logged once more; the configured
	// weight stays.
	const tooBig = `header X-Weight holds "70000", more than the largest weight, 65535`
	ha.set("70000")
	inUse("X-Weight: 70000", 1, tooBig)
	from = ha.probes()
	ha.waitProbes(t, from+5, 5*time.Second)
	lines = lines[:0]
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "endpoint "+epA+": weight_from:") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 2 || !strings.Contains(lines[1], tooBig) {
		t.Errorf("Expected a second log line, for the out-of-range weight, and no more, got %d:\n%s", len(lines), strings.Join(lines, "\n"))
	}

	// 9 against 1: 90 %.
	ha.set("9")
	inUse("X-Weight: 9", 9, "")
	measure("A reports 9", 0.9)
	waitLog(t, logs, name, "endpoint "+epA+" reports weight 9 (configured 1)")

	// The body's first line.
	const bodyName = "bybody.example.org."
	wtWaitEndpoint(t, c, bodyName, "192.0.2.30", 5*time.Second, "weight_in_use 7", func(ep api.Endpoint) bool { return ep.InUse == 7 && ep.Problem == "" })
	bq := wtQuestion(t, bodyName, "")
	for _, network := range []string{"udp", "tcp"} {
		n := 4000
		if network == "tcp" {
			n = 1500
		}
		sh := wtBurst(t, s, network, n, bq)
		t.Logf("weight_from body, 7 against 1, over %s: %v", network, sh)
		wtShare(t, "Body reports 7 over "+network, sh, "192.0.2.30", 0.875)
	}
}
