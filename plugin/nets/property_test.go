package nets

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// space is the IPv4 network the random tables live in: small enough to look
// up every address of it.
var space = netip.MustParsePrefix("10.0.0.0/16")

func addr4(u uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], u)
	return netip.AddrFrom4(b)
}

func num4(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// randomEntries4 lists nested, adjacent and duplicate prefixes in space,
// sometimes under a parent reaching out of it, with few groups so that
// neighbours often answer alike.
func randomEntries4(r *rand.Rand) []Entry {
	var es []Entry
	for range 1 + r.IntN(20) {
		var p netip.Prefix
		switch k := r.IntN(10); {
		case k < 3 && len(es) > 0: // inside an earlier one
			q := es[r.IntN(len(es))].Prefix
			bits := min(32, max(q.Bits(), 16)+r.IntN(6))
			p = netip.PrefixFrom(addr4(num4(q.Addr())|r.Uint32()&^(^uint32(0)<<(32-q.Bits()))), bits).Masked()
			if r.IntN(2) == 0 { // sharing its first or its last address
				p = netip.PrefixFrom([]netip.Addr{q.Addr(), lastAddr(q)}[r.IntN(2)], bits).Masked()
			}
		case k < 5 && len(es) > 0: // right after an earlier one, or a copy
			q := es[r.IntN(len(es))].Prefix
			p = q
			if next := lastAddr(q).Next(); next.IsValid() && r.IntN(3) > 0 {
				p = netip.PrefixFrom(next, q.Bits()).Masked()
			}
		case k < 6:
			p = []netip.Prefix{space, netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("0.0.0.0/0")}[r.IntN(3)]
		default:
			p = netip.PrefixFrom(addr4(num4(space.Addr())|r.Uint32()&0xffff), 16+r.IntN(17)).Masked()
		}
		es = append(es, Entry{p, r.IntN(3)})
	}
	return es
}

// TestRandomIPv4Exhaustive looks up every address of space and checks the
// scope against the widest run of equal answers, found by painting the
// reference over the whole space rather than by flattening.
func TestRandomIPv4Exhaustive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	first, size := num4(space.Addr()), uint32(1)<<(32-space.Bits())
	paint := make([]int, size)
	runStart := make([]uint32, size)
	runEnd := make([]uint32, size)
	for range 40 {
		es := randomEntries4(r)
		tab := New(es)
		for i := range paint {
			paint[i] = none
		}
		byLength := slices.Clone(es)
		slices.SortStableFunc(byLength, func(a, b Entry) int { return a.Prefix.Bits() - b.Prefix.Bits() })
		painted := map[netip.Prefix]bool{}
		for _, e := range byLength {
			if painted[e.Prefix] {
				continue
			}
			painted[e.Prefix] = true
			lo, hi := max(num4(e.Prefix.Addr()), first), min(num4(lastAddr(e.Prefix)), first+size-1)
			for a := int64(lo); a <= int64(hi); a++ {
				paint[a-int64(first)] = e.Group
			}
		}
		// A run touching the edge of space may go on outside it, where only
		// the reference knows the answers.
		lowest, highest := first, first+size-1
		if paint[0] == refGroup(es, addr4(first-1)) {
			lowest = runFrom(es, addr4(first-1), false)
		}
		if paint[size-1] == refGroup(es, addr4(first+size)) {
			highest = runFrom(es, addr4(first+size), true)
		}
		for i := range size {
			switch {
			case i == 0:
				runStart[i] = lowest
			case paint[i] == paint[i-1]:
				runStart[i] = runStart[i-1]
			default:
				runStart[i] = first + i
			}
		}
		for i := size - 1; ; i-- {
			switch {
			case i == size-1:
				runEnd[i] = highest
			case paint[i] == paint[i+1]:
				runEnd[i] = runEnd[i+1]
			default:
				runEnd[i] = first + i
			}
			if i == 0 {
				break
			}
		}
		for i := range size {
			a := first + i
			group, found, scope := tab.Lookup(addr4(a))
			if group != paint[i] || found != (paint[i] != none) {
				t.Fatalf("%v: Lookup(%v): expected group %d, got %d (found %v)", es, addr4(a), paint[i], group, found)
			}
			want := 0 // the shortest block around a inside its run
			for ; want < 32; want++ {
				mask := ^uint32(0) << (32 - want)
				if a&mask >= runStart[i] && a|^mask <= runEnd[i] {
					break
				}
			}
			if scope != want {
				t.Fatalf("%v: Lookup(%v): expected scope %d (run %v-%v), got %d", es, addr4(a), want, addr4(runStart[i]), addr4(runEnd[i]), scope)
			}
		}
	}
}

// runFrom walks from a, up or down, to the last address answering like a,
// jumping between the only places the answer can change.
func runFrom(es []Entry, a netip.Addr, up bool) uint32 {
	want := refGroup(es, a)
	var marks []uint32 // first addresses of a new answer, going up
	for _, e := range es {
		marks = append(marks, num4(e.Prefix.Addr()))
		if next := lastAddr(e.Prefix).Next(); next.IsValid() {
			marks = append(marks, num4(next))
		}
	}
	slices.Sort(marks)
	at := num4(a)
	if up {
		for _, m := range marks {
			if m > at && refGroup(es, addr4(m)) != want {
				return m - 1
			}
		}
		return ^uint32(0)
	}
	for _, m := range slices.Backward(marks) {
		if m <= at && m > 0 && refGroup(es, addr4(m-1)) != want {
			return m
		}
	}
	return 0
}

// TestRandomIPv6 checks random tables under 2001:db8::/32 at and next to
// every prefix boundary, where mistakes in the 128-bit arithmetic show.
func TestRandomIPv6(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	base := netip.MustParsePrefix("2001:db8::/32")
	random := func(within netip.Prefix) netip.Addr {
		b := within.Masked().Addr().As16()
		var tail [16]byte
		binary.BigEndian.PutUint64(tail[:8], r.Uint64())
		binary.BigEndian.PutUint64(tail[8:], r.Uint64())
		for i := within.Bits(); i < 128; i++ {
			b[i/8] |= tail[i/8] & (0x80 >> (i % 8))
		}
		return netip.AddrFrom16(b)
	}
	randomBits := func() int {
		if r.IntN(4) == 0 {
			return 64 + r.IntN(65)
		}
		return 32 + r.IntN(33)
	}
	for range 200 {
		var es []Entry
		for range 1 + r.IntN(16) {
			var p netip.Prefix
			switch k := r.IntN(10); {
			case k < 3 && len(es) > 0 && es[len(es)-1].Prefix.Addr().Is6():
				q := es[len(es)-1].Prefix
				p = netip.PrefixFrom(random(q), min(128, q.Bits()+1+r.IntN(40))).Masked()
				if r.IntN(2) == 0 {
					p = netip.PrefixFrom([]netip.Addr{q.Addr(), lastAddr(q)}[r.IntN(2)], p.Bits()).Masked()
				}
			case k < 5 && len(es) > 0:
				q := es[r.IntN(len(es))].Prefix
				p = q
				if next := lastAddr(q).Next(); next.IsValid() && r.IntN(3) > 0 {
					p = netip.PrefixFrom(next, q.Bits()).Masked()
				}
			case k < 6:
				p = []netip.Prefix{base, netip.MustParsePrefix("2000::/3"), netip.MustParsePrefix("::/0")}[r.IntN(3)]
			case k < 7:
				p = netip.PrefixFrom(addr4(r.Uint32()), 8+r.IntN(25)).Masked() // must not leak into IPv6
			default:
				p = netip.PrefixFrom(random(base), randomBits()).Masked()
			}
			es = append(es, Entry{p, r.IntN(3)})
		}
		tab := New(es)
		for _, e := range es {
			first, last := e.Prefix.Addr(), lastAddr(e.Prefix)
			for _, a := range []netip.Addr{first, first.Prev(), last, last.Next(), random(e.Prefix)} {
				if a.IsValid() {
					checkLookup(t, tab, es, a)
					if a.Is4() {
						checkLookup(t, tab, es, netip.AddrFrom16(a.As16()))
					}
				}
			}
		}
		for range 20 {
			checkLookup(t, tab, es, random(base))
		}
	}
}

// TestLargeTables checks the group of lookups in tables deep enough for
// several tree levels; the scope there rests on the range found, which
// TestTreeFindsLikeBinarySearch covers.
func TestLargeTables(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, width := range []int{32, 128} {
		es, addrs := benchEntries(r, 3000, width)
		tab := New(es)
		for _, a := range addrs[:300] {
			if group, _, _ := tab.Lookup(a); group != refGroup(es, a) {
				t.Fatalf("Lookup(%v): expected group %d, got %d", a, refGroup(es, a), group)
			}
		}
		distinct := map[netip.Prefix]bool{}
		for _, e := range es {
			distinct[e.Prefix] = true
		}
		if tab.Len() != len(distinct) {
			t.Errorf("Expected Len %d, got %d", len(distinct), tab.Len())
		}
	}
}
