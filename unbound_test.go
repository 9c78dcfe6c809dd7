package failover

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// startUnbound runs Debian's unbound on loopback as a validating resolver
// that trusts key for zone and asks the server at stub for it, and returns
// its address.
func startUnbound(t *testing.T, zone string, key *dns.DNSKEY, stub string) string {
	t.Helper()
	return runUnbound(t, zone, stub, fmt.Sprintf(`module-config: "validator iterator"
    trust-anchor: "%s"
    val-log-level: 2`, key.String()))
}

// runUnbound runs Debian's unbound on loopback as a resolver that asks the
// server at stub for zone, with settings added to its server clause, and
// returns its address. The root hints point at a loopback address where
// nothing listens, so that nothing leaves the machine.
func runUnbound(t *testing.T, zone, stub, settings string) string {
	t.Helper()
	bin, err := exec.LookPath("unbound")
	if err != nil {
		t.Skipf("Needs unbound (Debian package unbound, which .ci/run installs): %v", err)
	}
	dir := t.TempDir()
	hints := filepath.Join(dir, "root.hints")
	if err := os.WriteFile(hints, []byte(".  3600 IN NS a.root.test.\na.root.test. 3600 IN A 127.0.0.254\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freeUDPPort(t)
	host, stubPort := splitHostPort(t, stub)
	conf := fmt.Sprintf(`server:
    interface: 127.0.0.1
    port: %s
    do-daemonize: no
    use-syslog: no
    logfile: ""
    username: ""
    chroot: ""
    pidfile: ""
    directory: "%s"
    root-hints: "%s"
    do-ip6: no
    do-not-query-localhost: no
    access-control: 127.0.0.0/8 allow
    verbosity: 1
    # test. is one of the special-use names unbound answers itself (RFC 6761).
    local-zone: "test." nodefault
    %s
stub-zone:
    name: "%s"
    stub-addr: %s@%s
`, port, dir, hints, settings, zone, host, stubPort)
	path := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-d", "-c", path)
	out := &logBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("Expected unbound to start, got %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("unbound said:\n%s", out)
		}
	})
	addr := "127.0.0.1:" + port
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := new(dns.Msg)
		m.SetQuestion("version.server.", dns.TypeTXT)
		m.Question[0].Qclass = dns.ClassCHAOS
		if _, _, err := (&dns.Client{Timeout: 200 * time.Millisecond}).Exchange(m, addr); err == nil {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected unbound to answer on %s within 10s:\n%s", addr, out)
		}
		time.Sleep(50 * time.Millisecond) // unbound's start has no event to wait for
	}
}

func splitHostPort(t *testing.T, addr string) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

// A validating resolver in front of the server sees the managed names as
// secure: positive and negative answers come back with AD, before and after
// a failover.
func TestUnboundValidatesManagedNames(t *testing.T) {
	s, primary, key := signedZoneServer(t, 1)
	resolver := startUnbound(t, "example.test.", key, s.udp)
	ask := func(name string, qtype uint16) *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		m.SetEdns0(1232, true)
		m.AuthenticatedData = true
		r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, resolver)
		if err != nil {
			t.Fatalf("Expected unbound to answer %s, got %v", name, err)
		}
		return r
	}
	secure := func(what string, r *dns.Msg, want []string) {
		t.Helper()
		t.Logf("unbound, %s: %s AD=%t %v", what, dns.RcodeToString[r.Rcode], r.AuthenticatedData, addresses(r))
		if r.Rcode != dns.RcodeSuccess || !r.AuthenticatedData || !slices.Equal(addresses(r), want) {
			t.Errorf("Expected unbound to answer %s NOERROR %v with AD, got %s AD=%t %v", what, want, dns.RcodeToString[r.Rcode], r.AuthenticatedData, addresses(r))
		}
	}
	secure("www A", ask("www.example.test.", dns.TypeA), []string{"192.0.2.11"})
	secure("www AAAA (NODATA)", ask("www.example.test.", dns.TypeAAAA), nil)
	primary.failed.Store(true)
	s.waitAnswer(t, "www.example.test.", []string{"192.0.2.12"}, 5*time.Second)
	// Once unbound's copy of the answer before (TTL 1 s) has expired.
	deadline := time.Now().Add(5 * time.Second)
	r := ask("www.example.test.", dns.TypeA)
	for !slices.Equal(addresses(r), []string{"192.0.2.12"}) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond) // the resolver's cache expires on its own clock
		r = ask("www.example.test.", dns.TypeA)
	}
	secure("www A after the failover", r, []string{"192.0.2.12"})
	secure("www AAAA (NODATA) after the failover", ask("www.example.test.", dns.TypeAAAA), nil)
}
