package geo

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/failover-dns/failover/plugin/geo/geotest"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

var testPlaces = []geotest.Place{
	{CIDR: "192.0.2.0/24", Continent: "NA", Country: "US", Subdivision: "CA", At: &geotest.LatLon{Lat: 37.7749, Lon: -122.4194}},
	{CIDR: "198.51.100.0/25", Continent: "EU", Country: "DE", Subdivision: "BE", At: &geotest.LatLon{Lat: 52.52, Lon: 13.405}},
	{CIDR: "203.0.113.0/24", Continent: "AS", Country: "JP", Subdivision: ""},
	{CIDR: "2001:db8::/32", Continent: "EU", Country: "GB", Subdivision: "ENG", At: &geotest.LatLon{Lat: 51.5074, Lon: -0.1278}},
	{CIDR: "10.0.0.0/8", Continent: "EU", Country: "FR", At: &geotest.LatLon{Lat: 48.8566, Lon: 2.3522}},
	{CIDR: "172.16.0.0/16", Continent: "OC", Country: "AU", At: &geotest.LatLon{Lat: -33.8688, Lon: 151.2093}},
	{CIDR: "172.17.0.0/17", Continent: "SA", Country: "BR"},
}

// oddPlaces have locations that no client may be placed at: out of range,
// NaN, half a pair, or of the wrong type. The last is valid, at the edges.
var oddPlaces = []geotest.Place{
	{CIDR: "100.64.0.0/16", Country: "XA", At: &geotest.LatLon{Lat: 90.5, Lon: 0}},
	{CIDR: "100.65.0.0/16", Country: "XB", At: &geotest.LatLon{Lat: 0, Lon: -180.5}},
	{CIDR: "100.66.0.0/16", Country: "XC", At: &geotest.LatLon{Lat: math.NaN(), Lon: 10}},
	{CIDR: "100.67.0.0/24", Country: "XD", Extra: mmdbtype.Map{"location": mmdbtype.Map{"latitude": mmdbtype.Float64(10)}}},
	{CIDR: "100.67.1.0/24", Country: "XE", Extra: mmdbtype.Map{"location": mmdbtype.Map{"accuracy_radius": mmdbtype.Uint16(1000)}}},
	{CIDR: "100.67.2.0/24", Country: "XF", Extra: mmdbtype.Map{"location": mmdbtype.Map{"latitude": mmdbtype.String("10"), "longitude": mmdbtype.Float64(10)}}},
	{CIDR: "100.67.3.0/24", Country: "XG", Extra: mmdbtype.Map{"location": mmdbtype.String("here")}},
	{CIDR: "3fff::/20", Country: "XH"},
	{CIDR: "100.68.0.0/16", Country: "XI", At: &geotest.LatLon{Lat: -90, Lon: 180}},
}

// coordPlaces is testPlaces with oddPlaces.
var coordPlaces = append(append([]geotest.Place(nil), testPlaces...), oddPlaces...)

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

func TestLookupCoords(t *testing.T) {
	db, err := openBytes("test.mmdb", geotest.Bytes(t, "GeoLite2-City", coordPlaces))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr     string
		has      bool
		lat, lon float64
	}{
		{"10.200.1.1", true, 48.8566, 2.3522},            // the /16 table, from a /8
		{"::ffff:172.16.99.1", true, -33.8688, 151.2093}, // the /16 table, from a /16
		{"192.0.2.7", true, 37.7749, -122.4194},          // the tree
		{"198.51.100.1", true, 52.52, 13.405},
		{"2001:db8::1", true, 51.5074, -0.1278},
		{"100.68.1.1", true, -90, 180},
		{"203.0.113.9", false, 0, 0}, // no location
		{"172.17.1.1", false, 0, 0},
		{"3fff::1", false, 0, 0},
		{"198.51.100.200", false, 0, 0}, // not in the database
		{"100.64.1.1", false, 0, 0},
		{"100.65.1.1", false, 0, 0},
		{"100.66.1.1", false, 0, 0},
		{"100.67.0.1", false, 0, 0},
		{"100.67.1.1", false, 0, 0},
		{"100.67.2.1", false, 0, 0},
		{"100.67.3.1", false, 0, 0},
	}
	for _, tc := range tests {
		loc, _ := db.Lookup(netip.MustParseAddr(tc.addr))
		if loc.HasCoords != tc.has || loc.Latitude != tc.lat || loc.Longitude != tc.lon {
			t.Errorf("%s: expected coordinates %v %v,%v, got %v %v,%v", tc.addr, tc.has, tc.lat, tc.lon, loc.HasCoords, loc.Latitude, loc.Longitude)
		}
	}
	if loc, _ := db.Lookup(netip.MustParseAddr("100.67.3.1")); loc.Country != Code("XG") {
		t.Errorf("Expected a record with a broken location to keep its country, got %+v", loc)
	}
}

// TestCountryHasNoCoords reads a Country database, which has no locations.
func TestCountryHasNoCoords(t *testing.T) {
	db, err := openBytes("test.mmdb", geotest.Bytes(t, "GeoLite2-Country", coordPlaces))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"10.200.1.1", "192.0.2.7", "2001:db8::1"} {
		if loc, found := db.Lookup(netip.MustParseAddr(a)); !found || loc.HasCoords {
			t.Errorf("%s: expected a country and no coordinates, got %+v (found %v)", a, loc, found)
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	db, err := openBytes("test.mmdb", geotest.Bytes(b, "GeoLite2-City", testPlaces))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, addr string }{
		{"tree", "192.0.2.7"},
		{"table", "10.200.1.1"},
		{"ipv6", "2001:db8::1"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			addr := netip.MustParseAddr(bc.addr)
			b.ReportAllocs()
			for b.Loop() {
				db.Lookup(addr)
			}
		})
	}
}

// TestLookupTableAgreesWithTree checks the /16 short cut against the tree
// walk for addresses all over the IPv4 space.
func TestLookupTableAgreesWithTree(t *testing.T) {
	db, err := openBytes("test.mmdb", geotest.Bytes(t, "GeoLite2-City", coordPlaces))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200000 {
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], rng.Uint32())
		if i%2 == 0 { // and half of them inside the test networks
			a[0] = []byte{10, 172, 192, 198, 203, 100}[i%6]
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
