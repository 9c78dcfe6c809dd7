package policy

import (
	"math/rand/v2"
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
}

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
	if n == 1 {
		return append(dst, s.items[0])
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
