// Package geotest writes small MaxMind databases for tests, so that no
// binary fixture has to be committed.
package geotest

import (
	"bytes"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Place is one network of a test database and where it is.
type Place struct {
	CIDR        string
	Continent   string // e.g. EU
	Country     string // e.g. DE
	Subdivision string // e.g. CA (the part after the country code)
	// At is where the place is; nil for no location. Country databases
	// never get one, as MaxMind's carry none.
	At *LatLon
	// Extra fields replace those made from the others, for records that
	// well-formed databases do not hold, such as half a location.
	Extra mmdbtype.Map
}

// LatLon is a position in degrees.
type LatLon struct{ Lat, Lon float64 }

// Bytes builds a database of dbType, such as GeoLite2-City or
// GeoIP2-Country, holding places.
func Bytes(t testing.TB, dbType string, places []Place) []byte {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, IncludeReservedNetworks: true, RecordSize: 28})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range places {
		_, n, err := net.ParseCIDR(p.CIDR)
		if err != nil {
			t.Fatal(err)
		}
		rec := mmdbtype.Map{}
		if p.Continent != "" {
			rec["continent"] = mmdbtype.Map{"code": mmdbtype.String(p.Continent), "geoname_id": mmdbtype.Uint32(6255148)}
		}
		if p.Country != "" {
			rec["country"] = mmdbtype.Map{"iso_code": mmdbtype.String(p.Country), "names": mmdbtype.Map{"en": mmdbtype.String("Somewhere")}}
		}
		if p.Subdivision != "" {
			rec["subdivisions"] = mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String(p.Subdivision)}}
		}
		if p.At != nil && !strings.Contains(dbType, "Country") {
			rec["location"] = mmdbtype.Map{"latitude": mmdbtype.Float64(p.At.Lat), "longitude": mmdbtype.Float64(p.At.Lon), "accuracy_radius": mmdbtype.Uint16(100)}
		}
		maps.Copy(rec, p.Extra)
		if err := w.Insert(n, rec); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Write replaces the file at path with a new database atomically, as
// geoipupdate does, and returns path.
func Write(t testing.TB, path, dbType string, places []Place) string {
	t.Helper()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".mmdb-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmp.Write(Bytes(t, dbType, places)); err != nil {
		t.Fatal(err)
	}
	if err := tmp.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		t.Fatal(err)
	}
	return path
}
