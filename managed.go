package failover

import (
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/cluster"
	"github.com/failover-dns/failover/plugin/control"
	"github.com/failover-dns/failover/plugin/geo"
	"github.com/failover-dns/failover/plugin/health"
	"github.com/failover-dns/failover/plugin/policy"
	"github.com/failover-dns/failover/plugin/stanza"
)

// managed is one stanza at run time: its endpoints, their monitors, the
// prebuilt records and the view that queries read.
type managed struct {
	cfg       *stanza.Stanza
	endpoints []*endpoint
	asker     *asker     // how it reads the client; nil when answers do not depend on it
	route     *geoRoute  // nil unless the policy is geo
	near      *nearRoute // nil unless the policy is nearest
	fast      fastLeads  // the leaders of policy fastest; under mu

	view atomic.Pointer[view] // replaced whole on every state change; never mutated

	book  *control.Book // overrides, temporary TTLs and signals; nil without settings
	votes *cluster.View // the other replicas' votes; nil without cluster

	mu         sync.Mutex  // serialises rebuilds, never taken by queries
	failedOver bool        // whether the last view left the first choice
	ttl        uint32      // the TTL of the records in the choices
	holding    bool        // failback manual: a failback waits for an operator; under mu
	wake       *time.Timer // the next hold-down end or ramp step (see holddown.go)
	halted     bool

	dependents []*managed           // the stanzas with an alias of this one; fixed after setup
	shadow     atomic.Pointer[view] // observe_only: what it would answer
	shadowAway bool                 // under mu
}

// endpoint is one endpoint of one stanza.
type endpoint struct {
	cfg      *stanza.Endpoint
	monitor  *health.Monitor   // the first check's, for displays; nil without a check: always up
	monitors []*health.Monitor // one per check
	choices  []*choice         // one per name of the stanza, rebuilt when the TTL changes
	owner    *managed
	seed     uint64    // for sticky answers (see policy.Seed)
	point    geo.Point // for policy nearest, when positioned
	stand    standing  // as the latest rebuild judged it; under owner.mu
	removed  bool      // an operator took it out (override down or drain); under owner.mu

	// While drained: whether the view answers it anyway (nothing else was
	// up), and when it last stopped doing so; under owner.mu.
	drainServing bool
	drainServed  time.Time

	// Its health as the rebuilds saw it, and since when (see holddown.go);
	// under owner.mu.
	seen, healthy bool
	since         time.Time

	wasDown atomic.Bool // with several checks: the combined state, for transitions_total

	target   *managed           // alias:NAME's stanza; nil for other endpoints
	aliasRRs map[string]*choice // its records of the target's addresses; under owner.mu
	would    *lazyCounter       // observe_only: answers it would have had
}

// choice is what a query may be answered with: one endpoint's record for one
// name, and the counter its answers count in.
type choice struct {
	rr       dns.RR
	answered *lazyCounter
	ep       *endpoint
}

// changed reports whether a check's transition t changed the endpoint's
// state: with several checks, only a change of their combination does.
func (e *endpoint) changed(t health.Transition) bool {
	if len(e.monitors) < 2 {
		return true
	}
	down := !e.up()
	return e.wasDown.Swap(down) != down && (t.To == health.Down) == down
}

// up reports whether enough of the endpoint's checks pass (require).
// Unknown counts as up: it only lasts until the first probe returns, which
// happens before the server takes queries.
func (e *endpoint) up() bool {
	if len(e.monitors) == 0 {
		return true
	}
	n := 0
	for _, mon := range e.monitors {
		if mon.State() != health.Down {
			n++
		}
	}
	return n >= e.owner.cfg.Needed(len(e.monitors))
}

// family is the answer material for one record type.
type family struct {
	mode    mode
	sets    []*policy.Set[*choice] // one per name of the stanza
	chosen  []*endpoint            // the endpoints the sets draw from
	allDown bool                   // no usable endpoint was up when this was built
	uniform bool                   // every client gets the same answer
	near    bool                   // the sets pick by the client's distance (policy nearest)
	healthy bool                   // answered from healthy endpoints, enough of them (min_healthy): what an alias of it asks

	first        []*endpoint          // the first choice: what it answers with everything up
	trickle      *policy.Set[*choice] // active-passive: the next tier, for trickle's share; nil without
	trickleShare uint64               // of 1<<32 answers
}

type mode uint8

const (
	answer   mode = iota
	passOn        // all_down fallthrough
	servFail      // all_down servfail
	noData        // all_down nodata
)

// view is an immutable snapshot of what a stanza answers: one answer set per
// geo group (a stanza of another policy has just one).
type view struct {
	groups    []byType
	sigs      sigCache // its answers once signed (see sign.go)
	overrides string   // for the failover/override metadata
	ttl       uint32
}

// byType holds the material for each record type; nil where the stanza has
// no data of that type.
type byType struct {
	a, aaaa, cname *family
}

// forType returns the material for qtype, or nil when there is none.
func (v *byType) forType(qtype uint16) *family {
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

func newManaged(cfg *stanza.Stanza, src *geo.Source) *managed {
	m := &managed{cfg: cfg, ttl: cfg.TTL}
	for i := range cfg.Endpoints {
		ec := &cfg.Endpoints[i]
		ep := &endpoint{cfg: ec, owner: m, seed: policy.Seed(ec.Address)}
		if cfg.ObserveOnly {
			ep.would = &lazyCounter{vec: wouldAnswers, labels: [2]string{cfg.Names[0], ec.Address}}
		}
		if ec.At != nil {
			ep.point = geo.NewPoint(ec.At.Lat, ec.At.Lon)
		}
		for _, name := range cfg.Names {
			ep.choices = append(ep.choices, &choice{
				ep:       ep,
				rr:       record(name, cfg.TTL, ec),
				answered: &lazyCounter{vec: answers, labels: [2]string{name, ec.Address}},
			})
		}
		m.endpoints = append(m.endpoints, ep)
	}
	if cfg.ByClient() {
		m.asker = &asker{ecs: cfg.ECS, ecsFrom: cfg.ECSFrom}
	}
	switch cfg.Policy {
	case policy.Geo:
		m.route = newGeoRoute(m, src)
	case policy.Nearest:
		m.near = newNearRoute(m, src)
	}
	m.rebuild()
	return m
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
// away reports whether the stanza now answers off its first choice, changed
// whether that differs from the view before.
func (m *managed) rebuild() (away, changed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	groups := 1
	switch {
	case m.route != nil:
		groups = m.route.groups()
	case m.near != nil:
		groups = nearGroups
	}
	now := time.Now()
	if m.cfg.ObserveOnly {
		m.observe(groups, now)
	}
	v := &view{groups: make([]byType, groups)}
	var ttl uint32
	v.overrides, ttl = m.judge(now, !m.cfg.ObserveOnly)
	away = m.resolveAll(v)
	if t := m.awayTTL(ttl, away); t != m.ttl {
		// Off the first choice, ttl_failover holds: the records change, and
		// the view is made again from them.
		m.retime(t)
		away = m.resolveAll(v)
	}
	v.ttl = m.ttl
	markUniform(v)
	m.noteDrained(v, now)
	m.view.Store(v)
	changed = away != m.failedOver
	m.failedOver = away
	m.armWake(now)
	return away, changed
}

// resolveAll fills every group of v and reports whether any answers off the
// first choice; m.mu is held.
func (m *managed) resolveAll(v *view) (away bool) {
	for g := range v.groups {
		levels := m.levels(g)
		var off [3]bool
		v.groups[g].a, off[0] = m.resolve(byKind(levels, isV4), dns.TypeA, m.cfg.MaxAnswers, &m.fast.a)
		v.groups[g].aaaa, off[1] = m.resolve(byKind(levels, isV6), dns.TypeAAAA, m.cfg.MaxAnswers, &m.fast.aaaa)
		v.groups[g].cname, off[2] = m.resolve(byKind(levels, isHost), dns.TypeCNAME, 1, &m.fast.cname) // a name has at most one CNAME
		away = away || off[0] || off[1] || off[2]
	}
	return away
}

// levels are the endpoint lists group g falls back through, best first (see
// geoRoute.levels and nearRoute.levels); for the other policies just all of
// the endpoints.
func (m *managed) levels(g int) [][]*endpoint {
	switch {
	case m.route != nil:
		return m.route.levels(g, m.endpoints)
	case m.near != nil:
		return m.near.levels(g, m.endpoints)
	}
	return [][]*endpoint{m.endpoints}
}

// An alias stands for addresses of both families: its target's.
func isV4(e *endpoint) bool   { return e.cfg.IsAlias() || !e.cfg.IsHost() && e.cfg.IP.Is4() }
func isV6(e *endpoint) bool   { return e.cfg.IsAlias() || !e.cfg.IsHost() && !e.cfg.IP.Is4() }
func isHost(e *endpoint) bool { return e.cfg.IsHost() }

func byKind(levels [][]*endpoint, keep func(*endpoint) bool) [][]*endpoint {
	out := make([][]*endpoint, len(levels))
	for i, eps := range levels {
		for _, ep := range eps {
			if keep(ep) {
				out[i] = append(out[i], ep)
			}
		}
	}
	return out
}

// resolve prepares one record type's answers from the first level that has
// a usable endpoint up; off is true when they differ from what the stanza
// answers with everything up. It returns nil when no level has an endpoint
// of this type at all.
func (m *managed) resolve(levels [][]*endpoint, qtype uint16, maxAnswers int, lead *fastLead) (f *family, off bool) {
	if !anyEndpoint(levels) {
		return nil, false
	}
	need := m.tierNeeds()
	var first []*endpoint
	for li, eps := range levels {
		if len(eps) == 0 {
			continue
		}
		kind := m.levelPolicy(li)
		idx, _ := policy.EligibleMin(kind, intended(eps, m.members(eps, qtype, nil)), need)
		first = pick(eps, idx)
		if kind == policy.Fastest {
			first = lead.rank(first, maxAnswers, &lead.intended)
		}
		break
	}
	var out []*endpoint
	if m.holding {
		out = first // failback manual: the first choice waits for an operator
	}
	chosen, chosenLevel, next := m.choose(levels, qtype, maxAnswers, need, lead, out)
	if chosen == nil && out != nil { // nothing else is up: better the first choice than nothing
		chosen, chosenLevel, next = m.choose(levels, qtype, maxAnswers, need, lead, nil)
	}
	if chosen == nil { // nothing else may answer: drained endpoints may
		chosen = m.drainedLevel(levels)
	}
	off = !sameEndpoints(chosen, first)
	f = &family{allDown: chosen == nil, first: first}
	if f.allDown {
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
		chosen = first // return_all: fail open, as if every endpoint were up
	}
	f.chosen = chosen
	f.healthy = !f.allDown && m.enoughHealthy(levels, chosen, chosenLevel)
	f.sets = []*policy.Set[*choice]{m.answers(f, chosen, chosenLevel, qtype, maxAnswers)}
	if len(next) > 0 {
		f.trickle = m.answers(&family{}, next, chosenLevel, qtype, maxAnswers)
		f.trickleShare = uint64(m.cfg.Trickle / 100 * (1 << 32))
	}
	return f, off
}

// members are eps as the policy sees them for qtype, without out.
func (m *managed) members(eps []*endpoint, qtype uint16, out []*endpoint) []policy.Member {
	now := time.Now()
	members := make([]policy.Member, len(eps))
	for i, ep := range eps {
		members[i] = policy.Member{Priority: ep.cfg.Priority, Weight: ep.memberWeight(now),
			Up: ep.stand == usable && ep.answers(qtype) && !slices.Contains(out, ep)}
	}
	return members
}

// choose picks the answer from the first level with a usable endpoint up,
// leaving out out; next is the tier after it, for trickle.
func (m *managed) choose(levels [][]*endpoint, qtype uint16, maxAnswers int, need func(int) int, lead *fastLead, out []*endpoint) (chosen []*endpoint, level int, next []*endpoint) {
	for li, eps := range levels {
		if len(eps) == 0 {
			continue
		}
		kind := m.levelPolicy(li)
		members := m.members(eps, qtype, out)
		idx, down := policy.EligibleMin(kind, members, need)
		if down {
			continue
		}
		chosen = pick(eps, idx)
		if kind == policy.Fastest {
			chosen = lead.rank(chosen, maxAnswers, &lead.served)
		}
		if m.cfg.Trickle > 0 && kind == policy.ActivePassive {
			next = pick(eps, policy.NextTier(members, chosen[0].cfg.Priority))
		}
		return chosen, li, next
	}
	return nil, -1, nil
}

// tierNeeds is min_healthy for policy.EligibleMin, or nil without it.
func (m *managed) tierNeeds() func(int) int {
	if m.cfg.MinHealthy == 0 && m.cfg.MinHealthyPct == 0 {
		return nil
	}
	return m.cfg.TierNeeds
}

// enoughHealthy reports whether the answer comes from healthy endpoints,
// at least min_healthy of its tier (of every endpoint for the policies
// without tiers): whether an alias of this stanza counts it as up.
func (m *managed) enoughHealthy(levels [][]*endpoint, chosen []*endpoint, level int) bool {
	up := 0
	for _, ep := range chosen {
		if ep.stand == usable {
			up++
		}
	}
	if up == 0 || level < 0 {
		return false
	}
	size := len(levels[level])
	if k := m.levelPolicy(level); k == policy.ActivePassive || k == policy.Geo {
		size = 0
		for _, ep := range levels[level] {
			if ep.cfg.Priority == chosen[0].cfg.Priority {
				size++
			}
		}
	}
	return up >= m.cfg.TierNeeds(size)
}

// answers prepares the set queries draw f's answers from.
func (m *managed) answers(f *family, chosen []*endpoint, level int, qtype uint16, maxAnswers int) *policy.Set[*choice] {
	now := time.Now()
	var items []*choice
	var weights []uint32
	var seeds []uint64
	var points []geo.Point
	weighted := m.weighs(chosen, now)
	for _, ep := range chosen {
		w := ep.weightAt(now)
		if weighted && w == 0 && len(chosen) > 1 && anyWeight(chosen, now) {
			continue // drained by its weight (weight_from 0, slow start's first moment)
		}
		cs := ep.recordsFor(qtype)
		for _, c := range cs {
			items = append(items, c)
			seeds = append(seeds, ep.seedFor(c))
			points = append(points, ep.point)
			if weighted {
				// An alias's share is its weight, whatever the size of its answer.
				weights = append(weights, drawWeight(w, len(cs)))
			}
		}
	}
	if !weighted {
		weights = nil
	}
	set := policy.NewSet(items, weights, maxAnswers)
	if m.cfg.Policy == policy.Fastest {
		set.Ordered() // the leader first, as ranked
	}
	if m.cfg.Sticky {
		set.Sticky(seeds)
	}
	if m.near != nil && level == 0 && m.near.allPositioned(chosen) {
		set.Near(points)
		f.near = true
	}
	return set
}

func anyEndpoint(levels [][]*endpoint) bool {
	for _, eps := range levels {
		if len(eps) > 0 {
			return true
		}
	}
	return false
}

// levelPolicy is how endpoints of fallback level li are chosen: geo treats
// a region and the defaults as active-passive tiers, and the last resort,
// every healthy endpoint, as active-active.
func (m *managed) levelPolicy(li int) policy.Kind {
	switch m.cfg.Policy {
	case policy.Geo:
		if li == 2 {
			return policy.ActiveActive
		}
		return policy.ActivePassive
	case policy.Nearest:
		return policy.ActiveActive // every healthy endpoint; the client's distance picks per query
	}
	return m.cfg.Policy
}

func pick(eps []*endpoint, idx []int) []*endpoint {
	out := make([]*endpoint, len(idx))
	for j, i := range idx {
		out[j] = eps[i]
	}
	return out
}

// markUniform flags the record types whose answer is the same in every
// group: such an answer does not depend on the client, and its ECS scope is 0.
func markUniform(v *view) {
	get := [3]func(*byType) *family{
		func(a *byType) *family { return a.a },
		func(a *byType) *family { return a.aaaa },
		func(a *byType) *family { return a.cname },
	}
	for _, fam := range get {
		first := fam(&v.groups[0])
		if first == nil {
			continue
		}
		same := !clientSpecific(first)
		for g := 1; g < len(v.groups) && same; g++ {
			other := fam(&v.groups[g])
			same = other.mode == first.mode && sameEndpoints(other.chosen, first.chosen)
		}
		for g := range v.groups {
			fam(&v.groups[g]).uniform = same
		}
	}
}

// clientSpecific reports whether f's answer depends on who asks within a
// group: by distance or by sticky subnet, among several endpoints.
func clientSpecific(f *family) bool {
	return f.mode == answer && len(f.chosen) > 1 && (f.near || f.sets[0].IsSticky())
}

func sameEndpoints(a, b []*endpoint) bool {
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
