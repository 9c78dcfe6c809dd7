package failover

// reported is the weight ep's checks report (weight_from): the first that
// has one. Garbage and out-of-range values are not reported, and the
// configured weight stays.
func (ep *endpoint) reported() (uint32, bool) {
	if ep.owner.cfg.WeightFromHeader == "" && !ep.owner.cfg.WeightFromBody {
		return 0, false
	}
	for _, mon := range ep.monitors {
		if w, ok := mon.Weight(); ok {
			return w, true
		}
	}
	return 0, false
}

// reweighed logs a change of what ep's check reports, once per change, and
// republishes the stanza.
func (f *Failover) reweighed(m *managed, ep *endpoint) {
	name := m.cfg.Names[0]
	problem := ""
	for _, mon := range ep.monitors {
		if p := mon.WeightProblem(); p != "" {
			problem = p
			break
		}
	}
	switch w, ok := ep.reported(); {
	case ok:
		log.Infof("%s: endpoint %s reports weight %d (configured %d)", name, ep.cfg.Address, w, ep.cfg.Weight)
	case problem != "":
		log.Warningf("%s: endpoint %s: weight_from: %s; keeping the configured weight %d", name, ep.cfg.Address, problem, ep.cfg.Weight)
	}
	if f.started.Load() {
		republish(m)
	}
}
