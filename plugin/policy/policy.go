// Package policy decides which endpoints answer: which are eligible given
// their health (on every state change, off the query path) and which of
// those a single query gets (on the query path, without locks).
package policy

import (
	"fmt"
	"slices"
	"strings"
)

// Kind is a routing policy.
type Kind uint8

// The policies of the Corefile's policy property.
const (
	ActivePassive Kind = iota
	ActiveActive
	Weighted
	Geo
	Nearest // by distance from the client's coordinates, per query
	Fastest // by the probes' smoothed round trip from this server
)

var kindNames = [...]string{ActivePassive: "active-passive", ActiveActive: "active-active", Weighted: "weighted", Geo: "geo", Nearest: "nearest", Fastest: "fastest"}

func (k Kind) String() string { return kindNames[k] }

// Parse reads a policy name.
func Parse(s string) (Kind, error) {
	for k, name := range kindNames {
		if strings.EqualFold(s, name) {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("unknown policy %q; allowed are %s", s, strings.Join(kindNames[:], ", "))
}

// DefaultMaxAnswers is the answer count when max_answers is not set:
// eight, as Route 53's multivalue answers, except for weighted and fastest,
// which pick one.
func (k Kind) DefaultMaxAnswers() int {
	if k == Weighted || k == Fastest {
		return 1
	}
	return 8
}

// Member is what a policy needs to know of an endpoint.
type Member struct {
	Priority int
	Weight   uint32
	Up       bool
}

// Eligible returns the indices of the members that may answer, in order.
// allDown is true when no member the policy could use is up; the indices are
// then empty and the caller applies all_down.
//
//   - ActivePassive (and Geo inside a region): the up members of the lowest
//     priority tier that has any.
//   - ActiveActive, Nearest and Fastest: every up member (the distance or
//     the round trip narrows them down later).
//   - Weighted: every up member of positive weight; weight 0 drains a member,
//     which serves only when no member of positive weight is up.
func Eligible(k Kind, ms []Member) (idx []int, allDown bool) {
	switch k {
	case ActiveActive, Nearest, Fastest:
		for i, m := range ms {
			if m.Up {
				idx = append(idx, i)
			}
		}
	case Weighted:
		for i, m := range ms {
			if m.Up && m.Weight > 0 {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			for i, m := range ms {
				if m.Up {
					idx = append(idx, i)
				}
			}
		}
	default:
		best := 0
		found := false
		for _, m := range ms {
			if m.Up && (!found || m.Priority < best) {
				best, found = m.Priority, true
			}
		}
		for i, m := range ms {
			if m.Up && m.Priority == best {
				idx = append(idx, i)
			}
		}
	}
	return idx, len(idx) == 0
}

// AllUp returns a copy of ms with every member up: what all_down return_all
// answers from.
func AllUp(ms []Member) []Member {
	out := make([]Member, len(ms))
	for i, m := range ms {
		m.Up = true
		out[i] = m
	}
	return out
}

// EligibleMin is Eligible where an active-passive tier counts as up only
// while need(its size) of its members are (min_healthy); below that the next
// tier answers. When no tier has that many up, the first tier with any up
// answers, as without the minimum: a thin answer beats none.
func EligibleMin(k Kind, ms []Member, need func(n int) int) (idx []int, allDown bool) {
	if need == nil || k != ActivePassive && k != Geo {
		return Eligible(k, ms)
	}
	prios := make([]int, 0, 4)
	for _, m := range ms {
		if !slices.Contains(prios, m.Priority) {
			prios = append(prios, m.Priority)
		}
	}
	slices.Sort(prios)
	for _, p := range prios {
		size, up := 0, 0
		for _, m := range ms {
			if m.Priority == p {
				size++
				if m.Up {
					up++
				}
			}
		}
		if up > 0 && up >= need(size) {
			for i, m := range ms {
				if m.Up && m.Priority == p {
					idx = append(idx, i)
				}
			}
			return idx, false
		}
	}
	return Eligible(k, ms)
}

// NextTier returns the up members of the first tier after priority p that
// has any: where active-passive trickles a share of its answers.
func NextTier(ms []Member, p int) []int {
	best, found := 0, false
	for _, m := range ms {
		if m.Up && m.Priority > p && (!found || m.Priority < best) {
			best, found = m.Priority, true
		}
	}
	var idx []int
	for i, m := range ms {
		if found && m.Up && m.Priority == best {
			idx = append(idx, i)
		}
	}
	return idx
}
