package failover

import "time"

// observe builds what an observe_only stanza would answer if it honoured
// health, for the would_answer counts and the log; m.mu is held.
func (m *managed) observe(groups int, now time.Time) {
	v := &view{groups: make([]byType, groups)}
	v.overrides, _ = m.judge(now, true)
	away := m.resolveAll(v)
	v.ttl = m.ttl
	markUniform(v)
	m.shadow.Store(v)
	if away == m.shadowAway {
		return
	}
	m.shadowAway = away
	name := m.cfg.Names[0]
	if away {
		log.Warningf("%s: observe_only: would fail over, answering away from the first choice (%s); answering as if all were up", name, describeView(m, v))
	} else {
		log.Infof("%s: observe_only: would fail back to the first choice (%s)", name, describeView(m, v))
	}
}

// countWould counts what the shadow view answers the client p, as the
// query path does for the real one.
func (e *entry) countWould(p *placed, qtype uint16) {
	sh := e.m.shadow.Load()
	if sh == nil {
		return
	}
	fam := sh.groups[p.group].forType(qtype)
	if fam == nil || fam.mode != answer {
		return
	}
	var buf [8]*choice
	for _, c := range fam.pickFor(p, buf[:0]) {
		c.ep.would.Inc()
	}
}
