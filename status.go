package failover

import (
	"math"
	"time"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/api"
	"github.com/failover-dns/failover/plugin/control"
	"github.com/failover-dns/failover/plugin/health"
	"github.com/failover-dns/failover/plugin/probe"
)

// nameStatus is what the API says of a managed name: its answer now (for
// geo, the default group's) and every endpoint's state.
func nameStatus(m *managed, now time.Time) api.Name {
	name := m.cfg.Names[0]
	v := m.view.Load()
	snap := m.controls()
	out := api.Name{Name: name, Policy: m.cfg.Policy.String(), TTL: v.ttl, Answer: api.Answer{A: []string{}, AAAA: []string{}, CNAME: []string{}}}
	g := 0
	switch {
	case m.route != nil:
		g = m.route.defaultGroup()
	case m.near != nil:
		g = 1 // the default endpoints: what a client without coordinates gets
	}
	serving := map[*endpoint]bool{}
	m.mu.Lock()
	for i, fam := range []*family{v.groups[g].a, v.groups[g].aaaa, v.groups[g].cname} {
		if fam == nil || fam.mode != answer {
			continue
		}
		for _, ep := range fam.chosen {
			serving[ep] = true
			switch {
			case ep.cfg.IsAlias(): // its target's addresses, as answered
				for _, c := range ep.recordsFor([...]uint16{dns.TypeA, dns.TypeAAAA}[i]) {
					if i == 0 {
						out.Answer.A = append(out.Answer.A, rrAddress(c.rr))
					} else {
						out.Answer.AAAA = append(out.Answer.AAAA, rrAddress(c.rr))
					}
				}
			case ep.cfg.IsHost():
				out.Answer.CNAME = append(out.Answer.CNAME, ep.cfg.Address)
			case ep.cfg.IP.Is4():
				out.Answer.A = append(out.Answer.A, ep.cfg.Address)
			default:
				out.Answer.AAAA = append(out.Answer.AAAA, ep.cfg.Address)
			}
		}
	}
	out.FailedOver = m.failedOver
	m.mu.Unlock()
	if snap != nil {
		if t, ok := snap.TTL(name, now); ok {
			j := ttlJSON(name, t)
			out.TemporaryTTL = &j
		}
		if h, ok := snap.Hold(name); ok {
			out.FailbackPending = &api.FailbackPending{Since: h.Since.UTC(), Reason: h.Reason}
		}
	}
	for _, ep := range m.endpoints {
		out.Endpoints = append(out.Endpoints, endpointStatus(ep, snap, serving[ep]))
	}
	return out
}

func endpointStatus(ep *endpoint, snap *control.Snapshot, serving bool) api.Endpoint {
	name := ep.owner.cfg.Names[0]
	out := api.Endpoint{Address: ep.cfg.Address, State: ep.probeState(snap).String(), Serving: serving,
		Check: "none", Priority: ep.cfg.Priority, Weight: ep.cfg.Weight, Signals: []api.Signal{}, History: []api.Change{}, Checks: []api.Check{}}
	ep.owner.mu.Lock()
	out.InUse = uint32(math.Round(ep.weightAt(time.Now())))
	ep.owner.mu.Unlock()
	if ep.cfg.IsAlias() {
		out.Check = ep.cfg.Address // its health is its target's answer
	}
	if snap != nil {
		if o, every, ok := snap.Override(name, ep.cfg.Address); ok {
			k := control.Key{Name: name, Address: ep.cfg.Address}
			if every {
				k.Name = control.Every
			}
			j := overrideJSON(k, o, ep.safeAt(o, time.Now()))
			out.Override = &j
		}
		for _, s := range snap.Signals(name, ep.cfg.Address) {
			out.Signals = append(out.Signals, api.Signal{Alert: s.Alert, Since: s.Since, Labels: s.Key})
		}
	}
	if ep.monitor == nil {
		return out
	}
	out.Check = ep.monitor.Check
	for _, mon := range ep.monitors {
		out.Checks = append(out.Checks, checkStatus(mon))
		if p := mon.WeightProblem(); p != "" && out.Problem == "" {
			out.Problem = p
		}
	}
	first := out.Checks[0]
	out.LastProbe, out.Streak, out.RTT = first.LastProbe, first.Streak, first.RTT
	st := ep.monitor.Status()
	if !st.Since.IsZero() {
		since := st.Since.UTC()
		out.Since = &since
	}
	for _, c := range st.History {
		out.History = append(out.History, api.Change{At: c.At.UTC(), From: c.From.String(), To: c.To.String(), Reason: changeReason(c)})
	}
	return out
}

// checkStatus is one check's latest probe, streak and round trip.
func checkStatus(mon *health.Monitor) api.Check {
	st := mon.Status()
	out := api.Check{Check: mon.Check, State: st.State.String()}
	if st.Probed {
		out.LastProbe = &api.Probe{At: st.LastAt.UTC(), Result: st.Last.Kind.String(), DurationSeconds: st.Last.Duration.Seconds()}
		if st.Last.Kind != probe.OK {
			out.LastProbe.Error = st.Last.Reason()
		}
		streak := "failure"
		if st.StreakOK {
			streak = "success"
		}
		out.Streak = &api.Streak{Result: streak, Count: st.Streak}
	}
	if st.RTT > 0 {
		rtt := st.RTT.Seconds()
		out.RTT = &rtt
	}
	return out
}

func changeReason(c health.Change) string {
	if c.To == health.Up {
		return "probe succeeded"
	}
	return c.Reason
}

// overrideJSON says o; safe is when a drain is safe.
func overrideJSON(k control.Key, o control.Override, safe time.Time) api.Override {
	out := api.Override{Name: k.Name, Address: k.Address, State: o.State.String(), Reason: o.Reason, SetAt: o.SetAt.UTC()}
	if o.State == control.Drain {
		at := o.SetAt.UTC()
		out.DrainedAt = &at
		safe = safe.UTC()
		out.SafeAt = &safe
	}
	return out
}

// safeAt is when a drain is safe; for one written by hand without safe_at,
// the drain's start plus ttl.
func safeAt(o control.Override, ttl uint32) time.Time {
	if o.SafeAt.IsZero() {
		return holdsUntil(o.SetAt, ttl)
	}
	return o.SafeAt
}

func ttlJSON(name string, t control.TTL) api.TTL {
	return api.TTL{Name: name, TTL: t.TTL, NormalTTL: t.Normal, SetAt: t.SetAt.UTC(), Until: t.Until.UTC(), CutoverReadyAt: t.CutoverReadyAt.UTC()}
}
