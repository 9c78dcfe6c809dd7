package nets

import "math/bits"

// ranges32 holds the IPv4 ranges: starts[i] up to starts[i+1]-1 (the last
// up to 255.255.255.255) get groups[i]. A static B+ tree over starts finds
// the range: with 10,000 prefixes that takes four reads of one cache line
// each, where a binary search takes fifteen dependent ones.
type ranges32 struct {
	n      int        // ranges; starts is padded with ^0 to whole blocks
	starts []uint32   // the tree's leaves
	levels [][]uint32 // the tree top down, starts last
	groups []int
}

// width32 keys of 4 bytes fill a 64-byte cache line.
const width32 = 16

func newRanges32(bs []boundary) ranges32 {
	starts := make([]uint32, len(bs))
	r := ranges32{n: len(bs), groups: make([]int, len(bs))}
	for i, b := range bs {
		starts[i], r.groups[i] = uint32(b.start.lo), b.group
	}
	r.starts = padded(starts, width32, ^uint32(0))
	r.levels = append(innerLevels(r.starts, width32, ^uint32(0)), r.starts)
	return r
}

// find is the index of the range holding a; n must be > 0. At each level
// it counts the keys of a node that are <= a to pick a child, and at the
// leaves the range. The sign of a-key in 64 bits says key > a without a
// branch, which random addresses would mispredict half the time; four sums
// of four keep the chain of additions short. The scan is written out here,
// not called, as it is too big for the compiler to inline.
func (r *ranges32) find(a uint32) int {
	if a == ^uint32(0) {
		return r.n - 1 // the padding would count as <= a
	}
	x := uint64(a)
	node := 0
	for _, keys := range r.levels {
		k := (*[width32]uint32)(keys[node*width32:])
		s0 := (x-uint64(k[0]))>>63 + (x-uint64(k[1]))>>63 + (x-uint64(k[2]))>>63 + (x-uint64(k[3]))>>63
		s1 := (x-uint64(k[4]))>>63 + (x-uint64(k[5]))>>63 + (x-uint64(k[6]))>>63 + (x-uint64(k[7]))>>63
		s2 := (x-uint64(k[8]))>>63 + (x-uint64(k[9]))>>63 + (x-uint64(k[10]))>>63 + (x-uint64(k[11]))>>63
		s3 := (x-uint64(k[12]))>>63 + (x-uint64(k[13]))>>63 + (x-uint64(k[14]))>>63 + (x-uint64(k[15]))>>63
		node = node*(width32+1) + width32 - int(s0+s1+s2+s3)
	}
	// At the leaves node is block*(width32+1) + count, and count is at
	// least 1: starts[0] is 0, and any other block is only reached when its
	// first key is <= a.
	return node - node/(width32+1) - 1
}

func (r *ranges32) lookup(a uint32) (group, scope int) {
	if r.n == 0 {
		return none, 0
	}
	i := r.find(a)
	start, end := r.starts[i], ^uint32(0)
	if i+1 < r.n {
		end = r.starts[i+1] - 1
	}
	// The block of length L around a is [a&mask(L), a|^mask(L)], and both
	// edges only move inwards as L grows. The low edge is at or above start
	// once L goes past the bits a shares with start, or once start's
	// trailing zeros cover the block's host bits; the high edge likewise
	// with end and its trailing ones. The scope is the least L for both.
	low := min(bits.LeadingZeros32(a^start)+1, 32-bits.TrailingZeros32(start))
	high := min(bits.LeadingZeros32(a^end)+1, 32-bits.TrailingZeros32(^end))
	return r.groups[i], max(low, high)
}
