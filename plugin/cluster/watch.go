package cluster

import (
	"context"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// maxLoggedBad bounds how many malformed keys are each logged once.
const maxLoggedBad = 32

// watch keeps the snapshot in step with etcd: it reads everything under
// the prefix, follows the changes from the next revision, and reads again
// whenever the watch ends, was compacted away, or a new lease began.
func (v *View) watch() {
	var r retry
	bad := map[string]bool{}
	for v.ctx.Err() == nil {
		select {
		case <-v.resync: // served by the read below
		default:
		}
		var n uint64
		if l := v.lease.Load(); l != nil {
			n = l.n
		}
		st := newState(v.keys)
		ctx, cancel := context.WithTimeout(v.ctx, 2*v.cfg.rpcTimeout())
		resp, err := v.client.Get(clientv3.WithRequireLeader(ctx), v.keys.root, clientv3.WithPrefix())
		cancel()
		if err != nil {
			v.failed(err)
			v.pause(r.next())
			continue
		}
		for _, kv := range resp.Kvs {
			v.note(bad, string(kv.Key), st.put(string(kv.Key), kv.Value, written{kv.Lease, kv.ModRevision}))
		}
		v.publish(st.snapshot(v.cfg.Node, v.cfg.Quorum, n))
		if v.follow(st, resp.Header.Revision+1, n, bad) {
			r.reset()
			continue
		}
		v.pause(r.next())
	}
}

// follow applies watch events to st from rev on. It reports whether it
// stopped for a resync rather than because the watch failed.
func (v *View) follow(st *state, rev int64, n uint64, bad map[string]bool) bool {
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(v.ctx))
	defer cancel()
	ch := v.client.Watch(ctx, v.keys.root, clientv3.WithPrefix(), clientv3.WithRev(rev))
	for {
		var wr clientv3.WatchResponse
		var ok bool
		select {
		case <-v.resync:
			return true
		case wr, ok = <-ch:
		}
		// Take what else has arrived, so that one burst makes one snapshot.
	burst:
		for {
			if !ok {
				return false
			}
			if err := wr.Err(); err != nil {
				v.failed(err)
				return false
			}
			v.apply(st, wr.Events, bad)
			select {
			case wr, ok = <-ch:
			default:
				break burst
			}
		}
		v.publish(st.snapshot(v.cfg.Node, v.cfg.Quorum, n))
	}
}

func (v *View) apply(st *state, events []*clientv3.Event, bad map[string]bool) {
	for _, ev := range events {
		key := string(ev.Kv.Key)
		if ev.Type == mvccpb.DELETE {
			st.delete(key)
			continue
		}
		v.note(bad, key, st.put(key, ev.Kv.Value, written{ev.Kv.Lease, ev.Kv.ModRevision}))
	}
}

// note logs a malformed key once, and a few of them at most.
func (v *View) note(bad map[string]bool, key string, err error) {
	if err == nil || bad[key] || len(bad) >= maxLoggedBad {
		return
	}
	bad[key] = true
	v.logf("cluster: ignoring %s in etcd: %v", key, err)
}

// publish swaps in s for readers and tells subscribers.
func (v *View) publish(s *snapshot) {
	v.snap.Store(s)
	signal(v.kick)
}
