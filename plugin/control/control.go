// Package control keeps what operators and outside signals decide about
// endpoints, over their probes: overrides, temporary TTLs, firing alerts and
// failbacks held for an operator. Changes publish a new immutable snapshot;
// configurations rebuild their views from it, so queries never read this
// package.
package control

import (
	"fmt"
	"strings"
	"time"
)

// State is what an override forces.
type State uint8

// The override states.
const (
	Up    State = iota + 1 // answered whatever its probe says
	Down                   // never answered
	Drain                  // answered only when nothing else may be
)

var stateNames = [...]string{Up: "up", Down: "down", Drain: "drain"}

func (s State) String() string {
	if int(s) < len(stateNames) && stateNames[s] != "" {
		return stateNames[s]
	}
	return "none"
}

// ParseState reads up, down or drain.
func ParseState(s string) (State, error) {
	for st, n := range stateNames {
		if n != "" && strings.EqualFold(s, n) {
			return State(st), nil
		}
	}
	return 0, fmt.Errorf("state %q is unknown; allowed are up, down and drain", s)
}

// Every is the name of an override that holds for an address in every name.
const Every = "*"

// Key is what an override or a signal is about: an address in one name, or
// in every name (Name Every).
type Key struct{ Name, Address string }

// Override is an operator's decision about an endpoint.
type Override struct {
	State  State
	Reason string
	SetAt  time.Time
	SafeAt time.Time // drain: when no cache can still hold a record naming it; zero if unknown
}

// TTL is a temporary TTL of a name.
type TTL struct {
	TTL, Normal    uint32
	SetAt, Until   time.Time
	CutoverReadyAt time.Time // every cache holds at most TTL seconds from here
}

// Hold is a failback that waits for an operator: the name failed over and
// stays on its backup after its first choice recovers, until someone
// confirms it (failback manual).
type Hold struct {
	Since  time.Time // when the name failed over; the state file keeps it to the second
	Reason string    // why it failed over
}

// Signal is one firing outside alert about an endpoint.
type Signal struct {
	Alert string // alertname
	Key   string // the alert's labels: the same when it fires and when it resolves
	Since time.Time
}
