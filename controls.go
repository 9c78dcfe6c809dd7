package failover

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/control"
	"github.com/failover-dns/failover/plugin/health"
	"github.com/failover-dns/failover/plugin/policy"
)

// standing is what a rebuild may do with an endpoint, all things considered:
// its probe, outside signals and an override.
type standing uint8

const (
	usable   standing = iota
	drained           // answered only when nothing else may be
	unusable          // down by its probe, a signal or an override
	held              // back up, but held out (failback_delay, failback manual); answered only when nothing else may be
)

// controls is the book now, or nil.
func (m *managed) controls() *control.Snapshot {
	if m.book == nil {
		return nil
	}
	return m.book.Snapshot()
}

// judge sets every endpoint's standing and the records' TTL for a rebuild;
// m.mu is held. It returns the overrides in effect, as the metadata shows
// them, and the TTL.
func (m *managed) judge(now time.Time, honour bool) (overrides string, ttl uint32) {
	snap := m.controls()
	name := m.cfg.Names[0]
	ttl = m.cfg.TTL
	if snap != nil {
		if t, ok := snap.TTL(name, now); ok {
			ttl = t.TTL
		}
	}
	m.holding = false
	if snap != nil {
		_, m.holding = snap.Hold(name)
	}
	var said []string
	for _, ep := range m.endpoints {
		ep.stand, ep.removed = usable, false
		if down, _ := ep.decided(); down || snap != nil && snap.Signaled(name, ep.cfg.Address) {
			ep.stand = unusable
		}
		if honour && ep.attached() {
			m.noteHealth(ep, ep.stand == usable, now)
			ep.stand = m.delayed(ep, now)
		} else {
			ep.stand = usable // observe_only: the answers ignore health
		}
		if snap == nil {
			continue
		}
		o, _, ok := snap.Override(name, ep.cfg.Address)
		if !ok {
			continue
		}
		said = append(said, ep.cfg.Address+"="+o.State.String())
		switch o.State {
		case control.Up:
			ep.stand = usable
		case control.Down:
			ep.stand, ep.removed = unusable, true
		case control.Drain:
			ep.removed = true
			if ep.stand == usable {
				ep.stand = drained
			}
		}
	}
	sort.Strings(said)
	return strings.Join(said, " "), ttl
}

// retime makes every endpoint's records carry ttl; views already published
// keep theirs.
func (m *managed) retime(ttl uint32) {
	for _, ep := range m.endpoints {
		for n, c := range ep.choices {
			ep.choices[n] = &choice{rr: record(m.cfg.Names[n], ttl, ep.cfg), answered: c.answered, ep: ep}
		}
	}
	m.ttl = ttl
}

// drainedLevel is the first fallback level whose drained endpoints may
// answer, when no level has a usable one: a drain never takes the last
// endpoints out of the answer.
func (m *managed) drainedLevel(levels [][]*endpoint) []*endpoint {
	for li, eps := range levels {
		members := make([]policy.Member, len(eps))
		any := false
		for i, ep := range eps {
			members[i] = policy.Member{Priority: ep.cfg.Priority, Weight: ep.cfg.Weight, Up: ep.stand == drained || ep.stand == held}
			any = any || members[i].Up
		}
		if !any {
			continue
		}
		if idx, down := policy.Eligible(m.levelPolicy(li), members); !down {
			return pick(eps, idx)
		}
	}
	return nil
}

// probeState is an endpoint's health from its probe and outside signals,
// as the API reports it.
func (ep *endpoint) probeState(snap *control.Snapshot) health.State {
	if snap != nil && snap.Signaled(ep.owner.cfg.Names[0], ep.cfg.Address) {
		return health.Down
	}
	if ep.target != nil { // an alias: up while its target has a healthy answer
		if ep.answers(dns.TypeA) || ep.answers(dns.TypeAAAA) {
			return health.Up
		}
		return health.Down
	}
	if ep.monitor == nil {
		return health.Up
	}
	if ep.owner.votes != nil || len(ep.monitors) > 1 { // the replicas' votes, or the checks by require
		if down, _ := ep.decided(); down {
			return health.Down
		}
		return health.Up
	}
	return ep.monitor.State()
}

// noteDrained remembers when a drained endpoint, answered because nothing
// else could be, leaves the answer again: caches may hold it from then on,
// so its drain is safe only a TTL later. m.mu is held.
func (m *managed) noteDrained(v *view, now time.Time) {
	if !slices.ContainsFunc(m.endpoints, func(ep *endpoint) bool { return ep.stand == drained || ep.drainServing }) {
		return // the usual case: no drain, nothing to note and nothing to allocate
	}
	served := map[*endpoint]bool{}
	for g := range v.groups {
		for _, fam := range []*family{v.groups[g].a, v.groups[g].aaaa, v.groups[g].cname} {
			if fam == nil {
				continue
			}
			for _, ep := range fam.chosen {
				served[ep] = true
			}
		}
	}
	for _, ep := range m.endpoints {
		switch answered := served[ep] && ep.stand == drained; {
		case answered:
			ep.drainServing = true
		case ep.drainServing:
			ep.drainServing, ep.drainServed = false, now
		}
		if ep.stand != drained && !ep.drainServing {
			ep.drainServed = time.Time{}
		}
	}
}

// safeAt is when a drain of ep is safe: the drain's own safe_at, unless
// the endpoint was answered since it began, in which case a TTL after it
// was last answered; while it is answered, not yet.
func (ep *endpoint) safeAt(o control.Override, now time.Time) time.Time {
	m := ep.owner
	m.mu.Lock()
	serving, served, ttl := ep.drainServing, ep.drainServed, m.ttl
	m.mu.Unlock()
	safe := safeAt(o, m.cfg.TTL)
	switch {
	case serving:
		safe = later(safe, holdsUntil(now, ttl))
	case served.After(o.SetAt):
		safe = later(safe, holdsUntil(served, ttl))
	}
	return safe
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// intended is members as the operator wants them, every check passing: the
// first choice. An endpoint an operator took out is not part of it, so a
// planned drain is not a failover; when every endpoint is out, all are.
func intended(eps []*endpoint, members []policy.Member) []policy.Member {
	out := policy.AllUp(members)
	any := false
	for i, ep := range eps {
		out[i].Up = !ep.removed
		any = any || out[i].Up
	}
	if !any {
		return policy.AllUp(members)
	}
	return out
}
