package health

import (
	"sync"
	"time"

	"github.com/failover-dns/failover/plugin/probe"
)

// Registry hands out one Monitor per key and counts its users. Across a
// reload the new configuration acquires before the old one releases, so an
// endpoint that keeps its check keeps its monitor, its state and its streak,
// and is never probed twice.
type Registry struct {
	engine *engine

	mu       sync.Mutex
	monitors map[string]*Monitor
}

// NewRegistry makes a registry whose monitors run on an engine of its own,
// with at most concurrency first probes at once (0: a default). onResult, if
// not nil, hears every probe's result and how late it started against its
// schedule, on the probe's goroutine.
func NewRegistry(concurrency int, onResult func(m *Monitor, r probe.Result, late time.Duration)) *Registry {
	e := newEngine(concurrency)
	e.onResult = onResult
	return &Registry{engine: e, monitors: make(map[string]*Monitor)}
}

// Acquire returns the monitor for key, making it with build if there is none.
// fresh is true when it was made now; the caller then starts it with Start.
func (r *Registry) Acquire(key string, build func() *Monitor) (m *Monitor, fresh bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m = r.monitors[key]; m != nil {
		m.refs++
		return m, false
	}
	m = build()
	m.refs = 1
	r.monitors[key] = m
	return m, true
}

// Start runs the first probe of the fresh monitors, bounded as a whole by
// within, and starts their steady probing.
func (r *Registry) Start(fresh []*Monitor, within time.Duration) {
	r.engine.firstRound(fresh, within)
	for _, m := range fresh {
		r.engine.add(m)
	}
}

// Release drops one use of m; the last one stops its probes and reports true.
func (r *Registry) Release(m *Monitor) (last bool) {
	r.mu.Lock()
	m.refs--
	last = m.refs == 0
	if last {
		delete(r.monitors, m.Key)
	}
	r.mu.Unlock()
	if last {
		r.engine.remove(m)
	}
	return last
}

// count is the number of live monitors.
func (r *Registry) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.monitors)
}
