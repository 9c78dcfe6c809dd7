package failover

import (
	"fmt"
	"strings"
	"sync"

	"github.com/failover-dns/failover/plugin/cluster"
	"github.com/failover-dns/failover/plugin/health"
	"github.com/failover-dns/failover/plugin/stanza"
)

// A replica's view of the others outlives a configuration, as books and
// API listeners do: a reload takes it over, so its lease and votes stay.
var views = struct {
	sync.Mutex
	m map[string]*sharedView
}{m: map[string]*sharedView{}}

type sharedView struct {
	v    *cluster.View
	refs int
}

func viewKey(c *stanza.Cluster) string {
	return fmt.Sprintf("%s|%s|%s|%d|%d|%s|%s|%s|%s", strings.Join(c.Endpoints, ","), c.Prefix, c.Node,
		c.Quorum, c.Probers, c.Lease, c.CertFile, c.KeyFile, c.CAFile)
}

func acquireView(c *stanza.Cluster) (*cluster.View, error) {
	views.Lock()
	defer views.Unlock()
	key := viewKey(c)
	if sv := views.m[key]; sv != nil {
		sv.refs++
		return sv.v, nil
	}
	v, err := cluster.Start(cluster.Config{Endpoints: c.Endpoints, Prefix: c.Prefix, Node: c.Node,
		Quorum: c.Quorum, Probers: c.Probers, Lease: c.Lease, TLS: c.TLS}, log.Infof)
	if err != nil {
		return nil, fmt.Errorf("cluster: %v", err)
	}
	views.m[key] = &sharedView{v: v, refs: 1}
	return v, nil
}

func releaseView(c *stanza.Cluster) {
	views.Lock()
	defer views.Unlock()
	key := viewKey(c)
	sv := views.m[key]
	if sv == nil {
		return
	}
	if sv.refs--; sv.refs == 0 {
		delete(views.m, key)
		sv.v.Close()
	}
}

// vote tells the other replicas what this one's probe of mon says.
func (f *Failover) vote(mon *health.Monitor) {
	if f.votes == nil || !f.votes.Probes(mon.Key) {
		return
	}
	st := mon.Status()
	v := cluster.Vote{Endpoint: mon.Address, Check: mon.Check, Down: st.State == health.Down}
	if v.Down {
		v.Reason = st.Last.Reason()
	}
	f.votes.Publish(mon.Key, v)
}

// votesChanged follows the others: what this replica probes, and what the
// names answer.
func (f *Failover) votesChanged() {
	if !f.started.Load() {
		return // start votes and rebuilds once its first round is over
	}
	f.monMu.Lock()
	mons := f.monitors
	f.monMu.Unlock()
	for _, mon := range mons {
		if f.votes.Probes(mon.Key) {
			f.vote(mon)
		} else {
			f.votes.Withdraw(mon.Key) // its state goes stale while another replica probes it
		}
	}
	f.controlsChanged()
}

// decided is an endpoint's health as the replicas decide it for each of its
// checks, combined by require, and why; without a cluster, its own probes'.
func (ep *endpoint) decided() (down bool, why string) {
	m := ep.owner
	if m.votes == nil && len(ep.monitors) < 2 {
		return !ep.up(), ""
	}
	passing := 0
	var failing []string
	for _, mon := range ep.monitors {
		d, w := mon.State() == health.Down, ""
		if m.votes != nil {
			d, w = m.votes.Decide(mon.Key, d)
		} else if d {
			w = mon.Status().Last.Reason()
		}
		if !d {
			passing++
			continue
		}
		if len(ep.monitors) > 1 {
			w = mon.Check + ": " + w
		}
		failing = append(failing, w)
	}
	need := m.cfg.Needed(len(ep.monitors))
	down = passing < need
	switch {
	case len(ep.monitors) > 1 && len(failing) > 0:
		why = fmt.Sprintf("%d of %d checks pass, %d needed; %s", passing, len(ep.monitors), need, strings.Join(failing, "; "))
	case len(failing) > 0:
		why = failing[0]
	}
	return down, why
}
