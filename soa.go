package failover

import (
	"context"
	"net"
	"slices"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin/cache"
	"github.com/coredns/coredns/plugin/pkg/dnsutil"
	"github.com/coredns/coredns/plugin/pkg/nonwriter"

	"github.com/miekg/dns"
)

// soaRefresh is how often the zones' SOA records are asked of the next
// plugin again, so that negative answers follow a new serial. A lookup in
// file's memory costs microseconds; the query path never waits for one.
var soaRefresh = 5 * time.Second

// soaLookupTimeout bounds one lookup, so that a next plugin that forwards
// and gets no answer holds up neither a start nor the refreshes for long.
const soaLookupTimeout = time.Second

// zoneSOA is the SOA that negative answers for the managed names of one zone
// carry in their authority section (RFC 2308 section 3).
type zoneSOA struct {
	zone   string
	rr     atomic.Pointer[dns.SOA] // read by queries; replaced whole, never changed
	served bool                    // learned from the next plugin, not synthesised; refresher only
}

// newZoneSOA starts with a synthesised SOA, as CoreDNS's kubernetes plugin
// makes one, until the next plugin serves the zone's own.
func newZoneSOA(zone string) *zoneSOA {
	z := &zoneSOA{zone: zone}
	z.rr.Store(&dns.SOA{
		Hdr:     dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: synthesisedSOATTL},
		Ns:      dnsutil.Join("ns.dns", zone),
		Mbox:    dnsutil.Join("hostmaster", zone),
		Serial:  uint32(time.Now().Unix()),
		Refresh: 7200, Retry: 1800, Expire: 86400, Minttl: synthesisedSOATTL,
	})
	return z
}

// synthesisedSOATTL is the TTL and negative TTL of a synthesised SOA: the
// default answer TTL, so that a negative answer is cached no longer than a
// positive one.
const synthesisedSOATTL = 60

// authority is the record for negative answers, shared read-only.
func (z *zoneSOA) authority() dns.RR { return z.rr.Load() }

// learn takes the zone's SOA from the next plugin's answer, if it has one;
// a zone that stops answering keeps the SOA it had.
func (z *zoneSOA) learn(m *dns.Msg) (changed bool) {
	if m == nil || m.Rcode != dns.RcodeSuccess && m.Rcode != dns.RcodeNameError {
		return false
	}
	for _, rr := range slices.Concat(m.Answer, m.Ns) {
		soa, ok := rr.(*dns.SOA)
		if !ok || !equalName(soa.Hdr.Name, z.zone) {
			continue
		}
		old := z.rr.Load()
		if z.served && old.Serial == soa.Serial && old.Ns == soa.Ns && old.Mbox == soa.Mbox &&
			old.Minttl == soa.Minttl && old.Hdr.Ttl == min(soa.Hdr.Ttl, soa.Minttl) {
			return false
		}
		// RFC 2308 section 3: the TTL of the SOA in a negative answer is
		// the lesser of its own TTL and its minimum.
		auth := dns.Copy(soa).(*dns.SOA)
		auth.Hdr.Ttl = min(soa.Hdr.Ttl, soa.Minttl)
		z.rr.Store(auth)
		z.served = true
		return true
	}
	return false
}

func equalName(a, b string) bool { return dns.CanonicalName(a) == dns.CanonicalName(b) }

// refreshSOA asks the next plugin for every zone's SOA. The root's is never
// the one a managed name's negative answers need (see placeZones).
func (f *Failover) refreshSOA() {
	for _, z := range f.soas {
		if z.zone != "." {
			z.learn(f.askNext(z.zone, dns.TypeSOA))
		}
	}
}

// placeZones finds the zone of each managed name of a server block for the
// root (".:53 { ... forward ... }"), whose own zone tells nothing: the SOA
// that the next plugin puts in its answer for the name is its zone's. It
// runs once in start, before the handler serves.
func (f *Failover) placeZones() {
	placed := false
	for name, e := range f.names {
		if e.soa.zone != "." {
			continue
		}
		// A name inside a zone already found is taken to be in it, so that
		// ten thousand names of one zone cost one lookup, not ten thousand.
		if z := f.enclosing(name); z != nil {
			e.soa, placed = z, true
			continue
		}
		m := f.askNext(name, dns.TypeSOA)
		if m == nil {
			continue
		}
		for _, rr := range slices.Concat(m.Answer, m.Ns) {
			if soa, ok := rr.(*dns.SOA); ok && dns.IsSubDomain(soa.Hdr.Name, name) && soa.Hdr.Name != "." {
				e.soa = f.zoneSOA(dns.CanonicalName(soa.Hdr.Name))
				e.soa.learn(m)
				placed = true
				break
			}
		}
	}
	if placed {
		f.ents = emptyNonTerminals(f.names)
	}
}

// enclosing is the longest zone found so far, other than the root, that
// holds name.
func (f *Failover) enclosing(name string) *zoneSOA {
	var best *zoneSOA
	for _, z := range f.soas {
		if z.zone != "." && dns.IsSubDomain(z.zone, name) && (best == nil || len(z.zone) > len(best.zone)) {
			best = z
		}
	}
	return best
}

// zoneSOA returns the server block's SOA source for zone, making it.
func (f *Failover) zoneSOA(zone string) *zoneSOA {
	for _, z := range f.soas {
		if z.zone == zone {
			return z
		}
	}
	z := newZoneSOA(zone)
	f.soas = append(f.soas, z)
	return z
}

// askNext sends a query of the plugin's own down the chain and returns the
// answer, which nonwriter keeps instead of sending.
func (f *Failover) askNext(name string, qtype uint16) *dns.Msg {
	next := f.Next
	if c, ok := next.(*cache.Cache); ok {
		// cache, which runs right after failover, would hand back the SOA
		// it holds, and a new serial would wait for its TTL.
		next = c.Next
	}
	if next == nil {
		return nil
	}
	r := new(dns.Msg)
	r.SetQuestion(name, qtype)
	w := nonwriter.New(loopbackWriter{})
	ctx, cancel := context.WithTimeout(context.Background(), soaLookupTimeout)
	defer cancel()
	next.ServeDNS(ctx, w, r)
	return w.Msg
}

// loopbackWriter is the client of the plugin's own queries: it has loopback
// addresses for plugins that look at them and writes nothing.
type loopbackWriter struct{}

var loopbackAddr = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}

func (loopbackWriter) LocalAddr() net.Addr         { return loopbackAddr }
func (loopbackWriter) RemoteAddr() net.Addr        { return loopbackAddr }
func (loopbackWriter) WriteMsg(*dns.Msg) error     { return nil }
func (loopbackWriter) Write(b []byte) (int, error) { return len(b), nil }
func (loopbackWriter) Close() error                { return nil }
func (loopbackWriter) TsigStatus() error           { return nil }
func (loopbackWriter) TsigTimersOnly(bool)         {}
func (loopbackWriter) Hijack()                     {}
