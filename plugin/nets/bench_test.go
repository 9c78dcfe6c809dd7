package nets

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// benchEntries lists n random prefixes of the family (/16–/28 for IPv4,
// /32–/64 for IPv6), a quarter of them inside an earlier one, and returns
// addresses to look up: half inside listed prefixes, half anywhere.
func benchEntries(r *rand.Rand, n, width int) ([]Entry, []netip.Addr) {
	minBits, maxBits := 16, 28
	whole := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	if width == 128 {
		minBits, maxBits = 32, 64
		whole = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	random := func(within netip.Prefix) netip.Addr {
		b := within.Addr().AsSlice()
		var tail [16]byte
		binary.BigEndian.PutUint64(tail[:8], r.Uint64())
		binary.BigEndian.PutUint64(tail[8:], r.Uint64())
		for i := within.Bits(); i < width; i++ {
			b[i/8] |= tail[i/8] & (0x80 >> (i % 8))
		}
		a, _ := netip.AddrFromSlice(b)
		return a
	}
	es := make([]Entry, 0, n)
	for len(es) < n {
		within, bits := whole, minBits+r.IntN(maxBits-minBits+1)
		if len(es) > 0 && r.IntN(4) == 0 {
			if parent := es[r.IntN(len(es))].Prefix; parent.Bits() < maxBits {
				within, bits = parent, parent.Bits()+1+r.IntN(maxBits-parent.Bits())
			}
		}
		es = append(es, Entry{netip.PrefixFrom(random(within), bits).Masked(), r.IntN(8)})
	}
	addrs := make([]netip.Addr, 1024)
	for i := range addrs {
		if i%2 == 0 {
			addrs[i] = random(es[r.IntN(len(es))].Prefix)
		} else {
			addrs[i] = random(whole)
		}
	}
	return es, addrs
}

func BenchmarkLookup(b *testing.B) {
	for _, family := range []struct {
		name  string
		width int
	}{{"IPv4", 32}, {"IPv6", 128}} {
		for _, n := range []int{10, 1000, 10000} {
			b.Run(fmt.Sprintf("%s/%d", family.name, n), func(b *testing.B) {
				es, addrs := benchEntries(rand.New(rand.NewPCG(uint64(n), uint64(family.width))), n, family.width)
				tab := New(es)
				b.ReportAllocs()
				// A xorshift picks the next address: cycling through addrs in
				// order would let the branch predictor learn the sequence.
				x := uint64(0x9e3779b97f4a7c15)
				for b.Loop() {
					x ^= x << 13
					x ^= x >> 7
					x ^= x << 17
					tab.Lookup(addrs[x&(uint64(len(addrs))-1)]) // len(addrs) is a power of 2
				}
			})
		}
	}
}
