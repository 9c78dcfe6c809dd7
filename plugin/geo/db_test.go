package geo

import (
	"net/netip"
	"testing"

	"github.com/failover-dns/failover/plugin/geo/geotest"
)

var testPlaces = []geotest.Place{
	{CIDR: "192.0.2.0/24", Continent: "NA", Country: "US", Subdivision: "CA"},
	{CIDR: "198.51.100.0/25", Continent: "EU", Country: "DE", Subdivision: "BE"},
	{CIDR: "203.0.113.0/24", Continent: "AS", Country: "JP", Subdivision: ""},
	{CIDR: "2001:db8::/32", Continent: "EU", Country: "GB", Subdivision: "ENG"},
}

func TestLookup(t *testing.T) {
	db, err := OpenBytes("test.mmdb", geotest.Bytes(t, "GeoLite2-City", testPlaces))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr                          string
		found                         bool
		continent, country, subdivide string
		bits                          int
	}{
		{"192.0.2.7", true, "NA", "US", "US-CA", 24},
		{"::ffff:192.0.2.7", true, "NA", "US", "US-CA", 24},
		{"198.51.100.1", true, "EU", "DE", "DE-BE", 25},
		{"203.0.113.9", true, "AS", "JP", "", 24},
		{"2001:db8::1", true, "EU", "GB", "GB-ENG", 32},
		{"198.51.100.200", false, "", "", "", 25},
	}
	for _, tc := range tests {
		loc, found := db.Lookup(netip.MustParseAddr(tc.addr))
		if found != tc.found {
			t.Errorf("%s: expected found %v, got %v", tc.addr, tc.found, found)
			continue
		}
		if loc.Continent != Code(tc.continent) || loc.Country != Code(tc.country) || loc.Subdivision != Code(tc.subdivide) {
			t.Errorf("%s: expected %s/%s/%s, got %x/%x/%x", tc.addr, tc.continent, tc.country, tc.subdivide, loc.Continent, loc.Country, loc.Subdivision)
		}
		if loc.Network.Bits() != tc.bits {
			t.Errorf("%s: expected network /%d, got %s", tc.addr, tc.bits, loc.Network)
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	db, err := OpenBytes("test.mmdb", geotest.Bytes(b, "GeoLite2-City", testPlaces))
	if err != nil {
		b.Fatal(err)
	}
	addr := netip.MustParseAddr("192.0.2.7")
	b.ReportAllocs()
	for b.Loop() {
		db.Lookup(addr)
	}
}
