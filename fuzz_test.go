package failover

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/geo/geotest"
	"github.com/failover-dns/failover/plugin/stanza"
)

// fuzzCorefile has a stanza for every policy and every all_down mode, so
// that one handler meets every branch of the query path. dead is a check
// that is refused, for the stanzas that must be down from the first probe.
func fuzzCorefile(db, dead string) string {
	return `failover ap.example.org {
    endpoint 192.0.2.10 priority 1
    endpoint 192.0.2.20 priority 2
    endpoint 2001:db8::10
}
failover ap-down.example.org {
    endpoint 192.0.2.11 priority 1 check ` + dead + `
    endpoint 192.0.2.21 priority 2
    interval 1h
}
failover aa.example.org aa2.example.org {
    policy active-active
    endpoint 192.0.2.30
    endpoint 192.0.2.31
    endpoint 192.0.2.32
    endpoint 2001:db8::30
    max_answers 2
}
failover w.example.org {
    policy weighted
    endpoint 192.0.2.40 weight 9
    endpoint 192.0.2.41 weight 1
    endpoint 192.0.2.42 weight 0
}
failover geo.example.org {
    policy geo
    geoip ` + db + `
    endpoint 192.0.2.50 geo country:US
    endpoint 192.0.2.51 geo subdivision:US-CA
    endpoint 192.0.2.52 geo continent:EU
    endpoint 192.0.2.53 geo continent:AS check ` + dead + `
    endpoint 192.0.2.59 default
    endpoint 2001:db8::50 geo continent:EU
    endpoint 2001:db8::59 default
    interval 1h
}
failover geo-trusted.example.org {
    policy geo
    geoip ` + db + `
    endpoint 192.0.2.60 geo country:US
    endpoint 192.0.2.69 default
    ecs_from 127.0.0.0/8 ::1/128
}
failover geo-noecs.example.org {
    policy geo
    geoip ` + db + `
    endpoint 192.0.2.70 geo country:US
    endpoint 192.0.2.79 default
    ecs off
}
failover cdn.example.org {
    endpoint edge1.example.net. priority 1
    endpoint edge2.example.net. priority 2
}
failover nodata.example.org {
    endpoint 192.0.2.80
    endpoint 2001:db8::80
    check ` + dead + `
    interval 1h
    all_down nodata
}
failover servfail.example.org {
    policy active-active
    endpoint 192.0.2.81
    check ` + dead + `
    interval 1h
    all_down servfail
}
failover pass.example.org {
    policy weighted
    endpoint 192.0.2.82
    check ` + dead + `
    interval 1h
    all_down fallthrough
}
failover ft.example.org {
    endpoint 192.0.2.90
    fallthrough
}
failover nets.example.org {
    policy geo
    geoip ` + db + `
    fence continent:EU net:10.9.0.0/16
    endpoint 192.0.2.100 geo net:10.1.0.0/16 net:2001:db8::/32
    endpoint 192.0.2.101 geo net:10.1.2.0/24 continent:EU net:10.9.0.0/16
    endpoint 192.0.2.102 default
    ecs_from 127.0.0.0/8 ::1/128
}
failover sticky.example.org {
    policy weighted
    sticky 20 48
    endpoint 192.0.2.110 weight 3
    endpoint 192.0.2.111 weight 1
    endpoint 2001:db8::110
}
failover near.example.org {
    policy nearest
    geoip ` + db + `
    sticky
    endpoint 192.0.2.120 at 50.11 8.68
    endpoint 192.0.2.121 at 50.11 8.68
    endpoint 192.0.2.122 at -33.87 151.21 default
}
failover chain.example.org {
    endpoint alias:sticky-free.example.org priority 1 weight 3
    endpoint alias:ft.example.org priority 1
    endpoint 192.0.2.140 priority 2
    trickle 5
    min_healthy 50%
    ttl_failover 5
    slow_start 10s
    failover_delay 1s
    failback_delay 1s
}
failover sticky-free.example.org {
    policy active-active
    endpoint 192.0.2.150
    endpoint 2001:db8::150
    check ` + dead + `
    interval 1h
}
failover fast.example.org {
    policy fastest
    max_answers 2
    endpoint 192.0.2.130
    endpoint 192.0.2.131
    check ` + dead + `
    interval 1h
}`
}

// aliasedEndpoints are the endpoints whose records cfg may answer: its own,
// and those of the stanzas its aliases name, down their chains.
func aliasedEndpoints(f *Failover, cfg *stanza.Stanza) []*stanza.Endpoint {
	var out []*stanza.Endpoint
	for i := range cfg.Endpoints {
		ep := &cfg.Endpoints[i]
		if ep.IsAlias() {
			out = append(out, aliasedEndpoints(f, f.names[ep.Alias].m.cfg)...)
			continue
		}
		out = append(out, ep)
	}
	return out
}

// nextMarks stands for the next plugin, without state that the fuzzer's
// inputs would share.
var nextMarks = test.HandlerFunc(func(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	return new(nextRecorder).ServeDNS(ctx, w, r)
})

// fuzzStanza is what the fuzz checks need to know about a managed name.
type fuzzStanza struct {
	served  map[string]bool // the presentation form of every record it may answer with
	a, aaaa bool            // whether it has endpoints of that family
	cname   bool
	nodata  bool // all_down nodata
}

func fuzzStanzas(f *Failover) map[string]fuzzStanza {
	out := make(map[string]fuzzStanza)
	for name, e := range f.names {
		cfg := e.m.cfg
		fs := fuzzStanza{served: make(map[string]bool), nodata: cfg.AllDown == stanza.NoData}
		ttls := []uint32{cfg.TTL}
		if cfg.HasTTLFailover {
			ttls = append(ttls, cfg.TTLFailover)
		}
		for _, ep := range aliasedEndpoints(f, cfg) {
			for _, ttl := range ttls {
				fs.served[record(name, ttl, ep).String()] = true
			}
			switch {
			case ep.IsHost():
				fs.cname = true
			case ep.IP.Is4():
				fs.a = true
			default:
				fs.aaaa = true
			}
		}
		out[name] = fs
	}
	return out
}

func (fs fuzzStanza) hasData(qtype uint16) bool {
	return fs.cname || qtype == dns.TypeA && fs.a || qtype == dns.TypeAAAA && fs.aaaa
}

// FuzzServeDNS sends arbitrary messages to one handler holding every policy,
// after the filtering the server does before any plugin runs.
func FuzzServeDNS(f *testing.F) {
	db := geotest.Write(f, filepath.Join(f.TempDir(), "geo.mmdb"), "GeoLite2-City", geoPlaces)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatalf("Expected to listen on 127.0.0.1, got %v", err)
	}
	dead := "tcp://" + ln.Addr().String()
	ln.Close()

	h, err := parse(newTestController(fuzzCorefile(db, dead)))
	if err != nil {
		f.Fatalf("Expected the fuzz Corefile to parse, got %v", err)
	}
	h.Next = nextMarks
	if err := h.start(); err != nil {
		f.Fatalf("Expected the probes to start, got %v", err)
	}
	f.Cleanup(func() { h.stop() })
	stanzas := fuzzStanzas(h)
	for _, name := range []string{"nets.example.org.", "sticky.example.org.", "near.example.org.", "fast.example.org.", "chain.example.org."} {
		for _, prefix := range []string{"10.1.2.0/24", "10.9.3.0/24", "10.3.0.0/16", "2001:db8:1::/48"} {
			m := new(dns.Msg)
			m.SetQuestion(name, dns.TypeA)
			m.SetEdns0(1232, false)
			m.IsEdns0().Option = append(m.IsEdns0().Option, ecsOption(f, prefix))
			wire, _ := m.Pack()
			f.Add(wire)
		}
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		r := new(dns.Msg)
		if err := r.Unpack(data); err != nil || len(r.Question) != 1 {
			return
		}
		q, id := r.Question[0], r.Id
		queryECS := firstECSOf(r)
		// What the query looked like, to catch a handler that writes into it.
		before, _ := r.Pack()

		// The ID picks the client too: one outside the database, one in it
		// over TCP, and one from the resolvers that geo-trusted believes.
		w := &test.ResponseWriter{}
		switch id % 3 {
		case 1:
			w.RemoteIP, w.TCP = "2001:db8:1::5", true
		case 2:
			w.RemoteIP = "127.0.0.1"
		}
		rec := dnstest.NewRecorder(w)
		rcode, err := h.ServeDNS(context.Background(), rec, r)
		if err != nil {
			t.Fatalf("Expected no error, got %v", err)
		}
		if after, _ := r.Pack(); !bytes.Equal(before, after) {
			t.Errorf("Expected the query left as it came, got it changed to %v", r)
		}
		m := rec.Msg
		if !plugin.ClientWrite(rcode) {
			if m != nil {
				t.Fatalf("Expected nothing written with rcode %s (the server writes that reply), got %v", dns.RcodeToString[rcode], m)
			}
			return
		}
		if m == nil {
			t.Fatalf("Expected a reply written with rcode %s, got none", dns.RcodeToString[rcode])
		}
		if m.Id != id || !m.Response {
			t.Errorf("Expected a response with ID %d, got ID %d and QR %t", id, m.Id, m.Response)
		}
		if len(m.Question) != 1 || m.Question[0] != q {
			t.Errorf("Expected the question %v echoed, got %v", q, m.Question)
		}
		if _, err := m.Pack(); err != nil {
			t.Fatalf("Expected a reply that packs, got %v for %v", err, m)
		}
		if fromNext(m) {
			return
		}

		fs, managed := stanzas[strings.ToLower(q.Name)]
		if !managed || q.Qclass != dns.ClassINET {
			t.Fatalf("Expected %s (class %s) left to the next plugin, got %v", q.Name, dns.ClassToString[q.Qclass], m)
		}
		if m.Rcode != dns.RcodeSuccess || !m.Authoritative {
			t.Errorf("Expected an authoritative NOERROR, got rcode %s and AA %t", dns.RcodeToString[m.Rcode], m.Authoritative)
		}
		for _, rr := range m.Answer {
			hdr := rr.Header()
			ofType := hdr.Rrtype == dns.TypeCNAME || hdr.Rrtype == q.Qtype
			if !fs.served[rr.String()] || !ofType || !strings.EqualFold(hdr.Name, q.Name) {
				t.Errorf("Expected only records of %s for type %s, got %s", q.Name, dns.TypeToString[q.Qtype], rr)
			}
		}
		if len(m.Answer) == 0 && fs.hasData(q.Qtype) && !fs.nodata {
			t.Errorf("Expected an answer for %s %s, got an empty NOERROR", q.Name, dns.TypeToString[q.Qtype])
		}
		if replyECS := firstECSOf(m); replyECS != nil {
			if queryECS == nil {
				t.Fatalf("Expected no ECS option in the reply to a query without one, got %s", replyECS)
			}
			bits := uint8(32)
			if replyECS.Family == 2 {
				bits = 128
			}
			if replyECS.Family != queryECS.Family || replyECS.SourceNetmask != queryECS.SourceNetmask ||
				!replyECS.Address.Equal(queryECS.Address) || replyECS.SourceScope > bits {
				t.Errorf("Expected the query's ECS %s echoed with a scope, got %s", queryECS, replyECS)
			}
		}
	})
}
