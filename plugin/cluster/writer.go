package cluster

import (
	"context"
	"errors"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// votes is what the writer holds: this replica's votes and which of them
// etcd has yet to hear. Only the writing goroutine touches it.
type votes struct {
	desired map[string]Vote // caller's key -> vote
	dirty   map[string]bool // keys whose vote changed since written
}

// apply takes the changes from the outbox; a vote equal to the one held
// writes nothing.
func (w *votes) apply(changes []*change) {
	for _, c := range changes {
		prev, ok := w.desired[c.key]
		switch {
		case c.withdraw && ok:
			delete(w.desired, c.key)
			w.dirty[c.key] = true
		case !c.withdraw && (!ok || prev != c.vote):
			w.desired[c.key] = c.vote
			w.dirty[c.key] = true
		}
	}
}

// maxOps keeps transactions below etcd's default limit of 128 operations.
const maxOps = 64

// write sends votes as they change. Under a new lease it writes them all
// and removes what an earlier lease left behind.
func (v *View) write() {
	w := &votes{desired: map[string]Vote{}, dirty: map[string]bool{}}
	var done uint64 // the session under which every vote was written
	var r retry
	var logged string
	for {
		select {
		case <-v.ctx.Done():
			return
		case <-v.wake:
		}
		w.apply(v.out.take())
		s := v.lease.Load()
		if s == nil || s.n == done && len(w.dirty) == 0 {
			continue
		}
		var err error
		if s.n != done {
			if err = v.rewrite(s, w); err == nil {
				done = s.n
			}
		} else {
			err = v.flush(s, w)
		}
		if err == nil {
			r.reset()
			logged = ""
			continue
		}
		if v.ctx.Err() != nil {
			return
		}
		v.failed(err)
		if errors.Is(err, rpctypes.ErrLeaseNotFound) {
			signal(v.expired)
		} else if msg := err.Error(); msg != logged && v.lease.Load() == s {
			// Worth saying only while the lease holds: otherwise the cut-off says it.
			logged = msg
			v.logf("cluster: writing votes to etcd: %v; retrying", err)
		}
		if !v.wait(r.next(), w, s) {
			return
		}
		signal(v.wake)
	}
}

// wait lets d pass before the next attempt under s, keeping the outbox
// empty meanwhile; a new lease ends it, for a replica back from being cut
// off should have its votes counted at once. It reports whether to go on.
func (v *View) wait(d time.Duration, w *votes, s *session) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return true
		case <-v.wake:
			w.apply(v.out.take())
			if v.lease.Load() != s {
				return true
			}
		case <-v.ctx.Done():
			return false
		}
	}
}

// flush writes the votes that changed; those etcd did not take stay dirty.
func (v *View) flush(s *session, w *votes) error {
	ops := make([]clientv3.Op, 0, len(w.dirty))
	for key := range w.dirty {
		at := v.keys.vote(v.cfg.Node, keyHash(key))
		if vote, ok := w.desired[key]; ok {
			ops = append(ops, clientv3.OpPut(at, string(encodeVote(vote)), clientv3.WithLease(s.id)))
		} else {
			ops = append(ops, clientv3.OpDelete(at))
		}
	}
	if _, err := v.commit(ops); err != nil {
		return err
	}
	clear(w.dirty)
	return nil
}

// rewrite puts this replica's members key and every vote under s, then
// deletes its votes that are no longer wanted, such as those withdrawn
// while cut off or left by an earlier run of this replica.
func (v *View) rewrite(s *session, w *votes) error {
	ops := []clientv3.Op{clientv3.OpPut(v.keys.member(v.cfg.Node), string(encodeMember(v.cfg.Node, v.born)), clientv3.WithLease(s.id))}
	want := make(map[string]bool, len(w.desired))
	for key, vote := range w.desired {
		at := v.keys.vote(v.cfg.Node, keyHash(key))
		want[at] = true
		ops = append(ops, clientv3.OpPut(at, string(encodeVote(vote)), clientv3.WithLease(s.id)))
	}
	rev, err := v.commit(ops)
	if err != nil {
		return err
	}
	v.wrote.Store(rev)
	ctx, cancel := context.WithTimeout(v.ctx, v.cfg.rpcTimeout())
	resp, err := v.client.Get(ctx, v.keys.votes(v.cfg.Node), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	cancel()
	if err != nil {
		return err
	}
	var stale []clientv3.Op
	for _, kv := range resp.Kvs {
		if !want[string(kv.Key)] {
			stale = append(stale, clientv3.OpDelete(string(kv.Key)))
		}
	}
	if _, err := v.commit(stale); err != nil {
		return err
	}
	clear(w.dirty)
	return nil
}

// commit sends ops in transactions of at most maxOps, each with a
// deadline, and returns the revision of the first.
func (v *View) commit(ops []clientv3.Op) (first int64, err error) {
	for len(ops) > 0 {
		batch := ops[:min(len(ops), maxOps)]
		ops = ops[len(batch):]
		ctx, cancel := context.WithTimeout(v.ctx, v.cfg.rpcTimeout())
		resp, err := v.client.Txn(ctx).Then(batch...).Commit()
		cancel()
		if err != nil {
			return first, err
		}
		if first == 0 {
			first = resp.Header.Revision
		}
	}
	return first, nil
}
