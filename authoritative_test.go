package failover

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/coredns/coredns/plugin/file"
	_ "github.com/coredns/coredns/plugin/transfer"

	"github.com/miekg/dns"
)

// testZone is example.test as a file zone: what failover sits in front of.
const testZone = `$ORIGIN example.test.
@    3600 IN SOA ns1.example.test. hostmaster.example.test. 2026120101 7200 3600 1209600 300
@    3600 IN NS  ns1.example.test.
@    3600 IN MX  10 mail.example.test.
@    3600 IN TXT "v=spf1 -all"
ns1  3600 IN A   192.0.2.53
mail 3600 IN A   192.0.2.25
`

// zoneServer serves example.test from a file zone with transfers allowed,
// and failover managing the apex and www in front of it.
func zoneServer(t *testing.T) server {
	t.Helper()
	path := filepath.Join(t.TempDir(), "db.example.test")
	if err := os.WriteFile(path, []byte(testZone), 0o644); err != nil {
		t.Fatal(err)
	}
	dead := closedPort(t)
	return startServer(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    failover @ {
        endpoint 192.0.2.10
    }
    failover www {
        endpoint 192.0.2.11
    }
    failover www.deep.example.test {
        endpoint 192.0.2.12
    }
    failover ft {
        endpoint 192.0.2.13
        fallthrough
    }
    failover dead {
        endpoint 192.0.2.14
        check tcp://%[2]s
        all_down fallthrough
    }
    failover nd {
        endpoint 192.0.2.15
        check tcp://%[2]s
        all_down nodata
    }
    transfer {
        to *
    }
    file %[1]s
}`, path, dead))
}

// isNoData checks a NOERROR answer with no records and, in the authority
// section, the SOA with the TTL negative answers are cached for.
func isNoData(t *testing.T, r *dns.Msg, what string, soaOwner string, ttl uint32) *dns.SOA {
	t.Helper()
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || !r.Authoritative {
		t.Errorf("Expected NOERROR with no records and AA for %s, got %s", what, r)
		return nil
	}
	if len(r.Ns) != 1 {
		t.Errorf("Expected the zone's SOA alone in the authority section for %s, got %v", what, r.Ns)
		return nil
	}
	soa, ok := r.Ns[0].(*dns.SOA)
	if !ok || soa.Hdr.Name != soaOwner || soa.Hdr.Ttl != ttl {
		t.Errorf("Expected the SOA of %s with TTL %d for %s, got %v", soaOwner, ttl, what, r.Ns[0])
	}
	return soa
}

// Negative answers for managed names carry the zone's SOA, as the file zone
// serves it, with TTL min(SOA TTL, minimum) = 300 (RFC 2308).
func TestNegativeAnswersCarryTheZoneSOA(t *testing.T) {
	s := zoneServer(t)
	for _, proto := range []string{"udp", "tcp"} {
		for _, qtype := range []uint16{dns.TypeAAAA, dns.TypeMX, dns.TypeTXT, dns.TypeANY} {
			r := s.mustAsk(t, proto, "www.example.test.", qtype)
			if soa := isNoData(t, r, dns.TypeToString[qtype]+" www over "+proto, "example.test.", 300); soa != nil && soa.Serial != 2026120101 {
				t.Errorf("Expected the zone file's serial 2026120101, got %d", soa.Serial)
			}
		}
		isNoData(t, s.mustAsk(t, proto, "nd.example.test.", dns.TypeA), "all_down nodata over "+proto, "example.test.", 300)
	}
}

// Names that exist are never NXDOMAIN: an empty non-terminal above a managed
// name (RFC 8020), and managed names passed on by fallthrough or all_down
// fallthrough that the zone does not hold.
func TestManagedNamesExist(t *testing.T) {
	s := zoneServer(t)
	for _, proto := range []string{"udp", "tcp"} {
		isNoData(t, s.mustAsk(t, proto, "deep.example.test.", dns.TypeA), "the empty non-terminal deep over "+proto, "example.test.", 300)
		isNoData(t, s.mustAsk(t, proto, "ft.example.test.", dns.TypeMX), "MX of ft, passed on by fallthrough, over "+proto, "example.test.", 300)
		isNoData(t, s.mustAsk(t, proto, "dead.example.test.", dns.TypeA), "A of dead, passed on by all_down fallthrough, over "+proto, "example.test.", 300)
		if r := s.mustAsk(t, proto, "nothing.example.test.", dns.TypeA); r.Rcode != dns.RcodeNameError {
			t.Errorf("Expected NXDOMAIN for a name nobody has over %s, got %s", proto, dns.RcodeToString[r.Rcode])
		}
	}
}

// The SOA follows the zone: a new serial in the file reaches the negative
// answers, with cache between them; with no zone behind the plugin an SOA is
// synthesised.
func TestNegativeAnswersFollowTheSerial(t *testing.T) {
	// Restored after the server's cleanup has stopped its refresher.
	was := soaRefresh
	t.Cleanup(func() { soaRefresh = was })
	soaRefresh = 100 * time.Millisecond
	path := filepath.Join(t.TempDir(), "db.example.test")
	if err := os.WriteFile(path, []byte(testZone), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    failover www {
        endpoint 192.0.2.11
    }
    cache
    file %s {
        reload 100ms
    }
}
example.org:0 {
    bind 127.0.0.1
    failover www {
        endpoint 192.0.2.21
    }
}`, path))
	if soa := isNoData(t, s.mustAsk(t, "udp", "www.example.test.", dns.TypeAAAA), "AAAA", "example.test.", 300); soa == nil || soa.Serial != 2026120101 {
		t.Fatalf("Expected serial 2026120101 at first, got %v", soa)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(testZone, "2026120101", "2026120102", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := s.mustAsk(t, "udp", "www.example.test.", dns.TypeAAAA)
		if len(r.Ns) == 1 && r.Ns[0].(*dns.SOA).Serial == 2026120102 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected the new serial 2026120102 in negative answers within 5s, got %v", r.Ns)
		}
		time.Sleep(50 * time.Millisecond) // the zone reloads on its own clock
	}
	soa := isNoData(t, s.mustAsk(t, "udp", "www.example.org.", dns.TypeAAAA), "AAAA with no zone behind", "example.org.", 60)
	if soa != nil && (soa.Ns != "ns.dns.example.org." || soa.Mbox != "hostmaster.example.org.") {
		t.Errorf("Expected a synthesised SOA, got %v", soa)
	}
}

// At the apex the stanza answers the types it has data for; the zone's own
// records there come from the next plugin, over UDP and TCP alike.
func TestApexTypesGoToTheZone(t *testing.T) {
	s := zoneServer(t)
	for _, proto := range []string{"udp", "tcp"} {
		if got := addresses(s.mustAsk(t, proto, "example.test.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.10"}) {
			t.Errorf("Expected the managed apex to answer A 192.0.2.10 over %s, got %v", proto, got)
		}
		for _, qtype := range []uint16{dns.TypeSOA, dns.TypeNS, dns.TypeMX, dns.TypeTXT} {
			r := s.mustAsk(t, proto, "example.test.", qtype)
			if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != qtype || !r.Authoritative {
				t.Errorf("Expected the zone's %s record at the apex over %s, got %s", dns.TypeToString[qtype], proto, r)
			}
		}
	}
}

// Transfers are the zone's: AXFR of a zone whose apex failover manages goes
// through transfer, and one for a managed name never gets an empty NOERROR.
func TestTransfersGoToTheZone(t *testing.T) {
	s := zoneServer(t)
	m := new(dns.Msg)
	m.SetAxfr("example.test.")
	envelopes, err := new(dns.Transfer).In(m, s.tcp)
	if err != nil {
		t.Fatalf("Expected AXFR of example.test. to start, got %v", err)
	}
	var rrs []dns.RR
	for e := range envelopes {
		if e.Error != nil {
			t.Fatalf("Expected AXFR of example.test. to complete, got %v", e.Error)
		}
		rrs = append(rrs, e.RR...)
	}
	if len(rrs) < 7 || rrs[0].Header().Rrtype != dns.TypeSOA || rrs[len(rrs)-1].Header().Rrtype != dns.TypeSOA {
		t.Fatalf("Expected the zone's records between two SOAs, got %d records: %v", len(rrs), rrs)
	}
	for _, qtype := range []uint16{dns.TypeAXFR, dns.TypeIXFR} {
		r := s.mustAsk(t, "tcp", "www.example.test.", qtype)
		if r.Rcode == dns.RcodeSuccess && r.Authoritative && len(r.Answer) == 0 {
			t.Errorf("Expected %s for a managed name to be the zone's to answer or refuse, got an empty NOERROR: %s", dns.TypeToString[qtype], r)
		}
	}
}

// A query for a managed name with two OPT records is FORMERR (RFC 6891
// section 6.1.1), over UDP and TCP.
func TestTwoOPTRecordsAreFormErr(t *testing.T) {
	s := zoneServer(t)
	for _, proto := range []string{"udp", "tcp"} {
		m := new(dns.Msg)
		m.SetQuestion("www.example.test.", dns.TypeA)
		m.SetEdns0(1232, false)
		m.Extra = append(m.Extra, &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: 1232}})
		addr := s.udp
		if proto == "tcp" {
			addr = s.tcp
		}
		r, _, err := (&dns.Client{Net: proto}).Exchange(m, addr)
		if err != nil {
			t.Fatalf("Expected an answer over %s, got %v", proto, err)
		}
		if r.Rcode != dns.RcodeFormatError || len(r.Answer) != 0 {
			t.Errorf("Expected FORMERR and no answer for two OPT records over %s, got %s with %d answers", proto, dns.RcodeToString[r.Rcode], len(r.Answer))
		}
	}
}

// A malformed ECS option is a FORMERR on every managed name, not only those
// routed by location (RFC 7871 sections 6 and 7.1.1); a well-formed one is
// ignored by an answer that does not depend on the client.
func TestMalformedECSIsFormErrOnEveryManagedName(t *testing.T) {
	s := zoneServer(t)
	for _, proto := range []string{"udp", "tcp"} {
		addr := s.udp
		if proto == "tcp" {
			addr = s.tcp
		}
		for what, packet := range malformedECSQueries(t, "www.example.test.") {
			if r := exchangeRawOver(t, proto, addr, packet); r.Rcode != dns.RcodeFormatError || len(r.Answer) != 0 {
				t.Errorf("Expected FORMERR without an answer for an ECS option with %s over %s, got %s with %d answers", what, proto, dns.RcodeToString[r.Rcode], len(r.Answer))
			}
		}
		m := new(dns.Msg)
		m.SetQuestion("www.example.test.", dns.TypeA)
		m.SetEdns0(1232, false)
		m.IsEdns0().Option = append(m.IsEdns0().Option, ecsOption(t, "198.51.100.0/24"))
		r, _, err := (&dns.Client{Net: proto}).Exchange(m, addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := addresses(r); !slices.Equal(got, []string{"192.0.2.11"}) {
			t.Errorf("Expected a well-formed ECS option not to change the answer over %s, got %v", proto, got)
		}
	}
}

// A CNAME whose target is a managed name of the same server block carries
// the target's current answer, through a chain of two, before and after the
// target fails over (RFC 1034 section 4.3.2).
func TestCNAMEChainsOfManagedNames(t *testing.T) {
	pool := newHealthBackend(t, nil)
	s := startServer(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    failover www {
        endpoint app.example.test
    }
    failover app {
        endpoint pool.example.test
    }
    failover pool {
        endpoint 192.0.2.31 priority 1 check %s
        endpoint 192.0.2.32 priority 2
        interval 1s
        fall 1
    }
}`, pool.url()))
	chain := func(proto string, qtype uint16) []string {
		var out []string
		for _, rr := range s.mustAsk(t, proto, "www.example.test.", qtype).Answer {
			switch rr := rr.(type) {
			case *dns.CNAME:
				out = append(out, rr.Hdr.Name+" CNAME "+rr.Target)
			case *dns.A:
				out = append(out, rr.Hdr.Name+" A "+rr.A.String())
			}
		}
		return out
	}
	want := func(addr string) []string {
		return []string{"www.example.test. CNAME app.example.test.", "app.example.test. CNAME pool.example.test.", "pool.example.test. A " + addr}
	}
	for _, proto := range []string{"udp", "tcp"} {
		if got := chain(proto, dns.TypeA); !slices.Equal(got, want("192.0.2.31")) {
			t.Errorf("Expected the chain to the primary over %s, got %v", proto, got)
		}
		if got := chain(proto, dns.TypeCNAME); !slices.Equal(got, want("")[:1]) {
			t.Errorf("Expected a CNAME query to get the CNAME alone over %s, got %v", proto, got)
		}
		if got := chain(proto, dns.TypeAAAA); !slices.Equal(got, want("")[:2]) {
			t.Errorf("Expected AAAA to get the chain up to the name without AAAA over %s, got %v", proto, got)
		}
	}
	pool.failed.Store(true)
	s.waitAnswer(t, "pool.example.test.", []string{"192.0.2.32"}, 5*time.Second)
	if got := chain("udp", dns.TypeA); !slices.Equal(got, want("192.0.2.32")) {
		t.Errorf("Expected the chain to follow the failover to the backup, got %v", got)
	}
}

// In a server block for the root, the zone of a managed name is the one the
// next plugin answers its SOA from, not the root.
func TestNegativeAnswersInARootServerBlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.example.test")
	if err := os.WriteFile(path, []byte(testZone), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, fmt.Sprintf(`.:0 {
    bind 127.0.0.1
    failover www.example.test a.b.example.test {
        endpoint 192.0.2.11
    }
    file %s example.test
}`, path))
	for _, proto := range []string{"udp", "tcp"} {
		isNoData(t, s.mustAsk(t, proto, "www.example.test.", dns.TypeAAAA), "AAAA of www over "+proto, "example.test.", 300)
		isNoData(t, s.mustAsk(t, proto, "a.b.example.test.", dns.TypeMX), "MX of a.b over "+proto, "example.test.", 300)
		isNoData(t, s.mustAsk(t, proto, "b.example.test.", dns.TypeA), "the empty non-terminal b over "+proto, "example.test.", 300)
	}
}
