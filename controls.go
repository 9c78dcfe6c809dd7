package failover

import (
	"sort"
	"strings"
	"time"

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
func (m *managed) judge(now time.Time) (overrides string, ttl uint32) {
	snap := m.controls()
	name := m.cfg.Names[0]
	ttl = m.cfg.TTL
	if snap != nil {
		if t, ok := snap.TTL(name, now); ok {
			ttl = t.TTL
		}
	}
	if ttl != m.ttl {
		m.retime(ttl)
	}
	var said []string
	for _, ep := range m.endpoints {
		ep.stand = usable
		if !ep.up() || snap != nil && snap.Signaled(name, ep.cfg.Address) {
			ep.stand = unusable
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
			ep.stand = unusable
		case control.Drain:
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
			ep.choices[n] = &choice{rr: record(m.cfg.Names[n], ttl, ep.cfg), answered: c.answered}
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
			members[i] = policy.Member{Priority: ep.cfg.Priority, Weight: ep.cfg.Weight, Up: ep.stand == drained}
			any = any || ep.stand == drained
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
	if ep.monitor == nil {
		return health.Up
	}
	return ep.monitor.State()
}
