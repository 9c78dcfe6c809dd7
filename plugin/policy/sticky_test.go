package policy

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// subnets are n distinct IPv4 /24s, the same ones on every run.
func subnets(n int) []uint64 {
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[uint64]bool{}
	var out []uint64
	for len(out) < n {
		v := r.Uint32()
		addr := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		k := SubnetKey(addr, 24, 56)
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

func stickySet(addrs []string, weights []uint32, max int) *Set[string] {
	seeds := make([]uint64, len(addrs))
	for i, a := range addrs {
		seeds[i] = Seed(a)
	}
	return NewSet(addrs, weights, max).Sticky(seeds)
}

func first(s *Set[string], key uint64) string { return s.PickFor(key, nil)[0] }

func TestStickyMovesOnlyTheClientsOfAnEndpointThatLeaves(t *testing.T) {
	all := []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"}
	keys := subnets(10000)
	before := stickySet(all, nil, 1)
	without := stickySet([]string{all[0], all[1], all[3]}, nil, 1) // 192.0.2.3 went down
	back := stickySet(all, nil, 1)

	moved, onThird := 0, 0
	for _, k := range keys {
		was, now := first(before, k), first(without, k)
		if was == all[2] {
			onThird++
		}
		if was != now {
			moved++
			if was != all[2] {
				t.Fatalf("Expected only the clients of %s to move, but one moved from %s to %s", all[2], was, now)
			}
		}
		if first(back, k) != was {
			t.Fatalf("Expected the endpoint's return to give every client its first endpoint back, got %s instead of %s", first(back, k), was)
		}
	}
	if moved != onThird {
		t.Errorf("Expected every client of %s to move, %d of %d did", all[2], moved, onThird)
	}
	if share := float64(moved) / float64(len(keys)); share < 0.23 || share > 0.27 {
		t.Errorf("Expected about a quarter of the subnets to move, %.1f %% did", 100*share)
	}
	t.Logf("%d of %d subnets (%.2f %%) moved when one of four endpoints left", moved, len(keys), 100*float64(moved)/float64(len(keys)))
}

func TestStickyKeepsTheWeightsInAggregate(t *testing.T) {
	s := stickySet([]string{"192.0.2.1", "192.0.2.2"}, []uint32{90, 10}, 1)
	keys := subnets(10000)
	n := 0
	for _, k := range keys {
		if first(s, k) == "192.0.2.1" {
			n++
		}
	}
	if share := float64(n) / float64(len(keys)); share < 0.88 || share > 0.92 {
		t.Errorf("Expected 88-92 %% of the subnets on the endpoint of weight 90, got %.2f %%", 100*share)
	}
}

func TestStickyIsTheSameForTheWholeSubnet(t *testing.T) {
	s := stickySet([]string{"a", "b", "c", "d", "e"}, nil, 2)
	for i := range 50 {
		base := netip.AddrFrom4([4]byte{198, 51, byte(i), 0})
		want := fmt.Sprint(s.PickFor(SubnetKey(base, 24, 56), nil))
		for _, last := range []byte{1, 77, 255} {
			addr := netip.AddrFrom4([4]byte{198, 51, byte(i), last})
			if got := fmt.Sprint(s.PickFor(SubnetKey(addr, 24, 56), nil)); got != want {
				t.Fatalf("Expected %s to get the answer of its /24, %s, got %s", addr, want, got)
			}
		}
	}
	v6a, v6b := netip.MustParseAddr("2001:db8:0:ff00::1"), netip.MustParseAddr("2001:db8:0:ffff::2")
	if SubnetKey(v6a, 24, 56) != SubnetKey(v6b, 24, 56) {
		t.Errorf("Expected %s and %s to share a /56", v6a, v6b)
	}
	if SubnetKey(v6a, 24, 56) == SubnetKey(netip.MustParseAddr("2001:db8:0:100::1"), 24, 56) {
		t.Errorf("Expected another /56 to get another key")
	}
	if SubnetKey(netip.MustParseAddr("::ffff:198.51.100.7"), 24, 56) != SubnetKey(netip.MustParseAddr("198.51.100.200"), 24, 56) {
		t.Errorf("Expected a 4in6 address to count as its IPv4 address")
	}
}

func TestStickyPicksDistinctItemsBestFirst(t *testing.T) {
	items := []string{"a", "b", "c", "d", "e", "f"}
	s := stickySet(items, nil, 3)
	one := stickySet(items, nil, 1)
	for _, k := range subnets(500) {
		got := s.PickFor(k, nil)
		if len(got) != 3 || got[0] == got[1] || got[1] == got[2] || got[0] == got[2] {
			t.Fatalf("Expected three distinct items, got %v", got)
		}
		if got[0] != first(one, k) {
			t.Fatalf("Expected the first of three to be the single pick %s, got %v", first(one, k), got)
		}
	}
}

func BenchmarkPickFor(b *testing.B) {
	for _, n := range []int{2, 4, 8} {
		items := make([]string, n)
		for i := range items {
			items[i] = fmt.Sprintf("192.0.2.%d", i+1)
		}
		s := stickySet(items, nil, 1)
		keys := subnets(1024)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			var buf [8]string
			for i := 0; b.Loop(); i++ {
				s.PickFor(keys[i&1023], buf[:0])
			}
		})
	}
}
