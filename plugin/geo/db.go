// Package geo finds where a client is: a MaxMind GeoIP2/GeoLite2 City or
// Country database read for the three codes and the coordinates routing
// needs, reloaded when the file is replaced.
package geo

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"

	"github.com/oschwald/geoip2-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2"
)

// Location is where an address is, as packed codes (see Code) and
// coordinates, and the network of the database entry that said so.
type Location struct {
	Continent   uint64 // e.g. Code("EU")
	Country     uint64 // e.g. Code("DE")
	Subdivision uint64 // e.g. Code("US-CA"); 0 when the database has none
	// Latitude and Longitude are in degrees, and only meaningful with
	// HasCoords, which Country databases and records without a location
	// lack.
	Latitude, Longitude float64
	HasCoords           bool
	Point               Point // the coordinates, ready for DistanceTo
	Network             netip.Prefix
}

// Code packs an upper-case code of at most 8 ASCII bytes into an integer, so
// that matching a client against the configuration compares integers and
// allocates nothing.
func Code(s string) uint64 { return extend(0, s) }

// extend appends the bytes of s to the packed code c.
func extend(c uint64, s string) uint64 {
	for i := 0; i < len(s) && i < 8; i++ {
		b := s[i]
		if b >= 'a' && b <= 'z' {
			b -= 'a' - 'A'
		}
		c = c<<8 | uint64(b)
	}
	return c
}

// DB is an open database. It is immutable and safe for concurrent use.
type DB struct {
	Path     string
	Type     string // the database type from its metadata, e.g. GeoLite2-City
	Networks int    // networks read at open
	reader   *maxminddb.Reader
	// places holds the decoded fields of every distinct record, by its
	// offset. MaxMind databases share one record among all the networks of a
	// place, so this is small (a few hundred entries for a Country database),
	// and a query pays for a tree walk and a map read instead of decoding.
	places map[uintptr]place
	// v4 short-cuts the tree walk for the IPv4 /16s that lie wholly inside
	// one network of the database, which are most of them in a Country
	// database: one array read instead of walking 16 to 32 tree nodes.
	v4 []v4Block
}

type v4Block struct {
	place place
	bits  uint8 // the length of the database network holding the block
	state uint8
}

const (
	blockUnknown uint8 = iota // no network of the database covers it: walk the tree
	blockWhole                // one network covers the whole /16
	blockSplit                // several networks share it: walk the tree
)

// place is what routing uses from one record of the database.
type place struct {
	continent, country, subdivision uint64
	lat, lon                        float64
	hasCoords                       bool
	point                           Point // converted at open: a query pays no sine
}

// fill copies p into loc; both lookup paths use it, so that they cannot
// disagree on what a record says.
func (p *place) fill(loc *Location) {
	loc.Continent, loc.Country, loc.Subdivision = p.continent, p.country, p.subdivision
	loc.Latitude, loc.Longitude, loc.HasCoords, loc.Point = p.lat, p.lon, p.hasCoords, p.point
}

// open reads path and checks that it is a City or Country database.
func open(path string) (*DB, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("geoip %s: %v", path, unwrapPath(err))
	}
	return openBytes(path, data)
}

// openBytes is open for a database already in memory.
func openBytes(path string, data []byte) (*DB, error) {
	// geoip2 knows which database types carry country and continent data.
	checked, err := geoip2.OpenBytes(data)
	if err != nil {
		var unknown geoip2.UnknownDatabaseTypeError
		if errors.As(err, &unknown) {
			return nil, fmt.Errorf("geoip %s: database type %q has no locations; use a GeoIP2 or GeoLite2 City or Country database", path, unknown.DatabaseType)
		}
		return nil, fmt.Errorf("geoip %s: not a MaxMind database: %v", path, err)
	}
	dbType := checked.Metadata().DatabaseType
	if _, err := checked.Country(netip.IPv6Unspecified()); err != nil {
		var invalid geoip2.InvalidMethodError
		if errors.As(err, &invalid) {
			return nil, fmt.Errorf("geoip %s: database type %q has no locations; use a GeoIP2 or GeoLite2 City or Country database", path, dbType)
		}
	}
	// The same bytes, read through the lower-level reader for lookups that
	// decode only the fields routing uses.
	reader, err := maxminddb.OpenBytes(data)
	if err != nil {
		return nil, fmt.Errorf("geoip %s: %v", path, err)
	}
	db := &DB{Path: path, Type: dbType, reader: reader, places: make(map[uintptr]place), v4: make([]v4Block, 1<<16)}
	for r := range reader.Networks() {
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("geoip %s: corrupt database: %v", path, err)
		}
		db.Networks++
		p, ok := db.places[r.Offset()]
		if !ok {
			p = decode(r)
			db.places[r.Offset()] = p
		}
		db.index4(r.Prefix(), p)
	}
	return db, nil
}

// index4 records an IPv4 network in the /16 table.
func (db *DB) index4(n netip.Prefix, p place) {
	addr, bits := n.Addr(), n.Bits()
	if addr.Is4In6() && bits >= 96 {
		addr, bits = addr.Unmap(), bits-96
	}
	if !addr.Is4() {
		return
	}
	a4 := addr.As4()
	first := int(a4[0])<<8 | int(a4[1])
	if bits > 16 {
		db.v4[first].state = blockSplit
		return
	}
	for i := first; i < first+1<<(16-bits); i++ {
		db.v4[i] = v4Block{place: p, bits: uint8(bits), state: blockWhole}
	}
}

// decode reads the three codes and the coordinates routing uses from one
// record.
func decode(r maxminddb.Result) place {
	var p place
	var s string
	if r.DecodePath(&s, "continent", "code") == nil {
		p.continent = Code(s)
	}
	s = ""
	if r.DecodePath(&s, "country", "iso_code") == nil {
		p.country = Code(s)
	}
	s = ""
	if p.country != 0 && r.DecodePath(&s, "subdivisions", 0, "iso_code") == nil && s != "" && len(s) <= 3 {
		p.subdivision = extend(p.country<<8|'-', s) // "US" + "-" + "CA" without building the string
	}
	p.lat, p.lon, p.hasCoords = decodeCoords(r)
	if p.hasCoords {
		p.point = NewPoint(p.lat, p.lon)
	}
	return p
}

// decodeCoords reads the record's location. A missing half of the pair stays
// NaN, so that ValidCoords refuses it along with out-of-range values instead
// of placing the client at 0°.
func decodeCoords(r maxminddb.Result) (lat, lon float64, ok bool) {
	lat, lon = math.NaN(), math.NaN()
	if r.DecodePath(&lat, "location", "latitude") != nil || r.DecodePath(&lon, "location", "longitude") != nil || !ValidCoords(lat, lon) {
		return 0, 0, false
	}
	return lat, lon, true
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Lookup finds addr. found is false when the database has no entry for it;
// Network is then the empty range around addr, still usable as an ECS scope.
func (db *DB) Lookup(addr netip.Addr) (loc Location, found bool) {
	addr = addr.Unmap()
	if addr.Is4() {
		a4 := addr.As4()
		if b := &db.v4[int(a4[0])<<8|int(a4[1])]; b.state == blockWhole {
			loc.Network, _ = addr.Prefix(int(b.bits))
			b.place.fill(&loc)
			return loc, true
		}
	}
	return db.lookupTree(addr)
}

// lookupTree finds addr by walking the database's tree.
func (db *DB) lookupTree(addr netip.Addr) (loc Location, found bool) {
	r := db.reader.Lookup(addr)
	loc.Network = r.Prefix()
	if r.Err() != nil || !r.Found() {
		return loc, false
	}
	p, ok := db.places[r.Offset()]
	if !ok { // not reached by the walk at open (an aliased subtree): read it now
		p = decode(r)
	}
	p.fill(&loc)
	return loc, true
}

// CodeString unpacks a code made by Code, for people to read.
func CodeString(c uint64) string {
	var b []byte
	for ; c != 0; c >>= 8 {
		b = append([]byte{byte(c)}, b...)
	}
	return string(b)
}
