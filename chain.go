package failover

import (
	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/stanza"
)

// maxChain bounds how many managed targets a CNAME answer follows. Setup
// refuses loops, so the bound only guards against a chain that long.
const maxChain = 8

// follow appends to rrs, a CNAME answer, the current answers of its target and
// of the targets after it, as long as they are names of this server block
// (RFC 1034 section 4.3.2), the way file answers targets in its own zone. A
// target with no answer of qtype now (no data, all down but return_all)
// ends the chain: the resolver asks for it, and gets what it would alone.
func (f *Failover) follow(rrs []dns.RR, qtype uint16, w dns.ResponseWriter, r *dns.Msg, rc *routed) []dns.RR {
	for range maxChain {
		cn, ok := rrs[len(rrs)-1].(*dns.CNAME)
		if !ok {
			break
		}
		e := f.names[cn.Target]
		if e == nil {
			break
		}
		var p placed
		if as := e.m.asker; as != nil {
			c, _ := as.locate(w, r) // the option has been checked
			p = e.m.place(c.addr)
			if c.ecs != nil {
				rc.ecs = c.ecs
				if c.ecs.SourceNetmask > 0 {
					rc.scope = max(rc.scope, uint8(p.scope))
				}
			}
		}
		fam := e.m.view.Load().groups[p.group].forType(qtype)
		if fam == nil || fam.mode != answer {
			break
		}
		rc.uniform = rc.uniform && fam.uniform
		var buf [8]*choice
		for _, c := range fam.pickFor(&p, buf[:0]) {
			rrs = append(rrs, c.rr)
			c.answered.Inc()
		}
	}
	return rrs
}

// routed is what an answer's ECS echo depends on.
type routed struct {
	ecs     *dns.EDNS0_SUBNET
	scope   uint8
	uniform bool // every client gets this answer now: scope 0
}

// checkChains refuses CNAME loops among the names of a server block: a
// host-name endpoint whose target leads back to its own name. The names are
// walked in the order of the Corefile, so the error names the same line
// every time.
func checkChains(names map[string]*entry, stanzas []*managed) error {
	const (
		unseen = iota
		onPath
		done
	)
	mark := make(map[string]int, len(names))
	var visit func(name string) error
	visit = func(name string) error {
		e := names[name]
		if e == nil || mark[name] == done {
			return nil
		}
		mark[name] = onPath
		for i := range e.m.cfg.Endpoints {
			ep := &e.m.cfg.Endpoints[i]
			if !ep.IsHost() {
				continue
			}
			if mark[ep.Address] == onPath {
				return stanza.Errorf(e.m.cfg.File, ep.Line, "failover %s: endpoint %s leads back to %s, a CNAME loop among the names of this server block; a chain of managed names must end in addresses", name, ep.Address, ep.Address)
			}
			if err := visit(ep.Address); err != nil {
				return err
			}
		}
		mark[name] = done
		return nil
	}
	for _, m := range stanzas {
		for _, name := range m.cfg.Names {
			if err := visit(name); err != nil {
				return err
			}
		}
	}
	return nil
}

// hasChains reports whether a host-name endpoint targets a name of the
// server block, so that answers without one skip following.
func hasChains(names map[string]*entry) bool {
	for _, e := range names {
		for _, ep := range e.m.cfg.Endpoints {
			if _, ok := names[ep.Address]; ok && ep.IsHost() {
				return true
			}
		}
	}
	return false
}
