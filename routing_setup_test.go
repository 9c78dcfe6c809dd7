package failover

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/failover-dns/failover/plugin/geo/geotest"
)

// Every mistake in the routing-by-client properties fails setup at its line
// with what is allowed.
func TestSetupRoutingByClientErrors(t *testing.T) {
	dir := t.TempDir()
	country := geotest.Write(t, filepath.Join(dir, "country.mmdb"), "GeoLite2-Country", []geotest.Place{{CIDR: "192.0.2.0/24", Continent: "EU", Country: "DE"}})
	tests := []setupError{
		{"net with host bits", `failover www.example.org {
    policy geo
    endpoint 192.0.2.10 geo net:10.1.2.3/16
    endpoint 192.0.2.11 default
}`, 3, "has bits set past /16; write net:10.1.0.0/16"},
		{"net not a cidr", `failover www.example.org {
    policy geo
    endpoint 192.0.2.10 geo net:10.1.0.0
    endpoint 192.0.2.11 default
}`, 3, `"10.1.0.0" is not a CIDR such as 10.1.0.0/16`},
		{"fence outside geo", `failover www.example.org {
    policy weighted
    fence continent:EU
    endpoint 192.0.2.10
}`, 3, "fence only applies to policy geo"},
		{"fence nobody serves", `failover www.example.org {
    policy geo
    geoip /tmp/GeoLite2-City.mmdb
    fence continent:EU
    endpoint 192.0.2.10 geo country:DE
    endpoint 192.0.2.11 default
}`, 4, "fence continent:EU: no endpoint serves continent:EU"},
		{"fence without location", `failover www.example.org {
    policy geo
    fence
}`, 3, "fence needs at least one LOCATION"},
		{"fence bad location", `failover www.example.org {
    policy geo
    fence planet:earth
}`, 3, `fence: geo location "planet:earth" has unknown kind`},
		{"sticky on active-passive", `failover www.example.org {
    sticky
    endpoint 192.0.2.10
}`, 2, "sticky applies to policies weighted, active-active and nearest, not active-passive"},
		{"sticky v4 bits", `failover www.example.org {
    policy weighted
    sticky 33
    endpoint 192.0.2.10
}`, 3, `sticky's IPv4 prefix length "33" is not allowed; give a whole number from 1 to 32`},
		{"sticky v6 bits", `failover www.example.org {
    policy weighted
    sticky 24 0
    endpoint 192.0.2.10
}`, 3, `sticky's IPv6 prefix length "0" is not allowed; give a whole number from 1 to 128`},
		{"sticky too many", `failover www.example.org {
    policy weighted
    sticky 24 56 64
    endpoint 192.0.2.10
}`, 3, "sticky takes at most an IPv4 and an IPv6 prefix length"},
		{"at outside nearest", `failover www.example.org {
    endpoint 192.0.2.10 at 50.1 8.6
}`, 2, "has at, which only policy nearest uses"},
		{"at out of range", `failover www.example.org {
    policy nearest
    endpoint 192.0.2.10 at 91 8.6
}`, 3, "give a latitude from -90 to 90 and a longitude from -180 to 180"},
		{"at not a number", `failover www.example.org {
    policy nearest
    endpoint 192.0.2.10 at north 8.6
}`, 3, `at "north" "8.6" is not a position`},
		{"at without longitude", `failover www.example.org {
    policy nearest
    endpoint 192.0.2.10 at 50.1
}`, 3, "at needs a LATITUDE and a LONGITUDE"},
		{"nearest endpoint without position", `failover www.example.org {
    policy nearest
    geoip /tmp/GeoLite2-City.mmdb
    endpoint 192.0.2.10 at 50.1 8.6
    endpoint 192.0.2.11
}`, 5, "endpoint 192.0.2.11 has no position: policy nearest needs at LATITUDE LONGITUDE"},
		{"nearest without default", `failover www.example.org {
    policy nearest
    geoip /tmp/GeoLite2-City.mmdb
    endpoint 192.0.2.10 at 50.1 8.6
}`, 2, "policy nearest needs a catch-all for clients it cannot place"},
		{"nearest without database", `failover www.example.org {
    policy nearest
    endpoint 192.0.2.10 at 50.1 8.6 default
}`, 2, "policy nearest needs a database: add geoip FILE with a MaxMind GeoIP2 or GeoLite2 City .mmdb"},
		{"nearest with a country database", fmt.Sprintf(`failover www.example.org {
    policy nearest
    geoip %s
    endpoint 192.0.2.10 at 50.1 8.6 default
}`, country), 3, "is a GeoLite2-Country database without them; use a GeoIP2 or GeoLite2 City database"},
		{"fastest without check", `failover www.example.org {
    policy fastest
    endpoint 192.0.2.10 check http://{address}/health
    endpoint 192.0.2.11
}`, 4, "endpoint 192.0.2.11 has no check: policy fastest ranks endpoints by their probes' round trip"},
		{"geo of databases without one", `failover www.example.org {
    policy geo
    endpoint 192.0.2.10 geo net:10.0.0.0/8 country:DE
    endpoint 192.0.2.11 default
}`, 2, "policy geo needs a database"},
	}
	checkSetupErrors(t, tests)
}

// setupError is a Corefile that must fail setup at line, saying phrase.
type setupError struct {
	name, corefile string
	line           int
	phrase         string
}

func checkSetupErrors(t *testing.T, tests []setupError) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := setup(newTestController(tc.corefile))
			if err == nil {
				t.Fatalf("Expected an error for\n%s", tc.corefile)
			}
			where := fmt.Sprintf("Testfile:%d - Error during parsing: ", tc.line)
			if msg := err.Error(); !strings.Contains(msg, where) || !strings.Contains(msg, tc.phrase) {
				t.Errorf("Expected the error at %q to say %q, got %q", where, tc.phrase, msg)
			}
		})
	}
}

// A stanza whose locations are all nets needs no database.
func TestSetupNetsNeedNoDatabase(t *testing.T) {
	err := setup(newTestController(`failover www.example.org {
    policy geo
    fence net:10.0.0.0/8
    endpoint 192.0.2.10 geo net:10.0.0.0/8 net:2001:db8::/32
    endpoint 192.0.2.11 geo net:10.1.0.0/16
    endpoint 192.0.2.12 default
}`))
	if err != nil {
		t.Fatalf("Expected a geo stanza of nets alone to need no geoip, got %v", err)
	}
}
