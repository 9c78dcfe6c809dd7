// Package failover is a CoreDNS plugin that answers A, AAAA and CNAME queries
// for the names it manages from a set of endpoints, chosen by their health and
// a routing policy. See README.md.
package failover

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/coredns/coredns/plugin"

	"github.com/failover-dns/failover/plugin/health"
	"github.com/miekg/dns"
)

const pluginName = "failover"

// Failover is the handler of one server block: every failover stanza in it.
type Failover struct {
	Next plugin.Handler

	names    map[string]*entry // lower-case FQDN -> stanza; built in setup, read-only after
	stanzas  []*managed
	registry *health.Registry

	ready    atomic.Bool
	monitors []*health.Monitor // acquired in OnStartup, released in OnShutdown
	unsubs   []func()
}

// entry points a managed name at its stanza and its index there.
type entry struct {
	m   *managed
	idx int
}

// Name implements plugin.Handler.
func (f *Failover) Name() string { return pluginName }

// ServeDNS answers queries for managed names from the current view. It takes
// no lock and does no I/O: the probes publish, queries only read.
func (f *Failover) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if len(r.Question) != 1 {
		return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
	}
	q := &r.Question[0]
	e := f.names[strings.ToLower(q.Name)] // no allocation for the usual lower-case name
	if e == nil || q.Qclass != dns.ClassINET {
		return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
	}
	cfg := e.m.cfg
	fam := e.m.view.Load().forType(q.Qtype)
	if fam == nil { // the name exists, but not with this type
		if cfg.Fallthrough {
			return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
		}
		return writeEmpty(w, r)
	}
	switch fam.mode {
	case passOn:
		return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
	case servFail:
		return dns.RcodeServerFailure, nil
	case noData:
		return writeEmpty(w, r)
	}
	set := fam.sets[e.idx]
	m := reply(r)
	m.Answer = set.Pick(make([]dns.RR, 0, min(set.Max, len(set.Items))))
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

// reply starts an authoritative answer to r.
func reply(r *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	return m
}

// writeEmpty answers NOERROR with no records (NODATA).
func writeEmpty(w dns.ResponseWriter, r *dns.Msg) (int, error) {
	w.WriteMsg(reply(r))
	return dns.RcodeSuccess, nil
}
