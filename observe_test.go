package failover

import (
	"bytes"
	"fmt"
	stdlog "log"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coredns/caddy"
	_ "github.com/coredns/coredns/plugin/metadata"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// logBuffer captures CoreDNS's log output, which goes through the standard
// library's logger.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func captureLog(t *testing.T) *logBuffer {
	t.Helper()
	b := &logBuffer{}
	prev := stdlog.Writer()
	stdlog.SetOutput(b)
	t.Cleanup(func() { stdlog.SetOutput(prev) })
	return b
}

// metricValue reads one series from the default registry, where the
// prometheus plugin finds the plugin's metrics.
func metricValue(t *testing.T, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue series
				}
			}
			return value(m), true
		}
	}
	return 0, false
}

// liveChecks is the number of health checks running, as the health_checks
// gauge tells it.
func liveChecks(t *testing.T) int {
	t.Helper()
	v, _ := metricValue(t, "coredns_failover_health_checks", nil)
	return int(v)
}

func value(m *dto.Metric) float64 {
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetHistogram() != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return 0
}

// waitLog waits until the log holds every part on one line.
func waitLog(t *testing.T, l *logBuffer, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, line := range strings.Split(l.String(), "\n") {
			if hasAll(line, parts...) {
				return line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected a log line with %q, got:\n%s", parts, l.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMetricsAndLogsOfAFailoverAndRecovery(t *testing.T) {
	logs := captureLog(t)
	primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
	s := startServer(t, `example.org:0 {
    bind 127.0.0.1
    failover obs.example.org {
        endpoint 192.0.2.10 priority 1 check `+primary.url()+`
        endpoint 192.0.2.20 priority 2 check `+backup.url()+`
        interval 200ms
        fast_interval 50ms
        timeout 100ms
        fall 2
        rise 2
    }
}`)
	name := "obs.example.org."
	s.waitAnswer(t, name, []string{"192.0.2.10"}, 5*time.Second)
	up := func(ep string) float64 {
		v, ok := metricValue(t, "coredns_failover_endpoint_up", map[string]string{"name": name, "endpoint": ep})
		if !ok {
			t.Fatalf("Expected coredns_failover_endpoint_up for %s", ep)
		}
		return v
	}
	if up("192.0.2.10") != 1 || up("192.0.2.20") != 1 {
		t.Errorf("Expected both endpoints up before the failure")
	}

	primary.failed.Store(true)
	s.waitAnswer(t, name, []string{"192.0.2.20"}, 5*time.Second)
	waitLog(t, logs, "plugin/failover: "+name, "endpoint 192.0.2.10 up -> down", "HTTP status 503")
	waitLog(t, logs, "plugin/failover: "+name, "failover: answering away from the first choice (192.0.2.20)")
	if up("192.0.2.10") != 0 {
		t.Errorf("Expected endpoint_up 0 for the failed primary")
	}
	if v, _ := metricValue(t, "coredns_failover_transitions_total", map[string]string{"name": name, "endpoint": "192.0.2.10", "to": "down"}); v != 1 {
		t.Errorf("Expected 1 transition to down, got %v", v)
	}
	if v, _ := metricValue(t, "coredns_failover_failovers_total", map[string]string{"name": name, "direction": "away"}); v != 1 {
		t.Errorf("Expected 1 failover away, got %v", v)
	}
	if v, _ := metricValue(t, "coredns_failover_probes_total", map[string]string{"endpoint": "192.0.2.10", "check": primary.url(), "result": "status"}); v < 2 {
		t.Errorf("Expected at least fall=2 probes with result status, got %v", v)
	}
	if v, _ := metricValue(t, "coredns_failover_answers_total", map[string]string{"name": name, "endpoint": "192.0.2.20"}); v < 1 {
		t.Errorf("Expected answers counted for the backup, got %v", v)
	}
	if v, _ := metricValue(t, "coredns_failover_queries_total", map[string]string{"name": name, "type": "A"}); v < 2 {
		t.Errorf("Expected the A queries counted, got %v", v)
	}
	if v, _ := metricValue(t, "coredns_failover_probe_duration_seconds", nil); v < 3 {
		t.Errorf("Expected probe durations observed, got %v samples", v)
	}

	primary.failed.Store(false)
	s.waitAnswer(t, name, []string{"192.0.2.10"}, 5*time.Second)
	waitLog(t, logs, "endpoint 192.0.2.10 down -> up")
	waitLog(t, logs, "failback: answering with the first choice again (192.0.2.10)")
	if v, _ := metricValue(t, "coredns_failover_failovers_total", map[string]string{"name": name, "direction": "back"}); v != 1 {
		t.Errorf("Expected 1 failover back, got %v", v)
	}
	if up("192.0.2.10") != 1 {
		t.Errorf("Expected endpoint_up 1 after the recovery")
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "plugin/failover") && strings.Contains(line, "A IN") {
			t.Errorf("Expected no log line per query, got %q", line)
		}
	}
}

func TestReadyAfterFirstRound(t *testing.T) {
	backend := newHealthBackend(t, nil)
	c := caddy.NewTestController("dns", `failover www.example.org {
        endpoint 192.0.2.10 check `+backend.url()+`
        endpoint 192.0.2.20 check tcp://`+closedPort(t)+`
    }`)
	c.ServerBlockKeys = []string{"example.org."}
	f, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	if f.Ready() {
		t.Error("Expected not ready before the first probe round")
	}
	if err := f.start(); err != nil {
		t.Fatal(err)
	}
	defer f.stop()
	if !f.Ready() {
		t.Error("Expected ready once every endpoint had its first probe")
	}
	if backend.hits.Load() != 1 {
		t.Errorf("Expected exactly one first probe of the healthy endpoint, got %d", backend.hits.Load())
	}
	states := map[string]string{}
	for _, ep := range f.stanzas[0].endpoints {
		states[ep.cfg.Address] = ep.monitor.State().String()
	}
	if states["192.0.2.10"] != "up" || states["192.0.2.20"] != "down" {
		t.Errorf("Expected the first round to set up/down at once, got %v", states)
	}
}

func TestMetricSeriesOfRemovedNameAreDeleted(t *testing.T) {
	port := freeUDPPort(t)
	withOld := "example.org:" + port + ` {
    bind 127.0.0.1
    failover keep.example.org {
        endpoint 192.0.2.1
    }
    failover gone.example.org {
        endpoint 192.0.2.2
    }
}`
	i := startInstance(t, withOld)
	i.waitAnswer(t, "gone.example.org.", []string{"192.0.2.2"}, 5*time.Second)
	if _, ok := metricValue(t, "coredns_failover_endpoint_up", map[string]string{"name": "gone.example.org."}); !ok {
		t.Fatal("Expected an endpoint_up series for gone.example.org.")
	}
	before, _ := metricValue(t, "coredns_failover_queries_total", map[string]string{"name": "keep.example.org.", "type": "A"})
	i.mustAsk(t, "udp", "keep.example.org.", 1)
	if err := i.reload(t, strings.Replace(withOld, "failover gone.example.org {\n        endpoint 192.0.2.2\n    }\n", "", 1)); err != nil {
		t.Fatal(err)
	}
	if _, ok := metricValue(t, "coredns_failover_endpoint_up", map[string]string{"name": "gone.example.org."}); ok {
		t.Error("Expected the endpoint_up series of a removed name to be deleted by the reload")
	}
	after, _ := metricValue(t, "coredns_failover_queries_total", map[string]string{"name": "keep.example.org.", "type": "A"})
	if after != before+1 {
		t.Errorf("Expected the kept name's query counter to survive the reload (%v), got %v", before+1, after)
	}
}

func TestMetadataForTheLogPlugin(t *testing.T) {
	logs := captureLog(t)
	s := startServer(t, `example.org:0 {
    bind 127.0.0.1
    metadata
    log . "META {name} {/failover/name} {/failover/policy} {/failover/endpoint}"
    failover md.example.org {
        policy active-active
        endpoint 192.0.2.1
        endpoint 192.0.2.2
        max_answers 1
    }
}`)
	got := addresses(s.mustAsk(t, "udp", "MD.example.org.", 1))
	if len(got) != 1 {
		t.Fatalf("Expected one answer, got %v", got)
	}
	waitLog(t, logs, "META md.example.org. md.example.org. active-active "+got[0])
}

func TestEndpointSharedByStanzasIsProbedOnce(t *testing.T) {
	backend := newHealthBackend(t, nil)
	c := caddy.NewTestController("dns", `failover www.example.org {
        endpoint 192.0.2.10 check `+backend.url()+`
    }
    failover api.example.org {
        policy active-active
        endpoint 192.0.2.10 check `+backend.url()+`
        endpoint 192.0.2.11
    }
    failover other.example.org {
        endpoint 192.0.2.10 check `+backend.url()+`
        interval 5s
    }`)
	c.ServerBlockKeys = []string{"example.org."}
	f, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.start(); err != nil {
		t.Fatal(err)
	}
	defer f.stop()
	// The first two share endpoint and check; the third probes at another
	// pace, which is another probe.
	if got := backend.hits.Load(); got != 2 {
		t.Errorf("Expected 2 first probes (one shared by two stanzas, one at another interval), got %d", got)
	}
	if f.stanzas[0].endpoints[0].monitor != f.stanzas[1].endpoints[0].monitor {
		t.Error("Expected the two stanzas to share one monitor")
	}
}

// The check label is the URL the probe really uses, and monitors that share
// a label share its series until the last of them is gone.
func TestProbeSeriesLabelsAndSharing(t *testing.T) {
	port := freeUDPPort(t)
	_, backendPort, _ := net.SplitHostPort(closedPort(t))
	stanza := func(name, endpoint, extra string) string {
		return fmt.Sprintf("    failover %s {\n        endpoint %s check http://{address}:%s/health\n        interval 1h\n%s    }\n", name, endpoint, backendPort, extra)
	}
	v6 := stanza("v6.example.org", "::1", "")
	host := stanza("host.example.org", "localhost.", "")
	first := stanza("h1.example.org", "127.0.0.1", "        header X-Tenant one\n")
	second := stanza("h2.example.org", "127.0.0.1", "        header X-Tenant two\n")
	corefile := func(stanzas ...string) string {
		return "example.org:" + port + " {\n    bind 127.0.0.1\n" + strings.Join(stanzas, "") + "}\n"
	}
	i := startInstance(t, corefile(v6, host, first, second))
	for endpoint, check := range map[string]string{
		"::1":        "http://[::1]:" + backendPort + "/health",
		"localhost.": "http://localhost:" + backendPort + "/health",
		"127.0.0.1":  "http://127.0.0.1:" + backendPort + "/health",
	} {
		if _, ok := metricValue(t, "coredns_failover_probes_total", map[string]string{"endpoint": endpoint, "check": check}); !ok {
			t.Errorf("Expected a probes_total series for %s with check %q", endpoint, check)
		}
	}
	shared := map[string]string{"endpoint": "127.0.0.1", "check": "http://127.0.0.1:" + backendPort + "/health", "result": "refused"}
	if got, _ := metricValue(t, "coredns_failover_probes_total", shared); got != 2 {
		t.Errorf("Expected the two monitors that differ by a header to count 2 first probes in one series, got %v", got)
	}
	if err := i.reload(t, corefile(v6, host, first)); err != nil {
		t.Fatal(err)
	}
	if got, ok := metricValue(t, "coredns_failover_probes_total", shared); !ok || got != 2 {
		t.Errorf("Expected the shared series to outlive the monitor that was removed, with its count 2, got %v (present %t)", got, ok)
	}
	if err := i.reload(t, corefile(v6, host)); err != nil {
		t.Fatal(err)
	}
	if _, ok := metricValue(t, "coredns_failover_probes_total", shared); ok {
		t.Error("Expected the shared series to be deleted with the last monitor behind it")
	}
}
