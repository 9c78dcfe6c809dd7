package cluster

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// View is this replica's part in the cluster: its votes going out, the
// others' coming in.
type View struct {
	cfg    Config
	keys   layout
	logf   func(format string, args ...any)
	client *clientv3.Client
	born   time.Time

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	closed atomic.Bool

	lease   atomic.Pointer[session]
	ack     atomic.Int64 // when etcd last renewed the lease, as time since born
	snap    atomic.Pointer[snapshot]
	status  atomic.Pointer[Status]
	lastErr atomic.Pointer[string]
	leases  sync.Map     // every lease ID granted to this replica, to tell a namesake apart
	wrote   atomic.Int64 // the revision at which this replica last wrote its members key

	out outbox

	wake    chan struct{} // the writer has work
	resync  chan struct{} // the watcher must read everything afresh
	expired chan struct{} // the writer found the lease gone
	kick    chan struct{} // subscribers should hear of a change

	subMu sync.Mutex
	subs  map[int]func()
	next  int
}

// session is one lease and what it is numbered, so that readers can tell
// a snapshot read under it from an older one.
type session struct {
	id  clientv3.LeaseID
	ttl time.Duration
	n   uint64
}

// Start checks cfg and returns at once; connecting, keeping the lease
// alive, writing and watching go on in the background until Close. logf
// hears of losing and regaining etcd; nil discards it.
func Start(cfg Config, logf func(format string, args ...any)) (*View, error) {
	cfg, err := cfg.checked()
	if err != nil {
		return nil, err
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	client, err := clientv3.New(clientv3.Config{
		Endpoints:            cfg.Endpoints,
		TLS:                  cfg.TLS,
		DialTimeout:          cfg.rpcTimeout(),
		DialKeepAliveTime:    5 * time.Second, // etcd refuses pings more often than this
		DialKeepAliveTimeout: 2 * time.Second,
		PermitWithoutStream:  true,
		Logger:               zap.NewNop(),
		// Reconnect soon after etcd is back, rather than after gRPC's minutes of backoff.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: cfg.rpcTimeout(),
		})},
	})
	if err != nil {
		return nil, err
	}
	v := &View{
		cfg: cfg, keys: newLayout(cfg.Prefix), logf: logf, client: client, born: time.Now(),
		wake: make(chan struct{}, 1), resync: make(chan struct{}, 1), expired: make(chan struct{}, 1), kick: make(chan struct{}, 1),
		subs: map[int]func(){},
	}
	v.ctx, v.cancel = context.WithCancel(context.Background())
	v.status.Store(&Status{Node: cfg.Node, Since: v.born, Lease: cfg.Lease})
	for _, run := range []func(){v.keep, v.write, v.watch, v.monitor} {
		v.wg.Go(run)
	}
	go v.notify()
	return v, nil
}

// Decide is the cluster's answer for key, given local, this replica's own
// view. It is local when this replica is cut off from etcd or no other
// replica votes for key.
func (v *View) Decide(key string, local bool) (down bool, why string) {
	s, ok := v.current(time.Now())
	if !ok {
		return local, "this replica's own probes: cut off from etcd"
	}
	d, ok := s.decisions[keyHash(key)]
	if !ok || !d.others {
		return local, "this replica's own probes: no other replica votes"
	}
	return d.down, d.why
}

// Probes tells whether this replica should probe key now: always, unless
// Probers is set and this replica is in touch with the others.
func (v *View) Probes(key string) bool {
	if v.cfg.Probers == 0 {
		return true
	}
	s, ok := v.current(time.Now())
	if !ok {
		return true
	}
	return probes(s.members, v.cfg.Node, key, v.cfg.Probers)
}

// current is the snapshot when this replica takes part: its lease renewed
// within the TTL, and the snapshot read under that lease.
func (v *View) current(now time.Time) (*snapshot, bool) {
	l, s := v.lease.Load(), v.snap.Load()
	if l == nil || s == nil || s.session != l.n || v.closed.Load() {
		return s, false
	}
	return s, now.Sub(v.born)-time.Duration(v.ack.Load()) <= l.ttl
}

// Subscribe calls changed, on a goroutine of its own and under no lock,
// whenever what Decide, Probes or Status answer may have changed. Calls
// do not overlap; a slow changed delays the next call, nothing else.
func (v *View) Subscribe(changed func()) (unsubscribe func()) {
	v.subMu.Lock()
	id := v.next
	v.next++
	v.subs[id] = changed
	v.subMu.Unlock()
	return func() {
		v.subMu.Lock()
		delete(v.subs, id)
		v.subMu.Unlock()
	}
}

// Close withdraws this replica from the cluster, its votes with it, and
// stops. It waits at most about one call to etcd.
func (v *View) Close() { v.stop(true) }

// stop without revoking leaves the votes in etcd until the lease runs out,
// as when a replica dies.
func (v *View) stop(revoke bool) {
	v.once.Do(func() {
		v.closed.Store(true)
		v.cancel()
		v.wg.Wait()
		if l := v.lease.Load(); l != nil && revoke {
			ctx, cancel := context.WithTimeout(context.Background(), v.cfg.rpcTimeout())
			v.client.Revoke(ctx, l.id)
			cancel()
		}
		v.client.Close()
	})
}

// signal wakes the goroutine reading ch without waiting for it.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// failed keeps err for Status and the cut-off message.
func (v *View) failed(err error) {
	if err != nil && v.ctx.Err() == nil {
		msg := err.Error()
		v.lastErr.Store(&msg)
	}
}

func (v *View) acked() { v.ack.Store(int64(time.Since(v.born))) }

// pause waits d, or less if the View closes; it reports whether to go on.
func (v *View) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-v.ctx.Done():
		return false
	}
}
