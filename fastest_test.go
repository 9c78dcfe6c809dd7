package failover

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/api"
)

// delayBackend is an HTTP server whose /health waits delay before it answers
// 200, or 503 while failed: the probe's round trip is about the delay.
type delayBackend struct {
	srv    *httptest.Server
	delay  atomic.Int64 // a time.Duration
	failed atomic.Bool
	hits   atomic.Int64 // probes that arrived
}

func newDelayBackend(t *testing.T, delay time.Duration) *delayBackend {
	t.Helper()
	b := &delayBackend{}
	b.delay.Store(int64(delay))
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		time.Sleep(time.Duration(b.delay.Load()))
		if r.URL.Path != "/health" || b.failed.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("OK"))
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *delayBackend) url() string { return b.srv.URL + "/health" }

func (b *delayBackend) setDelay(d time.Duration) { b.delay.Store(int64(d)) }

// waitProbes waits until n more probes than seen have arrived.
func (b *delayBackend) waitProbes(t *testing.T, seen, n int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for b.hits.Load() < seen+n {
		if time.Now().After(deadline) {
			t.Fatalf("Expected %d more probes at %s within %s, got %d", n, b.url(), within, b.hits.Load()-seen)
		}
		time.Sleep(5 * time.Millisecond) // the rate of the poll, not a wait for an event
	}
}

// fastestCorefile has fastest.example.org (one answer) and top2.example.org
// (max_answers 2, and an endpoint whose check never succeeds) over the same
// three backends, listed slowest first so that no answer can come from the
// Corefile's order, with the API and the prometheus plugin.
func fastestCorefile(apiAddr, metricsAddr, dead string, b1, b2, b3 *delayBackend) string {
	const pace = `
		interval 300ms
		fast_interval 50ms
		timeout 250ms
		fall 2
		rise 1`
	return fmt.Sprintf(`example.org:0 {
	bind 127.0.0.1
	prometheus %s
	failover {
		api %s
	}
	failover fastest.example.org {
		policy fastest
		endpoint 192.0.2.3 check %s
		endpoint 192.0.2.2 check %s
		endpoint 192.0.2.1 check %s
		%s
	}
	failover top2.example.org {
		policy fastest
		max_answers 2
		endpoint 192.0.2.9 check http://%s/health
		endpoint 192.0.2.3 check %s
		endpoint 192.0.2.2 check %s
		endpoint 192.0.2.1 check %s
		%s
	}
}`, metricsAddr, apiAddr, b3.url(), b2.url(), b1.url(), pace, dead, b3.url(), b2.url(), b1.url(), pace)
}

// rtts are the endpoints' rtt_seconds as durations; an endpoint with null is
// missing.
func rtts(n api.Name) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, ep := range n.Endpoints {
		if ep.RTT != nil {
			out[ep.Address] = time.Duration(*ep.RTT * float64(time.Second))
		}
	}
	return out
}

// fmtRTTs says rtts in milliseconds, in address order.
func fmtRTTs(r map[string]time.Duration) string {
	var parts []string
	for _, a := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.9"} {
		if d, ok := r[a]; ok {
			parts = append(parts, fmt.Sprintf("%s=%.1fms", a, float64(d)/float64(time.Millisecond)))
		}
	}
	return strings.Join(parts, " ")
}

// waitRTTs polls the API until cond holds for name's round trips.
func waitRTTs(t *testing.T, c apiClient, name, what string, within time.Duration, cond func(map[string]time.Duration) bool) map[string]time.Duration {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r := rtts(c.name(t, name))
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected %s within %s, got rtt_seconds %s", what, within, fmtRTTs(r))
		}
		time.Sleep(20 * time.Millisecond) // the rate of the poll, not a wait for an event
	}
}

// answersBoth checks that name answers exactly want, in order, over UDP and TCP.
func answersBoth(t *testing.T, s server, name string, want []string, why string) {
	t.Helper()
	for _, network := range []string{"udp", "tcp"} {
		r := s.mustAsk(t, network, name, dns.TypeA)
		if got := addresses(r); r.Rcode != dns.RcodeSuccess || !slices.Equal(got, want) {
			t.Errorf("Expected %s over %s to answer %v (%s), got %s %v", name, network, want, why, dns.RcodeToString[r.Rcode], got)
		}
	}
}

// awaitAnswers waits until name answers want over UDP, then checks it over
// both transports and in the API's answer.
func awaitAnswers(t *testing.T, s server, c apiClient, name string, want []string, why string) {
	t.Helper()
	start := time.Now()
	s.waitAnswer(t, name, want, 5*time.Second)
	t.Logf("%s: %v after %s (%s)", name, want, time.Since(start).Round(time.Millisecond), why)
	answersBoth(t, s, name, want, why)
	if got := c.name(t, name).Answer.A; !slices.Equal(got, want) {
		t.Errorf("Expected the API's answer of %s to be %v (%s), got %v", name, want, why, got)
	}
}

// checkBands checks that every endpoint's round trip is at least its delay
// and less than 50ms more.
func checkBands(t *testing.T, r map[string]time.Duration, delays map[string]time.Duration) {
	t.Helper()
	for a, d := range delays {
		got, ok := r[a]
		if !ok {
			t.Errorf("Expected rtt_seconds of %s to be a number, got null", a)
			continue
		}
		if got < d || got >= d+50*time.Millisecond {
			t.Errorf("Expected rtt_seconds of %s in [%s, %s), got %s", a, d, d+50*time.Millisecond, got)
		}
	}
}

// rttSamples reads coredns_failover_endpoint_rtt_seconds for name from the
// prometheus plugin's /metrics.
func rttSamples(t *testing.T, metricsAddr, name string) map[string]time.Duration {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatalf("Expected /metrics to be answered, got %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Expected /metrics to answer 200, got %s", resp.Status)
	}
	label := regexp.MustCompile(`(\w+)="([^"]*)"`)
	out := map[string]time.Duration{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "coredns_failover_endpoint_rtt_seconds{")
		if !ok {
			continue
		}
		end := strings.LastIndex(rest, "}")
		if end < 0 {
			t.Fatalf("Cannot read the sample %q", line)
		}
		labels := map[string]string{}
		for _, m := range label.FindAllStringSubmatch(rest[:end], -1) {
			labels[m[1]] = m[2]
		}
		if labels["name"] != name {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest[end+1:]), 64)
		if err != nil {
			t.Fatalf("Cannot read the value of %q: %v", line, err)
		}
		out[labels["endpoint"]] = time.Duration(v * float64(time.Second))
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("Expected to read /metrics, got %v", err)
	}
	return out
}

// TestFastestAnswersTheQuickestBackend runs policy fastest against three
// backends whose health checks answer after delays the test changes: the
// answer follows the quickest, changes leader only for one at least 20 %
// faster, leaves a leader that goes down, and with max_answers 2 answers the
// two quickest in order; the round trips are in the API and the metrics.
func TestFastestAnswersTheQuickestBackend(t *testing.T) {
	logs := captureLog(t)
	b1 := newDelayBackend(t, 5*time.Millisecond)
	b2 := newDelayBackend(t, 60*time.Millisecond)
	b3 := newDelayBackend(t, 120*time.Millisecond)
	apiAddr, metricsAddr, dead := closedPort(t), closedPort(t), closedPort(t)
	s := startServer(t, fastestCorefile(apiAddr, metricsAddr, dead, b1, b2, b3))
	c := apiClient{base: "http://" + apiAddr}
	const name, top2 = "fastest.example.org.", "top2.example.org."
	all := func(r map[string]time.Duration) bool {
		return r["192.0.2.1"] > 0 && r["192.0.2.2"] > 0 && r["192.0.2.3"] > 0
	}

	t.Run("quickest", func(t *testing.T) {
		// Every endpoint measured first: before that, the unmeasured go last.
		r := waitRTTs(t, c, name, "every endpoint to have a round trip", 5*time.Second, all)
		t.Logf("rtt at start: %s", fmtRTTs(r))
		awaitAnswers(t, s, c, name, []string{"192.0.2.1"}, "the quickest, 5ms")
		waitRTTs(t, c, top2, "every endpoint of top2 to have a round trip", 5*time.Second, all)
		awaitAnswers(t, s, c, top2, []string{"192.0.2.1", "192.0.2.2"}, "the two quickest, 5ms then 60ms")
		// Unrotated: the same order query after query.
		for range 5 {
			answersBoth(t, s, top2, []string{"192.0.2.1", "192.0.2.2"}, "the leader first, unrotated")
		}
	})

	t.Run("rtt_in_api_and_metrics", func(t *testing.T) {
		delays := map[string]time.Duration{"192.0.2.1": 5 * time.Millisecond, "192.0.2.2": 60 * time.Millisecond, "192.0.2.3": 120 * time.Millisecond}
		r := rtts(c.name(t, name))
		t.Logf("rtt_seconds of %s: %s", name, fmtRTTs(r))
		checkBands(t, r, delays)
		n := c.name(t, top2)
		checkBands(t, rtts(n), delays)

		// The endpoint whose check never succeeded: rtt_seconds is null,
		// not missing nor 0, and it has no sample.
		var raw struct {
			Endpoints []map[string]json.RawMessage `json:"endpoints"`
		}
		c.ok(t, http.MethodGet, "/v1/names/"+top2, "", &raw)
		var seen bool
		for _, ep := range raw.Endpoints {
			if string(ep["address"]) != `"192.0.2.9"` {
				continue
			}
			seen = true
			if v, ok := ep["rtt_seconds"]; !ok || string(v) != "null" {
				t.Errorf("Expected rtt_seconds null for 192.0.2.9, never probed successfully, got %q (present %v)", v, ok)
			}
		}
		if !seen {
			t.Errorf("Expected 192.0.2.9 among the endpoints of %s, got %d endpoints", top2, len(raw.Endpoints))
		}
		if st := endpointIn(n, "192.0.2.9").State; st != "down" {
			t.Errorf("Expected 192.0.2.9 to be down, got %q", st)
		}

		for _, nm := range []string{name, top2} {
			m := rttSamples(t, metricsAddr, nm)
			t.Logf("coredns_failover_endpoint_rtt_seconds{name=%q}: %s", nm, fmtRTTs(m))
			checkBands(t, m, delays)
			if d, ok := m["192.0.2.9"]; ok {
				t.Errorf("Expected no rtt sample for 192.0.2.9 of %s before its first success, got %s", nm, d)
			}
		}
	})

	t.Run("leader_slows_down", func(t *testing.T) {
		b1.setDelay(150 * time.Millisecond)
		awaitAnswers(t, s, c, name, []string{"192.0.2.2"}, ".1 slowed to 150ms: .2 at 60ms is the quickest")
		awaitAnswers(t, s, c, top2, []string{"192.0.2.2", "192.0.2.3"}, ".2 at 60ms, then .3 at 120ms ahead of .1 at 150ms")
		t.Logf("rtt: %s", fmtRTTs(rtts(c.name(t, name))))

		// The log line of the change names the new answer, as the
		// failover and failback lines do.
		var lines []string
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, name+": the fastest endpoints changed") {
				lines = append(lines, line)
			}
		}
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasSuffix(l, "changed (192.0.2.2)") }) {
			t.Errorf("Expected a log line \"%s: the fastest endpoints changed (192.0.2.2)\" when .2 took the lead, got %q", name, lines)
		}
	})

	// The 20 % margin itself is tested without the network's noise, in
	// TestFastestLeadNeedsTwentyPercent: a loaded machine moves a
	// backend's round trip by more than 20 % on its own.
	t.Run("takes_the_lead", func(t *testing.T) {
		var r map[string]time.Duration
		// .3 becomes clearly faster: it takes the lead, in both names.
		b3.setDelay(20 * time.Millisecond)
		awaitAnswers(t, s, c, name, []string{"192.0.2.3"}, ".3 at 20ms is more than 20 % faster than .2 at 60ms")
		awaitAnswers(t, s, c, top2, []string{"192.0.2.3", "192.0.2.2"}, ".3 at 20ms, then .2 at 60ms")
		r = waitRTTs(t, c, name, "rtt_seconds of .3 to settle near 20ms", 5*time.Second, func(r map[string]time.Duration) bool {
			return r["192.0.2.3"] < 30*time.Millisecond
		})
		t.Logf("rtt with .3 leading: %s", fmtRTTs(r))
		answersBoth(t, s, name, []string{"192.0.2.3"}, "the leader while its round trip settles")
	})

	t.Run("leader_fails", func(t *testing.T) {
		b3.failed.Store(true)
		awaitAnswers(t, s, c, name, []string{"192.0.2.2"}, ".3 down: .2 at 60ms is the quickest healthy one")
		awaitAnswers(t, s, c, top2, []string{"192.0.2.2", "192.0.2.1"}, ".3 down: .2 at 60ms, then .1 at 150ms")

		// Failed probes do not move the round trip.
		before := rtts(c.name(t, name))["192.0.2.3"]
		seen := b3.hits.Load()
		b3.waitProbes(t, seen, 3, 3*time.Second) // two failed probes have ended
		n := c.name(t, name)
		if got := rtts(n)["192.0.2.3"]; got != before {
			t.Errorf("Expected failed probes to leave rtt_seconds of .3 at %s, got %s", before, got)
		}
		if st := endpointIn(n, "192.0.2.3").State; st != "down" {
			t.Errorf("Expected .3 to be down, got %q", st)
		}
		if before <= 0 {
			t.Errorf("Expected .3 to keep its round trip while down, got null")
		}

		// Back up with its round trip of 20ms, more than 20 % below the
		// leader's: it leads again.
		b3.failed.Store(false)
		awaitAnswers(t, s, c, name, []string{"192.0.2.3"}, ".3 up again at 20ms")
		awaitAnswers(t, s, c, top2, []string{"192.0.2.3", "192.0.2.2"}, ".3 up again at 20ms, then .2")
	})

	t.Run("rtt_after_changes", func(t *testing.T) {
		delays := map[string]time.Duration{"192.0.2.1": 150 * time.Millisecond, "192.0.2.2": 60 * time.Millisecond, "192.0.2.3": 20 * time.Millisecond}
		// .1 approaches 150ms from below, .3 20ms from above.
		r := waitRTTs(t, c, name, "rtt_seconds of .1 and .3 to settle", 5*time.Second, func(r map[string]time.Duration) bool {
			return r["192.0.2.1"] >= 150*time.Millisecond && r["192.0.2.3"] < 25*time.Millisecond
		})
		t.Logf("rtt at the end: %s", fmtRTTs(r))
		checkBands(t, r, delays)
		checkBands(t, rttSamples(t, metricsAddr, name), delays)
	})
}
