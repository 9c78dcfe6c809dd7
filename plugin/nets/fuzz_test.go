package nets

import (
	"net/netip"
	"testing"
)

// fuzzEntries reads four bytes an entry: family and group, length, and
// address bits placed so that prefixes nest often and IPv6 ones straddle the
// two 64-bit halves.
func fuzzEntries(data []byte) []Entry {
	var es []Entry
	for ; len(data) >= 4 && len(es) < 12; data = data[4:] {
		flags, length, x, y := data[0], data[1], data[2], data[3]
		var p netip.Prefix
		if flags&1 == 0 {
			p = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, x, y, length}), int(length%33))
		} else {
			b := [16]byte{0x20, 0x01, 0x0d, 0xb8, x, 0, 0, 0x80, y, 0, 0, 0, 0, 0, 0, length}
			p = netip.PrefixFrom(netip.AddrFrom16(b), int(length%129))
		}
		es = append(es, Entry{p.Masked(), int(flags>>1) % 4})
	}
	return es
}

// FuzzTable checks Lookup against the reference around every listed
// prefix's edges, in both spellings of IPv4.
func FuzzTable(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 16, 1, 0, 2, 24, 1, 2})
	f.Add([]byte{0, 25, 1, 2, 0, 25, 1, 2, 0, 153, 1, 2, 6, 32, 0, 0})
	f.Add([]byte{1, 32, 0, 0, 3, 48, 1, 0, 5, 65, 0, 0x80, 1, 128, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 1, 0, 0, 0, 2, 32, 255, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		es := fuzzEntries(data)
		tab := New(es)
		for _, e := range es {
			first, last := e.Prefix.Addr(), lastAddr(e.Prefix)
			for _, a := range []netip.Addr{first, first.Prev(), last, last.Next()} {
				if !a.IsValid() {
					continue
				}
				checkLookup(t, tab, es, a)
				if a.Is4() {
					checkLookup(t, tab, es, netip.AddrFrom16(a.As16()))
				}
			}
		}
	})
}
