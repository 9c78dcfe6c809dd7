package failover

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"

	"github.com/miekg/dns"
)

// instance is a running server that a test can reload.
type instance struct {
	inst *caddy.Instance
	server
}

func startInstance(t *testing.T, corefile string) *instance {
	t.Helper()
	startMu.Lock()
	inst, err := caddy.Start(corefileInput(corefile))
	startMu.Unlock()
	if err != nil {
		t.Fatalf("Expected the server to start, got %v", err)
	}
	i := &instance{inst: inst}
	i.bind(t)
	i.serving(t)
	t.Cleanup(func() {
		i.inst.ShutdownCallbacks()
		i.inst.Stop()
		i.inst.Wait()
	})
	return i
}

func corefileInput(corefile string) caddy.CaddyfileInput {
	return caddy.CaddyfileInput{ServerTypeName: "dns", Filepath: "Corefile", Contents: []byte(corefile)}
}

func (i *instance) bind(t *testing.T) {
	t.Helper()
	srvs := i.inst.Servers()
	if len(srvs) == 0 || srvs[0].LocalAddr() == nil {
		t.Fatalf("Expected a listening server, got %d servers", len(srvs))
	}
	i.server = server{udp: srvs[0].LocalAddr().String(), tcp: srvs[0].Addr().String()}
}

// reload swaps the configuration the way the reload plugin and SIGUSR1 do.
func (i *instance) reload(t *testing.T, corefile string) error {
	t.Helper()
	startMu.Lock()
	defer startMu.Unlock()
	next, err := i.inst.Restart(corefileInput(corefile))
	if err != nil {
		return err
	}
	i.inst = next
	i.bind(t)
	i.serving(t)
	return nil
}

// serving waits until the instance's servers answer over UDP and TCP. Caddy
// starts them in goroutines after Start or Restart returns, and a CoreDNS
// server stopped before it has started ignores the stop and serves on: a
// reload right after a reload would leave one running. Restart stops the old
// instance before it returns, so these answers come from the new one.
func (i *instance) serving(t *testing.T) {
	t.Helper()
	for _, proto := range []string{"udp", "tcp"} {
		i.mustAsk(t, proto, "www.example.org.", dns.TypeA)
	}
}

// reloadCorefile is a server block on a fixed port (a reload keeps listeners
// by address, so port 0 would move) with an active-passive pair whose
// primary has a check that runs once at startup and then only every hour:
// any probe during the test is one the reload caused.
func reloadCorefile(port, primaryCheck, backupCheck string, ttl int) string {
	return fmt.Sprintf(`example.org:%s {
    bind 127.0.0.1
    failover www.example.org {
        endpoint 192.0.2.10 priority 1 check %s
        endpoint 192.0.2.20 priority 2 check %s
        interval 1h
        fall 3
        rise 2
        ttl %d
    }
}`, port, primaryCheck, backupCheck, ttl)
}

func freeUDPPort(t *testing.T) string {
	t.Helper()
	addr := closedPort(t) // a TCP port nothing listens on; the same UDP port is almost always free too
	_, port, _ := net.SplitHostPort(addr)
	return port
}

func TestReloadKeepsStateAndDoesNotProbeAgain(t *testing.T) {
	primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
	port := freeUDPPort(t)
	i := startInstance(t, reloadCorefile(port, primary.url(), backup.url(), 60))
	i.waitAnswer(t, "www.example.org.", []string{"192.0.2.10"}, 5*time.Second)

	// The primary starts failing, but its next probe is an hour away: the
	// state is still up. A reload that re-probed, or that started the
	// endpoint from scratch, would take this failure at once and flip.
	primary.failed.Store(true)
	hits := primary.hits.Load()
	if err := i.reload(t, reloadCorefile(port, primary.url(), backup.url(), 30)); err != nil {
		t.Fatalf("Expected the reload to succeed, got %v", err)
	}
	r := i.mustAsk(t, "udp", "www.example.org.", dns.TypeA)
	if got := addresses(r); !slices.Equal(got, []string{"192.0.2.10"}) {
		t.Errorf("Expected the reload to keep answering 192.0.2.10, got %v", got)
	}
	if r.Answer[0].Header().Ttl != 30 {
		t.Errorf("Expected the new ttl 30 after the reload, got %d", r.Answer[0].Header().Ttl)
	}
	if got := primary.hits.Load(); got != hits {
		t.Errorf("Expected no new probe of a kept endpoint during the reload, got %d", got-hits)
	}
	if n := liveChecks(t); n != 2 {
		t.Errorf("Expected 2 live probes after the reload (one per endpoint), got %d", n)
	}
}

func TestReloadWhileEndpointDown(t *testing.T) {
	primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
	primary.failed.Store(true)
	port := freeUDPPort(t)
	i := startInstance(t, reloadCorefile(port, primary.url(), backup.url(), 60))
	i.waitAnswer(t, "www.example.org.", []string{"192.0.2.20"}, 5*time.Second)

	// The primary recovers, but nothing probes it for an hour; a reload must
	// not be the thing that flips the answer back.
	primary.failed.Store(false)
	if err := i.reload(t, reloadCorefile(port, primary.url(), backup.url(), 30)); err != nil {
		t.Fatalf("Expected the reload to succeed, got %v", err)
	}
	if got := addresses(i.mustAsk(t, "udp", "www.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.20"}) {
		t.Errorf("Expected the down primary to stay down across the reload, answering 192.0.2.20, got %v", got)
	}
}

func TestReloadWithBrokenStanzaKeepsOldConfig(t *testing.T) {
	primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
	port := freeUDPPort(t)
	i := startInstance(t, reloadCorefile(port, primary.url(), backup.url(), 60))
	i.waitAnswer(t, "www.example.org.", []string{"192.0.2.10"}, 5*time.Second)

	broken := reloadCorefile(port, primary.url(), backup.url(), 60) + "\n"
	broken = broken[:len(broken)-3] + "    failover api.example.org {\n        endpoint 192.0.2.300\n    }\n}\n"
	err := i.reload(t, broken)
	if err == nil {
		t.Fatal("Expected the reload with a broken stanza to fail")
	}
	if got := err.Error(); !hasAll(got, "Corefile:", "192.0.2.300") {
		t.Errorf("Expected the reload error to name the file, line and address, got %q", got)
	}
	if got := addresses(i.mustAsk(t, "udp", "www.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.10"}) {
		t.Errorf("Expected the old configuration to keep answering 192.0.2.10, got %v", got)
	}
	if n := liveChecks(t); n != 2 {
		t.Errorf("Expected the failed reload to leave the 2 old probes and no new one, got %d", n)
	}
}

func TestReloadDropsRemovedEndpointsAndLeaksNothing(t *testing.T) {
	primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
	third := newHealthBackend(t, nil)
	port := freeUDPPort(t)
	base := reloadCorefile(port, primary.url(), backup.url(), 60)
	i := startInstance(t, base)
	i.waitAnswer(t, "www.example.org.", []string{"192.0.2.10"}, 5*time.Second)

	// Alternate between the base configuration and one with a third
	// endpoint: each cycle starts and stops one probe.
	withThird := base[:len(base)-len("    }\n}")] +
		"    }\n    failover api.example.org {\n        endpoint 192.0.2.30 check " + third.url() + "\n        interval 1h\n    }\n}"
	settle := func() (int, int) {
		runtime.GC()
		return runtime.NumGoroutine(), openFiles(t)
	}
	if err := i.reload(t, withThird); err != nil {
		t.Fatalf("Expected the reload to succeed, got %v", err)
	}
	if err := i.reload(t, base); err != nil {
		t.Fatalf("Expected the reload to succeed, got %v", err)
	}
	g0, f0 := settle()
	const cycles = 25
	for range cycles {
		if err := i.reload(t, withThird); err != nil {
			t.Fatalf("Expected the reload to succeed, got %v", err)
		}
		if n := liveChecks(t); n != 3 {
			t.Fatalf("Expected 3 live probes with the third endpoint, got %d", n)
		}
		if err := i.reload(t, base); err != nil {
			t.Fatalf("Expected the reload to succeed, got %v", err)
		}
		if n := liveChecks(t); n != 2 {
			t.Fatalf("Expected the removed endpoint's probe to stop, leaving 2, got %d", n)
		}
	}
	// Goroutines and sockets of stopped servers wind down asynchronously:
	// wait for the counts to come back rather than for a fixed time.
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, f := settle()
		if g <= g0+2 && f <= f0+2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected no leak over %d reload cycles: goroutines %d -> %d, open files %d -> %d", cycles, g0, g, f0, f)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := third.hits.Load(); got != cycles+1 {
		t.Errorf("Expected the third endpoint to be probed once per configuration that added it (%d), got %d", cycles+1, got)
	}
	if got := addresses(i.mustAsk(t, "udp", "www.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.10"}) {
		t.Errorf("Expected 192.0.2.10 after the reloads, got %v", got)
	}
}

func openFiles(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("Cannot count open files: %v", err)
	}
	return len(fds)
}

func hasAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
