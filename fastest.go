package failover

import (
	"slices"
	"time"

	"github.com/miekg/dns"
)

// leadMargin is how much faster than the leader another endpoint must be to
// take the lead: probe times wobble by more than a few percent, and an
// answer that changed with each wobble would empty resolvers' caches for
// nothing.
const leadMargin = 0.8

// fastLeads are policy fastest's current leaders per record type; under
// managed.mu.
type fastLeads struct{ a, aaaa, cname fastLead }

// fastLead is one record type's leader with every endpoint up (the first
// choice) and among those usable now (the answer).
type fastLead struct {
	intended, served *endpoint
	rttOf            func(*endpoint) time.Duration // nil: the probes'; tests set their own
}

// rank orders eps for policy fastest and keeps the first k: the leader, then
// the fastest of the others. The leader stays until another endpoint is at
// least 20 % faster or it leaves eps; *prev remembers it.
func (l *fastLead) rank(eps []*endpoint, k int, prev **endpoint) []*endpoint {
	if len(eps) == 0 {
		return eps
	}
	rtt := l.rttOf
	if rtt == nil {
		rtt = (*endpoint).rtt
	}
	out := slices.Clone(eps)
	// Unmeasured endpoints (no success yet) go last, in the Corefile's order.
	slices.SortStableFunc(out, func(a, b *endpoint) int {
		ra, rb := rtt(a), rtt(b)
		switch {
		case ra == rb:
			return 0
		case ra == 0:
			return 1
		case rb == 0:
			return -1
		case ra < rb:
			return -1
		}
		return 1
	})
	lead := out[0]
	if cur := *prev; cur != nil && cur != lead && slices.Contains(out, cur) && rtt(cur) > 0 {
		if best := rtt(lead); best == 0 || float64(best) > leadMargin*float64(rtt(cur)) {
			lead = cur
		}
	}
	*prev = lead
	if i := slices.Index(out, lead); i > 0 {
		copy(out[1:i+1], out[:i])
		out[0] = lead
	}
	return out[:min(k, len(out))]
}

// rtt is the endpoint's smoothed probe round trip, 0 when unmeasured.
func (ep *endpoint) rtt() time.Duration {
	if ep.monitor == nil {
		return 0
	}
	return ep.monitor.RTT()
}

// rerank rebuilds m's view when the probes' round trips have changed its
// ranking; it is called after every probe of a fastest stanza, and most do
// not change it.
func (m *managed) rerank() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.view.Load()
	for g := range cur.groups {
		levels := m.levels(g)
		for _, x := range []struct {
			fam        *family
			keep       func(*endpoint) bool
			qtype      uint16
			maxAnswers int
			lead       fastLead
		}{
			{cur.groups[g].a, isV4, dns.TypeA, m.cfg.MaxAnswers, m.fast.a},
			{cur.groups[g].aaaa, isV6, dns.TypeAAAA, m.cfg.MaxAnswers, m.fast.aaaa},
			{cur.groups[g].cname, isHost, dns.TypeCNAME, 1, m.fast.cname},
		} {
			if x.fam == nil || x.fam.mode != answer {
				continue
			}
			// The choice a rebuild would make, on a copy of the leaders:
			// this only asks.
			var out []*endpoint
			if m.holding {
				out = x.fam.first // as resolve leaves it out
			}
			chosen, _, _ := m.choose(byKind(levels, x.keep), x.qtype, x.maxAnswers, m.tierNeeds(), &x.lead, out)
			if chosen != nil && !sameEndpoints(chosen, x.fam.chosen) {
				return true
			}
		}
	}
	return false
}
