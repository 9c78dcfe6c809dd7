package failover

import (
	"net/netip"
	"strings"

	"github.com/failover-dns/failover/plugin/geo"
	"github.com/failover-dns/failover/plugin/nets"
	"github.com/failover-dns/failover/plugin/stanza"
)

// geoRoute maps a client's location to a group of endpoints. A group is the
// endpoints that name one location (locations named by the same endpoints
// share a group); the last base group is the default endpoints. A fence
// adds, for each base group, a fenced copy that never leaves the fence.
// Everything here is built in setup and only read by queries.
type geoRoute struct {
	source  *geo.Source       // nil when every location is a net
	nets    *nets.Table       // nil without net: locations
	byKind  [3]map[uint64]int // continent, country, subdivision: packed code -> group
	members [][]*endpoint     // per base group
	labels  []string          // per base group, for log lines
	fences  []fence
	// netsOnly: a client a listed net holds is placed by it alone, so its
	// scope is the net's; with a fence by database location it is not.
	dbFence bool
}

// fence is one fence location and the group of the endpoints naming it.
type fence struct {
	loc   stanza.Location
	code  uint64
	group int
}

func newGeoRoute(m *managed, src *geo.Source) *geoRoute {
	r := &geoRoute{source: src}
	if !m.cfg.NeedsDB() {
		r.source = nil
	}
	byLoc := map[stanza.Location][]*endpoint{}
	var order []stanza.Location
	var defaults []*endpoint
	for _, ep := range m.endpoints {
		for _, loc := range ep.cfg.Geo {
			if _, ok := byLoc[loc]; !ok {
				order = append(order, loc)
			}
			byLoc[loc] = append(byLoc[loc], ep)
		}
		if ep.cfg.Default {
			defaults = append(defaults, ep)
		}
	}
	// Locations named by the same endpoints answer alike: one group, so that
	// thousands of nets make a handful of groups to rebuild.
	bySet := map[string]int{}
	groupOf := map[stanza.Location]int{}
	var entries []nets.Entry
	for _, loc := range order {
		eps := byLoc[loc]
		key := endpointsKey(eps)
		g, ok := bySet[key]
		if !ok {
			g = len(r.members)
			bySet[key] = g
			r.members = append(r.members, eps)
			r.labels = append(r.labels, loc.String())
		} else if len(r.labels[g]) < 200 {
			r.labels[g] += " " + loc.String()
		}
		groupOf[loc] = g
		if loc.Kind == stanza.Net {
			entries = append(entries, nets.Entry{Prefix: loc.Prefix, Group: g})
			continue
		}
		k := int(loc.Kind) - 1
		if r.byKind[k] == nil {
			r.byKind[k] = map[uint64]int{}
		}
		r.byKind[k][geo.Code(loc.Code)] = g
	}
	if len(entries) > 0 {
		r.nets = nets.New(entries)
	}
	r.members = append(r.members, defaults)
	r.labels = append(r.labels, "default")
	for _, loc := range m.cfg.Fence {
		r.fences = append(r.fences, fence{loc: loc, code: geo.Code(loc.Code), group: groupOf[loc]})
		r.dbFence = r.dbFence || loc.Kind != stanza.Net
	}
	return r
}

func endpointsKey(eps []*endpoint) string {
	var b strings.Builder
	for _, ep := range eps {
		b.WriteString(ep.cfg.Address)
		b.WriteByte(' ')
	}
	return b.String()
}

// groups counts the view's groups: the base ones, and a fenced copy of each
// per fence.
func (r *geoRoute) groups() int       { return len(r.members) * (1 + len(r.fences)) }
func (r *geoRoute) defaultGroup() int { return len(r.members) - 1 }

// split tells a view group's base group and fence (-1 for none).
func (r *geoRoute) split(g int) (base, fence int) {
	n := len(r.members)
	return g % n, g/n - 1
}

func (r *geoRoute) label(g int) string {
	base, f := r.split(g)
	if f < 0 {
		return r.labels[base]
	}
	return r.labels[base] + " (fenced in " + r.fences[f].loc.String() + ")"
}

// levels are the endpoint lists group g falls back through, best first: its
// own endpoints, then the default ones, then all of them; inside a fence its
// own, then the fence's, and nothing beyond.
func (r *geoRoute) levels(g int, all []*endpoint) [][]*endpoint {
	base, f := r.split(g)
	if f >= 0 {
		return [][]*endpoint{r.members[base], r.members[r.fences[f].group]}
	}
	return [][]*endpoint{r.members[base], r.members[r.defaultGroup()], all}
}

// place finds the client's group, and the length of the block around it
// that gets the same group (the ECS scope).
func (r *geoRoute) place(addr netip.Addr) (g, scope int) {
	var loc geo.Location
	g = -1
	if r.nets != nil {
		var inNet bool
		g, inNet, scope = r.nets.Lookup(addr)
		if !inNet {
			g = -1
		}
	}
	if r.source != nil && (g < 0 || r.dbFence) {
		loc, _ = r.source.DB().Lookup(addr)
		scope = max(scope, loc.Network.Bits())
	}
	if g < 0 {
		g = r.byLocation(loc)
	}
	if f := r.fenceOf(addr, loc); f >= 0 {
		g += len(r.members) * (f + 1)
	}
	return g, scope
}

// byLocation picks the most specific group that names the location.
func (r *geoRoute) byLocation(loc geo.Location) int {
	if g, ok := r.byKind[stanza.Subdivision-1][loc.Subdivision]; ok && loc.Subdivision != 0 {
		return g
	}
	if g, ok := r.byKind[stanza.Country-1][loc.Country]; ok && loc.Country != 0 {
		return g
	}
	if g, ok := r.byKind[stanza.Continent-1][loc.Continent]; ok && loc.Continent != 0 {
		return g
	}
	return r.defaultGroup()
}

// fenceOf is the first fence holding the client, or -1.
func (r *geoRoute) fenceOf(addr netip.Addr, loc geo.Location) int {
	for i := range r.fences {
		f := &r.fences[i]
		var in bool
		switch f.loc.Kind {
		case stanza.Net:
			in = f.loc.Prefix.Contains(addr)
		case stanza.Continent:
			in = loc.Continent == f.code
		case stanza.Country:
			in = loc.Country == f.code
		case stanza.Subdivision:
			in = loc.Subdivision == f.code
		}
		if in {
			return i
		}
	}
	return -1
}
