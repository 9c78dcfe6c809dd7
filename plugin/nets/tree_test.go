package nets

import (
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// The tree must find what a binary search over the sorted starts finds, at
// sizes around whole blocks and whole levels, where its edges are.
func TestTreeFindsLikeBinarySearch(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 2, 15, 16, 17, 272, 273, 289, 4624, 4625, 6000} {
		set := map[uint32]bool{0: true}
		for len(set) < n {
			set[r.Uint32()>>r.IntN(32)] = true
		}
		if n > 2 {
			set[^uint32(0)] = true // a range of its own at the very top
		}
		var bs []boundary
		for _, s := range slices.Sorted(maps.Keys(set)) {
			bs = append(bs, boundary{u128{0, uint64(s)}, len(bs)})
		}
		rs := newRanges32(bs)
		starts := rs.starts[:rs.n]
		check := func(a uint32) {
			want := sort.Search(len(starts), func(i int) bool { return starts[i] > a }) - 1
			if got := rs.find(a); got != want {
				t.Fatalf("%d ranges, %d levels: find(%#x): expected range %d, got %d", n, len(rs.levels), a, want, got)
			}
		}
		for _, s := range starts {
			check(s)
			check(s - 1)
			check(s + 1)
		}
		for range 1000 {
			check(r.Uint32())
		}
	}
}

func TestTree128FindsLikeBinarySearch(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 2, 7, 8, 9, 72, 73, 81, 648, 649, 5832, 5833} {
		set := map[u128]bool{{}: true}
		for len(set) < n {
			k := u128{r.Uint64() >> r.IntN(64), r.Uint64()}
			if r.IntN(2) == 0 {
				k.lo = 0 // starts of /64 and shorter, the usual case
			}
			if r.IntN(8) == 0 {
				k.hi = 0x20010db8 << 32 // many under one parent
			}
			set[k] = true
		}
		if n > 2 {
			set[max128] = true
		}
		var bs []boundary
		for _, s := range slices.SortedFunc(maps.Keys(set), u128.compare) {
			bs = append(bs, boundary{s, len(bs)})
		}
		rs := newRanges128(bs)
		starts := rs.starts[:rs.n]
		check := func(a u128) {
			want := sort.Search(len(starts), func(i int) bool { return starts[i].compare(a) > 0 }) - 1
			if got := rs.find(a); got != want {
				t.Fatalf("%d ranges, %d levels: find(%x): expected range %d, got %d", n, len(rs.levels), a, want, got)
			}
		}
		for _, s := range starts {
			check(s)
			check(s.prev())
			check(s.next())
		}
		for range 1000 {
			check(u128{r.Uint64(), r.Uint64()})
		}
	}
}
