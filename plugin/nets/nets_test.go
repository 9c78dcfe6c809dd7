package nets

import (
	"net/netip"
	"sync"
	"testing"
)

func entries(list ...any) []Entry {
	var es []Entry
	for i := 0; i < len(list); i += 2 {
		es = append(es, Entry{netip.MustParsePrefix(list[i].(string)), list[i+1].(int)})
	}
	return es
}

type lookupCase struct {
	addr  string
	group int // none when not found
	scope int
}

func checkCases(t *testing.T, tab *Table, es []Entry, cases []lookupCase) {
	t.Helper()
	for _, c := range cases {
		a := netip.MustParseAddr(c.addr)
		group, found, scope := tab.Lookup(a)
		if group != c.group || found != (c.group != none) || scope != c.scope {
			t.Errorf("Lookup(%s): expected group %d found %v scope %d, got %d %v %d",
				c.addr, c.group, c.group != none, c.scope, group, found, scope)
		}
		if es != nil {
			checkLookup(t, tab, es, a)
		}
	}
}

func TestNestedIPv4(t *testing.T) {
	es := entries("10.1.0.0/16", 1, "10.1.2.0/24", 2)
	checkCases(t, New(es), es, []lookupCase{
		{"10.1.200.1", 1, 17},
		{"10.1.3.1", 1, 24},
		{"10.1.2.9", 2, 24},
		{"10.1.2.255", 2, 24},
		{"10.1.0.1", 1, 23},
		{"10.1.1.255", 1, 23},
		{"10.1.255.255", 1, 17},
		{"::ffff:10.1.200.1", 1, 17},
		{"::ffff:10.1.2.9", 2, 24},
		{"10.2.0.0", none, 15},
		{"10.0.255.255", none, 16},
		{"0.0.0.0", none, 5},
		{"255.255.255.255", none, 1},
		{"2001:db8::1", none, 0},
	})
}

func TestUnlistedIPv4(t *testing.T) {
	es := entries("10.0.0.0/8", 0)
	checkCases(t, New(es), es, []lookupCase{
		{"192.0.2.1", none, 1},
		{"10.9.9.9", 0, 8},
		{"9.255.255.255", none, 7},
		{"11.0.0.0", none, 8},
		{"::ffff:192.0.2.1", none, 1},
	})
}

func TestNestedIPv6(t *testing.T) {
	es := entries("2001:db8::/32", 1, "2001:db8:1::/48", 2)
	checkCases(t, New(es), es, []lookupCase{
		{"2001:db8:1::5", 2, 48},
		{"2001:db8:1:ffff:ffff:ffff:ffff:ffff", 2, 48},
		{"2001:db8:8000::", 1, 33},
		{"2001:db8::1", 1, 48},
		{"2001:db8:2::1", 1, 47},
		{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 1, 33},
		{"2001:db9::", none, 32},
		{"2001:db7:ffff::", none, 29}, // 2001:db0::/29 ends just below 2001:db8::
		{"::", none, 3},
		{"10.1.2.3", none, 0},
		{"::ffff:10.1.2.3", none, 0},
	})
}

// A range that does not stop at a 64-bit boundary tests the carry between
// the two halves of an IPv6 address.
func TestIPv6AcrossHalves(t *testing.T) {
	es := entries("2001:db8:0:1::/64", 1, "2001:db8:0:1:8000::/65", 2, "2001:db8:0:2::/63", 3)
	checkCases(t, New(es), es, []lookupCase{
		{"2001:db8:0:1::1", 1, 65},
		{"2001:db8:0:1:7fff:ffff:ffff:ffff", 1, 65},
		{"2001:db8:0:1:8000::", 2, 65},
		{"2001:db8:0:1:ffff:ffff:ffff:ffff", 2, 65},
		{"2001:db8:0:2::", 3, 63},
		{"2001:db8:0:3:ffff:ffff:ffff:ffff", 3, 63},
		{"2001:db8:0:0:ffff:ffff:ffff:ffff", none, 64},
		{"2001:db8:0:4::", none, 62},
	})
}

func TestAdjacentAlikeMerge(t *testing.T) {
	es := entries("10.1.2.0/25", 3, "10.1.2.128/25", 3)
	checkCases(t, New(es), es, []lookupCase{
		{"10.1.2.5", 3, 24},
		{"10.1.2.200", 3, 24},
		{"10.1.3.0", none, 24},
	})
	es = entries("10.0.0.0/8", 1, "10.5.0.0/16", 1)
	checkCases(t, New(es), es, []lookupCase{{"10.5.1.1", 1, 8}, {"10.6.1.1", 1, 8}})
	// A net inside a net of another group, itself holding one of the
	// outer group: the innermost and the outer part around it answer alike.
	es = entries("10.1.0.0/16", 1, "10.1.2.0/24", 2, "10.1.2.0/25", 1)
	checkCases(t, New(es), es, []lookupCase{
		{"10.1.2.5", 1, 25},
		{"10.1.1.5", 1, 23},
		{"10.1.2.128", 2, 25},
	})
}

func TestWholeSpaceAndSingleAddresses(t *testing.T) {
	es := entries("0.0.0.0/0", 7, "10.0.0.0/8", 8)
	checkCases(t, New(es), es, []lookupCase{
		{"192.0.2.1", 7, 1},
		{"10.1.1.1", 8, 8},
		{"2001:db8::1", none, 0},
	})
	es = entries("0.0.0.0/0", 7)
	checkCases(t, New(es), es, []lookupCase{{"192.0.2.1", 7, 0}, {"0.0.0.0", 7, 0}, {"255.255.255.255", 7, 0}})
	es = entries("::/0", 9)
	checkCases(t, New(es), es, []lookupCase{{"2001:db8::1", 9, 0}, {"10.0.0.1", none, 0}, {"::ffff:10.0.0.1", none, 0}})
	es = entries("192.0.2.1/32", 4, "0.0.0.0/32", 5, "255.255.255.255/32", 6)
	checkCases(t, New(es), es, []lookupCase{
		{"192.0.2.1", 4, 32},
		{"192.0.2.0", none, 32},
		{"192.0.2.3", none, 31},
		{"0.0.0.0", 5, 32},
		{"0.0.0.1", none, 32},
		{"255.255.255.255", 6, 32},
		{"255.255.255.254", none, 32},
	})
	es = entries("2001:db8::1/128", 5, "::/128", 6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 7)
	checkCases(t, New(es), es, []lookupCase{
		{"2001:db8::1", 5, 128},
		{"2001:db8::", none, 128},
		{"2001:db8::2", none, 127},
		{"::", 6, 128},
		{"::1", none, 128},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 7, 128},
	})
}

func TestEmpty(t *testing.T) {
	for _, tab := range []*Table{New(nil), {}} {
		checkCases(t, tab, nil, []lookupCase{
			{"10.0.0.1", none, 0},
			{"::ffff:10.0.0.1", none, 0},
			{"2001:db8::1", none, 0},
		})
		if tab.Len() != 0 {
			t.Errorf("Expected Len 0, got %d", tab.Len())
		}
	}
	if g, found, scope := New(nil).Lookup(netip.Addr{}); g != none || found || scope != 0 {
		t.Errorf("Expected the invalid address to match nothing with scope 0, got %d %v %d", g, found, scope)
	}
}

func TestFirstListedWins(t *testing.T) {
	es := entries("10.0.0.0/8", 1, "10.0.0.0/8", 2, "2001:db8::/32", 3, "2001:db8::/32", 4, "10.1.0.0/16", 5)
	tab := New(es)
	checkCases(t, tab, es, []lookupCase{{"10.2.0.1", 1, 15}, {"2001:db8::1", 3, 32}, {"10.1.0.1", 5, 16}})
	if tab.Len() != 3 {
		t.Errorf("Expected Len 3 distinct prefixes, got %d", tab.Len())
	}
}

func TestUnmaskedAnd4in6Prefixes(t *testing.T) {
	tab := New([]Entry{
		{netip.MustParsePrefix("10.1.2.3/16"), 1},
		{netip.MustParsePrefix("::ffff:192.0.2.0/120"), 2},
		{netip.MustParsePrefix("2001:db8::1/32"), 3},
	})
	checkCases(t, tab, nil, []lookupCase{
		{"10.1.0.1", 1, 16},
		{"192.0.2.7", 2, 24},
		{"::ffff:192.0.2.7", 2, 24},
		{"2001:db8:ffff::", 3, 32},
	})
}

func TestNewRefusesBadEntries(t *testing.T) {
	for _, e := range []Entry{{netip.Prefix{}, 0}, {netip.MustParsePrefix("10.0.0.0/8"), -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Expected New to panic on %+v", e)
				}
			}()
			New([]Entry{e})
		}()
	}
}

func TestLookupAllocatesNothing(t *testing.T) {
	tab := New(entries("10.1.0.0/16", 1, "10.1.2.0/24", 2, "2001:db8::/32", 3))
	addrs := []netip.Addr{
		netip.MustParseAddr("10.1.2.3"),
		netip.MustParseAddr("::ffff:10.1.2.3"),
		netip.MustParseAddr("2001:db8::1"),
		netip.MustParseAddr("fe80::1%eth0"),
	}
	for _, a := range addrs {
		if n := testing.AllocsPerRun(100, func() { tab.Lookup(a) }); n != 0 {
			t.Errorf("Lookup(%v): expected no allocations, got %v", a, n)
		}
	}
}

func TestConcurrentLookups(t *testing.T) {
	es := entries("10.1.0.0/16", 1, "10.1.2.0/24", 2)
	tab := New(es)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				if g, _, s := tab.Lookup(netip.MustParseAddr("10.1.2.9")); g != 2 || s != 24 {
					t.Errorf("Expected group 2 scope 24, got %d %d", g, s)
					return
				}
			}
		})
	}
	wg.Wait()
}
