package failover

import (
	"math/rand/v2"
	"net/netip"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/geo"
	"github.com/failover-dns/failover/plugin/policy"
)

// placed is where a client stands for one stanza: the view group that
// answers it, and what its answer depends on.
type placed struct {
	group int
	scope int       // the block around the client that gets the same group
	point geo.Point // where it is, for policy nearest
	key   uint64    // its sticky subnet, when sticky
}

// place finds the client at addr's group and sticky subnet.
func (m *managed) place(addr netip.Addr) placed {
	var p placed
	switch {
	case m.route != nil:
		p.group, p.scope = m.route.place(addr)
	case m.near != nil:
		p.group, p.scope, p.point = m.near.place(addr)
	}
	if m.cfg.Sticky {
		p.key = policy.SubnetKey(addr, m.cfg.StickyV4, m.cfg.StickyV6)
		bits := m.cfg.StickyV6
		if addr.Unmap().Is4() {
			bits = m.cfg.StickyV4
		}
		p.scope = max(p.scope, bits)
	}
	return p
}

// pickFor appends the answer of fam for the client p.
func (fam *family) pickFor(p *placed, dst []*choice) []*choice {
	set := fam.sets[0]
	if fam.trickle != nil && rand.Uint64N(1<<32) < fam.trickleShare {
		set = fam.trickle // trickle: the next tier's share
	}
	switch {
	case fam.near:
		return set.PickNear(p.point, p.key, dst)
	case set.IsSticky():
		return set.PickFor(p.key, dst)
	}
	return set.Pick(dst)
}

// routedECS says what the echo of a client's ECS option carries.
func routedECS(ecs *dns.EDNS0_SUBNET, p *placed, uniform bool) routed {
	rc := routed{ecs: ecs, uniform: uniform}
	if ecs != nil && ecs.SourceNetmask > 0 {
		rc.scope = uint8(p.scope)
	}
	return rc
}

// echo is the ECS option a reply carries back, and its scope; ecs is nil
// when the query had none.
type echo struct {
	ecs   *dns.EDNS0_SUBNET
	scope uint8
}

// echo is what a reply other than an answer echoes for this client.
func (rc routed) echo() echo {
	if rc.uniform {
		return echo{ecs: rc.ecs}
	}
	return echo{ecs: rc.ecs, scope: rc.scope}
}
