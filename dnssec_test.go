package failover

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/dnssec"
	"github.com/coredns/coredns/plugin/pkg/cache"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// writeZoneKey makes a signing key for zone as the dnssec plugin reads it
// (K<zone>+013+<tag>.key and .private) and returns its path without the
// extension and the public key.
func writeZoneKey(t testing.TB, dir, zone string) (string, *dns.DNSKEY) {
	t.Helper()
	k := &dns.DNSKEY{Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
		Flags: 257, Protocol: 3, Algorithm: dns.ECDSAP256SHA256}
	priv, err := k.Generate(256)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, fmt.Sprintf("K%s+%03d+%05d", zone, k.Algorithm, k.KeyTag()))
	if err := os.WriteFile(base+".key", []byte(k.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".private", []byte(k.PrivateKeyString(priv)), 0o600); err != nil {
		t.Fatal(err)
	}
	return base, k
}

// askDO asks name over proto with the DO bit.
func (s server) askDO(t *testing.T, proto, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(4096, true)
	return s.exchange(t, proto, m)
}

// verifySet checks that section holds an RRSIG by key over every record of
// type covered in it.
func verifySet(t *testing.T, what string, section []dns.RR, covered uint16, key *dns.DNSKEY) {
	t.Helper()
	var set []dns.RR
	var sig *dns.RRSIG
	for _, rr := range section {
		switch rr := rr.(type) {
		case *dns.RRSIG:
			if rr.TypeCovered == covered {
				sig = rr
			}
		default:
			if rr.Header().Rrtype == covered {
				set = append(set, rr)
			}
		}
	}
	if len(set) == 0 || sig == nil {
		t.Errorf("Expected %s records and their RRSIG in %s, got %v", dns.TypeToString[covered], what, section)
		return
	}
	if err := sig.Verify(key, set); err != nil {
		t.Errorf("Expected the RRSIG over %s in %s to verify with the zone's key, got %v", dns.TypeToString[covered], what, err)
	}
	if !sig.ValidityPeriod(time.Now()) {
		t.Errorf("Expected the RRSIG in %s to be valid now, got %v", what, sig)
	}
}

// signedZoneServer serves example.test signed by dnssec with a key of its
// own, with www managed by failover: a primary whose backend the test can
// fail and a backup. ttl is www's TTL.
func signedZoneServer(t *testing.T, ttl int) (server, *healthBackend, *dns.DNSKEY) {
	t.Helper()
	dir := t.TempDir()
	zone := filepath.Join(dir, "db.example.test")
	if err := os.WriteFile(zone, []byte(testZone), 0o644); err != nil {
		t.Fatal(err)
	}
	keyFile, key := writeZoneKey(t, dir, "example.test.")
	primary := newHealthBackend(t, nil)
	s := startServer(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    failover www {
        endpoint 192.0.2.11 priority 1 check %s
        endpoint 192.0.2.12 priority 2
        interval 1s
        fall 1
        ttl %d
    }
    dnssec {
        key file %s
    }
    file %s
}`, primary.url(), ttl, keyFile, zone))
	return s, primary, key
}

// With dnssec in the server block, a managed name's answers to DO queries
// are signed with the zone's key, positive and negative, before and after a
// failover; without DO they carry no signature.
func TestManagedAnswersAreSignedWithTheZoneKeys(t *testing.T) {
	s, primary, key := signedZoneServer(t, 60)
	for _, proto := range []string{"udp", "tcp"} {
		r := s.askDO(t, proto, "www.example.test.", dns.TypeA)
		verifySet(t, "the A answer over "+proto, r.Answer, dns.TypeA, key)
		if o := r.IsEdns0(); o == nil || !o.Do() {
			t.Errorf("Expected the DO bit echoed over %s", proto)
		}
		n := s.askDO(t, proto, "www.example.test.", dns.TypeAAAA)
		if n.Rcode != dns.RcodeSuccess || len(n.Answer) != 0 {
			t.Errorf("Expected NODATA for AAAA over %s, got %s", proto, n)
		}
		verifySet(t, "the NODATA over "+proto, n.Ns, dns.TypeSOA, key)
		verifySet(t, "the NODATA over "+proto, n.Ns, dns.TypeNSEC, key)
		for _, rr := range s.mustAsk(t, proto, "www.example.test.", dns.TypeA).Answer {
			if _, ok := rr.(*dns.RRSIG); ok {
				t.Errorf("Expected no signature without DO over %s, got %v", proto, rr)
			}
		}
	}
	primary.failed.Store(true)
	s.waitAnswer(t, "www.example.test.", []string{"192.0.2.12"}, 5*time.Second)
	r := s.askDO(t, "udp", "www.example.test.", dns.TypeA)
	if got := addresses(r); len(got) != 1 || got[0] != "192.0.2.12" {
		t.Errorf("Expected the backup after the failover, got %v", got)
	}
	verifySet(t, "the A answer after the failover", r.Answer, dns.TypeA, key)
	// The zone's own records at the apex come signed from dnssec itself.
	verifySet(t, "the apex DNSKEY", s.askDO(t, "udp", "example.test.", dns.TypeDNSKEY).Answer, dns.TypeDNSKEY, key)
}

// BenchmarkServeDNSSigned puts a DO query for a managed name answered with
// and without the zone's dnssec beside hosts answering it from memory.
// Signatures come from dnssec's own cache after the first query.
func BenchmarkServeDNSSigned(b *testing.B) {
	next := test.NextHandler(dns.RcodeServerFailure, nil)
	corefile := `failover www.example.org {
		endpoint 192.0.2.10 priority 1
		endpoint 192.0.2.20 priority 2
	}`
	base, _ := writeZoneKey(b, b.TempDir(), "example.org.")
	key, err := dnssec.ParseKeyFile(base+".key", base+".private")
	if err != nil {
		b.Fatal(err)
	}
	signed := func() plugin.Handler {
		f := benchFailover(b, next, corefile).(*Failover)
		d := dnssec.New([]string{"example.org."}, []*dnssec.DNSKEY{key}, false, next, cache.New[[]dns.RR](10000))
		f.signer = &d
		return f
	}
	for _, bb := range []struct {
		name    string
		handler func() plugin.Handler
		qtype   uint16
	}{
		{"hosts", func() plugin.Handler { return benchHosts(b, next) }, dns.TypeA},
		{"unsigned", func() plugin.Handler { return benchFailover(b, next, corefile) }, dns.TypeA},
		{"signed", signed, dns.TypeA},
		{"signed-nodata", signed, dns.TypeAAAA},
	} {
		b.Run(bb.name, func(b *testing.B) {
			h := bb.handler()
			ctx := context.Background()
			m := new(dns.Msg)
			m.SetQuestion("www.example.org.", bb.qtype)
			m.SetEdns0(1232, true)
			rec := dnstest.NewRecorder(&test.ResponseWriter{})
			if rcode, _ := h.ServeDNS(ctx, rec, m); rcode != dns.RcodeSuccess || rec.Msg == nil {
				b.Fatalf("Expected an answer, got rcode %s, %v", dns.RcodeToString[rcode], rec.Msg)
			}
			// A signed variant that did not sign would measure nothing.
			sigs := 0
			for _, rr := range append(slices.Clone(rec.Msg.Answer), rec.Msg.Ns...) {
				if _, ok := rr.(*dns.RRSIG); ok {
					sigs++
				}
			}
			if strings.HasPrefix(bb.name, "signed") != (sigs > 0) {
				b.Fatalf("Expected signatures exactly in the signed variants, got %d in %s", sigs, bb.name)
			}
			w := &fixedWriter{remote: &net.UDPAddr{IP: net.IPv4(10, 240, 0, 1), Port: 40212}}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeDNS(ctx, w, m)
			}
		})
	}
}

// A view's signatures are handed out until two days before the first of them
// expires, and a view keeps at most maxSigEntries answers.
func TestSigCacheExpiryAndBound(t *testing.T) {
	now := time.Now()
	sig := &dns.RRSIG{Hdr: dns.RR_Header{Name: "www.example.org.", Rrtype: dns.TypeRRSIG, Class: dns.ClassINET},
		Expiration: uint32(now.Add(3 * 24 * time.Hour).Unix())}
	m := &dns.Msg{Answer: []dns.RR{sig}}
	var c sigCache
	k := sigKey{qtype: dns.TypeA, n: 1}
	c.put(k, keep(m, now))
	if c.get(k, now) == nil {
		t.Fatal("Expected the signed answer to be kept")
	}
	if c.get(k, now.Add(25*time.Hour)) != nil {
		t.Error("Expected a signed answer whose signature expires within two days not to be handed out")
	}
	for i := range maxSigEntries + 10 {
		c.put(sigKey{qtype: uint16(i + 100)}, keep(m, now))
	}
	if n := len(*c.m.Load()); n != maxSigEntries {
		t.Errorf("Expected at most %d signed answers in a view, got %d", maxSigEntries, n)
	}
}
