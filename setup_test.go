package failover

import (
	"bytes"
	"fmt"
	golog "log"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"

	"github.com/failover-dns/failover/plugin/policy"
	"github.com/failover-dns/failover/plugin/stanza"
)

// testZones is the server block every test Corefile is read in, unless a
// test says otherwise.
var testZones = []string{"example.org."}

func newTestController(corefile string, zones ...string) *caddy.Controller {
	c := caddy.NewTestController("dns", corefile)
	if len(zones) == 0 {
		zones = testZones
	}
	c.ServerBlockKeys = zones
	return c
}

// parseOne reads a Corefile that must parse into exactly one stanza.
func parseOne(t *testing.T, corefile string) *stanza.Stanza {
	t.Helper()
	f, err := parse(newTestController(corefile))
	if err != nil {
		t.Fatalf("Expected no error, got %v", err)
	}
	if len(f.stanzas) != 1 {
		t.Fatalf("Expected 1 stanza, got %d", len(f.stanzas))
	}
	return f.stanzas[0].cfg
}

func TestSetup(t *testing.T) {
	corefile := `failover www.example.org {
    endpoint 192.0.2.10
}
failover api {
    policy active-active
    endpoint 192.0.2.20
    endpoint 192.0.2.21
}`
	c := newTestController(corefile)
	if err := setup(c); err != nil {
		t.Fatalf("Expected no error, got %v", err)
	}
	// Both stanzas must end up in one handler, or the second name would be
	// passed to the next plugin.
	if n := len(dnsserver.GetConfig(c).Plugin); n != 1 {
		t.Fatalf("Expected 1 plugin in the chain, got %d", n)
	}
	f, ok := dnsserver.GetConfig(c).Plugin[0](nil).(*Failover)
	if !ok {
		t.Fatalf("Expected the chain to hold a *Failover, got %T", dnsserver.GetConfig(c).Plugin[0](nil))
	}
	for _, name := range []string{"www.example.org.", "api.example.org."} {
		if _, ok := f.names[name]; !ok {
			t.Errorf("Expected %s to be managed, got names %v", name, keys(f.names))
		}
	}
}

func keys(m map[string]*entry) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestSetupDefaults(t *testing.T) {
	s := parseOne(t, `failover www.example.org {
    endpoint 192.0.2.10
}`)
	if s.Policy != policy.ActivePassive {
		t.Errorf("Expected policy active-passive, got %s", s.Policy)
	}
	if s.TTL != 60 {
		t.Errorf("Expected ttl 60, got %d", s.TTL)
	}
	if s.MaxAnswers != 8 {
		t.Errorf("Expected max_answers 8, got %d", s.MaxAnswers)
	}
	if s.Probe.Timeout != 2*time.Second {
		t.Errorf("Expected timeout 2s, got %s", s.Probe.Timeout)
	}
	if s.Pace.Interval != 10*time.Second {
		t.Errorf("Expected interval 10s, got %s", s.Pace.Interval)
	}
	if s.Pace.FastInterval != time.Second {
		t.Errorf("Expected fast_interval 1s, got %s", s.Pace.FastInterval)
	}
	if s.Pace.Fall != 3 || s.Pace.Rise != 2 {
		t.Errorf("Expected fall 3 and rise 2, got fall %d and rise %d", s.Pace.Fall, s.Pace.Rise)
	}
	for _, code := range []int{200, 204, 299} {
		if !s.Probe.Expect.Match(code) {
			t.Errorf("Expected status %d to be healthy by default", code)
		}
	}
	for _, code := range []int{199, 301, 404, 500} {
		if s.Probe.Expect.Match(code) {
			t.Errorf("Expected status %d to be unhealthy by default", code)
		}
	}
	if s.AllDown != stanza.ReturnAll {
		t.Errorf("Expected all_down return_all, got %s", s.AllDown)
	}
	if s.Fallthrough {
		t.Error("Expected no fallthrough by default")
	}
	if s.Probe.TLSSkipVerify {
		t.Error("Expected certificate verification to be on by default")
	}
	ep := &s.Endpoints[0]
	if ep.Priority != 1 || ep.Weight != 1 {
		t.Errorf("Expected priority 1 and weight 1, got priority %d and weight %d", ep.Priority, ep.Weight)
	}
	// No check given: the endpoint is static.
	if _, ok := s.ProbeSpec(ep); ok {
		t.Errorf("Expected no probe without a check, got check %q", s.CheckURL(ep))
	}
}

func TestSetupMaxAnswersDefaults(t *testing.T) {
	tests := []struct {
		policy string
		extra  string
		want   int
	}{
		{"active-passive", "", 8},
		{"active-active", "", 8},
		{"weighted", "", 1},
		{"Weighted", "", 1},
		{"weighted", "max_answers 3", 3},
		{"active-active", "max_answers 64", 64},
	}
	for _, tc := range tests {
		t.Run(tc.policy+" "+tc.extra, func(t *testing.T) {
			s := parseOne(t, fmt.Sprintf(`failover www.example.org {
    policy %s
    endpoint 192.0.2.10
    endpoint 192.0.2.11
    %s
}`, tc.policy, tc.extra))
			if s.MaxAnswers != tc.want {
				t.Errorf("Expected max_answers %d, got %d", tc.want, s.MaxAnswers)
			}
		})
	}
}

func TestSetupEndpoints(t *testing.T) {
	s := parseOne(t, `failover www.example.org {
    policy weighted
    endpoint 192.0.2.10 priority 1 weight 90
    endpoint 192.0.2.11 weight 0 priority 2 check tcp://{address}:443
    endpoint 2001:DB8:0::1 check none
    endpoint ::ffff:192.0.2.12 PRIORITY 65535 WEIGHT 65535
    check http://{address}:8080/health
}`)
	want := []struct {
		address  string
		priority int
		weight   uint32
		check    string
	}{
		{"192.0.2.10", 1, 90, "http://{address}:8080/health"},
		{"192.0.2.11", 2, 0, "tcp://{address}:443"},
		{"2001:db8::1", 1, 1, ""},
		{"192.0.2.12", 65535, 65535, "http://{address}:8080/health"},
	}
	if len(s.Endpoints) != len(want) {
		t.Fatalf("Expected %d endpoints, got %d", len(want), len(s.Endpoints))
	}
	for i, w := range want {
		ep := &s.Endpoints[i]
		if ep.Address != w.address {
			t.Errorf("Expected endpoint %d to be %s, got %s", i, w.address, ep.Address)
		}
		if ep.Line != i+3 {
			t.Errorf("Expected endpoint %s on line %d, got %d", w.address, i+3, ep.Line)
		}
		if ep.IsHost() {
			t.Errorf("Expected endpoint %s to be an address, got a host name", w.address)
		}
		if ep.Priority != w.priority || ep.Weight != w.weight {
			t.Errorf("Expected endpoint %s to have priority %d weight %d, got %d %d", w.address, w.priority, w.weight, ep.Priority, ep.Weight)
		}
		if got := s.CheckURL(ep); got != w.check {
			t.Errorf("Expected endpoint %s to be checked by %q, got %q", w.address, w.check, got)
		}
		spec, ok := s.ProbeSpec(ep)
		if ok != (w.check != "") || spec.URL != w.check {
			t.Errorf("Expected endpoint %s to be probed with %q, got %q (probed: %t)", w.address, w.check, spec.URL, ok)
		}
	}
	if !s.Endpoints[3].IP.Is4() {
		t.Errorf("Expected an IPv4-mapped address to be served as IPv4, got %s", s.Endpoints[3].IP)
	}
}

func TestSetupHostEndpoints(t *testing.T) {
	s := parseOne(t, `failover cdn.example.org {
    endpoint Primary.CDN.example.NET priority 1
    endpoint backup.cdn.example.com. priority 2
}`)
	for i, want := range []string{"primary.cdn.example.net.", "backup.cdn.example.com."} {
		ep := &s.Endpoints[i]
		if !ep.IsHost() {
			t.Errorf("Expected endpoint %s to be a host name", want)
		}
		if ep.Address != want {
			t.Errorf("Expected endpoint %q, got %q", want, ep.Address)
		}
	}
}

func TestSetupTiming(t *testing.T) {
	tests := []struct {
		body                   string
		interval, timeout, fst time.Duration
	}{
		// An interval of 2s or less with no timeout: half of it, so one probe
		// ends before the next.
		{"interval 2s", 2 * time.Second, time.Second, time.Second},
		{"interval 1s", time.Second, 500 * time.Millisecond, time.Second},
		{"interval 500ms", 500 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond},
		{"interval 1ms", time.Millisecond, 500 * time.Microsecond, time.Millisecond},
		// Above 2s the default timeout fits.
		{"interval 3s", 3 * time.Second, 2 * time.Second, time.Second},
		{"interval 1m", time.Minute, 2 * time.Second, time.Second},
		// Given values win.
		{"interval 5s\n    timeout 4s\n    fast_interval 5s", 5 * time.Second, 4 * time.Second, 5 * time.Second},
		{"timeout 100ms\n    fast_interval 250ms", 10 * time.Second, 100 * time.Millisecond, 250 * time.Millisecond},
		{"interval 1s\n    timeout 900ms", time.Second, 900 * time.Millisecond, time.Second},
	}
	for _, tc := range tests {
		t.Run(strings.ReplaceAll(tc.body, "\n    ", " "), func(t *testing.T) {
			s := parseOne(t, "failover www.example.org {\n    endpoint 192.0.2.10\n    "+tc.body+"\n}")
			if s.Pace.Interval != tc.interval {
				t.Errorf("Expected interval %s, got %s", tc.interval, s.Pace.Interval)
			}
			if s.Probe.Timeout != tc.timeout {
				t.Errorf("Expected timeout %s, got %s", tc.timeout, s.Probe.Timeout)
			}
			if s.Pace.FastInterval != tc.fst {
				t.Errorf("Expected fast_interval %s, got %s", tc.fst, s.Pace.FastInterval)
			}
		})
	}
}

func TestSetupProbeSettings(t *testing.T) {
	s := parseOne(t, `failover www.example.org {
    endpoint 192.0.2.10
    check https://{address}/health
    expect 200 204 300-302
    host www.example.org
    tls_servername origin.example.net
    tls_skip_verify
    header X-Probe 1
    header Authorization "Bearer abc def"
    header X-Probe 2
    body "all good"
    fall 5
    rise 1
}`)
	for code, healthy := range map[int]bool{200: true, 204: true, 300: true, 301: true, 302: true, 201: false, 299: false, 303: false} {
		if s.Probe.Expect.Match(code) != healthy {
			t.Errorf("Expected status %d healthy=%t with expect 200 204 300-302", code, healthy)
		}
	}
	if s.Probe.Host != "www.example.org" || s.Probe.TLSServerName != "origin.example.net" || !s.Probe.TLSSkipVerify {
		t.Errorf("Expected host, tls_servername and tls_skip_verify to be set, got %q %q %t",
			s.Probe.Host, s.Probe.TLSServerName, s.Probe.TLSSkipVerify)
	}
	// Headers repeat, keep their order, and a repeated name is sent twice.
	want := [][2]string{{"X-Probe", "1"}, {"Authorization", "Bearer abc def"}, {"X-Probe", "2"}}
	if fmt.Sprint(s.Probe.Headers) != fmt.Sprint(want) {
		t.Errorf("Expected headers %v, got %v", want, s.Probe.Headers)
	}
	if s.Probe.Body != "all good" {
		t.Errorf("Expected body %q, got %q", "all good", s.Probe.Body)
	}
	if s.Pace.Fall != 5 || s.Pace.Rise != 1 {
		t.Errorf("Expected fall 5 and rise 1, got %d and %d", s.Pace.Fall, s.Pace.Rise)
	}
	spec, ok := s.ProbeSpec(&s.Endpoints[0])
	if !ok || spec.URL != "https://{address}/health" || spec.Host != "www.example.org" || len(spec.Headers) != 3 {
		t.Errorf("Expected the endpoint's probe to carry the stanza's settings, got %+v", spec)
	}
}

func TestSetupAllDown(t *testing.T) {
	tests := []struct {
		value string
		want  stanza.AllDown
	}{
		{"return_all", stanza.ReturnAll},
		{"fallthrough", stanza.Fallthrough},
		{"servfail", stanza.ServFail},
		{"nodata", stanza.NoData},
		{"SERVFAIL", stanza.ServFail},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			s := parseOne(t, "failover www.example.org {\n    endpoint 192.0.2.10\n    all_down "+tc.value+"\n}")
			if s.AllDown != tc.want {
				t.Errorf("Expected all_down %s, got %s", tc.want, s.AllDown)
			}
			// all_down fallthrough is not the fallthrough property.
			if s.Fallthrough {
				t.Errorf("Expected no fallthrough with all_down %s", tc.value)
			}
		})
	}
}

func TestSetupFallthroughAndTTL(t *testing.T) {
	s := parseOne(t, `failover www.example.org {
    endpoint 192.0.2.10
    fallthrough
    ttl 300
}`)
	if !s.Fallthrough {
		t.Error("Expected fallthrough to be set")
	}
	if s.TTL != 300 {
		t.Errorf("Expected ttl 300, got %d", s.TTL)
	}
	if s.AllDown != stanza.ReturnAll {
		t.Errorf("Expected fallthrough to leave all_down at return_all, got %s", s.AllDown)
	}
}

func TestSetupNames(t *testing.T) {
	tests := []struct {
		name  string
		zones []string
		args  string
		want  []string
	}{
		{"fully qualified", nil, "www.example.org.", []string{"www.example.org."}},
		{"without final dot", nil, "www.example.org", []string{"www.example.org."}},
		{"lower-cased", nil, "WWW.Example.ORG", []string{"www.example.org."}},
		{"relative", nil, "www", []string{"www.example.org."}},
		{"relative upper case", nil, "API", []string{"api.example.org."}},
		{"apex", nil, "@", []string{"example.org."}},
		{"zone apex by name", nil, "example.org", []string{"example.org."}},
		{"deep name", nil, "a.b.c.example.org", []string{"a.b.c.example.org."}},
		{"several", nil, "www api.example.org @", []string{"www.example.org.", "api.example.org.", "example.org."}},
		{"relative in every zone", []string{"example.org.", "example.net."}, "www", []string{"www.example.org.", "www.example.net."}},
		{"qualified in the second zone", []string{"example.org.", "example.net."}, "api.example.net", []string{"api.example.net."}},
		{"zone key with port", []string{"example.org.:53"}, "www", []string{"www.example.org."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestController("failover "+tc.args+" {\n    endpoint 192.0.2.10\n}", tc.zones...)
			f, err := parse(c)
			if err != nil {
				t.Fatalf("Expected no error, got %v", err)
			}
			// Every name gets a view of its own, in the order written.
			var names []string
			for _, m := range f.stanzas {
				names = append(names, m.cfg.Names...)
			}
			if fmt.Sprint(names) != fmt.Sprint(tc.want) {
				t.Errorf("Expected names %v, got %v", tc.want, names)
			}
			if len(f.names) != len(tc.want) {
				t.Errorf("Expected %d managed names, got %v", len(tc.want), keys(f.names))
			}
			for i, name := range tc.want {
				e, ok := f.names[name]
				if !ok {
					t.Errorf("Expected %s to be managed, got %v", name, keys(f.names))
					continue
				}
				if e.m != f.stanzas[i] || e.m.cfg.Line != 1 {
					t.Errorf("Expected %s to have view %d, of the stanza on line 1", name, i)
				}
			}
		})
	}
}

func TestSetupSeveralStanzas(t *testing.T) {
	f, err := parse(newTestController(`failover www {
    endpoint 192.0.2.10
}
failover api.example.org shop {
    policy weighted
    endpoint 192.0.2.20
}
failover cdn {
    endpoint cdn.example.net
}`))
	if err != nil {
		t.Fatalf("Expected no error, got %v", err)
	}
	if len(f.stanzas) != 4 { // one per name
		t.Fatalf("Expected 4 views, got %d", len(f.stanzas))
	}
	want := map[string]int{"www.example.org.": 0, "api.example.org.": 1, "shop.example.org.": 2, "cdn.example.org.": 3}
	if len(f.names) != len(want) {
		t.Errorf("Expected %d names, got %v", len(want), keys(f.names))
	}
	for name, i := range want {
		e, ok := f.names[name]
		if !ok {
			t.Errorf("Expected %s to be managed", name)
			continue
		}
		if e.m != f.stanzas[i] {
			t.Errorf("Expected %s to belong to stanza %d (line %d), got line %d", name, i, f.stanzas[i].cfg.Line, e.m.cfg.Line)
		}
	}
	for i, line := range []int{1, 4, 4, 8} {
		if got := f.stanzas[i].cfg.Line; got != line {
			t.Errorf("Expected stanza %d on line %d, got %d", i, line, got)
		}
	}
	if f.stanzas[1].cfg.Policy != policy.Weighted || f.stanzas[0].cfg.Policy != policy.ActivePassive {
		t.Errorf("Expected each stanza to keep its own policy, got %s and %s", f.stanzas[0].cfg.Policy, f.stanzas[1].cfg.Policy)
	}
}

func TestSetupErrors(t *testing.T) {
	tests := []struct {
		name     string
		corefile string
		line     int
		phrase   string
	}{
		{"unknown property", `failover www.example.org {
    endpoint 192.0.2.10
    bogus 1
}`, 3, `unknown property "bogus"`},
		{"no name", `failover {
    endpoint 192.0.2.10
}`, 1, "needs at least one NAME"},
		{"name listed twice", `failover www www.example.org {
    endpoint 192.0.2.10
}`, 1, "www.example.org. is listed twice"},
		{"bad policy", `failover www.example.org {
    endpoint 192.0.2.10
    policy round-robin
}`, 3, `unknown policy "round-robin"`},
		{"weight not a number", `failover www.example.org {
    policy weighted
    endpoint 192.0.2.10 weight 90
    endpoint 192.0.2.11 weight heavy
}`, 4, `weight "heavy" is not allowed`},
		{"negative weight", `failover www.example.org {
    policy weighted
    endpoint 192.0.2.10 weight -1
}`, 3, `weight "-1" is not allowed`},
		{"weight too large", `failover www.example.org {
    endpoint 192.0.2.10 weight 65536
}`, 2, `weight "65536" is not allowed`},
		{"weight without value", `failover www.example.org {
    endpoint 192.0.2.10 weight
}`, 2, "weight needs a value"},
		{"negative priority", `failover www.example.org {
    endpoint 192.0.2.10 priority -1
}`, 2, `priority "-1" is not allowed`},
		{"priority not a number", `failover www.example.org {

    endpoint 192.0.2.10 priority first
}`, 3, `priority "first" is not allowed`},
		{"priority twice", `failover www.example.org {
    endpoint 192.0.2.10 priority 1 priority 2
}`, 2, "priority is given twice"},
		{"unknown endpoint option", `failover www.example.org {
    endpoint 192.0.2.10 backup
}`, 2, `unknown option "backup"`},
		{"endpoint without address", `failover www.example.org {
    endpoint
}`, 2, "endpoint needs an ADDRESS"},
		{"negative ttl", `failover www.example.org {
    endpoint 192.0.2.10
    ttl -5
}`, 3, `ttl "-5" is not allowed`},
		{"ttl not a number", `failover www.example.org {
    endpoint 192.0.2.10
    ttl 1m
}`, 3, `ttl "1m" is not allowed`},
		{"ttl too large", `failover www.example.org {
    endpoint 192.0.2.10
    ttl 2147483648
}`, 3, `ttl "2147483648" is not allowed`},
		{"ttl without value", `failover www.example.org {
    endpoint 192.0.2.10
    ttl
}`, 3, "ttl takes exactly one value, got 0"},
		{"fall zero", `failover www.example.org {
    endpoint 192.0.2.10
    fall 0
}`, 3, `fall "0" is not allowed`},
		{"negative fall", `failover www.example.org {
    endpoint 192.0.2.10
    fall -3
}`, 3, `fall "-3" is not allowed`},
		{"rise not a number", `failover www.example.org {
    endpoint 192.0.2.10
    rise two
}`, 3, `rise "two" is not allowed`},
		{"negative rise", `failover www.example.org {
    endpoint 192.0.2.10
    rise -1
}`, 3, `rise "-1" is not allowed`},
		{"max_answers zero", `failover www.example.org {
    endpoint 192.0.2.10
    max_answers 0
}`, 3, `max_answers "0" is not allowed`},
		{"max_answers negative", `failover www.example.org {
    endpoint 192.0.2.10
    max_answers -2
}`, 3, `max_answers "-2" is not allowed`},
		{"max_answers too large", `failover www.example.org {
    endpoint 192.0.2.10
    max_answers 65
}`, 3, `max_answers "65" is not allowed`},
		{"address out of range", `failover www.example.org {
    endpoint 192.0.2.10
    endpoint 192.0.2.300
}`, 3, `"192.0.2.300" is neither an IP address nor a host name`},
		{"bad IPv6 address", `failover www.example.org {
    endpoint ::zz
}`, 2, `"::zz" is neither an IP address nor a host name`},
		{"address with zone", `failover www.example.org {
    endpoint fe80::1%eth0
}`, 2, "an address with a zone cannot be served"},
		{"bad host name", `failover www.example.org {
    endpoint bad..example.net
}`, 2, "is neither an IP address nor a host name"},
		{"bad probe host", `failover www.example.org {
    endpoint 192.0.2.10
    check http://{address}/health
    host "origin example net"
}`, 4, `host "origin example net" is not a valid HTTP host`},
		{"addresses and host names", `failover www.example.org {
    endpoint 192.0.2.10
    endpoint backup.example.net
}`, 3, "mixes IP addresses and host names: endpoint backup.example.net. does not fit the block's first endpoint 192.0.2.10, an IP address"},
		{"host name at the apex", `failover @ {
    endpoint edge.example.net
}`, 2, "endpoint edge.example.net. is a host name, answered with a CNAME, and example.org. is the apex of its zone"},
		{"host name at the apex, by name", `failover www.example.org example.org {
    endpoint edge.example.net
}`, 2, "(RFC 1034 section 3.6.2); use IP addresses at the apex"},
		{"CNAME loop", `failover www.example.org {
    endpoint app.example.org
}
failover app.example.org {
    endpoint edge.example.net
    endpoint www.example.org
}`, 6, "endpoint www.example.org. leads back to www.example.org., a CNAME loop"},
		{"host names and addresses", `failover www.example.org {
    endpoint primary.example.net
    endpoint backup.example.net
    endpoint 2001:db8::1
}`, 4, "mixes IP addresses and host names: endpoint 2001:db8::1 does not fit the block's first endpoint primary.example.net., a host name"},
		{"name outside the zones", `failover www.example.org {
    endpoint 192.0.2.10
}
failover www.example.com {
    endpoint 192.0.2.10
}`, 4, "name www.example.com. is outside this server block's zones (example.org.)"},
		{"wildcard name", `failover www.example.org {
    endpoint 192.0.2.10
}
failover *.example.org {
    endpoint 192.0.2.10
}`, 4, "wildcards are not supported"},
		{"parent of the zone", `failover org {
    endpoint 192.0.2.10
}
failover org. {
    endpoint 192.0.2.10
}`, 4, "name org. is outside this server block's zones"},
		{"check does not parse", `failover www.example.org {
    endpoint 192.0.2.10
    check http://[::1/health
}`, 3, "does not parse"},
		{"check with ftp", `failover www.example.org {
    endpoint 192.0.2.10
    check ftp://{address}/health
}`, 3, `has scheme "ftp"; allowed are http://, https:// and tcp://`},
		{"tcp check without port", `failover www.example.org {
    endpoint 192.0.2.10
    check tcp://{address}
}`, 3, "needs a port"},
		{"endpoint check with ftp", `failover www.example.org {
    endpoint 192.0.2.10
    endpoint 192.0.2.11 check ftp://{address}/
}`, 3, `has scheme "ftp"`},
		{"endpoint tcp check without port", `failover www.example.org {
    endpoint 192.0.2.10 priority 1 check tcp://{address}
}`, 2, "needs a port"},
		{"check with credentials", `failover www.example.org {
    endpoint 192.0.2.10
    check http://user:secret@{address}/
}`, 3, "carries credentials"},
		{"check with bad port", `failover www.example.org {
    endpoint 192.0.2.10
    check http://{address}:70000/
}`, 3, "ports run from 1 to 65535"},
		{"interval not a duration", `failover www.example.org {
    endpoint 192.0.2.10
    interval 10
}`, 3, `interval "10" is not a positive duration`},
		{"interval below a millisecond", `failover www.example.org {
    endpoint 192.0.2.10
    check tcp://{address}:443
    interval 1ns
}`, 4, `interval "1ns" is not a positive duration of at least 1ms`},
		{"zero fast_interval", `failover www.example.org {
    endpoint 192.0.2.10
    fast_interval 0s
}`, 3, `fast_interval "0s" is not a positive duration`},
		{"negative timeout", `failover www.example.org {
    endpoint 192.0.2.10
    timeout -1s
}`, 3, `timeout "-1s" is not a positive duration`},
		{"timeout equal to interval", `failover www.example.org {
    endpoint 192.0.2.10
    interval 5s
    timeout 5s
}`, 4, "timeout 5s must be below interval 5s"},
		{"timeout above interval", `failover www.example.org {
    endpoint 192.0.2.10
    timeout 3s
    interval 2s
}`, 3, "timeout 3s must be below interval 2s"},
		{"timeout above the default interval", `failover www.example.org {
    endpoint 192.0.2.10
    timeout 30s
}`, 3, "timeout 30s must be below interval 10s"},
		{"fast_interval above interval", `failover www.example.org {
    endpoint 192.0.2.10
    interval 2s
    fast_interval 3s
}`, 4, "fast_interval 3s must not exceed interval 2s"},
		{"no endpoint", `failover www.example.org {
    endpoint 192.0.2.10
}

failover api.example.org {
    ttl 30
}`, 5, "failover api.example.org. has no endpoint"},
		{"empty block", `failover www.example.org {
}`, 1, "has no endpoint"},
		{"no block", `failover www.example.org`, 1, "has no endpoint"},
		{"same endpoint twice", `failover www.example.org {
    endpoint 192.0.2.10
    endpoint 192.0.2.11
    endpoint 192.0.2.10 priority 2
}`, 4, "endpoint 192.0.2.10 is listed twice in this failover block (first on line 2)"},
		{"same IPv6 endpoint written twice", `failover www.example.org {
    endpoint 2001:db8::1
    endpoint 2001:DB8:0:0::1
}`, 3, "is listed twice"},
		{"same host endpoint twice", `failover www.example.org {
    endpoint cdn.example.net
    endpoint CDN.example.net.
}`, 3, "is listed twice"},
		{"same name in two stanzas", `failover www.example.org {
    endpoint 192.0.2.10
}
failover api.example.org {
    endpoint 192.0.2.11
}
failover WWW {
    endpoint 192.0.2.12
}`, 7, "name www.example.org. is already managed by the failover block on line 1"},
		{"ttl twice", `failover www.example.org {
    ttl 30
    endpoint 192.0.2.10
    ttl 60
}`, 4, "ttl is set twice in this failover block (first on line 2)"},
		{"check twice", `failover www.example.org {
    endpoint 192.0.2.10
    check none
    check tcp://{address}:443
}`, 4, "check is set twice"},
		{"header with one word", `failover www.example.org {
    endpoint 192.0.2.10
    header X-Probe
}`, 3, "header takes a NAME and a VALUE"},
		{"header with three words", `failover www.example.org {
    endpoint 192.0.2.10
    header X-Probe a b
}`, 3, "header takes a NAME and a VALUE (quote a value with spaces), got 3 words"},
		{"bad header name", `failover www.example.org {
    endpoint 192.0.2.10
    header X:Probe 1
}`, 3, "is not a valid HTTP header name"},
		{"expect 99", `failover www.example.org {
    endpoint 192.0.2.10
    expect 200 99
}`, 3, `"99" is not an HTTP status code`},
		{"expect 600", `failover www.example.org {
    endpoint 192.0.2.10
    expect 600
}`, 3, `"600" is not an HTTP status code`},
		{"expect backwards range", `failover www.example.org {
    endpoint 192.0.2.10
    expect 300-200
}`, 3, "the range runs backwards"},
		{"expect without codes", `failover www.example.org {
    endpoint 192.0.2.10
    expect
}`, 3, "expect needs at least one status code"},
		{"empty body", `failover www.example.org {
    endpoint 192.0.2.10
    body ""
}`, 3, "body needs a non-empty TEXT"},
		{"tls_skip_verify with a value", `failover www.example.org {
    endpoint 192.0.2.10
    tls_skip_verify yes
}`, 3, `tls_skip_verify takes no value, got "yes"`},
		{"fallthrough with zones", `failover www.example.org {
    endpoint 192.0.2.10
    fallthrough example.org
}`, 3, "fallthrough takes no value"},
		{"all_down bogus", `failover www.example.org {
    endpoint 192.0.2.10
    all_down bogus
}`, 3, `all_down "bogus" is unknown; allowed are return_all, fallthrough, servfail, nodata`},
		{"ecs on a non-geo policy", `failover www.example.org {
    endpoint 192.0.2.10
    ecs off
}`, 3, "ecs only applies to policies geo and nearest and to sticky answers"},
		{"geoip on a non-geo policy", `failover www.example.org {
    policy weighted
    geoip /tmp/GeoLite2-City.mmdb
    endpoint 192.0.2.10
}`, 3, "geoip only applies to policies geo and nearest"},
		{"ecs_from on a non-geo policy", `failover www.example.org {
    endpoint 192.0.2.10
    policy active-active
    ecs_from 192.0.2.0/24
}`, 4, "ecs_from only applies to policies geo and nearest"},
		{"geo endpoint on a non-geo policy", `failover www.example.org {
    endpoint 192.0.2.10
    endpoint 192.0.2.11 geo country:DE
}`, 3, "endpoint 192.0.2.11 has geo, which only policy geo uses"},
		{"default endpoint on a non-geo policy", `failover www.example.org {
    endpoint 192.0.2.10 default
}`, 2, "is marked default, which only policies geo and nearest use"},
		{"bad ecs", `failover www.example.org {
    policy geo
    ecs maybe
}`, 3, `ecs is on or off, not "maybe"`},
		{"bad ecs_from", `failover www.example.org {
    policy geo
    ecs_from 192.0.2.0/33
}`, 3, `ecs_from "192.0.2.0/33" is not a CIDR`},
		{"geo without geoip", `failover www.example.org {
    endpoint 192.0.2.10 default
    policy geo
    endpoint 192.0.2.11 geo country:DE
}`, 3, "policy geo needs a database"},
		{"geo without default", `failover www.example.org {
    policy geo
    geoip /tmp/GeoLite2-City.mmdb
    endpoint 192.0.2.10 geo continent:EU
    endpoint 192.0.2.11 geo country:US
}`, 2, "policy geo needs a catch-all"},
		{"geo planet", `failover www.example.org {
    policy geo
    geoip /tmp/GeoLite2-City.mmdb
    endpoint 192.0.2.10 default
    endpoint 192.0.2.11 geo planet:X
}`, 5, `geo location "planet:X" has unknown kind "planet"`},
		{"geo three-letter country", `failover www.example.org {
    policy geo
    geoip /tmp/GeoLite2-City.mmdb
    endpoint 192.0.2.10 geo country:DEU default
}`, 4, "is not a two-letter country code"},
		{"geo unknown continent", `failover www.example.org {
    policy geo
    geoip /tmp/GeoLite2-City.mmdb
    endpoint 192.0.2.10 default
    endpoint 192.0.2.11 geo continent:EU continent:XX
}`, 5, `"XX" is not a continent code`},
		{"geo subdivision without country", `failover www.example.org {
    policy geo
    geoip /tmp/GeoLite2-City.mmdb
    endpoint 192.0.2.10 default
    endpoint 192.0.2.11 geo subdivision:US
}`, 5, "is not a subdivision code such as US-CA"},
		{"geo without location", `failover www.example.org {
    policy geo
    geoip /tmp/GeoLite2-City.mmdb
    endpoint 192.0.2.10 default
    endpoint 192.0.2.11 geo priority 2
}`, 5, "geo needs at least one LOCATION"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestController(tc.corefile)
			err := setup(c)
			if err == nil {
				t.Fatalf("Expected an error for\n%s", tc.corefile)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "plugin/failover: ") {
				t.Errorf("Expected the error to name the plugin, got %q", msg)
			}
			// The test controller names its file Testfile; CoreDNS puts the
			// Corefile's path there.
			where := fmt.Sprintf("Testfile:%d - Error during parsing: ", tc.line)
			if !strings.Contains(msg, where) {
				t.Errorf("Expected the error at %q, got %q", where, msg)
			}
			if !strings.Contains(msg, tc.phrase) {
				t.Errorf("Expected the error to say %q, got %q", tc.phrase, msg)
			}
			if n := len(dnsserver.GetConfig(c).Plugin); n != 0 {
				t.Errorf("Expected no plugin in the chain after an error, got %d", n)
			}
		})
	}
}

func TestSetupLowTTLWarning(t *testing.T) {
	var buf bytes.Buffer
	prev := golog.Writer()
	golog.SetOutput(&buf)
	_, err := parse(newTestController(`failover www.example.org {
    endpoint 192.0.2.10
}
failover api.example.org {
    endpoint 192.0.2.11
    ttl 5
}`))
	golog.SetOutput(prev)
	if err != nil {
		t.Fatalf("Expected a low ttl to be accepted, got %v", err)
	}
	out := buf.String()
	if !strings.Contains(out, "[WARNING] plugin/failover: Testfile:4: ttl 5 for api.example.org. is below 30") {
		t.Errorf("Expected a warning about ttl 5 on line 4, got %q", out)
	}
	if strings.Contains(out, "www.example.org.") {
		t.Errorf("Expected no warning for the stanza with the default ttl, got %q", out)
	}

	buf.Reset()
	golog.SetOutput(&buf)
	_, err = parse(newTestController("failover www.example.org {\n    endpoint 192.0.2.10\n    ttl 30\n}"))
	golog.SetOutput(prev)
	if err != nil {
		t.Fatalf("Expected no error, got %v", err)
	}
	if strings.Contains(buf.String(), "ttl") {
		t.Errorf("Expected no warning for ttl 30, got %q", buf.String())
	}
}

func FuzzParse(f *testing.F) {
	for _, body := range []string{
		"endpoint 192.0.2.10",
		"policy weighted\nendpoint 192.0.2.10 weight 90\nendpoint 192.0.2.11 weight 10 check tcp://{address}:443",
		"endpoint 2001:db8::1 priority 2\ncheck https://{address}/health\nexpect 200 300-302\nheader X-A \"b c\"",
		"policy geo\ngeoip x.mmdb\nendpoint 192.0.2.10 geo country:DE subdivision:US-CA default\necs_from 192.0.2.0/24",
		"endpoint cdn.example.net.\nall_down servfail\nfallthrough\nttl 5",
		"interval 1s\nfast_interval 2s\nendpoint 192.0.2.300",
		"interval 1ns\nendpoint 192.0.2.10\ncheck tcp://{address}:1",
		"endpoint 192.0.2.10 geo\n}\nfailover @ www {\nendpoint ::zz",
		"endpoint \"\"\n}\nfailover \"\" {",
		"",
	} {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		fo, err := parse(newTestController("failover www.example.org {\n" + body + "\n}\n"))
		if err != nil {
			return
		}
		// What the query path and the prober rely on, whatever the input.
		for _, m := range fo.stanzas {
			s := m.cfg
			if len(s.Names) == 0 || len(s.Endpoints) == 0 {
				t.Fatalf("Expected a stanza with names and endpoints, got %d names and %d endpoints", len(s.Names), len(s.Endpoints))
			}
			if s.Probe.Timeout <= 0 || s.Probe.Timeout >= s.Pace.Interval || s.Pace.FastInterval > s.Pace.Interval {
				t.Fatalf("Expected 0 < timeout < interval and fast_interval <= interval, got %s %s %s", s.Probe.Timeout, s.Pace.Interval, s.Pace.FastInterval)
			}
			if s.MaxAnswers < 1 || s.MaxAnswers > 64 {
				t.Fatalf("Expected max_answers in 1..64, got %d", s.MaxAnswers)
			}
			for _, n := range s.Names {
				if !strings.HasSuffix(n, ".") || strings.ToLower(n) != n {
					t.Fatalf("Expected a lower-case FQDN, got %q", n)
				}
			}
		}
	})
}
