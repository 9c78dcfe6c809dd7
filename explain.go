package failover

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

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
	var p placed
	if m.asker != nil {
		p = m.place(client)
		g = p.group
		if m.route != nil || m.near != nil {
			out.Group = m.groupLabel(g)
		}
		if loc, found := m.locate(client); found {
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
	answered := fam.chosen
	if fam.mode == answer && (fam.near || fam.sets[0].IsSticky()) {
		answered = nil
		for _, c := range fam.pickFor(&p, nil) {
			answered = append(answered, c.ep)
		}
	}
	for _, ep := range answered {
		out.Answer = append(out.Answer, ep.cfg.Address)
	}
	if len(fam.chosen) > 0 && m.cfg.Policy != policy.ActiveActive && m.cfg.Policy != policy.Weighted {
		tier := fam.chosen[0].cfg.Priority
		out.Tier = &tier
	}
	if lv := m.levels(g); len(lv) > 1 && len(fam.chosen) > 0 && !slices.Contains(lv[0], fam.chosen[0]) {
		if slices.Contains(lv[1], fam.chosen[0]) {
			out.Group += ": none up, answering from " + m.fallbackLabel(g)
		} else {
			out.Group += ": none up, answering from every healthy endpoint"
		}
	}
	for _, ep := range m.endpoints {
		if slices.Contains(answered, ep) {
			continue
		}
		reason := leftOutReason(m, ep, fam, snap, g, qtype)
		if slices.Contains(fam.chosen, ep) {
			reason = clientReason(m, fam)
		}
		out.LeftOut = append(out.LeftOut, api.LeftOut{Address: ep.cfg.Address, Reason: reason})
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
	if ep.target != nil && !ep.answers(qtype) {
		return "alias: " + ep.cfg.Alias + " has no healthy answer of this type (under its own min_healthy)"
	}
	m.mu.Lock()
	stand, since := ep.stand, ep.since
	holding := m.holding
	m.mu.Unlock()
	switch {
	case stand == held:
		return fmt.Sprintf("failback_delay: back up since %s, answered again from %s", stamp(since), stamp(since.Add(m.cfg.FailbackDelay)))
	case holding && slices.Contains(fam.first, ep) && stand == usable:
		return "failback manual: the first choice waits for an operator (POST /v1/names/" + name + "/failback)"
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
	if lv := m.levels(g); len(lv) > 1 && !slices.Contains(lv[0], ep) && (m.route != nil || m.near != nil) {
		if m.near != nil {
			return "not among the endpoints that answer this client (" + m.groupLabel(g) + ")"
		}
		return "not in the geo group that answers this client (" + m.groupLabel(g) + ")"
	}
	if m.cfg.Policy == policy.Fastest && len(fam.chosen) > 0 {
		return fmt.Sprintf("slower: smoothed round trip %s, the answer's leader %s", ep.rtt().Round(time.Microsecond), fam.chosen[0].rtt().Round(time.Microsecond))
	}
	if m.cfg.Policy == policy.Weighted && ep.cfg.Weight == 0 {
		return "weight 0: answered only when no endpoint of positive weight is up"
	}
	if len(fam.chosen) > 0 && ep.cfg.Priority != fam.chosen[0].cfg.Priority {
		return fmt.Sprintf("priority %d: the tier of priority %d is up and answers", ep.cfg.Priority, fam.chosen[0].cfg.Priority)
	}
	return "not chosen"
}

// clientReason says why an endpoint the policy could use was not this
// client's answer.
func clientReason(m *managed, fam *family) string {
	if fam.near {
		return "farther from the client than the answer"
	}
	return fmt.Sprintf("sticky: the client's subnet (/%d, /%d) ranks it below the answer", m.cfg.StickyV4, m.cfg.StickyV6)
}

// locate is where the database puts client, for explanations.
func (m *managed) locate(client netip.Addr) (geo.Location, bool) {
	var src *geo.Source
	switch {
	case m.route != nil:
		src = m.route.source
	case m.near != nil:
		src = m.near.source
	}
	if src == nil {
		return geo.Location{}, false
	}
	return src.DB().Lookup(client)
}

// groupLabel names view group g for people.
func (m *managed) groupLabel(g int) string {
	switch {
	case m.route != nil:
		return m.route.label(g)
	case m.near != nil:
		return m.near.label(g)
	}
	return ""
}

// fallbackLabel names the level group g falls back to first.
func (m *managed) fallbackLabel(g int) string {
	if m.route != nil {
		if _, f := m.route.split(g); f >= 0 {
			return "the fence " + m.route.fences[f].loc.String()
		}
	}
	return "default"
}

func withReason(what, why string) string {
	if why == "" {
		return what
	}
	return what + ": " + why
}
