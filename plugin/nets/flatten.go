package nets

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
)

// none is the result of addresses no listed prefix holds.
const none = -1

// span is one listed prefix as the interval it covers.
type span struct {
	start, end u128
	bits       int
	width      int // 32 or 128
	group      int
}

func spanOf(e Entry) span {
	p := e.Prefix
	if !p.IsValid() {
		panic(fmt.Sprintf("nets: invalid prefix %v", p))
	}
	if e.Group < 0 {
		panic(fmt.Sprintf("nets: negative group %d for %v", e.Group, p))
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	p = p.Masked()
	s := span{bits: p.Bits(), group: e.Group}
	if p.Addr().Is4() {
		a := p.Addr().As4()
		s.width = 32
		s.start = u128{0, uint64(binary.BigEndian.Uint32(a[:]))}
	} else {
		a := p.Addr().As16()
		s.width = 128
		s.start = u128{binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])}
	}
	m := hostMask(s.width, s.bits)
	s.end = u128{s.start.hi | m.hi, s.start.lo | m.lo}
	return s
}

// distinct sorts spans by start, parents before the nets they hold, and
// keeps only the first listed of equal prefixes.
func distinct(spans []span) []span {
	slices.SortStableFunc(spans, func(a, b span) int {
		if c := a.start.compare(b.start); c != 0 {
			return c
		}
		return cmp.Compare(a.bits, b.bits)
	})
	return slices.CompactFunc(spans, func(a, b span) bool {
		return a.start == b.start && a.bits == b.bits
	})
}

// boundary says that from start on, up to the next boundary, addresses get
// group (or none).
type boundary struct {
	start u128
	group int
}

// flatten turns sorted, distinct spans into the boundaries of disjoint
// ranges covering the whole address space from 0, adjacent ranges always
// differing in result so that a range is the widest run of one answer.
func flatten(spans []span, width int) []boundary {
	top := hostMask(width, 0)
	out := []boundary{{u128{}, none}}
	// set makes group start at at; events come in address order, and at one
	// address the innermost opening prefix comes last and wins.
	set := func(at u128, group int) {
		n := len(out)
		if out[n-1].start == at {
			out[n-1].group = group
			if n > 1 && out[n-2].group == group {
				out = out[:n-1]
			}
			return
		}
		if out[n-1].group != group {
			out = append(out, boundary{at, group})
		}
	}
	// open holds the prefixes around the current address, innermost last:
	// listed prefixes nest or are disjoint, never overlap partly.
	var open []span
	closeInner := func() {
		s := open[len(open)-1]
		open = open[:len(open)-1]
		if s.end == top {
			return
		}
		outer := none
		if len(open) > 0 {
			outer = open[len(open)-1].group
		}
		set(s.end.next(), outer)
	}
	for _, s := range spans {
		for len(open) > 0 && open[len(open)-1].end.compare(s.start) < 0 {
			closeInner()
		}
		set(s.start, s.group)
		open = append(open, s)
	}
	for len(open) > 0 {
		closeInner()
	}
	return out
}
