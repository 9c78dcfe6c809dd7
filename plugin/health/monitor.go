package health

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/failover-dns/failover/plugin/probe"
)

// Pace is how often an endpoint is probed and how many results flip it.
type Pace struct {
	Interval     time.Duration
	FastInterval time.Duration
	Fall, Rise   int
}

// Transition is published when an endpoint changes state.
type Transition struct {
	Monitor  *Monitor
	From, To State
	Result   probe.Result // the probe that tipped it
}

// Listener hears about transitions. It runs on the probe's goroutine and must
// not block for long.
type Listener func(Transition)

// Monitor is one probe (endpoint + check) and the state it publishes. It is
// shared by every stanza that names the same endpoint with the same check.
type Monitor struct {
	Key     string
	Address string
	Check   string // the check URL as probed, for labels and logs
	pace    Pace
	prober  probe.Prober

	state atomic.Uint32 // State; the only field the query path reads
	rtt   atomic.Int64  // smoothed round trip of the successful probes, in ns; 0 before the first

	weight atomic.Pointer[reportedWeight] // what the latest successful probe reported; nil before one did

	// Owned by the engine (under engine.mu).
	tracker  tracker
	phase    time.Time     // steady probes run at phase + k*Interval
	tick     time.Duration // the clock its probes are due on
	due      time.Time
	heapIdx  int
	inFlight bool
	added    bool
	stopped  bool
	cancel   context.CancelFunc
	done     chan struct{} // closed when an in-flight probe has finished

	mu            sync.RWMutex // guards subscriptions; held for reading while they run
	subscriptions map[*subscription]struct{}

	gate atomic.Pointer[func() bool] // whether this process probes it now; nil is always

	statusMu sync.Mutex // guards status; the engine writes it, operators read it
	status   Status

	refs int // guarded by Registry.mu
}

// RTT is the smoothed round trip of m's successful probes, 0 before the
// first one.
func (m *Monitor) RTT() time.Duration { return time.Duration(m.rtt.Load()) }

// rttWeight is how much one probe moves the smoothed round trip: enough to
// follow a real change within a few probes, little enough that one slow
// probe does not reorder endpoints.
const rttWeight = 0.3

// smooth folds a successful probe's round trip into RTT; e.mu is held, so
// only one probe of m updates it at a time.
func (m *Monitor) smooth(r probe.Result) {
	if !r.OK() || r.RTT <= 0 {
		return
	}
	old := m.rtt.Load()
	if old == 0 {
		m.rtt.Store(int64(r.RTT))
		return
	}
	m.rtt.Store(old + int64(rttWeight*float64(int64(r.RTT)-old)))
}

// WatchRTT calls l after every probe that updated RTT, on the probe's
// goroutine; it returns a function that stops the calls.
func (m *Monitor) WatchRTT(l func()) (unsubscribe func()) {
	return m.subscribe(&subscription{rtt: l})
}

// subscription is one Subscribe call. It holds the listener so that it is
// never of zero size: Go may give every allocation of a zero-size type one
// and the same address, and all subscribers would then share one map key.
type subscription struct {
	listener Listener
	rtt      func()
	weight   func()
}

// NewMonitor makes a monitor; it does nothing until an engine runs it.
func NewMonitor(key, address string, pace Pace, p probe.Prober) *Monitor {
	m := &Monitor{Key: key, Address: address, pace: pace, prober: p, heapIdx: -1}
	m.tracker = tracker{Fall: pace.Fall, Rise: pace.Rise}
	return m
}

// State is the published state; safe to call from any goroutine, lock-free.
func (m *Monitor) State() State { return State(m.state.Load()) }

// SetGate makes the engine ask probe before each probe of m; when it says
// no the probe is skipped and the schedule kept, as when another replica
// probes the endpoint for this one.
func (m *Monitor) SetGate(probe func() bool) { m.gate.Store(&probe) }

func (m *Monitor) probing() bool {
	g := m.gate.Load()
	return g == nil || (*g)()
}

// Subscribe registers l and returns a function that removes it.
func (m *Monitor) Subscribe(l Listener) (unsubscribe func()) {
	return m.subscribe(&subscription{listener: l})
}

func (m *Monitor) subscribe(s *subscription) (unsubscribe func()) {
	m.mu.Lock()
	if m.subscriptions == nil {
		m.subscriptions = make(map[*subscription]struct{})
	}
	m.subscriptions[s] = struct{}{}
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		delete(m.subscriptions, s)
		m.mu.Unlock()
	}
}

// publish calls the listeners under the read lock, so that an unsubscribe
// returns only once no call of its listener is running: a configuration
// stopped by a reload hears nothing after its stop.
func (m *Monitor) publish(t Transition) {
	m.notify(func(s *subscription) {
		if s.listener != nil {
			s.listener(t)
		}
	})
}

// publishRTT tells the round-trip watchers, as publish does transitions.
func (m *Monitor) publishRTT() {
	m.notify(func(s *subscription) {
		if s.rtt != nil {
			s.rtt()
		}
	})
}

// notify calls tell for every subscription under the read lock (see publish).
func (m *Monitor) notify(tell func(*subscription)) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for s := range m.subscriptions {
		tell(s)
	}
}
