package failover

import (
	"context"

	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"
)

// The names a server block manages exist, whatever their types, and so do
// the empty non-terminals between them and their zone (RFC 8020). When the
// next plugin, which knows none of them, answers NXDOMAIN for one, the
// answer becomes NODATA with the zone's SOA.

// existsWriter turns the next plugin's NXDOMAIN for a name that exists into
// NODATA. A name error after a CNAME chain is about the chain's target and
// stays as it is.
type existsWriter struct {
	dns.ResponseWriter
	soa  *zoneSOA
	echo echo // the query's ECS, echoed when the next plugin did not
	r    *dns.Msg
}

func (w *existsWriter) WriteMsg(m *dns.Msg) error {
	if m.Rcode == dns.RcodeNameError && len(m.Answer) == 0 {
		m.Rcode = dns.RcodeSuccess
		m.Authoritative = true
		// The next plugin's denial (an NSEC proving that the name does not
		// exist) would contradict the answer; only the SOA stays, with the
		// TTL of negative answers (RFC 2308 section 3).
		ns := []dns.RR{w.soa.authority()}
		for _, rr := range m.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				soa = dns.Copy(soa).(*dns.SOA) // the next plugin's record, not ours to change
				soa.Hdr.Ttl = min(soa.Hdr.Ttl, soa.Minttl)
				ns[0] = soa
				break
			}
		}
		m.Ns = ns
	}
	if e := w.echo.ecs; e != nil && firstECSOf(m) == nil {
		if opt := m.IsEdns0(); opt != nil {
			opt.Option = append(opt.Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: e.Family,
				SourceNetmask: e.SourceNetmask, SourceScope: w.echo.scope, Address: e.Address})
		} else {
			echoECS(m, w.r, e, w.echo.scope)
		}
	}
	return w.ResponseWriter.WriteMsg(m)
}

// passExisting hands a query for a name that exists to the next plugin,
// answering NODATA itself when there is no next plugin.
func (f *Failover) passExisting(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, soa *zoneSOA, e echo) (int, error) {
	if f.Next == nil {
		return f.writeEmpty(ctx, w, r, e, soa, nil, nil)
	}
	ew := &existsWriter{ResponseWriter: w, soa: soa, echo: e, r: r}
	return plugin.NextOrFailure(f.Name(), f.Next, ctx, ew, r)
}

// firstECSOf is m's ECS option, or nil.
func firstECSOf(m *dns.Msg) *dns.EDNS0_SUBNET {
	if o := m.IsEdns0(); o != nil {
		for _, opt := range o.Option {
			if e, ok := opt.(*dns.EDNS0_SUBNET); ok {
				return e
			}
		}
	}
	return nil
}

// emptyNonTerminals lists the names between each managed name and its zone
// that are not managed themselves, with the SOA of their zone.
func emptyNonTerminals(names map[string]*entry) map[string]*zoneSOA {
	ents := make(map[string]*zoneSOA)
	for name, e := range names {
		zone := e.soa.zone
		for n := name; ; {
			i, end := dns.NextLabel(n, 0)
			if end {
				break
			}
			n = n[i:]
			if !dns.IsSubDomain(zone, n) || equalName(n, zone) {
				break
			}
			if _, managed := names[n]; !managed {
				ents[n] = e.soa
			}
		}
	}
	return ents
}
