package geo

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/failover-dns/failover/plugin/geo/geotest"
)

var testPlaces = []geotest.Place{
	{CIDR: "192.0.2.0/24", Continent: "NA", Country: "US", Subdivision: "CA"},
	{CIDR: "198.51.100.0/25", Continent: "EU", Country: "DE", Subdivision: "BE"},
	{CIDR: "203.0.113.0/24", Continent: "AS", Country: "JP", Subdivision: ""},
	{CIDR: "2001:db8::/32", Continent: "EU", Country: "GB", Subdivision: "ENG"},
	{CIDR: "10.0.0.0/8", Continent: "EU", Country: "FR"},
	{CIDR: "172.16.0.0/16", Continent: "OC", Country: "AU"},
	{CIDR: "172.17.0.0/17", Continent: "SA", Country: "BR"},
}

func TestLookup(t *testing.T) {
	db, err := openBytes("test.mmdb", geotest.Bytes(t, "GeoLite2-City", testPlaces))
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
		{"10.200.1.1", true, "EU", "FR", "", 8},
		{"172.16.99.1", true, "OC", "AU", "", 16},
		{"172.17.1.1", true, "SA", "BR", "", 17},
		{"172.17.200.1", false, "", "", "", 17},
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
	db, err := openBytes("test.mmdb", geotest.Bytes(b, "GeoLite2-City", testPlaces))
	if err != nil {
		b.Fatal(err)
	}
	addr := netip.MustParseAddr("192.0.2.7")
	b.ReportAllocs()
	for b.Loop() {
		db.Lookup(addr)
	}
}

// TestLookupTableAgreesWithTree checks the /16 short cut against the tree
// walk for addresses all over the IPv4 space.
func TestLookupTableAgreesWithTree(t *testing.T) {
	db, err := openBytes("test.mmdb", geotest.Bytes(t, "GeoLite2-Country", testPlaces))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200000 {
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], rng.Uint32())
		if i%2 == 0 { // and half of them inside the test networks
			a[0] = []byte{10, 172, 192, 198, 203}[i%5]
		}
		addr := netip.AddrFrom4(a)
		got, gotFound := db.Lookup(addr)
		want, wantFound := db.lookupTree(addr)
		if got != want || gotFound != wantFound {
			t.Fatalf("%s: table gives %+v (%v), tree gives %+v (%v)", addr, got, gotFound, want, wantFound)
		}
	}
}

// TestDatabaseTypes opens each kind of database the plugin supports and
// finds a client in it.
func TestDatabaseTypes(t *testing.T) {
	for _, dbType := range []string{"GeoLite2-City", "GeoLite2-Country", "GeoIP2-City", "GeoIP2-Country", "DBIP-Country-Lite"} {
		db, err := openBytes("test.mmdb", geotest.Bytes(t, dbType, testPlaces))
		if err != nil {
			t.Errorf("%s: expected to open, got %v", dbType, err)
			continue
		}
		if db.Type != dbType {
			t.Errorf("Expected type %s, got %s", dbType, db.Type)
		}
		if loc, found := db.Lookup(netip.MustParseAddr("203.0.113.9")); !found || loc.Country != Code("JP") {
			t.Errorf("%s: expected 203.0.113.9 in JP, got %+v (found %v)", dbType, loc, found)
		}
	}
	for _, dbType := range []string{"GeoLite2-ASN", "GeoIP2-Domain", "Unknown-Type"} {
		if _, err := openBytes("test.mmdb", geotest.Bytes(t, dbType, testPlaces)); err == nil {
			t.Errorf("%s: expected an error, a database without locations cannot route", dbType)
		}
	}
}
