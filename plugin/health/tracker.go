// Package health turns probe results into endpoint states: hysteresis (fall
// and rise), a scheduler that paces probes, and a registry that lets every
// stanza and every reload share one probe per endpoint and check.
package health

// State is an endpoint's health as queries see it.
type State uint32

// The states; Unknown lasts only until the first probe returns.
const (
	Unknown State = iota
	Up
	Down
)

func (s State) String() string {
	switch s {
	case Up:
		return "up"
	case Down:
		return "down"
	}
	return "unknown"
}

// tracker applies fall/rise hysteresis to a stream of probe results. The very
// first result sets the state at once: at startup there is no history to
// protect, and the first answer should already reflect health.
type tracker struct {
	Fall, Rise int
	state      State
	streak     int // consecutive results that disagree with state
}

// Observe feeds one result and reports whether the state changed.
func (t *tracker) Observe(ok bool) (changed bool) {
	want := Down
	if ok {
		want = Up
	}
	if t.state == Unknown {
		t.state, t.streak = want, 0
		return true
	}
	if want == t.state {
		t.streak = 0
		return false
	}
	t.streak++
	need := t.Fall
	if ok {
		need = t.Rise
	}
	if t.streak >= need {
		t.state, t.streak = want, 0
		return true
	}
	return false
}

// State is the current state.
func (t *tracker) State() State { return t.state }

// Streak counts the latest results that disagree with the state; above zero
// the scheduler probes at the fast pace.
func (t *tracker) Streak() int { return t.streak }
