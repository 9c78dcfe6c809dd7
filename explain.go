package failover

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/api"
	"github.com/failover-dns/failover/plugin/control"
	"github.com/failover-dns/failover/plugin/geo"
	"github.com/failover-dns/failover/plugin/health"
	"github.com/failover-dns/failover/plugin/policy"
)

// explain says what a query of qtype from client gets from m now, and why
// each endpoint left out of it is.
func explain(m *managed, client netip.Addr, qtype uint16) api.Explanation {
	v := m.view.Load()
	snap := m.controls()
	out := api.Explanation{Name: m.cfg.Names[0], Type: dns.TypeToString[qtype], Client: client.String(),
		Policy: m.cfg.Policy.String(), TTL: v.ttl, MaxAnswers: m.cfg.MaxAnswers, Answer: []string{}, LeftOut: []api.LeftOut{}}
	g := 0
	if m.route != nil {
		loc, found := m.route.source.DB().Lookup(client)
		g = m.route.group(loc)
		out.Group = m.route.label(g)
		if found {
			out.Location = &api.Location{Network: loc.Network.String(), Continent: geo.CodeString(loc.Continent),
				Country: geo.CodeString(loc.Country), Subdivision: geo.CodeString(loc.Subdivision)}
		}
	}
	fam := v.groups[g].forType(qtype)
	if fam == nil {
		out.Action = "no_data_for_type"
		if m.cfg.Fallthrough {
			out.Action = "fallthrough"
		}
		for _, ep := range m.endpoints {
			out.LeftOut = append(out.LeftOut, api.LeftOut{Address: ep.cfg.Address, Reason: kindReason(ep)})
		}
		return out
	}
	if fam == v.groups[g].cname {
		out.MaxAnswers = 1
	}
	switch {
	case fam.mode == passOn:
		out.Action = "fallthrough"
	case fam.mode == servFail:
		out.Action = "servfail"
	case fam.mode == noData:
		out.Action = "nodata"
	case fam.allDown:
		out.Action = "return_all"
	default:
		out.Action = "answer"
	}
	for _, ep := range fam.chosen {
		out.Answer = append(out.Answer, ep.cfg.Address)
	}
	if len(fam.chosen) > 0 && m.cfg.Policy != policy.ActiveActive && m.cfg.Policy != policy.Weighted {
		tier := fam.chosen[0].cfg.Priority
		out.Tier = &tier
	}
	if m.route != nil && len(fam.chosen) > 0 && !slices.Contains(m.route.members[g], fam.chosen[0]) {
		if slices.Contains(m.route.members[m.route.defaultGroup()], fam.chosen[0]) {
			out.Group += ": none up, answering from default"
		} else {
			out.Group += ": none up, answering from every healthy endpoint"
		}
	}
	for _, ep := range m.endpoints {
		if slices.Contains(fam.chosen, ep) {
			continue
		}
		out.LeftOut = append(out.LeftOut, api.LeftOut{Address: ep.cfg.Address, Reason: leftOutReason(m, ep, fam, snap, g, qtype)})
	}
	return out
}

func kindReason(ep *endpoint) string {
	switch {
	case ep.cfg.IsHost():
		return "a host name: answered as a CNAME"
	case ep.cfg.IP.Is4():
		return "an IPv4 address: answers A queries"
	}
	return "an IPv6 address: answers AAAA queries"
}

func leftOutReason(m *managed, ep *endpoint, fam *family, snap *control.Snapshot, g int, qtype uint16) string {
	name := m.cfg.Names[0]
	if !ep.cfg.IsHost() && (qtype == dns.TypeA) != ep.cfg.IP.Is4() {
		return kindReason(ep)
	}
	if snap != nil {
		if o, _, ok := snap.Override(name, ep.cfg.Address); ok && o.State != control.Up {
			return withReason("override "+o.State.String(), o.Reason)
		}
		if sigs := snap.Signals(name, ep.cfg.Address); len(sigs) > 0 {
			var names []string
			for _, s := range sigs {
				names = append(names, s.Alert)
			}
			return "held down by firing alert " + strings.Join(names, ", ")
		}
	}
	if down, why := ep.decided(); down && why != "" {
		return withReason("down", why)
	}
	if ep.monitor != nil && ep.monitor.State() == health.Down {
		return withReason("down", ep.monitor.Status().Last.Reason())
	}
	if fam.mode != answer {
		return "every endpoint it may use is down"
	}
	if m.route != nil && !slices.Contains(m.route.members[g], ep) {
		return "not in the geo group that answers this client (" + m.route.label(g) + ")"
	}
	if m.cfg.Policy == policy.Weighted && ep.cfg.Weight == 0 {
		return "weight 0: answered only when no endpoint of positive weight is up"
	}
	if len(fam.chosen) > 0 && ep.cfg.Priority != fam.chosen[0].cfg.Priority {
		return fmt.Sprintf("priority %d: the tier of priority %d is up and answers", ep.cfg.Priority, fam.chosen[0].cfg.Priority)
	}
	return "not chosen"
}

func withReason(what, why string) string {
	if why == "" {
		return what
	}
	return what + ": " + why
}
