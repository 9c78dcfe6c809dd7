package health

import (
	"time"

	"github.com/failover-dns/failover/plugin/probe"
)

// historyLen is how many transitions a monitor remembers for the status page.
const historyLen = 8

// Change is one transition, as the status remembers it.
type Change struct {
	At       time.Time
	From, To State
	Reason   string
}

// Status is what an operator wants to know about a monitor: its latest
// probe, the run of equal results that ends with it, and its transitions.
type Status struct {
	State    State
	Probed   bool // a probe has ended
	Last     probe.Result
	LastAt   time.Time // when the latest probe ended
	StreakOK bool      // whether the streak is of successes
	Streak   int
	Since    time.Time     // the latest transition; zero before the first
	History  []Change      // oldest first, at most historyLen
	RTT      time.Duration // smoothed round trip of the successful probes

	// What the latest successful probe reported, as Weight and
	// WeightProblem give it.
	Weight        uint32
	WeightOK      bool
	WeightProblem string
}

// record keeps a probe's outcome for Status; e.mu is held.
func (m *Monitor) record(r probe.Result, t Transition, changed bool) {
	now := time.Now()
	m.statusMu.Lock()
	defer m.statusMu.Unlock()
	s := &m.status
	if s.Probed && s.StreakOK == r.OK() {
		s.Streak++
	} else {
		s.StreakOK, s.Streak = r.OK(), 1
	}
	s.Probed, s.Last, s.LastAt = true, r, now
	s.State = m.tracker.State()
	if changed {
		s.Since = now
		c := Change{At: now, From: t.From, To: t.To, Reason: r.Reason()}
		if len(s.History) == historyLen {
			copy(s.History, s.History[1:])
			s.History[historyLen-1] = c
		} else {
			s.History = append(s.History, c)
		}
	}
}

// Status returns a copy of m's status; it is for operators, not queries.
func (m *Monitor) Status() Status {
	m.statusMu.Lock()
	defer m.statusMu.Unlock()
	s := m.status
	s.History = append([]Change(nil), s.History...)
	s.RTT = m.RTT()
	w := m.reported()
	s.Weight, s.WeightOK, s.WeightProblem = w.weight, w.ok, w.problem
	return s
}
