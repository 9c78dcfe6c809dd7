// Package failover is a CoreDNS plugin that answers A, AAAA and CNAME queries
// for the names it manages from a set of endpoints, chosen by their health and
// a routing policy. See README.md.
package failover

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/dnssec"
	"github.com/coredns/coredns/plugin/metadata"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/cluster"
	"github.com/failover-dns/failover/plugin/control"
	"github.com/failover-dns/failover/plugin/geo"
	"github.com/failover-dns/failover/plugin/health"
	"github.com/failover-dns/failover/plugin/stanza"
)

const pluginName = "failover"

// Failover is the handler of one server block: every failover stanza in it.
type Failover struct {
	Next plugin.Handler

	names    map[string]*entry // lower-case FQDN -> stanza; built in setup, read-only after
	stanzas  []*managed
	registry *health.Registry

	ready    atomic.Bool
	started  atomic.Bool       // the first probe round is over; transitions rebuild from now on
	monitors []*health.Monitor // acquired in OnStartup, released in OnShutdown
	monMu    sync.Mutex        // guards monitors for the other replicas' callbacks
	unsubs   []func()
	held     bool        // whether start took the metric series (see series.go)
	gen      *generation // the caddy instance it runs in (see instances.go)

	sources          map[string]*geo.Source // geoip files by path
	geoStop, geoDone chan struct{}

	chains bool           // a CNAME target is a name of the server block (see chain.go)
	signer *dnssec.Dnssec // the server block's dnssec, if any (see sign.go)

	settings *stanza.Settings // the nameless block, if any
	book     *control.Book    // overrides and signals; nil without settings
	listener *listener        // the API; nil without api
	unbook   func()
	votes    *cluster.View // the other replicas; nil without cluster
	unvote   func()

	soas             []*zoneSOA          // one per zone of the server block
	ents             map[string]*zoneSOA // empty non-terminals above managed names
	soaStop, soaDone chan struct{}
}

// entry points a managed name at its view (one per name), with what the
// query path needs for metrics and metadata prepared in setup.
type entry struct {
	m        *managed
	apex     bool     // the zone's own name: types without data are the zone's (SOA, NS...)
	soa      *zoneSOA // for negative answers
	queries  [len(queryTypes)]lazyCounter
	allDown  lazyCounter
	name     metadata.Func
	policy   metadata.Func
	override metadata.Func
}

func newEntry(m *managed) *entry {
	name := m.cfg.Names[0]
	e := &entry{m: m, apex: len(m.cfg.Apex) > 0 && m.cfg.Apex[0],
		allDown: lazyCounter{vec: allDownAnswers, labels: [2]string{name, m.cfg.AllDown.String()}},
		name:    func() string { return name },
		policy:  func() string { return m.cfg.Policy.String() },
		// The overrides of the view answered from, not of a later one.
		override: func() string { return m.view.Load().overrides },
	}
	for i, t := range queryTypes {
		e.queries[i] = lazyCounter{vec: queries, labels: [2]string{name, t}}
	}
	return e
}

func (e *entry) countQuery(qtype uint16) {
	i := len(queryTypes) - 1
	switch qtype {
	case dns.TypeA:
		i = 0
	case dns.TypeAAAA:
		i = 1
	case dns.TypeCNAME:
		i = 2
	}
	e.queries[i].Inc()
}

// Name implements plugin.Handler.
func (f *Failover) Name() string { return pluginName }

// ServeDNS answers queries for managed names from the current view. It takes
// no lock and does no I/O: the probes publish, queries only read.
func (f *Failover) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if len(r.Question) != 1 || r.Opcode != dns.OpcodeQuery { // NOTIFY and the like are not questions to answer
		return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
	}
	q := &r.Question[0]
	name := strings.ToLower(q.Name) // no allocation for the usual lower-case name
	e := f.names[name]
	transfer := q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR // the zone's, which transfer serves or refuses
	if e == nil || q.Qclass != dns.ClassINET || transfer {
		if z := f.ents[name]; z != nil && q.Qclass == dns.ClassINET && !transfer {
			return f.passExisting(ctx, w, r, z, echo{})
		}
		return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
	}
	if moreThanOneOPT(r) { // RFC 6891 section 6.1.1
		return dns.RcodeFormatError, nil
	}
	e.countQuery(q.Qtype)
	cfg := e.m.cfg
	var p placed
	var ecs *dns.EDNS0_SUBNET
	if as := e.m.asker; as != nil {
		c, bad := as.locate(w, r)
		if bad {
			return dns.RcodeFormatError, nil
		}
		p, ecs = e.m.place(c.addr), c.ecs
	} else if malformedECS(r) { // RFC 7871 section 7.1.1, on every name we own
		return dns.RcodeFormatError, nil
	}
	v := e.m.view.Load()
	byType := &v.groups[p.group]
	fam := byType.forType(q.Qtype)
	if fam == nil { // the name exists, but not with this type
		if e.apex { // the zone's own types
			return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
		}
		// The same for every client: scope 0.
		if cfg.Fallthrough {
			return f.passExisting(ctx, w, r, e.soa, echo{ecs: ecs})
		}
		return f.writeEmpty(ctx, w, r, echo{ecs: ecs}, e.soa, &v.sigs, &sigKey{e: e, qtype: q.Qtype})
	}
	if fam.allDown {
		e.allDown.Inc()
	}
	// All down for this client is not all down for every client (a fenced
	// region, a geo group): the echo says for whom.
	switch down := routedECS(ecs, &p, fam.uniform).echo(); fam.mode {
	case passOn:
		return f.passExisting(ctx, w, r, e.soa, down)
	case servFail:
		return f.writeServFail(w, r, down)
	case noData:
		return f.writeEmpty(ctx, w, r, down, e.soa, &v.sigs, &sigKey{e: e, qtype: q.Qtype})
	}
	var buf [8]*choice // picks stay on the stack for the usual few answers
	picked := fam.pickFor(&p, buf[:0])
	if cfg.ObserveOnly {
		e.countWould(&p, q.Qtype)
	}
	m := reply(r)
	m.Answer = make([]dns.RR, len(picked))
	for i, c := range picked {
		m.Answer[i] = c.rr
		c.answered.Inc()
	}
	rc := routedECS(ecs, &p, fam.uniform)
	if f.chains && fam == byType.cname && q.Qtype != dns.TypeCNAME {
		m.Answer = f.follow(m.Answer, q.Qtype, w, r, &rc)
	}
	if rc.ecs != nil {
		if rc.uniform {
			rc.scope = 0 // every client gets this answer now
		}
		echoECS(m, r, rc.ecs, rc.scope)
	}
	if metadata.ValueFuncs(ctx) != nil {
		metadata.SetValueFunc(ctx, pluginName+"/endpoint", func() string { return answered(m.Answer) })
	}
	var key *sigKey
	if f.signer != nil && len(m.Answer) == len(picked) && len(picked) <= maxSigned {
		key = &sigKey{e: e, qtype: q.Qtype, n: uint8(len(picked))}
		copy(key.picks[:], picked)
	}
	w.WriteMsg(f.signed(ctx, w, r, m, e.soa.zone, &v.sigs, key))
	return dns.RcodeSuccess, nil
}

// writeServFail answers SERVFAIL itself when the query's ECS must be echoed:
// a resolver caches a failure without one for every client.
func (f *Failover) writeServFail(w dns.ResponseWriter, r *dns.Msg, e echo) (int, error) {
	if e.ecs == nil {
		return dns.RcodeServerFailure, nil // the server writes it
	}
	m := new(dns.Msg)
	m.SetRcode(r, dns.RcodeServerFailure)
	echoECS(m, r, e.ecs, e.scope)
	w.WriteMsg(m)
	return dns.RcodeServerFailure, nil
}

// Metadata implements metadata.Provider: failover/name and failover/policy
// for queries of managed names. failover/endpoint is set in ServeDNS, once
// the answer is known.
func (f *Failover) Metadata(ctx context.Context, state request.Request) context.Context {
	if e := f.names[state.Name()]; e != nil {
		metadata.SetValueFunc(ctx, pluginName+"/name", e.name)
		metadata.SetValueFunc(ctx, pluginName+"/policy", e.policy)
		metadata.SetValueFunc(ctx, pluginName+"/override", e.override)
	}
	return ctx
}

func moreThanOneOPT(r *dns.Msg) bool {
	n := 0
	for _, rr := range r.Extra {
		if rr.Header().Rrtype == dns.TypeOPT {
			n++
		}
	}
	return n > 1
}

// answered lists the addresses or targets of an answer, space-separated.
func answered(rrs []dns.RR) string {
	var b strings.Builder
	for i, rr := range rrs {
		if i > 0 {
			b.WriteByte(' ')
		}
		switch rr := rr.(type) {
		case *dns.A:
			b.WriteString(rr.A.String())
		case *dns.AAAA:
			b.WriteString(rr.AAAA.String())
		case *dns.CNAME:
			b.WriteString(rr.Target)
		}
	}
	return b.String()
}

// reply starts an authoritative answer to r.
func reply(r *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	return m
}

// writeEmpty answers NOERROR with no records (NODATA) and the zone's SOA,
// which lets resolvers cache it (RFC 2308), for the clients e says.
func (f *Failover) writeEmpty(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, e echo, soa *zoneSOA, sigs *sigCache, key *sigKey) (int, error) {
	m := reply(r)
	m.Ns = []dns.RR{soa.authority()}
	if e.ecs != nil {
		echoECS(m, r, e.ecs, e.scope)
	}
	w.WriteMsg(f.signed(ctx, w, r, m, soa.zone, sigs, key))
	return dns.RcodeSuccess, nil
}
