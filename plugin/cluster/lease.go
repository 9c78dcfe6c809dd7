package cluster

import (
	"context"
	"errors"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// keep holds a lease for this replica: it grants one, keeps it alive, and
// grants a new one once it is gone or this replica was cut off.
func (v *View) keep() {
	var cur *session
	var n uint64
	var r retry
	for v.ctx.Err() == nil {
		if cur == nil || time.Since(v.born)-time.Duration(v.ack.Load()) > cur.ttl {
			ctx, cancel := context.WithTimeout(v.ctx, v.cfg.rpcTimeout())
			resp, err := v.client.Grant(ctx, v.cfg.ttl())
			cancel()
			if err != nil {
				v.failed(err)
				v.pause(r.next())
				continue
			}
			n++
			cur = &session{id: resp.ID, ttl: time.Duration(resp.TTL) * time.Second, n: n}
			v.leases.Store(resp.ID, true)
			v.acked()
			v.lease.Store(cur)
			// A new lease holds none of this replica's keys yet, and the
			// view read before it may be stale.
			signal(v.wake)
			signal(v.resync)
		}
		v.keepAlive(cur)
		if v.ctx.Err() != nil {
			return
		}
		// The keepalive stream ended: etcd unreachable, leaderless, or the
		// lease gone. Ask once before deciding which.
		ctx, cancel := context.WithTimeout(v.ctx, v.cfg.rpcTimeout())
		_, err := v.client.KeepAliveOnce(ctx, cur.id)
		cancel()
		switch {
		case err == nil:
			v.acked()
			r.reset()
		case errors.Is(err, rpctypes.ErrLeaseNotFound):
			cur = nil
		default:
			v.failed(err)
			v.pause(r.next())
		}
	}
}

// keepAlive renews s until the stream ends. Requiring a leader makes a
// partitioned etcd member end it rather than leave it silent.
func (v *View) keepAlive(s *session) {
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(v.ctx))
	defer cancel()
	ch, err := v.client.KeepAlive(ctx, s.id)
	if err != nil {
		v.failed(err)
		return
	}
	for {
		select {
		case resp, ok := <-ch:
			if !ok {
				return
			}
			if resp.TTL > 0 {
				v.acked()
			}
		case <-v.expired:
			return
		case <-v.ctx.Done():
			return
		}
	}
}
