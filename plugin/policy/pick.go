package policy

import (
	"math/rand/v2"

	"github.com/failover-dns/failover/plugin/geo"
	"sort"
	"sync/atomic"
)

// Set is the prepared, read-only answer material for one name and record
// type: the eligible items and, for weighted, their cumulative weights. Pick
// is the only code that runs per query.
type Set[T any] struct {
	items []T
	limit int      // answers per query, at least 1
	cum   []uint64 // cumulative weights when drawing by weight; nil otherwise
	turn  atomic.Uint64

	seeds   []uint64  // sticky: each item's rendezvous seed; nil otherwise
	weights []float64 // sticky: each item's weight
	equal   bool      // sticky: every weight is the same

	ordered bool        // answers keep the items' order instead of rotating
	points  []geo.Point // nearest: where each item is; nil otherwise
}

// Ordered makes Pick answer the first items in their order, unrotated: the
// order is a ranking (policy fastest).
func (s *Set[T]) Ordered() *Set[T] { s.ordered = true; return s }

// IsSticky reports whether picks depend on the client's key.
func (s *Set[T]) IsSticky() bool { return s.seeds != nil }

// NewSet prepares items. With weights (one per item) queries draw items in
// proportion to them; without, they get every item, rotated per query.
func NewSet[T any](items []T, weights []uint32, max int) *Set[T] {
	if max < 1 {
		max = 1
	}
	s := &Set[T]{items: items, limit: max}
	if weights != nil {
		s.cum = make([]uint64, len(weights))
		var sum uint64
		for i, w := range weights {
			if w == 0 {
				w = 1 // only drained members are left: share among them evenly
			}
			sum += uint64(w)
			s.cum[i] = sum
		}
	}
	return s
}

// Sticky makes PickFor choose by client: each client key gets the items of
// the highest rendezvous scores, seeds being the items' (see Seed). It is
// called once, before the set is published.
func (s *Set[T]) Sticky(seeds []uint64) *Set[T] {
	s.seeds = seeds
	s.weights = make([]float64, len(seeds))
	prev := uint64(0)
	s.equal = true
	for i := range seeds {
		s.weights[i] = 1
		if s.cum != nil {
			s.weights[i] = float64(s.cum[i] - prev)
			prev = s.cum[i]
		}
		s.equal = s.equal && s.weights[i] == s.weights[0]
	}
	return s
}

// PickFor appends the answer for the client of key: the same items for the
// same key while they are in the set. Without Sticky it is Pick.
func (s *Set[T]) PickFor(key uint64, dst []T) []T {
	n := len(s.items)
	if s.seeds == nil || n == 0 {
		return s.Pick(dst)
	}
	return s.pickSticky(key, nil, min(n, s.limit, maxSticky), dst)
}

// pickSticky appends the k items among the indices given (every item for
// nil) with the best rendezvous scores for key, best first.
func (s *Set[T]) pickSticky(key uint64, among []int, k int, dst []T) []T {
	// The k best scores, best first, by insertion: k is a few answers.
	var idx [maxSticky]int
	var top [maxSticky]float64
	got := 0
	n := len(among)
	if among == nil {
		n = len(s.items)
	}
	for a := range n {
		i := a
		if among != nil {
			i = among[a]
		}
		var sc float64
		if s.equal {
			// Equal weights rank as their hashes do: the same order as
			// score's, without a logarithm per item.
			sc = float64(mix(key ^ s.seeds[i]))
		} else {
			sc = score(key, s.seeds[i], s.weights[i])
		}
		if got == k && sc <= top[k-1] {
			continue
		}
		j := min(got, k-1)
		for j > 0 && top[j-1] < sc {
			top[j], idx[j] = top[j-1], idx[j-1]
			j--
		}
		top[j], idx[j] = sc, i
		got = min(got+1, k)
	}
	for _, i := range idx[:got] {
		dst = append(dst, s.items[i])
	}
	return dst
}

// maxSticky bounds the answers of a sticky pick, as max_answers does.
const maxSticky = 64

// Pick appends the answer of one query to dst.
func (s *Set[T]) Pick(dst []T) []T {
	n := len(s.items)
	if n == 0 {
		return dst
	}
	if s.cum != nil {
		return s.draw(dst)
	}
	k := min(n, s.limit)
	if n == 1 || s.ordered {
		return append(dst, s.items[:k]...)
	}
	// Rotate so that each item leads in turn; resolvers and clients mostly
	// use the first address.
	start := int(s.turn.Add(1) % uint64(n))
	for i := range k {
		dst = append(dst, s.items[(start+i)%n])
	}
	return dst
}

// draw picks min(Max, len) distinct items at random in proportion to weight.
func (s *Set[T]) draw(dst []T) []T {
	n := len(s.items)
	total := s.cum[n-1]
	if s.limit == 1 || n == 1 {
		r := rand.Uint64N(total)
		i := sort.Search(n, func(i int) bool { return s.cum[i] > r })
		return append(dst, s.items[i])
	}
	// Several answers: draw without replacement. The sets are small, so a
	// linear scan over the remaining weights is cheaper than anything clever.
	var small [64]bool
	taken := small[:]
	if n > len(small) {
		taken = make([]bool, n)
	}
	k := min(n, s.limit)
	for range k {
		r := rand.Uint64N(total)
		prev := uint64(0)
		for i := range n {
			w := s.cum[i] - prev
			prev = s.cum[i]
			if taken[i] {
				continue
			}
			if r < w {
				taken[i] = true
				total -= w
				dst = append(dst, s.items[i])
				break
			}
			r -= w
		}
	}
	return dst
}
