package failover

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// lifecycleCorefile serves r.example.test from an active-passive pair probed
// every second, as an operator would set it up; extra goes into the block.
func lifecycleCorefile(port string, primary, backup *healthBackend, rise int, extra string) string {
	return fmt.Sprintf(`example.test:%s {
    bind 127.0.0.1
    %s
    failover r.example.test {
        endpoint 192.0.2.10 priority 1 check %s
        endpoint 192.0.2.20 priority 2 check %s
        interval 1s
        timeout 500ms
        fall 2
        rise %d
    }
}`, port, extra, primary.url(), backup.url(), rise)
}

const lifecycleInterval = time.Second

// A primary that is down when the configuration is reloaded, and heals after
// it, comes back after rise probes, as it does without a reload.
func TestReloadDoesNotFreezeRecovery(t *testing.T) {
	for _, rise := range []int{2, 4} {
		t.Run(fmt.Sprintf("rise %d", rise), func(t *testing.T) {
			logs := captureLog(t)
			primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
			port := freeUDPPort(t)
			i := startInstance(t, lifecycleCorefile(port, primary, backup, rise, ""))
			i.waitAnswer(t, "r.example.test.", []string{"192.0.2.10"}, 5*time.Second)

			primary.failed.Store(true)
			i.waitAnswer(t, "r.example.test.", []string{"192.0.2.20"}, 5*time.Second)
			if err := i.reload(t, lifecycleCorefile(port, primary, backup, rise, "log")); err != nil {
				t.Fatalf("Expected the reload to succeed, got %v", err)
			}
			primary.failed.Store(false)
			healed := time.Now()
			// rise successes, the first of them up to an interval away.
			within := time.Duration(rise+1)*lifecycleInterval + time.Second
			back := i.waitAnswer(t, "r.example.test.", []string{"192.0.2.10"}, within)
			t.Logf("Back on the primary %s after it healed", back.Sub(healed).Round(time.Millisecond))
			waitLog(t, logs, "r.example.test.: endpoint 192.0.2.10 down -> up")
		})
	}
}

// A primary that is down at the reload and stays down is still down after
// it: the reload neither re-probes it into another state nor flips it back.
func TestReloadWhileDownStaysDown(t *testing.T) {
	logs := captureLog(t)
	primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
	port := freeUDPPort(t)
	i := startInstance(t, lifecycleCorefile(port, primary, backup, 2, ""))
	primary.failed.Store(true)
	i.waitAnswer(t, "r.example.test.", []string{"192.0.2.20"}, 5*time.Second)
	if err := i.reload(t, lifecycleCorefile(port, primary, backup, 2, "log")); err != nil {
		t.Fatalf("Expected the reload to succeed, got %v", err)
	}
	// Answer after answer while the down primary is probed four more times.
	target := primary.hits.Load() + 4
	deadline := time.Now().Add(4*lifecycleInterval + 3*time.Second)
	for primary.hits.Load() < target {
		if got := addresses(i.mustAsk(t, "udp", "r.example.test.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.20"}) {
			t.Fatalf("Expected the down primary to stay down across the reload, answering 192.0.2.20, got %v", got)
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected 4 probes of the primary after the reload, got %d", 4-(target-primary.hits.Load()))
		}
		time.Sleep(50 * time.Millisecond) // the query rate, not a wait for an event
	}
	if strings.Contains(logs.String(), "-> up") {
		t.Errorf("Expected no endpoint to come up, got the log:\n%s", logs)
	}
}

// A healthy endpoint's probes keep their period across a reload: no probe
// is skipped or repeated because the configuration changed.
func TestReloadKeepsTheProbeSchedule(t *testing.T) {
	primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
	port := freeUDPPort(t)
	i := startInstance(t, lifecycleCorefile(port, primary, backup, 2, ""))
	primary.waitHits(t, 3, 5*time.Second) // the first round and two steady probes
	if err := i.reload(t, lifecycleCorefile(port, primary, backup, 2, "log")); err != nil {
		t.Fatalf("Expected the reload to succeed, got %v", err)
	}
	reloaded := time.Now()
	primary.waitHits(t, primary.hits.Load()+3, 5*time.Second)

	times := primary.probeTimes()[1:] // steady probes only: the first round is not on the grid
	var gaps []time.Duration
	for k := 1; k < len(times); k++ {
		gaps = append(gaps, times[k].Sub(times[k-1]))
	}
	// The engine's clock ticks every 100 ms, so a probe may start that much
	// off its grid; anything longer is a probe the reload lost.
	limit := lifecycleInterval + 150*time.Millisecond
	for k, g := range gaps {
		if g > limit || g < lifecycleInterval-150*time.Millisecond {
			t.Errorf("Expected probes every %s across the reload at %s, got a gap of %s before probe %d at %s (all gaps %v)",
				lifecycleInterval, reloaded.Format("15:04:05.000"), g, k+2, times[k+1].Format("15:04:05.000"), gaps)
		}
	}
	if got := addresses(i.mustAsk(t, "udp", "r.example.test.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.10"}) {
		t.Errorf("Expected 192.0.2.10 after the reload, got %v", got)
	}
}

// Stanzas in one server block and in several, sharing one endpoint with one
// check, share its probe, and every one of them follows it down and up.
func TestSharedProbeReachesEveryStanza(t *testing.T) {
	primary := newHealthBackend(t, nil)
	port := freeUDPPort(t)
	stanza := func(name, backup string) string {
		return fmt.Sprintf(`
    failover %s {
        endpoint 192.0.2.10 priority 1 check %s
        endpoint %s priority 2
        interval 1s
        timeout 500ms
        fall 2
        rise 2
    }`, name, primary.url(), backup)
	}
	corefile := fmt.Sprintf("example.org:%s {\n    bind 127.0.0.1%s%s%s\n}\nexample.net:%s {\n    bind 127.0.0.1%s%s\n}\n",
		port, stanza("a.example.org", "192.0.2.21"), stanza("b.example.org", "192.0.2.22"), stanza("c.example.org", "192.0.2.23"),
		port, stanza("a.example.net", "192.0.2.24"), stanza("b.example.net", "192.0.2.25"))
	i := startInstance(t, corefile)
	names := map[string]string{
		"a.example.org.": "192.0.2.21", "b.example.org.": "192.0.2.22", "c.example.org.": "192.0.2.23",
		"a.example.net.": "192.0.2.24", "b.example.net.": "192.0.2.25",
	}
	if got := primary.hits.Load(); got != 1 {
		t.Errorf("Expected one first probe shared by the five stanzas, got %d", got)
	}
	for round := range 2 {
		primary.failed.Store(true)
		for name, backup := range names {
			i.waitAnswer(t, name, []string{backup}, 5*time.Second)
		}
		primary.failed.Store(false)
		for name := range names {
			i.waitAnswer(t, name, []string{"192.0.2.10"}, 5*time.Second)
		}
		if round == 0 {
			if err := i.reload(t, corefile+"\n"); err != nil {
				t.Fatalf("Expected the reload to succeed, got %v", err)
			}
		}
	}
}

// A reload that fails after the new configuration's OnStartup ran, here on a
// port that is already taken, leaves exactly the old configuration: the same
// probe targets at the same rate, and none of the new one's probes or series.
func TestFailedReloadLeavesTheOldConfiguration(t *testing.T) {
	primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
	added, other := newHealthBackend(t, nil), newHealthBackend(t, nil)
	port := freeUDPPort(t)
	old := lifecycleCorefile(port, primary, backup, 2, "")
	i := startInstance(t, old)
	primary.waitHits(t, 2, 5*time.Second)
	from := time.Now()
	primary.waitHits(t, 5, 6*time.Second)
	rateBefore := 3 / time.Since(from).Seconds()
	before := liveChecks(t)

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, takenPort, _ := net.SplitHostPort(taken.Addr().String())
	// The new configuration adds an endpoint to the kept block and a block of
	// its own on the taken port.
	next := strings.Replace(lifecycleCorefile(port, primary, backup, 2, ""),
		"endpoint 192.0.2.20", "endpoint 192.0.2.30 priority 3 check "+added.url()+"\n        endpoint 192.0.2.20", 1) +
		fmt.Sprintf(`
example.net:%s {
    bind 127.0.0.1
    failover www.example.net {
        endpoint 192.0.2.40 check %s
        interval 1s
    }
}`, takenPort, other.url())
	err = i.reload(t, next)
	if err == nil {
		t.Fatal("Expected the reload onto a taken port to fail")
	}
	t.Logf("The reload failed: %v", err)
	// Each new endpoint had its first probe in the failed OnStartup.
	if got := added.hits.Load() + other.hits.Load(); got != 2 {
		t.Errorf("Expected one first probe of each new endpoint, got %d", got)
	}
	if got := liveChecks(t); got != before {
		t.Errorf("Expected the %d probes of before the failed reload, got %d", before, got)
	}

	// Over the next four probes of the kept primary, nothing else is probed.
	hits := primary.hits.Load()
	from = time.Now()
	primary.waitHits(t, hits+4, 6*time.Second)
	rateAfter := 4 / time.Since(from).Seconds()
	if got := added.hits.Load() + other.hits.Load(); got != 2 {
		t.Errorf("Expected the failed configuration's endpoints not to be probed after it failed, got %d more probes", got-2)
	}
	t.Logf("The primary's probes a second: %.2f before the failed reload, %.2f after", rateBefore, rateAfter)
	if rateAfter > 1.3 {
		t.Errorf("Expected the primary to be probed once a second as before, got %.2f probes a second", rateAfter)
	}
	for _, labels := range []map[string]string{{"endpoint": "192.0.2.30"}, {"endpoint": "192.0.2.40"}, {"name": "www.example.net."}} {
		for _, metric := range []string{"coredns_failover_probes_total", "coredns_failover_endpoint_up", "coredns_failover_endpoint_weight"} {
			if _, ok := metricValue(t, metric, labels); ok {
				t.Errorf("Expected no %s series %v of the failed configuration, found one", metric, labels)
			}
		}
	}
	if got := addresses(i.mustAsk(t, "udp", "r.example.test.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.10"}) {
		t.Errorf("Expected the old configuration to keep answering 192.0.2.10, got %v", got)
	}
	// The old configuration still follows its probes.
	primary.failed.Store(true)
	i.waitAnswer(t, "r.example.test.", []string{"192.0.2.20"}, 5*time.Second)
}

// A fresh server answers within about the longest timeout, however many of
// its endpoints accept connections and never answer: the endpoints probed by
// then are down, the others count as up until their probe has failed.
func TestStartIsBoundedWithEndpointsThatNeverAnswer(t *testing.T) {
	captureLog(t)                                 // a line for every endpoint down at its first probe
	hole, err := net.Listen("tcp", "127.0.0.1:0") // never accepts
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	const n, timeout = 2000, time.Second
	var b strings.Builder
	for k := range n {
		fmt.Fprintf(&b, `    failover e%d.example.org {
        endpoint 10.0.%d.%d priority 1 check http://%s/e/%d
        endpoint 192.0.2.1 priority 2
        interval 2s
        timeout %s
    }
`, k, k/250, k%250+1, hole.Addr(), k, timeout)
	}
	start := time.Now()
	s := startServer(t, "example.org:0 {\n    bind 127.0.0.1\n"+b.String()+"}\n")
	r := s.mustAsk(t, "udp", "e0.example.org.", dns.TypeA)
	first := time.Since(start)
	t.Logf("First answer %s after the start with %d endpoints that never answer", first.Round(time.Millisecond), n)
	if limit := timeout + time.Second; first > limit {
		t.Errorf("Expected the first answer within %s, got %s", limit, first)
	}
	if got := addresses(r); !slices.Equal(got, []string{"192.0.2.1"}) {
		t.Errorf("Expected e0, probed at once, to have failed over to 192.0.2.1, got %v", got)
	}
	last := fmt.Sprintf("e%d.example.org.", n-1)
	if got := addresses(s.mustAsk(t, "udp", last, dns.TypeA)); !slices.Equal(got, []string{"10.0.7.250"}) {
		t.Errorf("Expected %s, not yet probed, to count as up and answer 10.0.7.250, got %v", last, got)
	}
	// Its schedule probes it within an interval, and the probe times out.
	s.waitAnswer(t, last, []string{"192.0.2.1"}, 2*time.Second+timeout+time.Second)
}
