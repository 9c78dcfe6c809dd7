package health

import "sync"

// Registry hands out one Monitor per key and counts its users. Across a
// reload the new configuration acquires before the old one releases, so an
// endpoint that keeps its check keeps its monitor, its state and its streak,
// and is never probed twice.
type Registry struct {
	Engine *Engine

	mu       sync.Mutex
	monitors map[string]*Monitor
}

// NewRegistry makes a registry whose monitors run on e.
func NewRegistry(e *Engine) *Registry {
	return &Registry{Engine: e, monitors: make(map[string]*Monitor)}
}

// Acquire returns the monitor for key, making it with build if there is none.
// fresh is true when it was made now; the caller then runs its first probe
// (Engine.FirstRound) and starts it (Engine.Add).
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
		r.Engine.Remove(m)
	}
	return last
}

// Len is the number of live monitors.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.monitors)
}
