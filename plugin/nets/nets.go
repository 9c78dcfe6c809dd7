// Package nets maps client addresses to the group of the longest listed
// prefix that holds them, and says how far that answer reaches.
package nets

import (
	"encoding/binary"
	"net/netip"
)

// Entry lists one of the operator's networks and the group it routes to.
type Entry struct {
	Prefix netip.Prefix // masked; IPv4 prefixes are plain 4-byte (not 4in6)
	Group  int          // >= 0
}

// Table is immutable after New and safe for concurrent use.
//
// The nested prefixes are flattened into sorted disjoint ranges, one
// result each, so that a lookup is a single search with no backtracking to
// a parent prefix; the zero Table has no entries.
type Table struct {
	v4       ranges32
	v6       ranges128
	prefixes int
}

// New builds a table. The same prefix listed twice keeps the first entry's
// group. Unmasked prefixes are masked and 4in6 ones of /96 or longer count as
// the IPv4 prefix they spell, since Lookup would never reach them otherwise.
// New panics on an invalid prefix or a negative group: the caller's parser
// must have refused those.
func New(entries []Entry) *Table {
	var v4, v6 []span
	for _, e := range entries {
		s := spanOf(e)
		if s.width == 32 {
			v4 = append(v4, s)
		} else {
			v6 = append(v6, s)
		}
	}
	v4 = distinct(v4)
	v6 = distinct(v6)
	return &Table{
		v4:       newRanges32(flatten(v4, 32)),
		v6:       newRanges128(flatten(v6, 128)),
		prefixes: len(v4) + len(v6),
	}
}

// Lookup returns the group of the longest listed prefix holding addr
// (found is false and group -1 when none holds it) and scope: the prefix
// length of the largest aligned block around addr in which every address
// gets the same result (the same group, or likewise no match). IPv4
// addresses (4in6 ones are unmapped first) match only IPv4 prefixes, scope
// 0..32; IPv6 only IPv6, 0..128. An invalid addr is not found, scope 0.
func (t *Table) Lookup(addr netip.Addr) (group int, found bool, scope int) {
	addr = addr.Unmap()
	switch {
	case addr.Is4():
		a := addr.As4()
		group, scope = t.v4.lookup(binary.BigEndian.Uint32(a[:]))
	case addr.Is6():
		// As16 hands its array back through a copy that stalls on the two
		// stores it was built from, which costs more than a tree level;
		// appending to a buffer on the stack does not.
		var buf [16]byte
		a, _ := addr.WithZone("").AppendBinary(buf[:0])
		group, scope = t.v6.lookup(u128{binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:16])})
	default:
		return none, false, 0
	}
	return group, group != none, scope
}

// Len is the number of distinct prefixes listed, for logs.
func (t *Table) Len() int { return t.prefixes }
