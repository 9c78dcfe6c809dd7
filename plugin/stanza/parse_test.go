package stanza

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/coredns/caddy"

	"github.com/failover-dns/failover/plugin/policy"
)

// parseBlock reads the first failover block of corefile in a server block
// for zones.
func parseBlock(corefile string, zones ...string) (*Stanza, error) {
	c := caddy.NewTestController("dns", corefile)
	c.Next()
	return Parse(c, zones)
}

func TestParseGeo(t *testing.T) {
	s, err := parseBlock(`failover www.example.org {
    policy GEO
    geoip /var/lib/GeoLite2-City.mmdb
    endpoint 192.0.2.10 geo country:de continent:EU
    endpoint 192.0.2.11 geo subdivision:us-ca country:US priority 2
    endpoint 192.0.2.12 geo country:FR default check none
    endpoint 192.0.2.13 default
    ecs off
    ecs_from 192.0.2.0/24 2001:DB8::1 198.51.100.7/16
}`, "example.org.")
	if err != nil {
		t.Fatalf("Expected no error, got %v", err)
	}
	if s.Policy != policy.Geo {
		t.Errorf("Expected policy geo, got %s", s.Policy)
	}
	if s.GeoIP != "/var/lib/GeoLite2-City.mmdb" {
		t.Errorf("Expected the geoip path, got %q", s.GeoIP)
	}
	if s.MaxAnswers != 8 {
		t.Errorf("Expected max_answers 8 for geo, got %d", s.MaxAnswers)
	}
	want := []struct {
		geo      string
		def      bool
		priority int
	}{
		{"[country:DE continent:EU]", false, 1},
		// The geo list ends at the first word that is not a location.
		{"[subdivision:US-CA country:US]", false, 2},
		{"[country:FR]", true, 1},
		{"[]", true, 1},
	}
	for i, w := range want {
		e := s.Endpoints[i]
		if got := fmt.Sprint(e.Geo); got != w.geo {
			t.Errorf("Expected endpoint %s geo %s, got %s", e.Address, w.geo, got)
		}
		if e.Default != w.def {
			t.Errorf("Expected endpoint %s default=%t, got %t", e.Address, w.def, e.Default)
		}
		if e.Priority != w.priority {
			t.Errorf("Expected endpoint %s priority %d, got %d", e.Address, w.priority, e.Priority)
		}
	}
	if !s.Endpoints[2].HasCheck || s.CheckURL(&s.Endpoints[2]) != "" {
		t.Errorf("Expected check none after a geo list to apply, got %q", s.CheckURL(&s.Endpoints[2]))
	}
	if s.ECS {
		t.Error("Expected ecs off")
	}
	// A bare address is a single host; prefixes are stored masked.
	wantFrom := []netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"),
		netip.MustParsePrefix("2001:db8::1/128"),
		netip.MustParsePrefix("198.51.0.0/16"),
	}
	if fmt.Sprint(s.ECSFrom) != fmt.Sprint(wantFrom) {
		t.Errorf("Expected ecs_from %v, got %v", wantFrom, s.ECSFrom)
	}
}

func TestParseGeoDefaults(t *testing.T) {
	s, err := parseBlock(`failover www.example.org {
    policy geo
    geoip GeoLite2-Country.mmdb
    endpoint 192.0.2.13 geo continent:eu default
}`, "example.org.")
	if err != nil {
		t.Fatalf("Expected no error, got %v", err)
	}
	if !s.ECS || s.ECSFrom != nil {
		t.Errorf("Expected ecs on and every source believed by default, got %t %v", s.ECS, s.ECSFrom)
	}
	if !s.Endpoints[0].Default || len(s.Endpoints[0].Geo) != 1 {
		t.Errorf("Expected default inside a geo list to mark the endpoint, got %+v", s.Endpoints[0])
	}
}

func TestParseNames(t *testing.T) {
	tests := []struct {
		args  string
		zones []string
		want  string
	}{
		{"www", []string{"."}, "[www.]"},
		{"www.example.org", []string{"."}, "[www.example.org.]"},
		{"@", []string{"."}, "[.]"},
		{"www", []string{"example.org.", "example.net."}, "[www.example.org. www.example.net.]"},
		{"@", []string{"example.org.", "example.net."}, "[example.org. example.net.]"},
		{"Www.Sub.Example.Org.", []string{"sub.example.org.", "example.org."}, "[www.sub.example.org.]"},
	}
	for _, tc := range tests {
		t.Run(tc.args+" in "+strings.Join(tc.zones, " "), func(t *testing.T) {
			s, err := parseBlock("failover "+tc.args+" {\n    endpoint 192.0.2.10\n}", tc.zones...)
			if err != nil {
				t.Fatalf("Expected no error, got %v", err)
			}
			if got := fmt.Sprint(s.Names); got != tc.want {
				t.Errorf("Expected names %s, got %s", tc.want, got)
			}
			for i, line := range s.NameLines {
				if line != 1 {
					t.Errorf("Expected name %d on line 1, got %d", i, line)
				}
			}
		})
	}
}

func TestParseNameErrors(t *testing.T) {
	long := strings.Repeat("a", 64)
	tests := []struct {
		args   string
		phrase string
	}{
		{`""`, "is not a valid domain name"},
		{long, "is not a valid domain name"},
		{long + ".example.org", "is not a valid domain name"},
		{"a..example.org", "is not a valid domain name"},
		{"www.example.net", "outside this server block's zones (example.org. example.com.)"},
		{"www.example.com www.example.org www.example.net", "name www.example.net. is outside"},
		{"notexample.org", "outside this server block's zones"},
	}
	for _, tc := range tests {
		t.Run(tc.args, func(t *testing.T) {
			_, err := parseBlock("\nfailover "+tc.args+" {\n    endpoint 192.0.2.10\n}", "example.org.", "example.com.")
			if err == nil {
				t.Fatal("Expected an error")
			}
			if !strings.Contains(err.Error(), "Testfile:2 - ") || !strings.Contains(err.Error(), tc.phrase) {
				t.Errorf("Expected an error on line 2 saying %q, got %q", tc.phrase, err)
			}
		})
	}
}

// Every keyword the unknown-property error offers must be one the parser
// takes, and the error must offer all of them.
func TestParseProperties(t *testing.T) {
	for _, prop := range properties {
		t.Run(prop, func(t *testing.T) {
			_, err := parseBlock("failover www.example.org {\n    endpoint 192.0.2.10\n    "+prop+" x\n}", "example.org.")
			if err != nil && strings.Contains(err.Error(), "unknown property") {
				t.Errorf("Expected %s to be a known property, got %v", prop, err)
			}
		})
	}
	_, err := parseBlock("failover www.example.org {\n    endpoint 192.0.2.10\n    healthcheck http://x/\n}", "example.org.")
	if err == nil {
		t.Fatal("Expected an error for an unknown property")
	}
	for _, prop := range properties {
		if !strings.Contains(err.Error(), prop) {
			t.Errorf("Expected the error to offer %s, got %q", prop, err)
		}
	}
}
