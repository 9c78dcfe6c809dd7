package nets

import "math/bits"

// ranges128 is ranges32 for IPv6. Its keys are four times as wide, so a
// node holds half as many and spans two adjacent cache lines, and 10,000
// prefixes take five reads.
type ranges128 struct {
	n      int
	starts []u128
	levels [][]u128 // the tree top down, starts last
	groups []int
}

const width128 = 8

func newRanges128(bs []boundary) ranges128 {
	starts := make([]u128, len(bs))
	r := ranges128{n: len(bs), groups: make([]int, len(bs))}
	for i, b := range bs {
		starts[i], r.groups[i] = b.start, b.group
	}
	r.starts = padded(starts, width128, max128)
	r.levels = append(innerLevels(r.starts, width128, max128), r.starts)
	return r
}

// find is the index of the range holding a; n must be > 0. It works as
// ranges32's does, with a key <= a exactly when a-key does not borrow.
func (r *ranges128) find(a u128) int {
	if a == max128 {
		return r.n - 1
	}
	node := 0
	for _, keys := range r.levels {
		k := (*[width128]u128)(keys[node*width128:])
		s0 := above128(a, k[0]) + above128(a, k[1]) + above128(a, k[2]) + above128(a, k[3])
		s1 := above128(a, k[4]) + above128(a, k[5]) + above128(a, k[6]) + above128(a, k[7])
		node = node*(width128+1) + width128 - int(s0+s1)
	}
	return node - node/(width128+1) - 1
}

// above128 is 1 when key > a, else 0.
func above128(a, key u128) uint64 {
	_, borrow := bits.Sub64(a.lo, key.lo, 0)
	_, borrow = bits.Sub64(a.hi, key.hi, borrow)
	return borrow
}

func (r *ranges128) lookup(a u128) (group, scope int) {
	if r.n == 0 {
		return none, 0
	}
	i := r.find(a)
	start, end := r.starts[i], max128
	if i+1 < r.n {
		end = r.starts[i+1].prev()
	}
	// As for IPv4; ^end's trailing zeros are end's trailing ones.
	low := min(commonBits(a, start)+1, 128-trailingZeros(start))
	high := min(commonBits(a, end)+1, 128-trailingZeros(u128{^end.hi, ^end.lo}))
	return r.groups[i], max(low, high)
}
