package failover

import (
	"time"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/control"
)

// failback manual: when a name leaves its first choice, a hold is written
// to the book (and the state file); while it stands, the first choice is
// answered only if nothing else is up. POST /v1/names/{name}/failback, or
// deleting the line from the state file, ends it.

// holdFailback records the hold when m just failed over; it runs outside
// m.mu, since the book tells every stanza of the change.
func (m *managed) holdFailback(away, changed bool) {
	if !m.cfg.FailbackManual || !away || !changed || m.book == nil {
		return
	}
	name := m.cfg.Names[0]
	if _, ok := m.controls().Hold(name); ok {
		return
	}
	h := control.Hold{Since: time.Now().UTC().Truncate(time.Second), Reason: m.awayReason()}
	if err := m.book.SetHold(name, h); err != nil {
		log.Errorf("%s: failback manual: the hold could not be written (%v); the name may fail back by itself", name, err)
		return
	}
	log.Warningf("%s: failback manual: holding on the backup until an operator confirms (POST /v1/names/%s/failback)", name, name)
}

// awayReason says why the first choice is out, for the hold.
func (m *managed) awayReason() string {
	snap := m.controls()
	m.mu.Lock()
	var out []*endpoint
	for _, ep := range m.endpoints {
		if ep.stand == unusable {
			out = append(out, ep)
		}
	}
	m.mu.Unlock()
	if len(out) > 0 {
		ep := out[0]
		qtype := dns.TypeA
		if !ep.cfg.IsHost() && !ep.cfg.IP.Is4() {
			qtype = dns.TypeAAAA
		}
		return ep.cfg.Address + " " + leftOutReason(m, ep, &family{mode: answer}, snap, 0, qtype)
	}
	return "answering away from the first choice"
}

// firstChoiceUp reports whether every endpoint of the first choice is
// healthy again, so that a failback would stay.
func (m *managed) firstChoiceUp() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.view.Load()
	for i, fam := range []*family{v.groups[0].a, v.groups[0].aaaa, v.groups[0].cname} {
		if fam == nil {
			continue
		}
		qtype := [...]uint16{dns.TypeA, dns.TypeAAAA, dns.TypeCNAME}[i]
		for _, ep := range fam.first {
			if ep.stand != usable || !ep.answers(qtype) {
				return false
			}
		}
	}
	return true
}
