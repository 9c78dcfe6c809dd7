package failover

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// stressGrace is how long after a backend changes before answers are held
// to its new state: the detection time (an interval plus a probe) with a
// wide margin for a busy machine.
const stressGrace = 500 * time.Millisecond

// stressPhase is how long each row of stressPhases lasts.
const stressPhase = 750 * time.Millisecond

// stressBackends are the backends whose health the test sets; in the middle
// phases aa1 and aa2 also flip every 100ms, out of step with each other.
var stressBackends = []string{"ap1", "ap2", "aa1", "aa2", "w", "geo", "cdn", "nd"}

// stressPhases is whether each backend is healthy, phase by phase, so that
// every rule is judged both ways: the primary up, then only the backup, then
// neither (fail open to the primary), then the primary again.
var stressPhases = []map[string]bool{
	{"ap1": true, "ap2": true, "w": true, "geo": true, "cdn": true, "nd": true},
	{"ap1": false, "ap2": true, "w": false, "geo": false, "cdn": false, "nd": false},
	{"ap1": false, "ap2": false, "w": true, "geo": true, "cdn": true, "nd": true},
	{"ap1": true, "ap2": false, "w": false, "geo": false, "cdn": false, "nd": false},
}

// stressCorefile has a stanza of every policy. With fall 1 and rise 1 every
// probe that disagrees flips an endpoint; the timeout is as long as the
// interval allows, so that a slow moment of a loaded machine does not fail
// a healthy backend.
func stressCorefile(port, db string, b map[string]*healthBackend, ttl int) string {
	pace := fmt.Sprintf(`
        interval 100ms
        fast_interval 50ms
        timeout 80ms
        fall 1
        rise 1
        ttl %d`, ttl)
	return fmt.Sprintf(`example.org:%s {
    bind 127.0.0.1
    failover ap.example.org {
        endpoint 192.0.2.1 priority 1 check %s
        endpoint 192.0.2.2 priority 2 check %s%s
    }
    failover aa.example.org {
        policy active-active
        endpoint 192.0.2.11 check %s
        endpoint 192.0.2.12 check %s
        endpoint 2001:db8::11 check none%s
    }
    failover w.example.org {
        policy weighted
        endpoint 192.0.2.21 weight 10 check %s
        endpoint 192.0.2.22 weight 0%s
    }
    failover geo.example.org {
        policy geo
        geoip %s
        endpoint 192.0.2.31 geo country:US check %s
        endpoint 192.0.2.39 default%s
    }
    failover cdn.example.org {
        endpoint edge1.example.net. priority 1 check %s
        endpoint edge2.example.net. priority 2%s
    }
    failover nd.example.org {
        endpoint 192.0.2.41 check %s
        all_down nodata%s
    }
}`, port, b["ap1"].url(), b["ap2"].url(), pace, b["aa1"].url(), b["aa2"].url(), pace,
		b["w"].url(), pace, db, b["geo"].url(), pace, b["cdn"].url(), pace, b["nd"].url(), pace)
}

// timeline records when each backend was made healthy or failing.
type timeline struct {
	mu      sync.Mutex
	start   time.Time
	flips   map[string][]flip
	healthy map[string]bool
}

type flip struct {
	at      time.Time
	healthy bool
}

func newTimeline(names []string) *timeline {
	tl := &timeline{start: time.Now(), flips: map[string][]flip{}, healthy: map[string]bool{}}
	for _, n := range names {
		tl.healthy[n] = true
	}
	return tl
}

func (tl *timeline) set(name string, b *healthBackend, healthy bool) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if tl.healthy[name] == healthy {
		return
	}
	tl.healthy[name] = healthy
	b.failed.Store(!healthy)
	tl.flips[name] = append(tl.flips[name], flip{time.Now(), healthy})
}

// steady reports backend name's state during [from, to], and whether it
// held that state throughout.
func (tl *timeline) steady(name string, from, to time.Time) (healthy, ok bool) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	healthy, ok = true, true
	for _, f := range tl.flips[name] {
		switch {
		case !f.at.After(from):
			healthy = f.healthy
		case !f.at.After(to):
			ok = false
		}
	}
	return healthy, ok
}

// stressQuery is one of the questions every querier asks in turn.
type stressQuery struct {
	name  string
	qtype uint16
	ecs   string // client subnet, or "" for none
}

var stressQueries = []stressQuery{
	{"ap.example.org.", dns.TypeA, ""},
	{"ap.example.org.", dns.TypeMX, ""},
	{"aa.example.org.", dns.TypeA, ""},
	{"aa.example.org.", dns.TypeAAAA, ""},
	{"w.example.org.", dns.TypeA, ""},
	{"geo.example.org.", dns.TypeA, ""},
	{"geo.example.org.", dns.TypeA, "10.1.2.0/24"}, // California, in geoPlaces
	{"cdn.example.org.", dns.TypeA, ""},
	{"nd.example.org.", dns.TypeA, ""},
}

// stressAnswer is what one query got, and when.
type stressAnswer struct {
	q          stressQuery
	sent, recv time.Time
	reply      *dns.Msg
	err        error
}

// answerData lists the addresses and CNAME targets of m, sorted.
func answerData(m *dns.Msg) []string {
	out := addresses(m)
	for _, rr := range m.Answer {
		if c, ok := rr.(*dns.CNAME); ok {
			out = append(out, c.Target)
		}
	}
	slices.Sort(out)
	return out
}

// stressRule is what a stanza may answer and, when its backends held still
// long enough, what it must answer.
type stressRule struct {
	members []string
	emptyOK bool // NODATA is a right answer: the type has no data, or all_down nodata
	// want is the exact answer for steady backends; ok is false when a
	// backend that matters changed too recently to judge, label names the
	// case for the coverage count.
	want func(st func(string) (bool, bool)) (want []string, label string, ok bool)
}

func stressRules() map[stressQuery]stressRule {
	fixed := func(want ...string) func(func(string) (bool, bool)) ([]string, string, bool) {
		return func(func(string) (bool, bool)) ([]string, string, bool) { return want, "static", true }
	}
	// onOff is a stanza with one checked first choice and a fallback.
	onOff := func(backend, up, down string) func(func(string) (bool, bool)) ([]string, string, bool) {
		return func(st func(string) (bool, bool)) ([]string, string, bool) {
			h, ok := st(backend)
			if !ok {
				return nil, "", false
			}
			if h {
				return nonEmpty(up), "up", true
			}
			return nonEmpty(down), "down", true
		}
	}
	return map[stressQuery]stressRule{
		stressQueries[0]: {[]string{"192.0.2.1", "192.0.2.2"}, false, func(st func(string) (bool, bool)) ([]string, string, bool) {
			p, okp := st("ap1")
			b, okb := st("ap2")
			switch {
			case okp && p:
				return []string{"192.0.2.1"}, "primary up", true
			case okp && okb && b:
				return []string{"192.0.2.2"}, "backup only", true
			case okp && okb:
				return []string{"192.0.2.1"}, "all down", true // return_all fails open to the first tier
			}
			return nil, "", false
		}},
		stressQueries[1]: {nil, true, fixed()},
		stressQueries[2]: {[]string{"192.0.2.11", "192.0.2.12"}, false, func(st func(string) (bool, bool)) ([]string, string, bool) {
			a, oka := st("aa1")
			b, okb := st("aa2")
			if !oka || !okb {
				return nil, "", false
			}
			switch {
			case a && !b:
				return []string{"192.0.2.11"}, "one up", true
			case b && !a:
				return []string{"192.0.2.12"}, "one up", true
			}
			return []string{"192.0.2.11", "192.0.2.12"}, "all or none up", true
		}},
		stressQueries[3]: {[]string{"2001:db8::11"}, false, fixed("2001:db8::11")},
		// The weight 0 endpoint is drained while the other is healthy.
		stressQueries[4]: {[]string{"192.0.2.21", "192.0.2.22"}, false, onOff("w", "192.0.2.21", "192.0.2.22")},
		// 127.0.0.1 is not in the database: the default, whatever the health.
		stressQueries[5]: {[]string{"192.0.2.39"}, false, fixed("192.0.2.39")},
		stressQueries[6]: {[]string{"192.0.2.31", "192.0.2.39"}, false, onOff("geo", "192.0.2.31", "192.0.2.39")},
		stressQueries[7]: {[]string{"edge1.example.net.", "edge2.example.net."}, false, onOff("cdn", "edge1.example.net.", "edge2.example.net.")},
		stressQueries[8]: {[]string{"192.0.2.41"}, true, onOff("nd", "192.0.2.41", "")},
	}
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func TestConcurrentQueriesFlipsAndReloads(t *testing.T) {
	if testing.Short() {
		t.Skip("Stress test skipped in short mode")
	}
	backends := map[string]*healthBackend{}
	for _, n := range stressBackends {
		backends[n] = newHealthBackend(t, nil)
	}
	db := writeGeoDB(t, geoPlaces)
	port := freeUDPPort(t)
	ttls := [2]int{60, 45}
	i := startInstance(t, stressCorefile(port, db, backends, ttls[0]))
	addr := i.udp // fixed port: a reload keeps it

	tl := newTimeline(stressBackends)
	const queriers = 8
	load := time.Duration(len(stressPhases)) * stressPhase
	deadline := time.Now().Add(load)
	done := make(chan struct{})

	// Flip the backends phase by phase, and aa's pair every 100ms in the
	// middle phases, so that transitions also land during reloads.
	flipped := make(chan struct{})
	go func() {
		defer close(flipped)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			phase := int(time.Since(tl.start) / stressPhase)
			if phase >= len(stressPhases) {
				phase = len(stressPhases) - 1
			}
			for name, healthy := range stressPhases[phase] {
				tl.set(name, backends[name], healthy)
			}
			noisy := phase == 1 || phase == 2
			tl.set("aa1", backends["aa1"], !noisy || n%4 < 2)
			tl.set("aa2", backends["aa2"], !noisy || (n+1)%4 < 2)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	stopFlips := sync.OnceFunc(func() {
		close(done)
		<-flipped
	})
	defer stopFlips()

	results := make([][]stressAnswer, queriers)
	var wg sync.WaitGroup
	for g := range queriers {
		wg.Go(func() {
			c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
			// A bound on the count too, per phase, should the machine be
			// fast: a querier that has asked its share waits for the next
			// phase to settle, so that every phase is queried and judged.
			const perPhase = 1500
			for n := 0; n < perPhase*len(stressPhases) && time.Now().Before(deadline); n++ {
				if n%perPhase == 0 {
					settled := tl.start.Add(time.Duration(n/perPhase)*stressPhase + stressGrace)
					if d := time.Until(settled); d > 0 {
						<-time.After(d)
					}
				}
				q := stressQueries[(n+g)%len(stressQueries)]
				m := new(dns.Msg)
				m.SetQuestion(q.name, q.qtype)
				if q.ecs != "" {
					_, subnet, _ := net.ParseCIDR(q.ecs)
					bits, _ := subnet.Mask.Size()
					m.SetEdns0(1232, false)
					m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_SUBNET{
						Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: uint8(bits), Address: subnet.IP.To4()})
				}
				a := stressAnswer{q: q, sent: time.Now()}
				a.reply, _, a.err = c.Exchange(m, addr)
				a.recv = time.Now()
				results[g] = append(results[g], a)
			}
		})
	}
	queried := make(chan struct{})
	go func() {
		wg.Wait()
		close(queried)
	}()
	defer func() { <-queried }() // also when a reload fails the test

	// Reload in this goroutine, which may fail the test, until the load ends.
	reloads := 0
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
reloading:
	for {
		select {
		case <-queried:
			break reloading
		case <-tick.C:
			reloads++
			if err := i.reload(t, stressCorefile(port, db, backends, ttls[reloads%2])); err != nil {
				t.Fatalf("Expected reload %d to succeed, got %v", reloads, err)
			}
		}
	}
	stopFlips()

	rules := stressRules()
	judged := map[string]int{}
	seenTTL := map[uint32]bool{}
	total, failures := 0, 0
	fail := func(format string, args ...any) {
		failures++
		if failures <= 20 {
			t.Errorf(format, args...)
		}
	}
	for _, rs := range results {
		for _, a := range rs {
			total++
			at := a.sent.Sub(tl.start).Round(time.Millisecond)
			if a.err != nil {
				fail("Expected an answer to %s %s at %s, got %v", a.q.name, dns.TypeToString[a.q.qtype], at, a.err)
				continue
			}
			r := a.reply
			if r.Rcode != dns.RcodeSuccess || !r.Authoritative {
				fail("Expected an authoritative NOERROR for %s %s at %s, got %s (AA %t)", a.q.name, dns.TypeToString[a.q.qtype], at, dns.RcodeToString[r.Rcode], r.Authoritative)
				continue
			}
			for _, rr := range r.Answer {
				seenTTL[rr.Header().Ttl] = true
				if ttl := int(rr.Header().Ttl); ttl != ttls[0] && ttl != ttls[1] || !strings.EqualFold(rr.Header().Name, a.q.name) {
					fail("Expected records of %s with ttl %d or %d, got %s", a.q.name, ttls[0], ttls[1], rr)
				}
			}
			rule := rules[a.q]
			got := answerData(r)
			for _, g := range got {
				if !slices.Contains(rule.members, g) {
					fail("Expected %s %s to answer only with %v, got %v at %s", a.q.name, dns.TypeToString[a.q.qtype], rule.members, got, at)
				}
			}
			if len(got) == 0 && !rule.emptyOK {
				fail("Expected an answer for %s %s at %s, got an empty NOERROR", a.q.name, dns.TypeToString[a.q.qtype], at)
			}
			if a.q.ecs != "" {
				if _, ok := replyScope(r); !ok {
					fail("Expected the ECS option echoed for %s at %s", a.q.name, at)
				}
			}
			from := a.sent.Add(-stressGrace)
			want, label, ok := rule.want(func(name string) (bool, bool) { return tl.steady(name, from, a.recv) })
			if !ok {
				continue
			}
			judged[a.q.name+" "+dns.TypeToString[a.q.qtype]+" "+label]++
			if !slices.Equal(got, want) {
				fail("Expected %s %s to answer %v (%s, steady for %s) at %s, got %v", a.q.name, dns.TypeToString[a.q.qtype], want, label, stressGrace, at, got)
			}
		}
	}
	if failures > 20 {
		t.Errorf("... and %d more wrong answers", failures-20)
	}
	t.Logf("%d queries from %d goroutines, %d reloads, judged: %v", total, queriers, reloads, judged)

	// A rule that was never judged proves nothing: each steady state must
	// have been met by some answers.
	for _, label := range []string{
		"ap.example.org. A primary up", "ap.example.org. A backup only", "ap.example.org. A all down",
		"aa.example.org. A all or none up", "w.example.org. A up", "w.example.org. A down",
		"geo.example.org. A up", "geo.example.org. A down", "cdn.example.org. A up", "cdn.example.org. A down",
		"nd.example.org. A up", "nd.example.org. A down",
	} {
		if judged[label] == 0 {
			t.Errorf("Expected answers judged for %q, got none", label)
		}
	}
	if reloads < 3 || !seenTTL[uint32(ttls[0])] || !seenTTL[uint32(ttls[1])] {
		t.Errorf("Expected at least 3 reloads with both ttls answered, got %d reloads and ttls %v", reloads, seenTTL)
	}
}
