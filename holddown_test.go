package failover

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/control"
)

// signalled is a server block whose endpoints go down and up by outside
// signals, which the rebuilds weigh exactly as probes: the hold-downs and
// ramps can then run on synctest's clock.
type signalled struct {
	t    *testing.T
	f    *Failover
	book *control.Book
}

func newSignalled(t *testing.T, corefile string) *signalled {
	t.Helper()
	f, err := parse(newTestController(corefile))
	if err != nil {
		t.Fatalf("Expected the Corefile to parse, got %v", err)
	}
	f.Next = test.NextHandler(dns.RcodeRefused, nil)
	book, _, err := control.NewBook("")
	if err != nil {
		t.Fatal(err)
	}
	f.book = book
	for _, m := range f.stanzas {
		m.book = book
	}
	f.started.Store(true)
	unsub := book.Subscribe(f.controlsChanged)
	f.controlsChanged()
	t.Cleanup(func() {
		unsub()
		for _, m := range f.stanzas {
			m.halt()
		}
	})
	return &signalled{t: t, f: f, book: book}
}

func (s *signalled) down(name, addr string) {
	s.book.Fire(control.Key{Name: name, Address: addr}, control.Signal{Alert: "test", Key: "test"})
}

func (s *signalled) up(name, addr string) {
	s.book.Resolve(control.Key{Name: name, Address: addr}, "test")
}

func (s *signalled) ask(name string) *dns.Msg {
	s.t.Helper()
	r := new(dns.Msg)
	r.SetQuestion(name, dns.TypeA)
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	if _, err := s.f.ServeDNS(context.Background(), rec, r); err != nil || rec.Msg == nil {
		s.t.Fatalf("Expected an answer for %s, got %v", name, err)
	}
	return rec.Msg
}

func (s *signalled) answer(name string) []string {
	s.t.Helper()
	got := addresses(s.ask(name))
	slices.Sort(got)
	return got
}

func (s *signalled) expect(name string, want ...string) {
	s.t.Helper()
	if got := s.answer(name); !slices.Equal(got, want) {
		s.t.Errorf("At %s: expected %s to answer %v, got %v", time.Now().UTC().Format("15:04:05.000"), name, want, got)
	}
}

// shares draws n answers and returns each address's share.
func (s *signalled) shares(name string, n int) map[string]float64 {
	s.t.Helper()
	count := map[string]int{}
	for range n {
		for _, a := range addresses(s.ask(name)) {
			count[a]++
		}
	}
	out := map[string]float64{}
	for a, c := range count {
		out[a] = float64(c) / float64(n)
	}
	return out
}

// within reports whether a share measured over n draws is within four
// standard deviations of p: a test that fails once in 15,000 runs by chance.
func within(got, p float64, n int) bool {
	return math.Abs(got-p) <= 4*math.Sqrt(p*(1-p)/float64(n))+1e-9
}

const holdPair = `failover www.example.org {
    endpoint 192.0.2.10 priority 1
    endpoint 192.0.2.20 priority 2
    %s
}`

func TestFailoverDelayHoldsTheFirstChoice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSignalled(t, fmtCorefile(holdPair, "failover_delay 10s"))
		s.expect("www.example.org.", "192.0.2.10")
		s.down("www.example.org.", "192.0.2.10")
		time.Sleep(9900 * time.Millisecond)
		s.expect("www.example.org.", "192.0.2.10") // held
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		s.expect("www.example.org.", "192.0.2.20")

		// A blip shorter than the delay never fails over.
		s.up("www.example.org.", "192.0.2.10")
		s.expect("www.example.org.", "192.0.2.10")
		s.down("www.example.org.", "192.0.2.10")
		time.Sleep(5 * time.Second)
		s.up("www.example.org.", "192.0.2.10")
		time.Sleep(10 * time.Second)
		synctest.Wait()
		s.expect("www.example.org.", "192.0.2.10")
	})
}

func TestFailbackDelayWaitsBeforeReturning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSignalled(t, fmtCorefile(holdPair, "failback_delay 30s"))
		s.down("www.example.org.", "192.0.2.10")
		s.expect("www.example.org.", "192.0.2.20") // no failover delay: at once
		s.up("www.example.org.", "192.0.2.10")
		time.Sleep(29900 * time.Millisecond)
		s.expect("www.example.org.", "192.0.2.20")
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		s.expect("www.example.org.", "192.0.2.10")

		// Held back, but not at the price of an outage: when the backup
		// fails meanwhile, the recovered first choice answers at once.
		s.down("www.example.org.", "192.0.2.10")
		s.up("www.example.org.", "192.0.2.10")
		s.down("www.example.org.", "192.0.2.20")
		s.expect("www.example.org.", "192.0.2.10")
	})
}

func TestSlowStartRampsTheShareLinearly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSignalled(t, `failover www.example.org {
    policy weighted
    endpoint 192.0.2.10 weight 50
    endpoint 192.0.2.20 weight 50
    slow_start 10s
}`)
		s.down("www.example.org.", "192.0.2.10")
		s.expect("www.example.org.", "192.0.2.20")
		s.up("www.example.org.", "192.0.2.10")
		const n = 4000
		for sec := 0; sec <= 10; sec += 2 {
			// The ramp moves in steps of 200 ms, one of which falls on
			// each whole second.
			ramp := float64(sec) / 10
			want := 50 * ramp / (50*ramp + 50)
			got := s.shares("www.example.org.", n)["192.0.2.10"]
			if !within(got, want, n) {
				t.Errorf("%d s after the recovery: expected a share of %.3f for the recovered endpoint, got %.3f", sec, want, got)
			}
			time.Sleep(2 * time.Second)
			synctest.Wait()
		}
		if got := s.shares("www.example.org.", n)["192.0.2.10"]; !within(got, 0.5, n) {
			t.Errorf("After the ramp: expected the full share 0.5, got %.3f", got)
		}
	})
}

func TestTTLFailoverWhileAway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSignalled(t, fmtCorefile(holdPair, "ttl 300\n    ttl_failover 10"))
		if ttl := s.ask("www.example.org.").Answer[0].Header().Ttl; ttl != 300 {
			t.Errorf("Expected TTL 300 on the first choice, got %d", ttl)
		}
		s.down("www.example.org.", "192.0.2.10")
		r := s.ask("www.example.org.")
		if got := addresses(r); !slices.Equal(got, []string{"192.0.2.20"}) || r.Answer[0].Header().Ttl != 10 {
			t.Errorf("Expected the backup with TTL 10 while away, got %v with TTL %d", got, r.Answer[0].Header().Ttl)
		}
		s.up("www.example.org.", "192.0.2.10")
		if r := s.ask("www.example.org."); r.Answer[0].Header().Ttl != 300 {
			t.Errorf("Expected TTL 300 again once back, got %d", r.Answer[0].Header().Ttl)
		}
	})
}

func TestTrickleSendsAShareToTheNextTier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSignalled(t, `failover www.example.org {
    endpoint 192.0.2.10 priority 1
    endpoint 192.0.2.20 priority 2
    endpoint 192.0.2.30 priority 3
    trickle 5
}`)
		const n = 10000
		got := s.shares("www.example.org.", n)
		if !within(got["192.0.2.20"], 0.05, n) || got["192.0.2.30"] != 0 {
			t.Errorf("Expected 5 %% of %d answers for the second tier and none for the third, got %v", n, got)
		}
		// Never to a down endpoint: the next healthy tier takes the share.
		s.down("www.example.org.", "192.0.2.20")
		got = s.shares("www.example.org.", n)
		if got["192.0.2.20"] != 0 || !within(got["192.0.2.30"], 0.05, n) {
			t.Errorf("Expected the share to skip the down second tier for the third, got %v", got)
		}
		s.down("www.example.org.", "192.0.2.30")
		if got := s.shares("www.example.org.", 1000); got["192.0.2.10"] != 1 {
			t.Errorf("Expected every answer on the first tier with nothing healthy behind it, got %v", got)
		}
	})
}

func TestWeightsInsideATier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSignalled(t, `failover www.example.org {
    endpoint 192.0.2.10 priority 1 weight 3
    endpoint 192.0.2.11 priority 1 weight 1
    endpoint 192.0.2.20 priority 2
    max_answers 1
}`)
		const n = 8000
		got := s.shares("www.example.org.", n)
		if !within(got["192.0.2.10"], 0.75, n) || !within(got["192.0.2.11"], 0.25, n) || got["192.0.2.20"] != 0 {
			t.Errorf("Expected the first tier split 75/25 by weight, got %v", got)
		}
	})
}

func TestMinHealthyFailsOverAThinTier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, min := range []string{"2", "50%"} {
			t.Log("min_healthy", min)
			s := newSignalled(t, `failover www.example.org {
    endpoint 192.0.2.10 priority 1
    endpoint 192.0.2.11 priority 1
    endpoint 192.0.2.12 priority 1
    endpoint 192.0.2.20 priority 2
    min_healthy `+min+`
}`)
			s.down("www.example.org.", "192.0.2.10")
			s.expect("www.example.org.", "192.0.2.11", "192.0.2.12")
			s.down("www.example.org.", "192.0.2.11")
			s.expect("www.example.org.", "192.0.2.20")
			// Below the minimum everywhere, the thin tier beats nothing.
			s.down("www.example.org.", "192.0.2.20")
			s.expect("www.example.org.", "192.0.2.12")
		}
	})
}

const aliasChain = `failover eu.example.org {
    policy active-active
    endpoint 192.0.2.10
    endpoint 192.0.2.11
    min_healthy 2
}
failover us.example.org {
    policy active-active
    endpoint 192.0.2.20
    endpoint 192.0.2.21
}
failover app.example.org {
    endpoint alias:eu priority 1
    endpoint alias:us priority 2
    ttl 20
}`

func TestAliasChainFollowsItsTargetsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSignalled(t, aliasChain)
		s.expect("app.example.org.", "192.0.2.10", "192.0.2.11")
		r := s.ask("app.example.org.")
		for _, rr := range r.Answer {
			if rr.Header().Name != "app.example.org." || rr.Header().Ttl != 20 || rr.Header().Rrtype != dns.TypeA {
				t.Errorf("Expected the target's addresses as app.example.org.'s own A records with its TTL 20, got %s", rr)
			}
		}
		// One EU endpoint down: the EU pool is below its min_healthy 2, so
		// the alias of it is down and the US pool answers. No wait: the
		// target's change republishes its aliases at once.
		s.down("eu.example.org.", "192.0.2.10")
		s.expect("eu.example.org.", "192.0.2.11")
		s.expect("app.example.org.", "192.0.2.20", "192.0.2.21")
		s.up("eu.example.org.", "192.0.2.10")
		s.expect("app.example.org.", "192.0.2.10", "192.0.2.11")
		// Both pools down: all_down return_all, as if all were up.
		for _, a := range []string{"192.0.2.10", "192.0.2.11"} {
			s.down("eu.example.org.", a)
		}
		for _, a := range []string{"192.0.2.20", "192.0.2.21"} {
			s.down("us.example.org.", a)
		}
		s.expect("app.example.org.", "192.0.2.10", "192.0.2.11")
	})
}

func TestObserveOnlyAnswersAsIfAllWereUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSignalled(t, fmtCorefile(holdPair, "observe_only"))
		s.down("www.example.org.", "192.0.2.10")
		s.expect("www.example.org.", "192.0.2.10")
		m := s.f.names["www.example.org."].m
		sh := m.shadow.Load()
		if sh == nil || !slices.Equal(answeredAddrs(sh.groups[0].a), []string{"192.0.2.20"}) {
			t.Errorf("Expected the observed view to answer the backup, got %v", sh)
		}
	})
}

func answeredAddrs(f *family) []string {
	var out []string
	for _, ep := range f.chosen {
		out = append(out, ep.cfg.Address)
	}
	return out
}

func fmtCorefile(format, extra string) string {
	return strings.Replace(format, "%s", extra, 1)
}

func TestFailbackManualWaitsForTheOperator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSignalled(t, `failover {
    state `+t.TempDir()+`/state
}
`+fmtCorefile(holdPair, "failback manual"))
		m := s.f.names["www.example.org."].m
		if _, err := (operatorFor(s.f)).Failback("www.example.org.", ""); err == nil {
			t.Errorf("Expected a failback with nothing pending to be refused")
		}
		s.down("www.example.org.", "192.0.2.10")
		s.expect("www.example.org.", "192.0.2.20")
		h, ok := s.book.Snapshot().Hold("www.example.org.")
		if !ok || h.Reason != "192.0.2.10 held down by firing alert test" {
			t.Fatalf("Expected a hold naming the failed first choice, got %+v (%t)", h, ok)
		}
		// The first choice recovers, and the name stays on its backup.
		s.up("www.example.org.", "192.0.2.10")
		time.Sleep(time.Hour)
		synctest.Wait()
		s.expect("www.example.org.", "192.0.2.20")
		if !m.failedOver {
			t.Errorf("Expected the held name to count as failed over")
		}
		// Held, but never at the price of an outage.
		s.down("www.example.org.", "192.0.2.20")
		s.expect("www.example.org.", "192.0.2.10")
		s.up("www.example.org.", "192.0.2.20")
		s.expect("www.example.org.", "192.0.2.20")

		// Not while the first choice is down; then the operator confirms.
		s.down("www.example.org.", "192.0.2.10")
		if _, err := operatorFor(s.f).Failback("www.example.org.", "checked"); err == nil || !strings.Contains(err.Error(), "still down") {
			t.Errorf("Expected a failback while the first choice is down to be refused, got %v", err)
		}
		s.up("www.example.org.", "192.0.2.10")
		res, err := operatorFor(s.f).Failback("www.example.org.", "checked")
		if err != nil || !slices.Equal(res.Answer.A, []string{"192.0.2.10"}) {
			t.Fatalf("Expected the failback to answer the first choice, got %+v, %v", res, err)
		}
		s.expect("www.example.org.", "192.0.2.10")
		if _, ok := s.book.Snapshot().Hold("www.example.org."); ok {
			t.Errorf("Expected the hold gone after the failback")
		}
	})
}

// operatorFor is the API's backend for f alone.
func operatorFor(f *Failover) operator { return operator{l: &listener{attached: []*Failover{f}}} }

// A weight of 1 ramps as smoothly as a weight of 50.
func TestSlowStartRampsAWeightOfOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSignalled(t, `failover www.example.org {
    policy weighted
    endpoint 192.0.2.10
    endpoint 192.0.2.20
    slow_start 10s
}`)
		s.down("www.example.org.", "192.0.2.10")
		s.up("www.example.org.", "192.0.2.10")
		time.Sleep(4 * time.Second)
		synctest.Wait()
		const n = 4000
		if got := s.shares("www.example.org.", n)["192.0.2.10"]; !within(got, 0.4/1.4, n) {
			t.Errorf("4 s into a 10 s ramp: expected a share of %.3f for an endpoint of weight 1, got %.3f", 0.4/1.4, got)
		}
	})
}
