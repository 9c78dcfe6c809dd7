package failover

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/geo/geotest"
)

// The test world: where each client network is.
var geoPlaces = []geotest.Place{
	{CIDR: "10.1.0.0/16", Continent: "NA", Country: "US", Subdivision: "CA"},
	{CIDR: "10.2.0.0/16", Continent: "NA", Country: "US", Subdivision: "NY"},
	{CIDR: "10.3.0.0/16", Continent: "EU", Country: "DE", Subdivision: "BE"},
	{CIDR: "10.4.0.0/16", Continent: "AS", Country: "JP"},
	{CIDR: "10.5.0.0/16", Continent: "SA", Country: "BR"},
	{CIDR: "10.6.0.0/24", Continent: "NA", Country: "CA"},
	{CIDR: "2001:db8:1::/48", Continent: "EU", Country: "FR"},
}

// geoCorefile routes California to .2, the rest of the US to .1, Europe to
// .3 (with .33 as its second tier), Asia to .4 and everyone else to .9.
func geoCorefile(db, extra string) string {
	return `failover app.example.org {
    policy geo
    geoip ` + db + `
    endpoint 192.0.2.1 geo country:US
    endpoint 192.0.2.2 geo subdivision:us-ca
    endpoint 192.0.2.3 geo continent:EU
    endpoint 192.0.2.33 geo continent:EU priority 2
    endpoint 192.0.2.4 geo continent:AS
    endpoint 192.0.2.9 default
    endpoint 2001:db8::3 geo continent:EU
    endpoint 2001:db8::9 default
` + extra + `
}`
}

func writeGeoDB(t *testing.T, places []geotest.Place) string {
	t.Helper()
	return geotest.Write(t, filepath.Join(t.TempDir(), "geo.mmdb"), "GeoLite2-City", places)
}

func newGeoHandler(t *testing.T, corefile string) *Failover {
	t.Helper()
	f, err := parse(newTestController(corefile))
	if err != nil {
		t.Fatalf("Expected the geo stanza to parse, got %v", err)
	}
	f.Next = test.NextHandler(dns.RcodeRefused, nil)
	return f
}

// geoAsk queries from source address src, with an ECS option when ecs is a
// prefix ("" for none).
func geoAsk(t *testing.T, f *Failover, src, ecs string, qtype uint16) *dns.Msg {
	t.Helper()
	r := new(dns.Msg)
	r.SetQuestion("app.example.org.", qtype)
	if ecs != "" {
		r.SetEdns0(1232, false)
		r.IsEdns0().Option = append(r.IsEdns0().Option, ecsOption(t, ecs))
	}
	rec := dnstest.NewRecorder(&test.ResponseWriter{RemoteIP: src})
	if _, err := f.ServeDNS(context.Background(), rec, r); err != nil {
		t.Fatalf("Expected no error, got %v", err)
	}
	if rec.Msg == nil {
		t.Fatalf("Expected an answer for a query from %s (ecs %q)", src, ecs)
	}
	return rec.Msg
}

// ecsOption is the ECS option a resolver sends for a client in prefix.
func ecsOption(t testing.TB, prefix string) *dns.EDNS0_SUBNET {
	t.Helper()
	_, n, err := net.ParseCIDR(prefix)
	if err != nil {
		t.Fatal(err)
	}
	bits, _ := n.Mask.Size()
	e := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: uint8(bits), Address: n.IP.To4()}
	if n.IP.To4() == nil {
		e.Family, e.Address = 2, n.IP
	}
	return e
}

func replyScope(m *dns.Msg) (int, bool) {
	if e := firstECSOf(m); e != nil {
		return int(e.SourceScope), true
	}
	return 0, false
}

func TestGeoMostSpecificLocationWins(t *testing.T) {
	f := newGeoHandler(t, geoCorefile(writeGeoDB(t, geoPlaces), ""))
	tests := []struct {
		client, want, why string
	}{
		{"10.1.2.3", "192.0.2.2", "subdivision US-CA beats country US"},
		{"10.2.2.3", "192.0.2.1", "country US beats continent NA (none configured)"},
		{"10.3.2.3", "192.0.2.3", "continent EU, first priority tier"},
		{"10.4.2.3", "192.0.2.4", "continent AS"},
		{"10.5.2.3", "192.0.2.9", "South America has no endpoint: default"},
		{"10.6.0.1", "192.0.2.9", "Canada has no endpoint and NA none either: default"},
		{"172.16.0.1", "192.0.2.9", "not in the database: default"},
	}
	for _, tc := range tests {
		got := addresses(geoAsk(t, f, tc.client, "", dns.TypeA))
		if !slices.Equal(got, []string{tc.want}) {
			t.Errorf("%s (%s): expected %s, got %v", tc.client, tc.why, tc.want, got)
		}
	}
	if got := addresses(geoAsk(t, f, "2001:db8:1::5", "", dns.TypeAAAA)); !slices.Equal(got, []string{"2001:db8::3"}) {
		t.Errorf("Expected an IPv6 client in France to get the EU AAAA, got %v", got)
	}
	if got := addresses(geoAsk(t, f, "10.1.2.3", "", dns.TypeAAAA)); !slices.Equal(got, []string{"2001:db8::9"}) {
		t.Errorf("Expected California's AAAA (no US IPv6 endpoint) from the default, got %v", got)
	}
}

func TestGeoRegionDownFallsBackToDefaultThenAnyHealthy(t *testing.T) {
	dead := "tcp://" + closedPort(t)
	live := newTCPBackend(t).addr()
	corefile := `failover app.example.org {
    policy geo
    geoip ` + writeGeoDB(t, geoPlaces) + `
    endpoint 192.0.2.3 geo continent:EU check ` + dead + `
    endpoint 192.0.2.33 geo continent:EU priority 2 check ` + dead + `
    endpoint 192.0.2.4 geo continent:AS check tcp://` + live + `
    endpoint 192.0.2.9 default check ` + dead + `
    endpoint 192.0.2.10 default priority 2 check tcp://` + live + `
}`
	f := newGeoHandler(t, corefile)
	if err := f.start(); err != nil {
		t.Fatal(err)
	}
	defer f.stop()
	if got := addresses(geoAsk(t, f, "10.3.2.3", "", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.10"}) {
		t.Errorf("Expected Europe, both tiers down, to get the healthy default 192.0.2.10, got %v", got)
	}

	// Every default down too: any healthy endpoint, rather than nothing.
	corefile = strings.Replace(corefile, "endpoint 192.0.2.10 default priority 2 check tcp://"+live, "endpoint 192.0.2.10 default priority 2 check "+dead, 1)
	f2 := newGeoHandler(t, corefile)
	if err := f2.start(); err != nil {
		t.Fatal(err)
	}
	defer f2.stop()
	if got := addresses(geoAsk(t, f2, "10.3.2.3", "", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.4"}) {
		t.Errorf("Expected Europe with region and defaults down to get the only healthy endpoint, got %v", got)
	}
}

func TestGeoECS(t *testing.T) {
	f := newGeoHandler(t, geoCorefile(writeGeoDB(t, geoPlaces), ""))
	// A resolver in Japan asks for a client in California.
	m := geoAsk(t, f, "10.4.0.1", "10.1.2.0/24", dns.TypeA)
	if got := addresses(m); !slices.Equal(got, []string{"192.0.2.2"}) {
		t.Errorf("Expected the ECS address to decide (California), got %v", got)
	}
	if scope, ok := replyScope(m); !ok || scope != 16 {
		t.Errorf("Expected the ECS option echoed with scope 16 (the database network), got %d (echoed %v)", scope, ok)
	}
	// IPv6 ECS.
	m = geoAsk(t, f, "10.4.0.1", "2001:db8:1:2::/56", dns.TypeA)
	if got := addresses(m); !slices.Equal(got, []string{"192.0.2.3"}) {
		t.Errorf("Expected the IPv6 ECS address (France) to decide, got %v", got)
	}
	if scope, _ := replyScope(m); scope != 48 {
		t.Errorf("Expected scope 48 for the IPv6 network, got %d", scope)
	}
	// Source prefix 0: the client opted out; route by the resolver, scope 0.
	m = geoAsk(t, f, "10.4.0.1", "0.0.0.0/0", dns.TypeA)
	if got := addresses(m); !slices.Equal(got, []string{"192.0.2.4"}) {
		t.Errorf("Expected an opted-out ECS to route by the source (Asia), got %v", got)
	}
	if scope, ok := replyScope(m); !ok || scope != 0 {
		t.Errorf("Expected scope 0 for an opted-out ECS, got %d (echoed %v)", scope, ok)
	}
	// No ECS in the query: none in the reply.
	if _, ok := replyScope(geoAsk(t, f, "10.4.0.1", "", dns.TypeA)); ok {
		t.Error("Expected no ECS option in the reply to a query without one")
	}
	// A type without data for this client does not depend on it: scope 0.
	if scope, ok := replyScope(geoAsk(t, f, "10.4.0.1", "10.1.2.0/24", dns.TypeMX)); !ok || scope != 0 {
		t.Errorf("Expected NODATA to echo ECS with scope 0, got %d (echoed %v)", scope, ok)
	}
}

func TestGeoECSFromUntrustedSourceIsIgnored(t *testing.T) {
	f := newGeoHandler(t, geoCorefile(writeGeoDB(t, geoPlaces), "    ecs_from 10.4.0.0/16"))
	if got := addresses(geoAsk(t, f, "10.4.0.1", "10.1.2.0/24", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.2"}) {
		t.Errorf("Expected a trusted resolver's ECS to decide, got %v", got)
	}
	m := geoAsk(t, f, "10.3.0.1", "10.1.2.0/24", dns.TypeA)
	if got := addresses(m); !slices.Equal(got, []string{"192.0.2.3"}) {
		t.Errorf("Expected an untrusted source's ECS ignored and the source (Europe) used, got %v", got)
	}
	if _, ok := replyScope(m); ok {
		t.Error("Expected no ECS echo for an ignored option")
	}
	off := newGeoHandler(t, geoCorefile(writeGeoDB(t, geoPlaces), "    ecs off"))
	if got := addresses(geoAsk(t, off, "10.3.0.1", "10.1.2.0/24", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.3"}) {
		t.Errorf("Expected ecs off to route by the source, got %v", got)
	}
}

func TestGeoScopeZeroWhenAnswerDoesNotDependOnClient(t *testing.T) {
	dead := "tcp://" + closedPort(t)
	corefile := `failover app.example.org {
    policy geo
    geoip ` + writeGeoDB(t, geoPlaces) + `
    endpoint 192.0.2.3 geo continent:EU check ` + dead + `
    endpoint 192.0.2.9 default
}`
	f := newGeoHandler(t, corefile)
	if err := f.start(); err != nil {
		t.Fatal(err)
	}
	defer f.stop()
	m := geoAsk(t, f, "10.4.0.1", "10.3.2.0/24", dns.TypeA)
	if got := addresses(m); !slices.Equal(got, []string{"192.0.2.9"}) {
		t.Fatalf("Expected the default while Europe is down, got %v", got)
	}
	if scope, ok := replyScope(m); !ok || scope != 0 {
		t.Errorf("Expected scope 0 while every client gets the same answer, got %d (echoed %v)", scope, ok)
	}
}

func TestGeoMalformedECSIsFormErr(t *testing.T) {
	f := newGeoHandler(t, geoCorefile(writeGeoDB(t, geoPlaces), ""))
	for _, e := range []*dns.EDNS0_SUBNET{
		{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: net.ParseIP("10.1.2.3").To4()}, // bits past the prefix
		{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 33, Address: net.ParseIP("10.1.2.0").To4()}, // prefix too long
		{Code: dns.EDNS0SUBNET, Family: 3, SourceNetmask: 8, Address: net.ParseIP("10.0.0.0").To4()},  // unknown family
		{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: net.ParseIP("2001:db8::")},     // family and address disagree
	} {
		r := new(dns.Msg)
		r.SetQuestion("app.example.org.", dns.TypeA)
		r.SetEdns0(1232, false)
		r.IsEdns0().Option = append(r.IsEdns0().Option, e)
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		rcode, _ := f.ServeDNS(context.Background(), rec, r)
		if rcode != dns.RcodeFormatError || rec.Msg != nil {
			t.Errorf("Expected FORMERR and nothing written for %v, got rcode %d", e, rcode)
		}
	}
}

func TestGeoDatabaseReplacedOnDisk(t *testing.T) {
	path := writeGeoDB(t, geoPlaces)
	f := newGeoHandler(t, geoCorefile(path, ""))
	if got := addresses(geoAsk(t, f, "10.5.2.3", "", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.9"}) {
		t.Fatalf("Expected Brazil to get the default first, got %v", got)
	}
	// The new database places 10.5/16 in Germany.
	moved := slices.Clone(geoPlaces)
	moved[4] = geotest.Place{CIDR: "10.5.0.0/16", Continent: "EU", Country: "DE"}
	geotest.Write(t, path, "GeoLite2-City", moved)
	f.checkGeo()
	if got := addresses(geoAsk(t, f, "10.5.2.3", "", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.3"}) {
		t.Errorf("Expected the replaced database to send 10.5/16 to Europe, got %v", got)
	}

	// A broken replacement keeps the database in use and says why.
	logs := captureLog(t)
	if err := os.WriteFile(path+".new", []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	f.checkGeo()
	if got := addresses(geoAsk(t, f, "10.5.2.3", "", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.3"}) {
		t.Errorf("Expected the last good database to stay in use, got %v", got)
	}
	if !strings.Contains(logs.String(), "cannot be used, keeping the database loaded before") {
		t.Errorf("Expected a log line about the broken replacement, got %q", logs.String())
	}
}

func TestGeoDatabaseErrorsFailSetup(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.mmdb")
	if err := os.WriteFile(garbage, []byte("this is not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	asn := geotest.Write(t, filepath.Join(dir, "asn.mmdb"), "GeoLite2-ASN", nil)
	unreadable := filepath.Join(dir, "dir.mmdb")
	if err := os.Mkdir(unreadable, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.mmdb"), "no such file"},
		{garbage, "not a MaxMind database"},
		{asn, `database type "GeoLite2-ASN" has no locations`},
		{unreadable, "is a directory"},
	} {
		_, err := parse(newTestController(geoCorefile(tc.path, "")))
		if err == nil {
			t.Errorf("Expected geoip %s to fail setup", tc.path)
			continue
		}
		if !hasAll(err.Error(), "Testfile:3", tc.path, tc.want) {
			t.Errorf("Expected the error to give the line, the file and %q, got %q", tc.want, err)
		}
	}
}
