package failover

import (
	"net"
	"slices"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/policy"
	"github.com/failover-dns/failover/plugin/stanza"
)

// An alias:NAME endpoint answers with NAME's current answer, in place: its
// target's chosen addresses under this stanza's name and TTL. It is up
// while the target's answer is healthy (under the target's min_healthy).

// answers reports whether ep may answer qtype now: an alias only while its
// target has a healthy answer of that type.
func (ep *endpoint) answers(qtype uint16) bool {
	if ep.target == nil {
		return !ep.cfg.IsAlias() // an alias not wired yet (during setup) has nothing
	}
	f := ep.targetFamily(qtype)
	return f != nil && f.healthy
}

func (ep *endpoint) targetFamily(qtype uint16) *family {
	v := ep.target.view.Load()
	if v == nil {
		return nil
	}
	return v.groups[0].forType(qtype)
}

// recordsFor is what ep answers for qtype: its own record, or for an alias
// one record per address of its target's answer; m.mu is held.
func (ep *endpoint) recordsFor(qtype uint16) []*choice {
	if ep.target == nil {
		if ep.cfg.IsAlias() {
			return nil
		}
		return ep.choices[:1]
	}
	f := ep.targetFamily(qtype)
	if f == nil || f.mode != answer {
		return nil
	}
	m := ep.owner
	out := make([]*choice, 0, len(f.chosen))
	for _, t := range f.chosen {
		for _, c := range t.recordsFor(qtype) {
			addr := rrAddress(c.rr)
			rr, ok := ep.aliasRRs[addr]
			if !ok || rr.rr.Header().Ttl != m.ttl {
				rr = &choice{ep: ep, answered: ep.choices[0].answered, rr: aliasRecord(m.cfg.Names[0], m.ttl, c.rr)}
				if ep.aliasRRs == nil {
					ep.aliasRRs = map[string]*choice{}
				}
				ep.aliasRRs[addr] = rr
			}
			out = append(out, rr)
		}
	}
	return out
}

// seedFor is the rendezvous seed of one of ep's records: an alias's
// addresses each have their own.
func (ep *endpoint) seedFor(c *choice) uint64 {
	if ep.target == nil {
		return ep.seed
	}
	return policy.Seed(rrAddress(c.rr))
}

func rrAddress(rr dns.RR) string {
	switch rr := rr.(type) {
	case *dns.A:
		return rr.A.String()
	case *dns.AAAA:
		return rr.AAAA.String()
	}
	return ""
}

// aliasRecord is rr's address under name and ttl.
func aliasRecord(name string, ttl uint32, rr dns.RR) dns.RR {
	hdr := dns.RR_Header{Name: name, Rrtype: rr.Header().Rrtype, Class: dns.ClassINET, Ttl: ttl}
	switch rr := rr.(type) {
	case *dns.A:
		return &dns.A{Hdr: hdr, A: net.IP(rr.A)}
	case *dns.AAAA:
		return &dns.AAAA{Hdr: hdr, AAAA: net.IP(rr.AAAA)}
	}
	return nil
}

// wireAliases points every alias endpoint at its target's stanza, refusing
// unknown names, targets whose answer depends on the client or is a CNAME,
// and loops; it returns the stanzas in an order where targets come before
// the stanzas that alias them.
func wireAliases(names map[string]*entry, stanzas []*managed) ([]*managed, error) {
	for _, m := range stanzas {
		for _, ep := range m.endpoints {
			if !ep.cfg.IsAlias() {
				continue
			}
			e := names[ep.cfg.Alias]
			if e == nil {
				return nil, stanza.Errorf(m.cfg.File, ep.cfg.Line, "endpoint %s: %s is not a name managed by a failover block of this server block; an alias answers another managed name's answer", ep.cfg.Address, ep.cfg.Alias)
			}
			t := e.m
			switch {
			case t.cfg.ByClient():
				return nil, stanza.Errorf(m.cfg.File, ep.cfg.Line, "endpoint %s: %s answers by client (policy %s or sticky), and an alias answers every client alike; alias stanzas of another policy", ep.cfg.Address, ep.cfg.Alias, t.cfg.Policy)
			case len(t.cfg.Endpoints) > 0 && t.cfg.Endpoints[0].IsHost():
				return nil, stanza.Errorf(m.cfg.File, ep.cfg.Line, "endpoint %s: %s answers with a CNAME, and an alias answers addresses", ep.cfg.Address, ep.cfg.Alias)
			}
			ep.target = t
			if !slices.Contains(t.dependents, m) {
				t.dependents = append(t.dependents, m)
			}
		}
	}
	// Targets first, by a depth-first walk that finds loops on its way.
	const (
		unseen = iota
		onPath
		done
	)
	mark := map[*managed]int{}
	var order []*managed
	var visit func(m *managed) error
	visit = func(m *managed) error {
		switch mark[m] {
		case done:
			return nil
		case onPath:
			return stanza.Errorf(m.cfg.File, m.cfg.Line, "failover %s is part of an alias loop; an alias chain must end at a stanza of addresses", m.cfg.Names[0])
		}
		mark[m] = onPath
		for _, ep := range m.endpoints {
			if ep.target != nil {
				if err := visit(ep.target); err != nil {
					return err
				}
			}
		}
		mark[m] = done
		order = append(order, m)
		return nil
	}
	for _, m := range stanzas {
		if err := visit(m); err != nil {
			return nil, err
		}
	}
	return order, nil
}

func hasAlias(m *managed) bool {
	for _, ep := range m.endpoints {
		if ep.target != nil {
			return true
		}
	}
	return false
}
