package failover

import (
	"net"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/failover-dns/failover/plugin/health"
	"github.com/failover-dns/failover/plugin/policy"
	"github.com/failover-dns/failover/plugin/stanza"
	"github.com/miekg/dns"
)

// managed is one stanza at run time: its endpoints, their monitors, the
// prebuilt records and the view that queries read.
type managed struct {
	cfg       *stanza.Stanza
	endpoints []*endpoint

	view atomic.Pointer[view] // replaced whole on every state change; never mutated

	mu         sync.Mutex // serialises rebuilds, never taken by queries
	failedOver bool       // whether the last view left the first choice
}

// endpoint is one endpoint of one stanza.
type endpoint struct {
	cfg     *stanza.Endpoint
	monitor *health.Monitor // nil for an endpoint without a check: always up
	choices []*choice       // one per name of the stanza, built once
}

// choice is what a query may be answered with: one endpoint's record for one
// name, and the counter its answers count in.
type choice struct {
	rr       dns.RR
	answered prometheus.Counter
}

func (e *endpoint) up() bool {
	if e.monitor == nil {
		return true
	}
	// Unknown counts as up: it only lasts until the first probe returns,
	// which happens before the server takes queries.
	return e.monitor.State() != health.Down
}

// family is the answer material for one record type.
type family struct {
	mode    mode
	sets    []*policy.Set[*choice] // one per name of the stanza
	chosen  []*endpoint            // the endpoints the sets draw from
	allDown bool                   // no usable endpoint was up when this was built
}

type mode uint8

const (
	answer   mode = iota
	passOn        // all_down fallthrough
	servFail      // all_down servfail
	noData        // all_down nodata
)

// view is an immutable snapshot of what a stanza answers.
type view struct {
	a, aaaa, cname *family // nil when the stanza has no data of that type
}

// forType returns the material for qtype, or nil when there is none.
func (v *view) forType(qtype uint16) *family {
	if v.cname != nil {
		return v.cname // a host-name stanza answers every type with its CNAME
	}
	switch qtype {
	case dns.TypeA:
		return v.a
	case dns.TypeAAAA:
		return v.aaaa
	}
	return nil
}

func newManaged(cfg *stanza.Stanza) *managed {
	m := &managed{cfg: cfg}
	for i := range cfg.Endpoints {
		ec := &cfg.Endpoints[i]
		ep := &endpoint{cfg: ec}
		for _, name := range cfg.Names {
			ep.choices = append(ep.choices, &choice{
				rr:       record(name, cfg.TTL, ec),
				answered: answers.WithLabelValues(name, ec.Address),
			})
		}
		m.endpoints = append(m.endpoints, ep)
	}
	m.rebuild()
	return m
}

// gauge publishes ep's state in the endpoint_up gauge of each of m's names.
func (m *managed) gauge(ep *endpoint) {
	v := 0.0
	if ep.up() {
		v = 1
	}
	for _, n := range m.cfg.Names {
		endpointUp.WithLabelValues(n, ep.cfg.Address).Set(v)
	}
}

func record(name string, ttl uint32, e *stanza.Endpoint) dns.RR {
	switch {
	case e.IsHost():
		return &dns.CNAME{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: ttl}, Target: e.Address}
	case e.IP.Is4():
		return &dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl}, A: net.IP(e.IP.AsSlice())}
	default:
		return &dns.AAAA{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: ttl}, AAAA: net.IP(e.IP.AsSlice())}
	}
}

// rebuild makes a new view from the endpoints' current states and publishes
// it. It runs at startup and on every transition of one of the endpoints.
// It reports whether the stanza now answers away from its first choice.
func (m *managed) rebuild() (failedOver, changed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var v view
	var v4, v6, hosts []*endpoint
	for _, ep := range m.endpoints {
		switch {
		case ep.cfg.IsHost():
			hosts = append(hosts, ep)
		case ep.cfg.IP.Is4():
			v4 = append(v4, ep)
		default:
			v6 = append(v6, ep)
		}
	}
	away := false
	build := func(eps []*endpoint, maxAnswers int) *family {
		if len(eps) == 0 {
			return nil
		}
		f, off := m.family(eps, maxAnswers)
		away = away || off
		return f
	}
	v.a = build(v4, m.cfg.MaxAnswers)
	v.aaaa = build(v6, m.cfg.MaxAnswers)
	v.cname = build(hosts, 1) // a name has at most one CNAME
	m.view.Store(&v)
	changed = away != m.failedOver
	m.failedOver = away
	return away, changed
}

// family prepares one record type's answers; off is true when they differ
// from what the stanza answers with everything up.
func (m *managed) family(eps []*endpoint, maxAnswers int) (f *family, off bool) {
	members := make([]policy.Member, len(eps))
	for i, ep := range eps {
		members[i] = policy.Member{Priority: ep.cfg.Priority, Weight: ep.cfg.Weight, Up: ep.up()}
	}
	kind := m.cfg.Policy
	idx, allDown := policy.Eligible(kind, members)
	first, _ := policy.Eligible(kind, policy.AllUp(members))
	off = !equalInts(idx, first)
	f = &family{allDown: allDown}
	if allDown {
		switch m.cfg.AllDown {
		case stanza.Fallthrough:
			f.mode = passOn
			return f, off
		case stanza.ServFail:
			f.mode = servFail
			return f, off
		case stanza.NoData:
			f.mode = noData
			return f, off
		}
		idx = first // return_all: fail open, as if every endpoint were up
	}
	for _, i := range idx {
		f.chosen = append(f.chosen, eps[i])
	}
	var weights []uint32
	if kind == policy.Weighted {
		weights = make([]uint32, len(idx))
		for j, i := range idx {
			weights[j] = eps[i].cfg.Weight
		}
	}
	for n := range m.cfg.Names {
		items := make([]*choice, len(idx))
		for j, i := range idx {
			items[j] = eps[i].choices[n]
		}
		f.sets = append(f.sets, policy.NewSet(items, weights, maxAnswers))
	}
	return f, off
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
