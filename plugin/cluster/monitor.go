package cluster

import (
	"maps"
	"slices"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Status is how this replica stands with the others.
type Status struct {
	Node      string
	Connected bool      // its votes count and it counts the others'; when false it decides alone
	Since     time.Time // when Connected last changed, or the start
	Members   []string  // live replicas as last seen, sorted
	Lease     time.Duration
	LastError string // etcd's most recent failure, "" if none yet
}

// Status returns the current standing; it never waits on etcd.
func (v *View) Status() Status {
	st := *v.status.Load()
	if s := v.snap.Load(); s != nil {
		st.Members = slices.Clone(s.members)
	}
	if e := v.lastErr.Load(); e != nil {
		st.LastError = *e
	}
	return st
}

// tick is how soon a change of standing is logged and told.
const tick = 100 * time.Millisecond

// monitor notices this replica losing and regaining the cluster, which
// happens with the passing of time as much as with events.
func (v *View) monitor() {
	t := time.NewTicker(tick)
	defer t.Stop()
	connected, ever, warned, twin := false, false, false, false
	for {
		select {
		case <-v.ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		s, ok := v.current(now)
		if !twin && s != nil && v.namesake(s) {
			twin = true
			v.logf("cluster: another replica writes %s with the same node name; give each replica its own", v.keys.member(v.cfg.Node))
		}
		if ok == connected {
			if !ever && !warned && now.Sub(v.born) > v.cfg.Lease {
				warned = true
				v.logf("cluster: etcd (%s) not reached after %s: %s; deciding on this replica's own probes until it is",
					v.cfg.Endpoints, v.cfg.Lease, v.Status().LastError)
			}
			continue
		}
		prev := v.status.Load()
		switch {
		case ok && !ever:
			v.logf("cluster: joined etcd as %s; %d replicas live", v.cfg.Node, len(s.members))
		case ok:
			v.logf("cluster: rejoined etcd as %s after %s cut off; %d replicas live",
				v.cfg.Node, now.Sub(prev.Since).Round(time.Millisecond), len(s.members))
		default:
			v.logf("cluster: cut off from etcd: the lease went unrenewed for %s (%s); deciding on this replica's own probes",
				v.cfg.Lease, v.Status().LastError)
		}
		connected, ever = ok, ever || ok
		v.status.Store(&Status{Node: v.cfg.Node, Connected: ok, Since: now, Lease: v.cfg.Lease})
		signal(v.kick)
	}
}

// namesake tells whether someone else wrote this replica's members key
// after it did; an earlier run of this replica wrote before.
func (v *View) namesake(s *snapshot) bool {
	if s.self.lease == 0 || v.wrote.Load() == 0 || s.self.rev <= v.wrote.Load() {
		return false
	}
	_, ours := v.leases.Load(clientv3.LeaseID(s.self.lease))
	return !ours
}

// notify calls the subscribers, one kick at a time.
func (v *View) notify() {
	for {
		select {
		case <-v.ctx.Done():
			return
		case <-v.kick:
		}
		v.subMu.Lock()
		fns := slices.Collect(maps.Values(v.subs))
		v.subMu.Unlock()
		for _, f := range fns {
			if v.ctx.Err() != nil {
				return
			}
			f()
		}
	}
}
