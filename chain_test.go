package failover

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestChainLogCacheFailoverHosts runs failover where the SPEC puts it: after
// log, before cache, with hosts answering the rest of the zone.
func TestChainLogCacheFailoverHosts(t *testing.T) {
	primary := newTCPBackend(t)
	// The failover TTL is above the cache's 300 s cap, so a capped TTL in an
	// answer would show that the cache stood in front of failover.
	s := startServer(t, fmt.Sprintf(`example.org:0 {
	bind 127.0.0.1
	log
	cache 300
	failover www.example.org {
		endpoint 192.0.2.10 priority 1 check tcp://%s
		endpoint 192.0.2.20 priority 2
		ttl 600
		%s
	}
	hosts {
		192.0.2.99 other.example.org
		fallthrough
	}
}`, primary.addr(), fastPace))

	// An unmanaged name goes through failover to hosts, and through the
	// cache on its way back, which caps hosts' TTL of 3600 at 300.
	for range 2 {
		r := s.mustAsk(t, "udp", "other.example.org.", dns.TypeA)
		if got := addresses(r); !slices.Equal(got, []string{"192.0.2.99"}) {
			t.Fatalf("Expected hosts' answer [192.0.2.99] for other.example.org, got %v", got)
		}
		if ttl := r.Answer[0].Header().Ttl; ttl > 300 {
			t.Errorf("Expected the cache to cap hosts' answer at 300 s, got TTL %d", ttl)
		}
	}

	checkManaged := func(want string) {
		t.Helper()
		r := s.mustAsk(t, "udp", "www.example.org.", dns.TypeA)
		if got := addresses(r); !slices.Equal(got, []string{want}) {
			t.Fatalf("Expected [%s] for www.example.org, got %v", want, got)
		}
		if ttl := r.Answer[0].Header().Ttl; ttl != 600 {
			t.Errorf("Expected the stanza's TTL 600, untouched by the cache, got %d", ttl)
		}
		if !r.Authoritative {
			t.Error("Expected the AA flag on failover's answer")
		}
	}
	// Several queries, so that a cache in front would have stored the answer.
	for range 3 {
		checkManaged("192.0.2.10")
	}

	primary.close()
	closed := time.Now()
	flipped := s.waitAnswer(t, "www.example.org.", []string{"192.0.2.20"}, 5*time.Second)
	t.Logf("Backend closed to failover answer behind cache 300: %s", flipped.Sub(closed).Round(time.Millisecond))
	checkManaged("192.0.2.20")

	// A type failover has no data for is answered by failover, not hosts.
	r := s.mustAsk(t, "udp", "www.example.org.", dns.TypeAAAA)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || !r.Authoritative {
		t.Errorf("Expected an authoritative NOERROR without records for AAAA, got rcode %s, aa %t, %v", dns.RcodeToString[r.Rcode], r.Authoritative, r.Answer)
	}
}
