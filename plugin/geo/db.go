// Package geo finds where a client is: a MaxMind GeoIP2/GeoLite2 City or
// Country database read for the three codes routing needs, reloaded when the
// file is replaced.
package geo

import (
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/oschwald/geoip2-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2"
)

// Location is where an address is, as packed codes (see Code), and the
// network of the database entry that said so.
type Location struct {
	Continent   uint64 // e.g. Code("EU")
	Country     uint64 // e.g. Code("DE")
	Subdivision uint64 // e.g. Code("US-CA"); 0 when the database has none
	Network     netip.Prefix
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
	// places holds the decoded codes of every distinct record, by its
	// offset. MaxMind databases share one record among all the networks of a
	// place, so this is small (a few hundred entries for a Country database),
	// and a query pays for a tree walk and a map read instead of decoding.
	places map[uintptr]codes
}

type codes struct{ continent, country, subdivision uint64 }

// Open reads path and checks that it is a City or Country database.
func Open(path string) (*DB, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("geoip %s: %v", path, unwrapPath(err))
	}
	return OpenBytes(path, data)
}

// OpenBytes is Open for a database already in memory.
func OpenBytes(path string, data []byte) (*DB, error) {
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
	db := &DB{Path: path, Type: dbType, reader: reader, places: make(map[uintptr]codes)}
	for r := range reader.Networks() {
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("geoip %s: corrupt database: %v", path, err)
		}
		db.Networks++
		if _, ok := db.places[r.Offset()]; !ok {
			db.places[r.Offset()] = decode(r)
		}
	}
	return db, nil
}

// decode reads the three codes routing uses from one record.
func decode(r maxminddb.Result) codes {
	var c codes
	var s string
	if r.DecodePath(&s, "continent", "code") == nil {
		c.continent = Code(s)
	}
	s = ""
	if r.DecodePath(&s, "country", "iso_code") == nil {
		c.country = Code(s)
	}
	s = ""
	if c.country != 0 && r.DecodePath(&s, "subdivisions", 0, "iso_code") == nil && s != "" && len(s) <= 3 {
		c.subdivision = extend(c.country<<8|'-', s) // "US" + "-" + "CA" without building the string
	}
	return c
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
	r := db.reader.Lookup(addr.Unmap())
	loc.Network = r.Prefix()
	if r.Err() != nil || !r.Found() {
		return loc, false
	}
	c, ok := db.places[r.Offset()]
	if !ok { // not reached by the walk at open (an aliased subtree): read it now
		c = decode(r)
	}
	loc.Continent, loc.Country, loc.Subdivision = c.continent, c.country, c.subdivision
	return loc, true
}
