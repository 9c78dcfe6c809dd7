package failover

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

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
	return startServer(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    failover @ {
        endpoint 192.0.2.10
    }
    failover www {
        endpoint 192.0.2.11
    }
    transfer {
        to *
    }
    file %s
}`, path))
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
