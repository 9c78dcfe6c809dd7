package failover

import (
	"math"
	"time"

	"github.com/failover-dns/failover/plugin/health"
	"github.com/failover-dns/failover/plugin/policy"
)

// The hold-downs and the slow start are kept per endpoint as the rebuilds
// see its health (its checks, the replicas' votes and outside signals, not
// overrides), under managed.mu. A rebuild that finds one of them running
// arms a timer for the moment its standing or weight next changes.

// noteHealth records a change of ep's health verdict. The first verdict
// dates from its checks' latest real transition, so that a reload neither
// cuts a hold-down or a ramp short nor starts one; an endpoint up since its
// first probe is not a recovery.
func (m *managed) noteHealth(ep *endpoint, up bool, now time.Time) {
	switch {
	case !ep.seen:
		ep.seen, ep.healthy, ep.since = true, up, ep.lastChange()
	case up != ep.healthy:
		ep.healthy, ep.since = up, now
	}
}

// attached reports whether ep's checks are running: setup builds a first
// view before they are, which must not count as a verdict.
func (ep *endpoint) attached() bool {
	return len(ep.monitors) > 0 || len(ep.owner.cfg.CheckURLs(ep.cfg)) == 0
}

// lastChange is when one of ep's checks last changed state, not counting
// first probes; zero when none has.
func (ep *endpoint) lastChange() time.Time {
	var at time.Time
	for _, mon := range ep.monitors {
		st := mon.Status()
		if n := len(st.History); n > 0 && st.History[n-1].From != health.Unknown && st.Since.After(at) {
			at = st.Since
		}
	}
	return at
}

// delayed is ep's standing by its health and the hold-downs:
// failover_delay keeps a failed endpoint answering a while, failback_delay
// keeps a recovered one out a while (answered only if nothing else is).
func (m *managed) delayed(ep *endpoint, now time.Time) standing {
	switch {
	case ep.since.IsZero():
	case !ep.healthy && m.cfg.FailoverDelay > 0 && now.Before(ep.since.Add(m.cfg.FailoverDelay)):
		return usable
	case ep.healthy && m.cfg.FailbackDelay > 0 && now.Before(ep.since.Add(m.cfg.FailbackDelay)):
		return held
	}
	if ep.healthy {
		return usable
	}
	return unusable
}

// weightAt is ep's weight now: the configured one, or the one its check
// reports (weight_from), ramped up after a recovery (slow_start). It is
// fractional: a weight of 1 ramps too.
func (ep *endpoint) weightAt(now time.Time) float64 {
	w := float64(ep.cfg.Weight)
	if rw, ok := ep.reported(); ok {
		w = float64(rw)
	}
	if d := ep.owner.cfg.SlowStart; d > 0 && ep.healthy && !ep.since.IsZero() {
		back := ep.since.Add(ep.owner.cfg.FailbackDelay) // it serves from the end of its hold-down
		if elapsed := now.Sub(back); elapsed < d {
			return w * max(elapsed, 0).Seconds() / d.Seconds()
		}
	}
	return w
}

// memberWeight is weightAt for the policies, which only tell drained (0)
// from the rest.
func (ep *endpoint) memberWeight(now time.Time) uint32 {
	return uint32(math.Ceil(ep.weightAt(now)))
}

// ramping reports whether ep's weight is still rising.
func (ep *endpoint) ramping(now time.Time) bool {
	d := ep.owner.cfg.SlowStart
	return d > 0 && ep.healthy && !ep.since.IsZero() && now.Before(ep.since.Add(ep.owner.cfg.FailbackDelay+d))
}

// rampStep is how often a rising weight is republished: fifty steps per
// ramp, so that the share follows the line closely, and no faster than
// every 50 ms.
func (m *managed) rampStep() time.Duration { return max(m.cfg.SlowStart/50, 50*time.Millisecond) }

// weighs reports whether chosen share answers by weight: always in
// weighted; elsewhere once any of them has a weight other than 1, is
// ramping up or reports its own.
func (m *managed) weighs(chosen []*endpoint, now time.Time) bool {
	if m.cfg.Policy == policy.Weighted {
		return true
	}
	if m.cfg.Policy == policy.Fastest || m.cfg.Policy == policy.Nearest {
		return false // they rank instead
	}
	for _, ep := range chosen {
		if ep.cfg.Weight != 1 || ep.ramping(now) {
			return true
		}
		if _, ok := ep.reported(); ok {
			return true
		}
	}
	return false
}

func anyWeight(eps []*endpoint, now time.Time) bool {
	for _, ep := range eps {
		if ep.weightAt(now) > 0 {
			return true
		}
	}
	return false
}

// weightScale turns fractional weights into the integers of a weighted
// draw, and keeps an alias's share its weight when its answer holds several
// addresses (each gets weight*weightScale/len). 65535*5040 fits a uint32.
const weightScale = 5040 // divisible by every count up to 10, and 12, 14, 15 and 16

// drawWeight is one of ep's n records' weight in a weighted draw.
func drawWeight(w float64, n int) uint32 {
	return max(1, uint32(w*weightScale/float64(n)))
}

// wakeAt is when the next hold-down ends or a ramp steps; zero for never.
func (m *managed) wakeAt(now time.Time) time.Time {
	var at time.Time
	soonest := func(t time.Time) {
		if t.After(now) && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	for _, ep := range m.endpoints {
		if ep.since.IsZero() {
			continue
		}
		if !ep.healthy && m.cfg.FailoverDelay > 0 {
			soonest(ep.since.Add(m.cfg.FailoverDelay))
		}
		if ep.healthy && m.cfg.FailbackDelay > 0 {
			soonest(ep.since.Add(m.cfg.FailbackDelay))
		}
		if ep.ramping(now) {
			soonest(now.Add(m.rampStep()))
		}
	}
	return at
}

// armWake sets the stanza's timer for wakeAt; m.mu is held.
func (m *managed) armWake(now time.Time) {
	at := m.wakeAt(now)
	if m.wake != nil {
		m.wake.Stop()
		m.wake = nil
	}
	if at.IsZero() || m.halted {
		return
	}
	m.wake = time.AfterFunc(at.Sub(now), func() {
		m.mu.Lock()
		halted := m.halted
		m.mu.Unlock()
		if !halted {
			republish(m)
		}
	})
}

// halt stops the timer for good: the configuration is going away.
func (m *managed) halt() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.halted = true
	if m.wake != nil {
		m.wake.Stop()
	}
}

// awayTTL is the TTL of the records: ttl_failover while the name is off its
// first choice, unless an operator's temporary TTL is lower.
func (m *managed) awayTTL(ttl uint32, away bool) uint32 {
	if away && m.cfg.HasTTLFailover && (ttl == m.cfg.TTL || m.cfg.TTLFailover < ttl) {
		return m.cfg.TTLFailover
	}
	return ttl
}
