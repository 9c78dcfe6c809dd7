package failover

import (
	"net/netip"

	"github.com/failover-dns/failover/plugin/geo"
)

// nearRoute places clients for policy nearest: those the database gives
// coordinates answer from the positioned endpoints by distance (group 0),
// the others from the default endpoints (group 1).
type nearRoute struct {
	source     *geo.Source
	positioned []*endpoint
	defaults   []*endpoint
}

const nearGroups = 2

func newNearRoute(m *managed, src *geo.Source) *nearRoute {
	r := &nearRoute{source: src}
	for _, ep := range m.endpoints {
		if ep.cfg.At != nil {
			r.positioned = append(r.positioned, ep)
		}
		if ep.cfg.Default {
			r.defaults = append(r.defaults, ep)
		}
	}
	return r
}

// levels: a placed client falls back from the positioned endpoints to the
// defaults; one without coordinates from the defaults to any endpoint up.
func (r *nearRoute) levels(g int, all []*endpoint) [][]*endpoint {
	if g == 0 {
		return [][]*endpoint{r.positioned, r.defaults}
	}
	return [][]*endpoint{r.defaults, all}
}

// allPositioned reports whether every endpoint of eps has coordinates, so that
// queries can pick among them by distance.
func (r *nearRoute) allPositioned(eps []*endpoint) bool {
	for _, ep := range eps {
		if ep.cfg.At == nil {
			return false
		}
	}
	return true
}

// place finds the client's group and coordinates, and the length of the
// database network it lies in (the ECS scope).
func (r *nearRoute) place(addr netip.Addr) (g, scope int, at geo.Point) {
	loc, found := r.source.DB().Lookup(addr)
	scope = max(loc.Network.Bits(), 0)
	if !found || !loc.HasCoords {
		return 1, scope, at
	}
	return 0, scope, loc.Point
}

func (r *nearRoute) label(g int) string {
	if g == 0 {
		return "nearest"
	}
	return "default (no coordinates)"
}
