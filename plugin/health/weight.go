package health

import "github.com/failover-dns/failover/plugin/probe"

// reportedWeight is what a successful probe of a weight_from check read. It
// is replaced, never changed, so that readers need no lock.
type reportedWeight struct {
	weight  uint32
	ok      bool
	problem string
}

// noWeight is what a monitor reports before any probe succeeded, and what a
// check without weight_from reports for ever.
var noWeight reportedWeight

// Weight is the weight m's endpoint reported at its latest successful
// probe; ok is false before one, or when that probe reported none, so that
// the configured weight applies. A failed probe changes nothing: a down
// endpoint gets no traffic, and when it comes back its next success tells.
// Safe from any goroutine, lock-free.
func (m *Monitor) Weight() (w uint32, ok bool) {
	r := m.reported()
	return r.weight, r.ok
}

// WeightProblem says why the latest successful probe reported no weight,
// such as garbage where the weight should be; "" when there was none.
func (m *Monitor) WeightProblem() string { return m.reported().problem }

// WatchWeight calls l, on the probe's goroutine after the probe is
// recorded, whenever a probe changes Weight or WeightProblem, so that a
// watcher logs once per change rather than once per probe. It returns a
// function that stops the calls.
func (m *Monitor) WatchWeight(l func()) (unsubscribe func()) {
	return m.subscribe(&subscription{weight: l})
}

func (m *Monitor) reported() reportedWeight {
	if r := m.weight.Load(); r != nil {
		return *r
	}
	return noWeight
}

// noteWeight keeps what a successful probe reported and says whether that
// changed anything; e.mu is held, so only one probe of m updates it at a
// time. It allocates only on a change.
func (m *Monitor) noteWeight(r probe.Result) bool {
	if !r.OK() {
		return false
	}
	now := reportedWeight{weight: r.Weight, ok: r.WeightOK, problem: r.WeightProblem}
	if !now.ok {
		now.weight = 0 // a weight that is not reported is no weight
	}
	if now == m.reported() {
		return false
	}
	m.weight.Store(&now)
	return true
}

// publishWeight tells the weight watchers, as publish does transitions.
func (m *Monitor) publishWeight() {
	m.notify(func(s *subscription) {
		if s.weight != nil {
			s.weight()
		}
	})
}
