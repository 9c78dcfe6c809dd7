package failover

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Probe timings scaled down so that a failover takes a fraction of a second:
// death is seen in about interval + (fall-1) x fast_interval.
const fastPace = `
		interval 300ms
		fast_interval 100ms
		timeout 250ms
		fall 2
		rise 2`

func TestIntegrationHTTPFailover(t *testing.T) {
	// With the same port bound on 127.0.0.1 and 127.0.0.2 the check is
	// written once with {address}, as an operator would.
	var primary, backup *healthBackend
	var check, primaryAddr, backupAddr string
	if l1, l2 := listenPair(t); l1 != nil {
		primary, backup = newHealthBackend(t, l1), newHealthBackend(t, l2)
		primaryAddr, backupAddr = "127.0.0.1", "127.0.0.2"
		check = fmt.Sprintf("check http://{address}:%s/health", primary.port())
	} else {
		t.Log("Cannot bind one port on both 127.0.0.1 and 127.0.0.2; using a check per endpoint")
		primary, backup = newHealthBackend(t, nil), newHealthBackend(t, nil)
		primaryAddr, backupAddr = "192.0.2.10", "192.0.2.20"
	}
	perEndpoint := func(b *healthBackend) string {
		if check != "" {
			return ""
		}
		return "check " + b.url()
	}
	s := startServer(t, fmt.Sprintf(`example.org:0 {
	bind 127.0.0.1
	failover www.example.org {
		endpoint %s priority 1 %s
		endpoint %s priority 2 %s
		%s
		%s
	}
}`, primaryAddr, perEndpoint(primary), backupAddr, perEndpoint(backup), check, fastPace))

	r := s.mustAsk(t, "udp", "www.example.org.", dns.TypeA)
	if got := addresses(r); !slices.Equal(got, []string{primaryAddr}) {
		t.Fatalf("Expected the primary [%s] at start, got %v", primaryAddr, got)
	}
	if primary.hits.Load() == 0 || backup.hits.Load() == 0 {
		t.Errorf("Expected both backends probed before the first answer, got %d and %d probes", primary.hits.Load(), backup.hits.Load())
	}

	primary.failed.Store(true)
	failed := time.Now()
	flipped := s.waitAnswer(t, "www.example.org.", []string{backupAddr}, 5*time.Second)
	t.Logf("HTTP 503 to failover answer: %s", flipped.Sub(failed).Round(time.Millisecond))

	primary.failed.Store(false)
	healed := time.Now()
	back := s.waitAnswer(t, "www.example.org.", []string{primaryAddr}, 5*time.Second)
	t.Logf("HTTP 200 again to failback answer: %s", back.Sub(healed).Round(time.Millisecond))
}

func TestIntegrationTCPFailover(t *testing.T) {
	primary, backup := newTCPBackend(t), newTCPBackend(t)
	s := startServer(t, fmt.Sprintf(`example.org:0 {
	bind 127.0.0.1
	failover www.example.org {
		endpoint 192.0.2.10 priority 1 check tcp://%s
		endpoint 192.0.2.20 priority 2 check tcp://%s
		%s
	}
}`, primary.addr(), backup.addr(), fastPace))

	for _, network := range []string{"udp", "tcp"} {
		r := s.mustAsk(t, network, "www.example.org.", dns.TypeA)
		if got := addresses(r); !slices.Equal(got, []string{"192.0.2.10"}) {
			t.Fatalf("Expected the primary [192.0.2.10] over %s, got %v", network, got)
		}
	}

	primary.close()
	closed := time.Now()
	flipped := s.waitAnswer(t, "www.example.org.", []string{"192.0.2.20"}, 5*time.Second)
	t.Logf("Listener closed to failover answer: %s", flipped.Sub(closed).Round(time.Millisecond))

	r := s.mustAsk(t, "tcp", "www.example.org.", dns.TypeA)
	if got := addresses(r); !slices.Equal(got, []string{"192.0.2.20"}) {
		t.Errorf("Expected the backup [192.0.2.20] over tcp too, got %v", got)
	}
}

func TestIntegrationUDPAndTCP(t *testing.T) {
	s := startServer(t, `example.org:0 {
	bind 127.0.0.1
	failover www.example.org {
		endpoint 192.0.2.10
		endpoint 2001:db8::10
		ttl 90
	}
}`)
	tests := []struct {
		qtype uint16
		want  string
	}{
		{dns.TypeA, "192.0.2.10"},
		{dns.TypeAAAA, "2001:db8::10"},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range tests {
			r := s.mustAsk(t, network, "www.example.org.", tc.qtype)
			if r.Rcode != dns.RcodeSuccess || !r.Authoritative {
				t.Errorf("%s %s: expected an authoritative NOERROR, got rcode %s, aa %t", network, dns.TypeToString[tc.qtype], dns.RcodeToString[r.Rcode], r.Authoritative)
			}
			if got := addresses(r); !slices.Equal(got, []string{tc.want}) {
				t.Errorf("%s %s: expected [%s], got %v", network, dns.TypeToString[tc.qtype], tc.want, got)
			}
			for _, rr := range r.Answer {
				if rr.Header().Ttl != 90 {
					t.Errorf("%s: expected TTL 90, got %d", network, rr.Header().Ttl)
				}
			}
		}
		r := s.mustAsk(t, network, "www.example.org.", dns.TypeMX)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
			t.Errorf("%s MX: expected NOERROR with no answer, got rcode %s and %v", network, dns.RcodeToString[r.Rcode], r.Answer)
		}
	}
}

// rawUDP sends m over UDP and returns the reply as received on the wire, so
// that its real size can be checked.
func rawUDP(t *testing.T, addr string, m *dns.Msg) []byte {
	t.Helper()
	out, err := m.Pack()
	if err != nil {
		t.Fatalf("Expected the query to pack, got %v", err)
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatalf("Expected to reach %s, got %v", addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write(out); err != nil {
		t.Fatalf("Expected to send the query, got %v", err)
	}
	buf := make([]byte, 65535)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("Expected a reply, got %v", err)
	}
	return buf[:n]
}

func TestIntegrationTruncation(t *testing.T) {
	const count = 40 // 40 AAAA records are about 1.1 KB
	var b strings.Builder
	want := make([]string, 0, count)
	for i := 1; i <= count; i++ {
		addr := fmt.Sprintf("2001:db8::%x", i)
		want = append(want, addr)
		fmt.Fprintf(&b, "\t\tendpoint %s\n", addr)
	}
	s := startServer(t, fmt.Sprintf(`example.org:0 {
	bind 127.0.0.1
	failover www.example.org {
		policy active-active
		max_answers 64
%s	}
}`, b.String()))

	query := func(bufsize uint16) *dns.Msg {
		q := new(dns.Msg)
		q.SetQuestion("www.example.org.", dns.TypeAAAA)
		q.SetEdns0(bufsize, false)
		return q
	}
	wire := rawUDP(t, s.udp, query(512))
	if len(wire) > 512 {
		t.Errorf("Expected a UDP reply of at most 512 bytes, got %d", len(wire))
	}
	r := new(dns.Msg)
	if err := r.Unpack(wire); err != nil {
		t.Fatalf("Expected the truncated reply to unpack, got %v", err)
	}
	t.Logf("Truncated UDP reply: %d bytes, %d of %d records", len(wire), len(r.Answer), count)
	if !r.Truncated {
		t.Errorf("Expected the TC flag on a %d-record answer in 512 bytes, got %d records without it", count, len(r.Answer))
	}
	for _, a := range addresses(r) {
		if !slices.Contains(want, a) {
			t.Errorf("Expected only configured addresses, got %s", a)
		}
	}

	// A client with a larger buffer gets everything over UDP.
	r = new(dns.Msg)
	if err := r.Unpack(rawUDP(t, s.udp, query(4096))); err != nil {
		t.Fatalf("Expected the reply to unpack, got %v", err)
	}
	if r.Truncated || len(r.Answer) != count {
		t.Errorf("Expected all %d records untruncated with a 4096-byte buffer, got %d (tc %t)", count, len(r.Answer), r.Truncated)
	}

	// The retry over TCP gets the full answer.
	c := &dns.Client{Net: "tcp", Timeout: 2 * time.Second}
	r, _, err := c.Exchange(query(512), s.tcp)
	if err != nil {
		t.Fatalf("Expected an answer over tcp, got %v", err)
	}
	got := addresses(r)
	slices.Sort(got)
	sorted := slices.Clone(want)
	slices.Sort(sorted)
	if r.Truncated || !slices.Equal(got, sorted) {
		t.Errorf("Expected all %d records over tcp, got %d (tc %t)", count, len(got), r.Truncated)
	}
}

// TestFailoverDetectionTime measures, with real probe timings, how long a
// client keeps getting a dead endpoint. It takes up to half a minute, so it
// only runs when asked: FAILOVER_DETECTION=1 go test -run TestFailoverDetectionTime -v .
func TestFailoverDetectionTime(t *testing.T) {
	if os.Getenv("FAILOVER_DETECTION") != "1" {
		t.Skip("Set FAILOVER_DETECTION=1 to measure detection times with real probe timings")
	}
	const samples = 5 // names per configuration; each probes on its own random phase
	configs := []struct {
		name  string
		pace  string
		bound time.Duration // interval + (fall-1) x fast_interval
	}{
		{"interval 1s fall 3", "interval 1s\n\t\tfall 3", 3 * time.Second},
		{"interval 10s fast_interval 1s fall 3", "interval 10s\n\t\tfast_interval 1s\n\t\tfall 3", 12 * time.Second},
	}
	type target struct {
		cfg     int
		name    string
		backend *healthBackend
	}
	var targets []target
	var b strings.Builder
	for ci, cfg := range configs {
		for i := range samples {
			tg := target{cfg: ci, name: fmt.Sprintf("c%ds%d.example.org.", ci, i), backend: newHealthBackend(t, nil)}
			targets = append(targets, tg)
			fmt.Fprintf(&b, `	failover %s {
		endpoint 192.0.2.10 priority 1 check %s
		endpoint 192.0.2.20 priority 2
		%s
	}
`, tg.name, tg.backend.url(), cfg.pace)
		}
	}
	s := startServer(t, "example.org:0 {\n\tbind 127.0.0.1\n"+b.String()+"}\n")
	for _, tg := range targets {
		if got := addresses(s.mustAsk(t, "udp", tg.name, dns.TypeA)); !slices.Equal(got, []string{"192.0.2.10"}) {
			t.Fatalf("Expected %s to answer the primary at start, got %v", tg.name, got)
		}
	}

	for _, tg := range targets {
		tg.backend.failed.Store(true)
	}
	failed := time.Now()
	detected := make([]time.Duration, len(targets))
	deadline := failed.Add(20 * time.Second)
	for left := len(targets); left > 0; {
		if time.Now().After(deadline) {
			t.Fatalf("Expected every name to fail over within 20s, %d did not", left)
		}
		for i, tg := range targets {
			if detected[i] != 0 {
				continue
			}
			r, err := s.ask("udp", tg.name, dns.TypeA)
			if err == nil && slices.Equal(addresses(r), []string{"192.0.2.20"}) {
				detected[i] = time.Since(failed)
				left--
			}
		}
		time.Sleep(50 * time.Millisecond) // the DNS poll rate, not a wait for an event
	}

	for ci, cfg := range configs {
		var ds []time.Duration
		for i, tg := range targets {
			if tg.cfg == ci {
				ds = append(ds, detected[i].Round(10*time.Millisecond))
			}
		}
		slices.Sort(ds)
		t.Logf("%s: failure to flipped answer min %s, median %s, max %s (all %v; expected at most about %s)",
			cfg.name, ds[0], ds[len(ds)/2], ds[len(ds)-1], ds, cfg.bound)
		if ds[len(ds)-1] > cfg.bound+2*time.Second {
			t.Errorf("%s: expected detection within about %s, got %s", cfg.name, cfg.bound, ds[len(ds)-1])
		}
	}
}
