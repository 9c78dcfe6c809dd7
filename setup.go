package failover

import (
	"fmt"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	clog "github.com/coredns/coredns/plugin/pkg/log"

	"github.com/failover-dns/failover/plugin/api"
	"github.com/failover-dns/failover/plugin/geo"
	"github.com/failover-dns/failover/plugin/health"
	"github.com/failover-dns/failover/plugin/policy"
	"github.com/failover-dns/failover/plugin/probe"
	"github.com/failover-dns/failover/plugin/stanza"
)

var log = clog.NewWithPlugin(pluginName)

// monitors is shared by every server block and survives reloads, so that an
// endpoint probed by two stanzas, or by the old and the new configuration
// during a reload, is probed once and keeps its state.
var monitors = newRegistry()

func newRegistry() *health.Registry { return health.NewRegistry(0, observeProbe) }

// observeProbe counts every probe; it runs on the probe's goroutine.
func observeProbe(m *health.Monitor, r probe.Result, late time.Duration) {
	probes.WithLabelValues(m.Address, m.Check, r.Kind.String()).Inc()
	probeDuration.Observe(r.Duration.Seconds())
	probeLateness.Observe(late.Seconds())
}

// firstRoundGrace lets the failures of the first round's probes that hit
// their timeout be recorded before the server takes queries.
const firstRoundGrace = 100 * time.Millisecond

func init() { plugin.Register(pluginName, setup) }

func setup(c *caddy.Controller) error {
	f, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	// Probes start in OnStartup, never in setup: a later error in the same
	// Corefile would otherwise leave them running.
	f.gen = generationOf(c)
	c.OnStartup(func() error {
		f.findSigner(dnsserver.GetConfig(c))
		return f.start()
	})
	c.OnShutdown(f.stop)
	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		f.Next = next
		return f
	})
	return nil
}

// parse reads every failover stanza of the server block.
func parse(c *caddy.Controller) (*Failover, error) {
	zones := plugin.OriginsFromArgsOrServerBlock(nil, c.ServerBlockKeys)
	f := &Failover{names: make(map[string]*entry), registry: monitors}
	soas := make(map[string]*zoneSOA, len(zones))
	for _, z := range zones {
		if soas[z] == nil {
			soas[z] = newZoneSOA(z)
			f.soas = append(f.soas, soas[z])
		}
	}
	for c.Next() {
		s, set, err := stanza.Block(c, zones, dnsserver.GetConfig(c).Root, api.Loopback)
		if err != nil {
			return nil, err
		}
		if set != nil {
			if f.settings != nil {
				return nil, stanza.Errorf(set.File, set.Line,
					"a server block has one failover block without names; the first is on line %d", f.settings.Line)
			}
			f.settings = set
			continue
		}
		var src *geo.Source
		if s.NeedsDB() {
			if src, err = f.geoSource(s.GeoIP, dnsserver.GetConfig(c).Root); err != nil {
				return nil, stanza.Errorf(s.File, s.GeoIPLine, "%v", err)
			}
			if db := src.DB(); s.Policy == policy.Nearest && !hasCoordinates(db) {
				return nil, stanza.Errorf(s.File, s.GeoIPLine, "policy nearest needs the clients' coordinates, and geoip %s is a %s database without them; use a GeoIP2 or GeoLite2 City database", db.Path, db.Type)
			}
		}
		for i, name := range s.Names {
			if prev, ok := f.names[name]; ok {
				return nil, stanza.Errorf(s.File, s.NameLines[i],
					"name %s is already managed by the failover block on line %d; a name belongs to one block", name, prev.m.cfg.Line)
			}
			m := newManaged(s.ForName(i), src)
			e := newEntry(m)
			e.soa = soas[plugin.Zones(zones).Matches(name)]
			f.names[name] = e
			f.stanzas = append(f.stanzas, m)
		}
		if s.TTL < stanza.LowTTL {
			log.Warningf("%s:%d: ttl %d for %s is below %d s: every resolver will ask again that often",
				s.File, s.Line, s.TTL, s.Names[0], stanza.LowTTL)
		}
	}
	order, err := wireAliases(f.names, f.stanzas)
	if err != nil {
		return nil, err
	}
	f.stanzas = order
	for _, m := range f.stanzas {
		if len(m.dependents) > 0 || hasAlias(m) {
			m.rebuild() // now that aliases see their targets
		}
		if m.cfg.FailbackManual && (f.settings == nil || f.settings.API == "" && f.settings.State == "") {
			return nil, stanza.Errorf(m.cfg.File, m.cfg.Line, "failover %s: failback manual waits for an operator, who confirms through the operator API or the state file; add a block failover { api ADDRESS } or failover { state FILE } to this server block", m.cfg.Names[0])
		}
	}
	f.ents = emptyNonTerminals(f.names)
	if err := checkChains(f.names, f.stanzas); err != nil {
		return nil, err
	}
	f.chains = hasChains(f.names)
	return f, nil
}

// start acquires a monitor for every checked endpoint, probes the new ones
// once before the server takes queries, and starts their steady probing.
func (f *Failover) start() error {
	if err := f.attach(); err != nil {
		f.stop()
		return plugin.Error(pluginName, err)
	}
	for _, m := range f.stanzas {
		holdSeries(m)
	}
	f.held = true
	var fresh []*health.Monitor
	var longest time.Duration // the longest timeout of the fresh monitors
	for _, m := range f.stanzas {
		for _, ep := range m.endpoints {
			for _, spec := range m.cfg.ProbeSpecs(ep.cfg) {
				mon, isNew, err := f.acquire(spec, ep.cfg.Address, m.cfg.Pace)
				if err != nil {
					f.stop()
					return plugin.Error(pluginName, err)
				}
				if ep.monitor == nil {
					ep.monitor = mon
				}
				ep.monitors = append(ep.monitors, mon)
				f.monMu.Lock()
				f.monitors = append(f.monitors, mon)
				f.monMu.Unlock()
				if f.votes != nil {
					votes := f.votes
					mon.SetGate(func() bool { return votes.Probes(mon.Key) })
				}
				if isNew {
					fresh = append(fresh, mon)
					longest = max(longest, spec.Timeout)
				}
				f.unsubs = append(f.unsubs, mon.Subscribe(func(t health.Transition) { f.transition(m, ep, t) }))
				if m.cfg.Policy == policy.Fastest {
					f.unsubs = append(f.unsubs, mon.WatchRTT(func() { f.retimed(m) }))
				}
				if !spec.WeightFrom.IsZero() {
					f.unsubs = append(f.unsubs, mon.WatchWeight(func() { f.reweighed(m, ep) }))
				}
			}
		}
	}
	// The round is bounded as a whole: a probe that started at once has
	// ended by then, one that did not counts as up until it has.
	f.registry.Start(fresh, longest+firstRoundGrace)
	// From here transitions rebuild; one that races with the rebuilds below
	// is still seen, since every rebuild reads the current states.
	f.started.Store(true)
	for _, mon := range f.monitors {
		f.vote(mon)
	}
	for _, m := range f.stanzas {
		// Where the first round already found a first choice down, say so
		// once; it is the starting point, not a failover event.
		if away, _ := m.rebuild(); away {
			log.Warningf("%s: starting away from the first choice (%s)", m.cfg.Names[0], describe(m))
		}
	}
	if len(f.sources) > 0 {
		f.geoStop, f.geoDone = make(chan struct{}), make(chan struct{})
		go runEvery(geoCheckEvery, f.geoStop, f.geoDone, f.checkGeo)
	}
	// The next plugin's zones are loaded by now (file reads its zone in
	// setup); those that come later (auto, secondary) are picked up by the
	// refreshes.
	f.placeZones()
	f.refreshSOA()
	f.soaStop, f.soaDone = make(chan struct{}), make(chan struct{})
	go runEvery(soaRefresh, f.soaStop, f.soaDone, f.refreshSOA)
	f.ready.Store(true)
	track(f)
	return nil
}

func (f *Failover) acquire(spec probe.Spec, address string, pace health.Pace) (*health.Monitor, bool, error) {
	key := fmt.Sprintf("%s|%s|%s|%d|%d", spec.Key(address), pace.Interval, pace.FastInterval, pace.Fall, pace.Rise)
	var buildErr error
	mon, isNew := f.registry.Acquire(key, func() *health.Monitor {
		p, err := probe.New(spec, address)
		if err != nil {
			buildErr = err
		}
		m := health.NewMonitor(key, address, pace, p)
		m.Check, _ = probe.CheckURL(spec.URL, address) // New has checked it
		return m
	})
	if buildErr != nil {
		f.registry.Release(mon)
		return nil, false, buildErr
	}
	if isNew {
		healthChecks.Inc()
		holdProbeSeries(mon.Address, mon.Check)
	}
	return mon, isNew, nil
}

// stop releases the monitors; the last user of one stops its probes.
func (f *Failover) stop() error {
	untrack(f)
	for _, m := range f.stanzas {
		m.halt()
	}
	if f.geoStop != nil {
		close(f.geoStop)
		<-f.geoDone
		f.geoStop = nil
	}
	if f.soaStop != nil {
		close(f.soaStop)
		<-f.soaDone
		f.soaStop = nil
	}
	for _, u := range f.unsubs {
		u()
	}
	f.detach()
	for _, mon := range f.monitors {
		if f.registry.Release(mon) {
			if f.votes != nil {
				f.votes.Withdraw(mon.Key)
			}
			healthChecks.Dec()
			dropProbeSeries(mon.Address, mon.Check)
		}
	}
	if f.held {
		for _, m := range f.stanzas {
			dropSeries(m)
		}
		f.held = false
	}
	f.monMu.Lock()
	f.unsubs, f.monitors = nil, nil
	f.monMu.Unlock()
	return nil
}

// Ready implements the ready plugin's Readiness: true once every endpoint has
// had its first probe.
func (f *Failover) Ready() bool { return f.ready.Load() }

// transition logs an endpoint's change and republishes the stanza's view.
func (f *Failover) transition(m *managed, ep *endpoint, t health.Transition) {
	f.vote(t.Monitor)
	name := m.cfg.Names[0]
	if !f.started.Load() {
		// First-round results: start() rebuilds once they are all in, rather
		// than logging failovers between half-probed states.
		if t.To == health.Down {
			log.Warningf("%s: endpoint %s is down at its first probe: %s", name, ep.cfg.Address, t.Result.Reason())
		}
		return
	}
	if t.From != health.Unknown && ep.changed(t) {
		for _, n := range m.cfg.Names {
			transitions.WithLabelValues(n, ep.cfg.Address, t.To.String()).Inc()
		}
	}
	subject := "endpoint " + ep.cfg.Address
	if len(ep.monitors) > 1 { // each check speaks for itself
		subject += " check " + t.Monitor.Check
	}
	switch {
	case t.From == health.Unknown && t.To == health.Up:
		// The usual start; not worth a line per endpoint.
	case t.From == health.Unknown:
		// A first probe that outlasted the bounded first round.
		log.Warningf("%s: %s is down at its first probe: %s", name, subject, t.Result.Reason())
	case t.To == health.Down:
		log.Warningf("%s: %s %s -> down: %s", name, subject, t.From, t.Result.Reason())
	default:
		log.Infof("%s: %s %s -> up", name, subject, t.From)
	}
	republish(m)
}

// retimed republishes a fastest stanza whose ranking a probe's round trip
// changed.
func (f *Failover) retimed(m *managed) {
	if f.started.Load() && m.rerank() {
		republish(m)
		log.Infof("%s: the fastest endpoints changed (%s)", m.cfg.Names[0], describe(m))
	}
}

// republish rebuilds m's view and tells of a failover or failback it makes;
// the stanzas aliasing it follow at once.
func republish(m *managed) {
	defer func() {
		for _, d := range m.dependents {
			republish(d)
		}
	}()
	name := m.cfg.Names[0]
	away, changed := m.rebuild()
	defer m.holdFailback(away, changed)
	if changed {
		direction := "back"
		if away {
			direction = "away"
		}
		for _, n := range m.cfg.Names {
			failovers.WithLabelValues(n, direction).Inc()
		}
		if away {
			log.Warningf("%s: failover: answering away from the first choice (%s)", name, describe(m))
		} else {
			log.Infof("%s: failback: answering with the first choice again (%s)", name, describe(m))
		}
	}
}
