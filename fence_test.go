package failover

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/api"
	"github.com/failover-dns/failover/plugin/geo/geotest"
)

// The seed's case of data sovereignty: app.example.org has an EU pool (.10
// and .11), a US pool (.20) and a default (.30), and Europe is fenced: an
// EU client is answered by the EU pool alone, whatever is up.
const (
	fenceEU1     = "192.0.2.10"
	fenceEU2     = "192.0.2.11"
	fenceUS      = "192.0.2.20"
	fenceDefault = "192.0.2.30"
)

// fencePlaces puts loopback ranges, so that a client can be placed by its
// source address, and ECS ranges on the map.
var fencePlaces = []geotest.Place{
	{CIDR: "127.0.3.0/24", Continent: "EU", Country: "DE"},
	{CIDR: "127.0.4.0/24", Continent: "NA", Country: "US", Subdivision: "CA"},
	{CIDR: "10.3.0.0/16", Continent: "EU", Country: "DE"},
	{CIDR: "10.2.0.0/16", Continent: "NA", Country: "US", Subdivision: "NY"},
	{CIDR: "10.9.0.0/16", Continent: "AS", Country: "JP"},
	{CIDR: "2001:db8:3::/48", Continent: "EU", Country: "FR"},
}

// fenceStanza is one fenced name with the four endpoints; allDown is added
// as it is ("" for the default, return_all). The TTL is 1 s, so that
// unbound asks the server again within the test.
func fenceStanza(name, db, allDown string, eu1, eu2, us, def *healthBackend) string {
	return fmt.Sprintf(`    failover %s {
        policy geo
        geoip %s
        fence continent:EU
        endpoint %s geo continent:EU check %s
        endpoint %s geo continent:EU check %s
        endpoint %s geo continent:NA check %s
        endpoint %s default check %s
        ttl 1
        interval 200ms
        fast_interval 50ms
        timeout 100ms
        fall 2
        rise 1
        ecs_from 127.0.0.0/8
        %s
    }
`, name, db, fenceEU1, eu1.url(), fenceEU2, eu2.url(), fenceUS, us.url(), fenceDefault, def.url(), allDown)
}

// fenceClient is one way of asking: from source addresses of its own (the
// first three bytes of a loopback /24, "" for 127.0.0.1), or with an ECS
// option (a printf pattern of a prefix, given the query's number; "" for
// none).
type fenceClient struct {
	what string
	src  string
	ecs  string
}

// prefix is the ECS prefix of the client's i-th query.
func (c fenceClient) prefix(i int) string {
	if c.ecs == "" {
		return ""
	}
	return fmt.Sprintf(c.ecs, i%256)
}

// source is the source address of the client's i-th query: another address
// of the same /24 each time.
func (c fenceClient) source(i int) string {
	if c.src == "" {
		return ""
	}
	return c.src + fmt.Sprint(1+i%250)
}

// ask sends the client's i-th query for name over network to addr.
func (c fenceClient) ask(t *testing.T, network, addr, name string, i int) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	if p := c.prefix(i); p != "" {
		m.SetEdns0(1232, false)
		m.IsEdns0().Option = append(m.IsEdns0().Option, ecsOption(t, p))
	}
	return exchangeFrom(t, network, c.source(i), addr, m)
}

// exchangeFrom sends m over network to addr from the local address src
// ("" for any); Linux routes all of 127.0.0.0/8 to lo, so any of it binds.
func exchangeFrom(t *testing.T, network, src, addr string, m *dns.Msg) *dns.Msg {
	t.Helper()
	d := &net.Dialer{Timeout: 2 * time.Second}
	if src != "" {
		ip := net.ParseIP(src)
		if network == "tcp" {
			d.LocalAddr = &net.TCPAddr{IP: ip}
		} else {
			d.LocalAddr = &net.UDPAddr{IP: ip}
		}
	}
	r, _, err := (&dns.Client{Net: network, Dialer: d, Timeout: 5 * time.Second}).Exchange(m, addr)
	if err != nil {
		t.Fatalf("Expected an answer to %s over %s from %q, got %v", m.Question[0].Name, network, src, err)
	}
	return r
}

var (
	euBySubnet = fenceClient{what: "an EU client by ECS", ecs: "10.3.%d.0/24"}
	euByV6     = fenceClient{what: "an EU client by IPv6 ECS", ecs: "2001:db8:3:%x00::/56"}
	euBySource = fenceClient{what: "an EU client by source", src: "127.0.3."}
	usBySubnet = fenceClient{what: "a US client by ECS", ecs: "10.2.%d.0/24"}
	usBySource = fenceClient{what: "a US client by source", src: "127.0.4."}
	jpBySubnet = fenceClient{what: "a JP client by ECS", ecs: "10.9.%d.0/24"}
	nowhere    = fenceClient{what: "a client the database does not know"}
)

// euOnly reports whether addrs is a non-empty list of EU pool addresses.
func euOnly(addrs []string) bool {
	if len(addrs) == 0 {
		return false
	}
	for _, a := range addrs {
		if a != fenceEU1 && a != fenceEU2 {
			return false
		}
	}
	return true
}

// ecsScope is the scope a reply to a client's query must echo: the length
// of the database network that placed it (nothing for no ECS).
func (c fenceClient) ecsScope() int {
	switch c {
	case euBySubnet, usBySubnet, jpBySubnet:
		return 16
	case euByV6:
		return 48
	}
	return -1
}

// expectEU checks a reply to an EU client: NOERROR with EU addresses only,
// and the ECS echoed with the scope of the client's network.
func expectEU(t *testing.T, c fenceClient, network string, i int, r *dns.Msg) bool {
	t.Helper()
	if got := addresses(r); r.Rcode != dns.RcodeSuccess || !euOnly(got) {
		t.Errorf("Over %s, query %d: expected %s (%s) to get EU addresses only, got %s %v", network, i, c.what, c.prefix(i)+c.source(i), dns.RcodeToString[r.Rcode], got)
		return false
	}
	return expectScope(t, c, network, i, r)
}

// expectExactly checks a reply for exactly the addresses want.
func expectExactly(t *testing.T, c fenceClient, network string, i int, r *dns.Msg, want ...string) bool {
	t.Helper()
	if got := addresses(r); r.Rcode != dns.RcodeSuccess || !slices.Equal(got, want) {
		t.Errorf("Over %s, query %d: expected %s (%s) to get %v, got %s %v", network, i, c.what, c.prefix(i)+c.source(i), want, dns.RcodeToString[r.Rcode], got)
		return false
	}
	return expectScope(t, c, network, i, r)
}

func expectScope(t *testing.T, c fenceClient, network string, i int, r *dns.Msg) bool {
	t.Helper()
	want := c.ecsScope()
	if want < 0 {
		return true
	}
	if scope, ok := replyScope(r); !ok || scope != want {
		t.Errorf("Over %s, query %d: expected %s (%s) to get ECS echoed with scope %d, got %d (echoed %t)", network, i, c.what, c.prefix(i), want, scope, ok)
		return false
	}
	return true
}

// expectNoAddress checks a reply to a fenced client while its pool is down
// under all_down servfail or nodata: that rcode, and no address at all.
func expectNoAddress(t *testing.T, c fenceClient, network string, i int, r *dns.Msg, rcode int) bool {
	t.Helper()
	if r.Rcode != rcode || len(r.Answer) != 0 {
		t.Errorf("Over %s, query %d: expected %s (%s) to get %s without an answer, got %s %v", network, i, c.what, c.prefix(i)+c.source(i), dns.RcodeToString[rcode], dns.RcodeToString[r.Rcode], addresses(r))
		return false
	}
	return true
}

// awaitExplained polls the API's explanation of the A answer for client
// until its action is action, and returns it.
func awaitExplained(t *testing.T, c apiClient, name, client, action string, within time.Duration) api.Explanation {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var ex api.Explanation
		c.ok(t, http.MethodGet, "/v1/names/"+name+"/answer?type=A&client="+client, "", &ex)
		if ex.Action == action {
			return ex
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected the answer of %s to %s to be %s within %s, got %+v", name, client, action, within, ex)
		}
		time.Sleep(20 * time.Millisecond) // the poll's pace, not a wait for an event
	}
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// ecsUnbound runs unbound in front of s with its subnet cache: it sends the
// server the /24 of each client's source as ECS, and keeps each answer for
// the scope the server echoes (an answer without ECS, or with scope 0, for
// every client).
func ecsUnbound(t *testing.T, s server) string {
	t.Helper()
	return runUnbound(t, "example.org.", s.udp, `module-config: "subnetcache iterator"
    send-client-subnet: 127.0.0.1
    max-client-subnet-ipv4: 24
    prefetch: no
    serve-expired: no`)
}

// The seed's case end to end: EU, US and default pools, the EU pool killed,
// EU clients (by ECS and by source) never see a non-EU address, over UDP,
// TCP and through unbound's ECS cache, while US clients are unaffected.
// app.example.org answers the fence's own endpoints when they are all down
// (return_all), strict.example.org SERVFAIL and nodata.example.org NODATA.
func TestFenceKeepsEUClientsInsideEU(t *testing.T) {
	eu1, eu2, us, def := newHealthBackend(t, nil), newHealthBackend(t, nil), newHealthBackend(t, nil), newHealthBackend(t, nil)
	db := writeGeoDB(t, fencePlaces)
	apiAddr := closedPort(t)
	s := startServer(t, `example.org:0 {
    bind 127.0.0.1
    failover {
        api `+apiAddr+`
    }
`+fenceStanza("app.example.org", db, "", eu1, eu2, us, def)+
		fenceStanza("strict.example.org", db, "all_down servfail", eu1, eu2, us, def)+
		fenceStanza("nodata.example.org", db, "all_down nodata", eu1, eu2, us, def)+`}`)
	c := apiClient{base: "http://" + apiAddr}
	names := []string{"app.example.org", "strict.example.org", "nodata.example.org"}
	awaitEndpoints(t, c, names, func(ep api.Endpoint) bool { return ep.State == "up" }, 5*time.Second)

	const app, strict, nodata = "app.example.org.", "strict.example.org.", "nodata.example.org."
	networks := []string{"udp", "tcp"}
	eu := []fenceClient{euBySubnet, euByV6, euBySource}
	usa := []fenceClient{usBySubnet, usBySource}
	addrOf := func(network string) string {
		if network == "tcp" {
			return s.tcp
		}
		return s.udp
	}

	// unbound in front of the server, with its ECS cache: the EU client
	// asks it from 127.0.3.1, the US client from 127.0.4.1, so that unbound
	// sends the server 127.0.3.0/24 and 127.0.4.0/24, which the database
	// places in Germany and the US.
	resolver := ecsUnbound(t, s)
	viaUnbound := func(src, name string) *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		return exchangeFrom(t, "udp", src, resolver, m)
	}
	// One round through unbound: the US client first, so that unbound holds
	// the US answer when the EU client asks. The US client must get the US
	// address; the EU client EU addresses only (euDown false) or, once the
	// EU pool is down, no address at all from strict and nodata. It reports
	// whether every answer was right.
	throughUnbound := func(t *testing.T, round int, names []string, euDown bool) bool {
		t.Helper()
		ok := true
		for _, name := range names {
			r := viaUnbound("127.0.4.1", name)
			if got := addresses(r); r.Rcode != dns.RcodeSuccess || !slices.Equal(got, []string{fenceUS}) {
				t.Errorf("Round %d: expected the US client to get [%s] for %s through unbound, got %s %v", round, fenceUS, name, dns.RcodeToString[r.Rcode], got)
				ok = false
			}
			r = viaUnbound("127.0.3.1", name)
			got := addresses(r)
			switch {
			case name != app && euDown:
				if len(r.Answer) != 0 {
					t.Errorf("Round %d: expected the EU client to get no address for %s through unbound with the EU pool down, got %s %v", round, name, dns.RcodeToString[r.Rcode], got)
					ok = false
				}
			case r.Rcode != dns.RcodeSuccess || !euOnly(got):
				t.Errorf("Round %d: expected the EU client to get EU addresses only for %s through unbound, got %s %v", round, name, dns.RcodeToString[r.Rcode], got)
				ok = false
			}
		}
		return ok
	}

	t.Run("before the kill", func(t *testing.T) {
		for _, network := range networks {
			for i := range 20 {
				for _, name := range []string{app, strict, nodata} {
					for _, cl := range eu {
						expectEU(t, cl, network, i, cl.ask(t, network, addrOf(network), name, i))
					}
					for _, cl := range usa {
						expectExactly(t, cl, network, i, cl.ask(t, network, addrOf(network), name, i), fenceUS)
					}
					for _, cl := range []fenceClient{jpBySubnet, nowhere} {
						expectExactly(t, cl, network, i, cl.ask(t, network, addrOf(network), name, i), fenceDefault)
					}
				}
			}
		}
		// Both EU endpoints answer while both are up.
		if got := addresses(euBySource.ask(t, "udp", s.udp, app, 0)); !sameSet(got, []string{fenceEU1, fenceEU2}) {
			t.Errorf("Expected an EU client to get both EU endpoints while they are up, got %v", got)
		}
		ex := awaitExplained(t, c, "app.example.org", "10.3.7.1", "answer", time.Second)
		if !strings.Contains(ex.Group, "fenced in continent:EU") {
			t.Errorf("Expected the explanation to name the fence, got group %q", ex.Group)
		}
	})

	t.Run("through unbound before the kill", func(t *testing.T) {
		// Over two TTLs (1 s), so that unbound asks the server again in
		// between; that the EU client gets EU addresses at all shows that
		// unbound sent ECS (the server's own source, 127.0.0.1, is placed
		// nowhere and gets the default).
		for round, until := 0, time.Now().Add(2500*time.Millisecond); time.Now().Before(until); round++ {
			if !throughUnbound(t, round, []string{app, strict, nodata}, false) {
				break
			}
			time.Sleep(50 * time.Millisecond) // the query rate of the poll, not a wait for an event
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	// The EU pool fails. Once both its endpoints read down and the views
	// of the three names have been rebuilt with them down, nothing but the
	// fence's own endpoints may answer Europe.
	eu1.failed.Store(true)
	eu2.failed.Store(true)
	killed := time.Now()
	awaitEndpoints(t, c, names, func(ep api.Endpoint) bool {
		return (ep.Address == fenceEU1 || ep.Address == fenceEU2) == (ep.State == "down")
	}, 5*time.Second)
	awaitExplained(t, c, "app.example.org", "10.3.7.1", "return_all", 5*time.Second)
	awaitExplained(t, c, "strict.example.org", "10.3.7.1", "servfail", 5*time.Second)
	awaitExplained(t, c, "nodata.example.org", "10.3.7.1", "nodata", 5*time.Second)
	t.Logf("the EU pool read down %s after the kill", time.Since(killed).Round(time.Millisecond))
	// An unfenced client of the EU group would now get the default: the
	// plugin does know that the EU pool is down.
	if ex := awaitExplained(t, c, "app.example.org", "127.0.0.1", "answer", time.Second); !slices.Equal(ex.Answer, []string{fenceDefault}) {
		t.Errorf("Expected a client outside the fence to get [%s] with the EU pool down, got %v", fenceDefault, ex.Answer)
	}

	t.Run("after the kill", func(t *testing.T) {
		for _, network := range networks {
			for _, cl := range eu {
				for i := range 200 {
					r := cl.ask(t, network, addrOf(network), app, i)
					if !expectEU(t, cl, network, i, r) {
						break
					}
					// return_all inside the fence: both EU endpoints, as if up.
					if got := addresses(r); !sameSet(got, []string{fenceEU1, fenceEU2}) {
						t.Errorf("Over %s, query %d: expected %s to get both EU endpoints (return_all), got %v", network, i, cl.what, got)
						break
					}
				}
			}
			for _, cl := range usa {
				for i := range 200 {
					if !expectExactly(t, cl, network, i, cl.ask(t, network, addrOf(network), app, i), fenceUS) {
						break
					}
				}
			}
			for i := range 20 {
				expectExactly(t, jpBySubnet, network, i, jpBySubnet.ask(t, network, addrOf(network), app, i), fenceDefault)
				expectExactly(t, nowhere, network, i, nowhere.ask(t, network, addrOf(network), app, i), fenceDefault)
			}
		}
	})

	// SERVFAIL and NODATA inside the fence are answers that depend on the
	// client like any other (outside the fence the same query gets an
	// address): an ECS option is echoed with the client's scope, or a
	// caching resolver hands them to every client (RFC 7871 section 7.3).
	for _, tc := range []struct {
		allDown, name string
		rcode         int
	}{{"servfail", strict, dns.RcodeServerFailure}, {"nodata", nodata, dns.RcodeSuccess}} {
		t.Run("all_down "+tc.allDown+" inside the fence", func(t *testing.T) {
			for _, network := range networks {
				for _, cl := range eu {
					for i := range 50 {
						if !expectNoAddress(t, cl, network, i, cl.ask(t, network, addrOf(network), tc.name, i), tc.rcode) {
							break
						}
					}
					if want := cl.ecsScope(); want > 0 {
						r := cl.ask(t, network, addrOf(network), tc.name, 0)
						if scope, ok := replyScope(r); !ok || scope != want {
							t.Errorf("Over %s: expected the all_down %s answer of %s to %s (%s) to echo ECS with scope %d, got %d (echoed %t)", network, tc.allDown, tc.name, cl.what, cl.prefix(0), want, scope, ok)
						}
					}
				}
				for _, cl := range usa {
					for i := range 50 {
						if !expectExactly(t, cl, network, i, cl.ask(t, network, addrOf(network), tc.name, i), fenceUS) {
							break
						}
					}
				}
				expectExactly(t, jpBySubnet, network, 0, jpBySubnet.ask(t, network, addrOf(network), tc.name, 0), fenceDefault)
			}
		})
	}

	t.Run("through unbound after the kill", func(t *testing.T) {
		// Until unbound has asked the server for the EU client's answer at
		// least twice since the kill (the TTL is 1 s), and for two TTLs.
		series := map[string]string{"name": app, "action": "return_all"}
		before, _ := metricValue(t, "coredns_failover_all_down_answers_total", series)
		start := time.Now()
		for round := 0; ; round++ {
			if !throughUnbound(t, round, []string{app}, true) {
				break
			}
			after, _ := metricValue(t, "coredns_failover_all_down_answers_total", series)
			if after-before >= 2 && time.Since(start) > 2500*time.Millisecond {
				t.Logf("unbound asked the server %v times for the EU client in %d rounds", after-before, round+1)
				break
			}
			if time.Since(start) > 8*time.Second {
				t.Fatalf("Expected unbound to ask the server again for the EU client within 8s, it asked %v times", after-before)
			}
			time.Sleep(50 * time.Millisecond) // the query rate of the poll, not a wait for an event
		}
	})

	t.Run("all_down servfail and nodata through unbound after the kill", func(t *testing.T) {
		for _, name := range []string{strict, nodata} {
			for round := range 10 {
				if !throughUnbound(t, round, []string{name}, true) {
					break
				}
				time.Sleep(50 * time.Millisecond) // the query rate of the poll, not a wait for an event
			}
		}
	})
}
