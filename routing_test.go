package failover

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/geo/geotest"
)

// queryFrom asks the server at addr over network for name from the local
// address local, as a client of that address would.
func queryFrom(t *testing.T, network, addr, local, name string) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	return exchangeFrom(t, network, local, addr, m)
}

func (s server) addr(network string) string {
	if network == "tcp" {
		return s.tcp
	}
	return s.udp
}

// The operator's own networks route without a database, the longest prefix
// first, and the ECS scope never lets a resolver cache a nested net's
// answer under its parent's.
func TestNetRoutingLongestPrefixWins(t *testing.T) {
	s := startServer(t, `example.org:0 {
    bind 127.0.0.1
    failover app.example.org {
        policy geo
        endpoint 192.0.2.1 geo net:10.1.0.0/16
        endpoint 192.0.2.2 geo net:10.1.2.0/24 net:2001:db8:1::/48
        endpoint 192.0.2.3 geo net:127.0.5.0/24 net:2001:db8::/32
        endpoint 192.0.2.9 default
        ecs_from 127.0.0.1/32
    }
}`)
	cases := []struct {
		ecs   string
		want  string
		scope int
	}{
		{"10.1.2.0/24", "192.0.2.2", 24},
		// Outside the /24 the /16 answers, for the largest block that does
		// not hold the /24.
		{"10.1.200.0/24", "192.0.2.1", 17},
		{"10.1.3.0/24", "192.0.2.1", 24},
		{"10.1.0.0/24", "192.0.2.1", 23},
		// No net: the default, for the largest block without a listed net.
		{"10.9.0.0/24", "192.0.2.9", 13},
		{"2001:db8:1:7::/64", "192.0.2.2", 48},
		// The /32 holds the listed /48 2001:db8:1::: its other clients get
		// the largest block beside it.
		{"2001:db8:2::/48", "192.0.2.3", 47},
		{"2001:db8:8000::/48", "192.0.2.3", 33},
		{"2001:db9::/48", "192.0.2.9", 32},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range cases {
			r := s.askECS(t, network, "app.example.org.", tc.ecs)
			if got := addresses(r); !slices.Equal(got, []string{tc.want}) {
				t.Errorf("Over %s: expected %s for ECS %s, got %v", network, tc.want, tc.ecs, got)
			}
			if scope, ok := replyScope(r); !ok || scope != tc.scope {
				t.Errorf("Over %s: expected ECS %s echoed with scope %d, got %d (echoed %t)", network, tc.ecs, tc.scope, scope, ok)
			}
		}
		// By source: 127.0.5.1 is a listed net; 127.0.6.1 is not; and the
		// ECS of a source not believed is ignored.
		if got := addresses(queryFrom(t, network, s.addr(network), "127.0.5.1", "app.example.org.")); !slices.Equal(got, []string{"192.0.2.3"}) {
			t.Errorf("Over %s: expected the net of source 127.0.5.1 to route it to 192.0.2.3, got %v", network, got)
		}
		if got := addresses(queryFrom(t, network, s.addr(network), "127.0.6.1", "app.example.org.")); !slices.Equal(got, []string{"192.0.2.9"}) {
			t.Errorf("Over %s: expected the default for source 127.0.6.1, got %v", network, got)
		}
	}
}

// A listed net wins over the database's subdivision, country and continent.
func TestNetRoutingBeforeTheDatabase(t *testing.T) {
	f := newGeoHandler(t, geoCorefile(writeGeoDB(t, geoPlaces), `
    endpoint 192.0.2.77 geo net:10.3.7.0/24 net:2001:db8:1:5::/64`))
	for _, tc := range []struct{ src, ecs, want string }{
		{"10.3.7.9", "", "192.0.2.77"},            // in DE, continent EU, and the net
		{"10.3.8.9", "", "192.0.2.3"},             // in DE, outside the net
		{"10.9.9.9", "10.3.7.0/24", "192.0.2.77"}, // by ECS
	} {
		if got := addresses(geoAsk(t, f, tc.src, tc.ecs, dns.TypeA)); !slices.Equal(got, []string{tc.want}) {
			t.Errorf("Expected %s for a client at %s (ecs %q), got %v", tc.want, tc.src, tc.ecs, got)
		}
	}
	if got := addresses(geoAsk(t, f, "2001:db8:1:5::1", "", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.77"}) {
		t.Errorf("Expected an IPv6 client of the listed /64 to get 192.0.2.77, got %v", got)
	}
	// The database's /16 is split by the /24 net: the scope must say so.
	r := geoAsk(t, f, "10.9.9.9", "10.3.200.0/24", dns.TypeA)
	if scope, _ := replyScope(r); scope != 17 {
		t.Errorf("Expected scope 17 for a DE client of the /16 outside the listed /24, got %d", scope)
	}
}

// stickyBackends starts n health backends and the check lines for them.
func stickyBackends(t *testing.T, n int) []*healthBackend {
	t.Helper()
	bs := make([]*healthBackend, n)
	for i := range bs {
		bs[i] = newHealthBackend(t, nil)
	}
	return bs
}

func stickyCorefile(port string, bs []*healthBackend) string {
	return fmt.Sprintf(`example.org:%s {
    bind 127.0.0.1
    failover www.example.org {
        policy active-active
        sticky
        max_answers 1
        endpoint 192.0.2.1 check %s
        endpoint 192.0.2.2 check %s
        endpoint 192.0.2.3 check %s
        endpoint 192.0.2.4 check %s
        interval 200ms
        fast_interval 50ms
        timeout 100ms
        fall 2
        rise 1
        ecs_from 127.0.0.1/32
    }
    failover split.example.org {
        policy weighted
        sticky
        endpoint 192.0.2.10 weight 90
        endpoint 192.0.2.20 weight 10
        ecs_from 127.0.0.1/32
    }
}`, port, bs[0].url(), bs[1].url(), bs[2].url(), bs[3].url())
}

// subnet24 is the i-th of the test's client /24s, spread over 10.0.0.0/8.
func subnet24(i int) string { return fmt.Sprintf("10.%d.%d.0/24", i/256%256, i%256) }

// stickyAnswers asks for name as each of n client subnets.
func stickyAnswers(t *testing.T, s server, name string, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range n {
		got := addresses(s.askECS(t, "udp", name, subnet24(i)))
		if len(got) != 1 {
			t.Fatalf("Expected one address for subnet %s, got %v", subnet24(i), got)
		}
		out[i] = got[0]
	}
	return out
}

// The count: 10,000 client subnets, one of four endpoints goes down
// and comes back.
func TestStickyMovesOnlyTheSubnetsOfAFailedEndpoint(t *testing.T) {
	const subnets = 10000
	bs := stickyBackends(t, 4)
	i := startInstance(t, stickyCorefile(freeUDPPort(t), bs))

	before := stickyAnswers(t, i.server, "www.example.org.", subnets)
	share := map[string]int{}
	watch := -1 // a subnet on 192.0.2.3, to see the failure arrive
	for n, a := range before {
		share[a]++
		if a == "192.0.2.3" && watch < 0 {
			watch = n
		}
	}
	for _, a := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"} {
		if f := float64(share[a]) / subnets; f < 0.22 || f > 0.28 {
			t.Errorf("Expected about a quarter of the subnets on %s, got %.1f %%", a, 100*f)
		}
	}
	// Asked again, over TCP too, every subnet keeps its endpoint.
	for n := 0; n < subnets; n += 97 {
		for _, network := range []string{"udp", "tcp"} {
			r := i.askECS(t, network, "www.example.org.", subnet24(n))
			if got := addresses(r); !slices.Equal(got, []string{before[n]}) {
				t.Fatalf("Over %s: expected subnet %s to keep %s, got %v", network, subnet24(n), before[n], got)
			}
			if scope, ok := replyScope(r); !ok || scope != 24 {
				t.Fatalf("Over %s: expected ECS echoed with the sticky prefix /24 as scope, got %d (echoed %t)", network, scope, ok)
			}
		}
	}

	bs[2].failed.Store(true)
	awaitAnswerChange(t, i.server, subnet24(watch), "192.0.2.3")
	during := stickyAnswers(t, i.server, "www.example.org.", subnets)
	moved := 0
	for n := range subnets {
		if during[n] == before[n] {
			continue
		}
		moved++
		if before[n] != "192.0.2.3" {
			t.Fatalf("Expected only the subnets of 192.0.2.3 to move, but %s moved from %s to %s", subnet24(n), before[n], during[n])
		}
	}
	if moved != share["192.0.2.3"] {
		t.Errorf("Expected all %d subnets of 192.0.2.3 to move, %d did", share["192.0.2.3"], moved)
	}
	t.Logf("one of four endpoints down: %d of %d subnets (%.2f %%) moved, all of them its own", moved, subnets, 100*float64(moved)/subnets)

	bs[2].failed.Store(false)
	awaitAnswer(t, i.server, subnet24(watch), "192.0.2.3")
	after := stickyAnswers(t, i.server, "www.example.org.", subnets)
	if back := countDiffer(after, before); back != 0 {
		t.Errorf("Expected its return to give every subnet its first endpoint back, %d differ", back)
	}

	// The split holds in aggregate: 90/10 within 88-92 % of the subnets.
	split := stickyAnswers(t, i.server, "split.example.org.", subnets)
	heavy := 0
	for _, a := range split {
		if a == "192.0.2.10" {
			heavy++
		}
	}
	if f := float64(heavy) / subnets; f < 0.88 || f > 0.92 {
		t.Errorf("Expected 88-92 %% of the subnets on the endpoint of weight 90, got %.2f %%", 100*f)
	}
}

// Across a reload and a restart (a new process hashes the same), a subnet
// keeps its endpoint.
func TestStickySurvivesReloadAndRestart(t *testing.T) {
	const subnets = 500
	bs := stickyBackends(t, 4)
	port := freeUDPPort(t)
	i := startInstance(t, stickyCorefile(port, bs))
	before := stickyAnswers(t, i.server, "www.example.org.", subnets)
	if err := i.reload(t, stickyCorefile(port, bs)+"\n"); err != nil {
		t.Fatalf("Expected the reload to succeed, got %v", err)
	}
	if n := countDiffer(stickyAnswers(t, i.server, "www.example.org.", subnets), before); n != 0 {
		t.Errorf("Expected every subnet to keep its endpoint across a reload, %d of %d moved", n, subnets)
	}
	other := startInstance(t, stickyCorefile(freeUDPPort(t), bs))
	if n := countDiffer(stickyAnswers(t, other.server, "www.example.org.", subnets), before); n != 0 {
		t.Errorf("Expected another server of the same Corefile to answer every subnet alike, %d of %d differ", n, subnets)
	}
	// Clients by source address: one /24 each, the same answer as by ECS.
	for n, local := range []string{"127.0.7.1", "127.0.8.1", "127.0.9.1"} {
		for _, network := range []string{"udp", "tcp"} {
			bySource := addresses(queryFrom(t, network, i.addr(network), local, "www.example.org."))
			byECS := addresses(i.askECS(t, network, "www.example.org.", fmt.Sprintf("127.0.%d.0/24", 7+n)))
			if len(bySource) != 1 || !slices.Equal(bySource, byECS) {
				t.Errorf("Over %s: expected source %s to get what ECS of its /24 gets (%v), got %v", network, local, byECS, bySource)
			}
		}
	}
	// IPv6 subnets stick by their /56.
	a := addresses(i.askECS(t, "udp", "www.example.org.", "2001:db8:0:ab00::/64"))
	for _, p := range []string{"2001:db8:0:abff::/64", "2001:db8:0:ab42::/64"} {
		r := i.askECS(t, "tcp", "www.example.org.", p)
		if got := addresses(r); !slices.Equal(got, a) {
			t.Errorf("Expected %s to get its /56's answer %v, got %v", p, a, got)
		}
		if scope, _ := replyScope(r); scope != 56 {
			t.Errorf("Expected an IPv6 subnet echoed with scope 56, got %d", scope)
		}
	}
}

func countDiffer(a, b []string) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// awaitAnswerChange polls the answer for an ECS subnet until it is no
// longer was.
func awaitAnswerChange(t *testing.T, s server, ecs, was string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for slices.Equal(addresses(s.askECS(t, "udp", "www.example.org.", ecs)), []string{was}) {
		if time.Now().After(deadline) {
			t.Fatalf("Expected subnet %s to leave %s within 5s", ecs, was)
		}
		time.Sleep(20 * time.Millisecond) // the poll's pace
	}
}

func awaitAnswer(t *testing.T, s server, ecs, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(addresses(s.askECS(t, "udp", "www.example.org.", ecs)), []string{want}) {
		if time.Now().After(deadline) {
			t.Fatalf("Expected subnet %s to get %s again within 5s", ecs, want)
		}
		time.Sleep(20 * time.Millisecond) // the poll's pace
	}
}

// The world of the nearest tests: client networks with coordinates.
var cityPlaces = []geotest.Place{
	{CIDR: "10.3.0.0/16", Continent: "EU", Country: "DE", At: &geotest.LatLon{Lat: 50.11, Lon: 8.68}},   // Frankfurt
	{CIDR: "10.2.0.0/16", Continent: "NA", Country: "US", At: &geotest.LatLon{Lat: 40.71, Lon: -74.01}}, // New York
	{CIDR: "10.4.0.0/16", Continent: "AS", Country: "JP", At: &geotest.LatLon{Lat: 35.68, Lon: 139.69}}, // Tokyo
	{CIDR: "10.7.0.0/16", Continent: "EU", Country: "FR"},                                               // no coordinates
	{CIDR: "2001:db8:3::/48", Continent: "EU", Country: "DE", At: &geotest.LatLon{Lat: 50.11, Lon: 8.68}},
	{CIDR: "127.0.3.0/24", Continent: "EU", Country: "DE", At: &geotest.LatLon{Lat: 50.11, Lon: 8.68}},
	{CIDR: "127.0.2.0/24", Continent: "NA", Country: "US", At: &geotest.LatLon{Lat: 40.71, Lon: -74.01}},
}

func TestNearestAnswersTheClosestHealthySite(t *testing.T) {
	fra := newHealthBackend(t, nil)
	s := startServer(t, `example.org:0 {
    bind 127.0.0.1
    failover app.example.org {
        policy nearest
        geoip `+writeGeoDB(t, cityPlaces)+`
        endpoint 192.0.2.1 at 50.11 8.68 check `+fra.url()+`
        endpoint 192.0.2.2 at 40.71 -74.01
        endpoint 192.0.2.3 at 35.68 139.69
        endpoint 192.0.2.4 at 35.685 139.69
        endpoint 192.0.2.5 at 51.51 -0.13 default
        interval 200ms
        fast_interval 50ms
        timeout 100ms
        fall 2
        rise 1
        ecs_from 127.0.0.1/32
    }
}`)
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range []struct{ ecs, want string }{
			{"10.3.1.0/24", "192.0.2.1"},
			{"10.2.1.0/24", "192.0.2.2"},
			{"2001:db8:3:1::/64", "192.0.2.1"},
			{"10.7.1.0/24", "192.0.2.5"}, // no coordinates: the default
			{"10.8.1.0/24", "192.0.2.5"}, // not in the database: the default
		} {
			r := s.askECS(t, network, "app.example.org.", tc.ecs)
			if got := addresses(r); !slices.Equal(got, []string{tc.want}) {
				t.Errorf("Over %s: expected %s for ECS %s, got %v", network, tc.want, tc.ecs, got)
			}
			if scope, _ := replyScope(r); tc.ecs == "10.3.1.0/24" && scope != 16 {
				t.Errorf("Over %s: expected the database network's /16 as scope, got %d", network, scope)
			}
		}
		for local, want := range map[string]string{"127.0.3.1": "192.0.2.1", "127.0.2.1": "192.0.2.2"} {
			if got := addresses(queryFrom(t, network, s.addr(network), local, "app.example.org.")); !slices.Equal(got, []string{want}) {
				t.Errorf("Over %s: expected source %s to get %s, got %v", network, local, want, got)
			}
		}
	}
	// Two sites within a kilometre of each other tie: both answer, rotated.
	firsts := map[string]bool{}
	for range 6 {
		got := addresses(s.askECS(t, "udp", "app.example.org.", "10.4.1.0/24"))
		if len(got) != 2 || !slices.Contains(got, "192.0.2.3") || !slices.Contains(got, "192.0.2.4") {
			t.Fatalf("Expected the two Tokyo endpoints for a client in Tokyo, got %v", got)
		}
		firsts[got[0]] = true
	}
	if len(firsts) != 2 {
		t.Errorf("Expected the tied endpoints to take turns first, got only %v", firsts)
	}
	// Frankfurt goes down: its clients get the next nearest, London.
	fra.failed.Store(true)
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(addresses(s.askECS(t, "udp", "app.example.org.", "10.3.1.0/24")), []string{"192.0.2.5"}) {
		if time.Now().After(deadline) {
			t.Fatalf("Expected Frankfurt's clients to get London once it is down")
		}
		time.Sleep(20 * time.Millisecond) // the poll's pace
	}
	if got := addresses(s.askECS(t, "tcp", "app.example.org.", "10.2.1.0/24")); !slices.Equal(got, []string{"192.0.2.2"}) {
		t.Errorf("Expected New York's clients unaffected, got %v", got)
	}
}

// answersNext is a next plugin with a record of its own for every query.
var answersNext = plugin.HandlerFunc(func(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300}, A: net.ParseIP("198.51.100.1")}}
	if o := r.IsEdns0(); o != nil {
		m.SetEdns0(o.UDPSize(), false)
	}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
})

// An answer for the fenced clients alone carries their scope, whatever
// all_down makes of it: a resolver would cache it for everyone otherwise.
func TestFencedAllDownEchoesTheScope(t *testing.T) {
	for _, allDown := range []string{"fallthrough", "servfail", "nodata"} {
		t.Run(allDown, func(t *testing.T) {
			f := newGeoHandler(t, `failover app.example.org {
    policy geo
    geoip `+writeGeoDB(t, geoPlaces)+`
    fence continent:EU
    endpoint 192.0.2.3 geo continent:EU check http://127.0.0.1:1/
    endpoint 192.0.2.9 default
    all_down `+allDown+`
}`)
			f.Next = answersNext
			if err := f.start(); err != nil {
				t.Fatalf("Expected the probes to start, got %v", err)
			}
			defer f.stop()
			r := geoAsk(t, f, "127.0.0.1", "10.3.7.0/24", dns.TypeA)
			if slices.Contains(addresses(r), "192.0.2.9") {
				t.Fatalf("Expected an EU client never to get the default, got %v", addresses(r))
			}
			if scope, ok := replyScope(r); !ok || scope != 16 {
				t.Errorf("Expected the fenced client's %s reply to echo ECS with scope 16, got %d (echoed %t)", allDown, scope, ok)
			}
			if n := countOPT(r); n != 1 {
				t.Errorf("Expected one OPT record, got %d", n)
			}
			us := geoAsk(t, f, "127.0.0.1", "10.2.7.0/24", dns.TypeA)
			if !slices.Equal(addresses(us), []string{"192.0.2.9"}) {
				t.Errorf("Expected a US client to get the default, got %v", addresses(us))
			}
		})
	}
}

func countOPT(m *dns.Msg) int {
	n := 0
	for _, rr := range m.Extra {
		if rr.Header().Rrtype == dns.TypeOPT {
			n++
		}
	}
	return n
}

// The answer API says what a client gets and why, per client.
func TestExplainRoutingByClient(t *testing.T) {
	f := newGeoHandler(t, `failover app.example.org {
    policy geo
    geoip `+writeGeoDB(t, geoPlaces)+`
    fence continent:EU
    endpoint 192.0.2.3 geo continent:EU
    endpoint 192.0.2.1 geo net:10.1.2.0/24
    endpoint 192.0.2.9 default
}
failover sticky.example.org {
    policy active-active
    sticky
    max_answers 1
    endpoint 192.0.2.21
    endpoint 192.0.2.22
    endpoint 192.0.2.23
}`)
	geoM, stickyM := f.names["app.example.org."].m, f.names["sticky.example.org."].m
	eu := explain(geoM, netip.MustParseAddr("10.3.7.1"), dns.TypeA)
	if eu.Group != "continent:EU (fenced in continent:EU)" || !slices.Equal(eu.Answer, []string{"192.0.2.3"}) {
		t.Errorf("Expected an EU client fenced in the EU and answered 192.0.2.3, got group %q answer %v", eu.Group, eu.Answer)
	}
	if n := explain(geoM, netip.MustParseAddr("10.1.2.9"), dns.TypeA); n.Group != "net:10.1.2.0/24" || !slices.Equal(n.Answer, []string{"192.0.2.1"}) {
		t.Errorf("Expected a client of the listed net to get its endpoint, got group %q answer %v", n.Group, n.Answer)
	}
	one := explain(stickyM, netip.MustParseAddr("10.3.7.1"), dns.TypeA)
	same := explain(stickyM, netip.MustParseAddr("10.3.7.200"), dns.TypeA)
	if len(one.Answer) != 1 || !slices.Equal(one.Answer, same.Answer) {
		t.Fatalf("Expected one sticky answer, the same for the whole /24, got %v and %v", one.Answer, same.Answer)
	}
	for _, lo := range one.LeftOut {
		if !strings.HasPrefix(lo.Reason, "sticky: ") {
			t.Errorf("Expected %s left out by the sticky ranking, got %q", lo.Address, lo.Reason)
		}
	}
	q := new(dns.Msg)
	q.SetQuestion("sticky.example.org.", dns.TypeA)
	rec := dnstest.NewRecorder(&test.ResponseWriter{RemoteIP: "10.3.7.1"})
	f.ServeDNS(context.Background(), rec, q)
	if got := addresses(rec.Msg); !slices.Equal(got, one.Answer) {
		t.Errorf("Expected the query to get what the API explains, %v, got %v", one.Answer, got)
	}
}
