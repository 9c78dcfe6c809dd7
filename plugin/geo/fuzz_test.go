package geo

import (
	"net/netip"
	"testing"

	"github.com/failover-dns/failover/plugin/geo/geotest"
)

// fuzzLookups are addresses inside, between and outside testPlaces and
// oddPlaces, of both families and IPv4 written as IPv6.
var fuzzLookups = []netip.Addr{
	netip.MustParseAddr("192.0.2.1"),
	netip.MustParseAddr("198.51.100.200"),
	netip.MustParseAddr("10.1.2.3"),
	netip.MustParseAddr("172.17.0.1"),
	netip.MustParseAddr("100.66.0.1"),
	netip.MustParseAddr("100.67.2.1"),
	netip.MustParseAddr("0.0.0.0"),
	netip.MustParseAddr("255.255.255.255"),
	netip.MustParseAddr("::ffff:203.0.113.9"),
	netip.MustParseAddr("2001:db8::1"),
	netip.MustParseAddr("::"),
	netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
	{},
}

// FuzzOpenBytes feeds damaged databases to openBytes: a replaced GeoIP file
// may be cut short or corrupt, and must then be refused, not crash the server.
func FuzzOpenBytes(f *testing.F) {
	for _, dbType := range []string{"GeoLite2-City", "GeoIP2-Country", "GeoLite2-ASN"} {
		data := geotest.Bytes(f, dbType, testPlaces)
		f.Add(data)
		// Cut at the end of the tree, inside the data section and inside
		// the metadata, which is read from the end of the file.
		for _, n := range []int{1, 16, len(data) / 4, len(data) / 2, len(data) - 64, len(data) - 1} {
			if n > 0 && n < len(data) {
				f.Add(data[:n])
				f.Add(data[n:])
			}
		}
		for _, at := range []int{0, 7, len(data) / 3, len(data) / 2, len(data) - 40, len(data) - 8} {
			flipped := append([]byte(nil), data...)
			flipped[at] ^= 0x5a
			f.Add(flipped)
		}
	}
	f.Add(geotest.Bytes(f, "GeoLite2-City", nil))
	f.Add(geotest.Bytes(f, "GeoLite2-City", oddPlaces))
	f.Add([]byte{})
	f.Add([]byte("\xab\xcd\xefMaxMind.com"))

	f.Fuzz(func(t *testing.T, data []byte) {
		db, err := openBytes("fuzz.mmdb", data)
		if err != nil {
			return
		}
		if db.Networks < 0 || db.Type == "" {
			t.Errorf("Expected a database type and a network count, got %q and %d", db.Type, db.Networks)
		}
		for _, a := range fuzzLookups {
			loc, found := db.Lookup(a)
			if !found && (loc.Continent != 0 || loc.Country != 0 || loc.Subdivision != 0) {
				t.Errorf("Expected no codes for %s when it is not found, got %+v", a, loc)
			}
			if loc.Subdivision != 0 && loc.Country == 0 {
				t.Errorf("Expected a subdivision only with a country for %s, got %+v", a, loc)
			}
			if loc.HasCoords && (!found || !ValidCoords(loc.Latitude, loc.Longitude)) || !loc.HasCoords && (loc.Latitude != 0 || loc.Longitude != 0) {
				t.Errorf("Expected coordinates for %s only when found and on the Earth, got %+v (found %v)", a, loc, found)
			}
		}
	})
}
