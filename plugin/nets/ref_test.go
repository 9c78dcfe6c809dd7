package nets

import (
	"net/netip"
	"testing"
)

// refGroup is longest-prefix match by its definition: every entry is
// tried, and of equal prefixes the first listed wins.
func refGroup(entries []Entry, a netip.Addr) int {
	a = a.Unmap()
	group, bits := none, -1
	for _, e := range entries {
		if e.Prefix.Bits() > bits && e.Prefix.Contains(a) {
			group, bits = e.Group, e.Prefix.Bits()
		}
	}
	return group
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// block is the aligned block of length bits around a.
func block(a netip.Addr, bits int) netip.Prefix {
	return netip.PrefixFrom(a, bits).Masked()
}

// uniform reports whether every address of blk gets the result want. The
// reference can only change where a listed prefix starts or just past where
// one ends, so those points and the block's own edges settle it.
func uniform(entries []Entry, blk netip.Prefix, want int) bool {
	if refGroup(entries, blk.Addr()) != want || refGroup(entries, lastAddr(blk)) != want {
		return false
	}
	for _, e := range entries {
		for _, q := range []netip.Addr{e.Prefix.Masked().Addr(), lastAddr(e.Prefix).Next()} {
			if q.IsValid() && blk.Contains(q) && refGroup(entries, q) != want {
				return false
			}
		}
	}
	return true
}

// checkLookup compares one Lookup with the reference: the group, that the
// block of length scope around a answers alike throughout, and that the
// block one bit shorter does not.
func checkLookup(t *testing.T, tab *Table, entries []Entry, a netip.Addr) {
	t.Helper()
	group, found, scope := tab.Lookup(a)
	want := refGroup(entries, a)
	if group != want || found != (want != none) {
		t.Fatalf("Lookup(%v): expected group %d, got %d (found %v)", a, want, group, found)
	}
	u := a.Unmap()
	if scope < 0 || scope > u.BitLen() {
		t.Fatalf("Lookup(%v): expected a scope within 0..%d, got %d", a, u.BitLen(), scope)
	}
	if !uniform(entries, block(u, scope), want) {
		t.Fatalf("Lookup(%v): expected every address of %v to get group %d, scope %d is too short", a, block(u, scope), want, scope)
	}
	if scope > 0 && uniform(entries, block(u, scope-1), want) {
		t.Fatalf("Lookup(%v): expected %v to hold another result, scope %d is too long", a, block(u, scope-1), scope)
	}
}
