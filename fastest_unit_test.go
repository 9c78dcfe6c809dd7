package failover

import (
	"slices"
	"testing"
	"time"
)

// The lead changes only for an endpoint at least 20 % faster, and at once
// when the leader leaves; the others follow by their round trips.
func TestFastestLeadNeedsTwentyPercent(t *testing.T) {
	a, b, c := &endpoint{}, &endpoint{}, &endpoint{}
	rtt := map[*endpoint]time.Duration{a: 10 * time.Millisecond, b: 60 * time.Millisecond, c: 120 * time.Millisecond}
	l := &fastLead{rttOf: func(ep *endpoint) time.Duration { return rtt[ep] }}
	all := []*endpoint{c, b, a}
	rank := func(k int) []*endpoint { return l.rank(all, k, &l.served) }
	if got := rank(2); !slices.Equal(got, []*endpoint{a, b}) {
		t.Fatalf("Expected the two fastest, a then b, got %v", got)
	}
	for _, step := range []struct {
		what   string
		a, b   time.Duration
		leader *endpoint
	}{
		{"b 10 % faster than a", 10 * time.Millisecond, 9 * time.Millisecond, a},
		{"b 19 % faster than a", 10 * time.Millisecond, 8100 * time.Microsecond, a},
		{"b 20 % faster than a", 10 * time.Millisecond, 8 * time.Millisecond, b},
		{"a back, 10 % faster than b", 7200 * time.Microsecond, 8 * time.Millisecond, b},
		{"a 25 % faster than b", 6 * time.Millisecond, 8 * time.Millisecond, a},
	} {
		rtt[a], rtt[b] = step.a, step.b
		if got := rank(1); got[0] != step.leader {
			t.Errorf("%s: expected the leader to be %p, got %p", step.what, step.leader, got[0])
		}
	}
	// The leader leaves: the fastest of the rest leads at once.
	if got := l.rank([]*endpoint{b, c}, 1, &l.served); got[0] != b {
		t.Errorf("Expected b to lead once a is gone, got %p", got[0])
	}
	// An unmeasured endpoint ranks last, and never takes the lead.
	d := &endpoint{}
	if got := l.rank([]*endpoint{d, c}, 2, &l.served); !slices.Equal(got, []*endpoint{c, d}) {
		t.Errorf("Expected the measured endpoint before the unmeasured one, got %v", got)
	}
}
