package failover

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/geo/geotest"
)

// BenchmarkServeDNS compares failover's static policies with CoreDNS's hosts
// plugin answering the same question from memory, as a yardstick.
func BenchmarkServeDNS(b *testing.B) {
	next := test.NextHandler(dns.RcodeServerFailure, nil)
	benches := []struct {
		name    string
		handler func(b *testing.B) plugin.Handler
		ecs     bool   // the query carries an EDNS Client Subnet option
		client  net.IP // the query's source; 10.240.0.1 when nil
	}{
		{"hosts", func(b *testing.B) plugin.Handler {
			return benchHosts(b, next)
		}, false, nil},
		{"active-passive", func(b *testing.B) plugin.Handler {
			return benchFailover(b, next, `failover www.example.org {
				endpoint 192.0.2.10 priority 1
				endpoint 192.0.2.20 priority 2
			}`)
		}, false, nil},
		{"active-active", func(b *testing.B) plugin.Handler {
			return benchFailover(b, next, `failover www.example.org {
				policy active-active
				endpoint 192.0.2.10
				endpoint 192.0.2.11
				endpoint 192.0.2.12
			}`)
		}, false, nil},
		{"weighted", func(b *testing.B) plugin.Handler {
			return benchFailover(b, next, `failover www.example.org {
				policy weighted
				endpoint 192.0.2.10 weight 90
				endpoint 192.0.2.20 weight 10
			}`)
		}, false, nil},
		// test.ResponseWriter's source, 10.240.0.1, is in Europe.
		{"geo", func(b *testing.B) plugin.Handler {
			return benchFailover(b, next, benchGeoCorefile(b))
		}, false, nil},
		{"geo+ecs", func(b *testing.B) plugin.Handler {
			return benchFailover(b, next, benchGeoCorefile(b))
		}, true, nil},
		// A client in a /24 of the database: a /16 split among several
		// networks, found by walking the database's tree.
		{"geo-tree", func(b *testing.B) plugin.Handler {
			return benchFailover(b, next, benchGeoCorefile(b))
		}, false, net.IPv4(10, 241, 7, 1)},
		// The operator's own networks: 10,000 prefixes, the client in one.
		{"net-10000", func(b *testing.B) plugin.Handler {
			return benchFailover(b, next, benchNetsCorefile(10000))
		}, false, net.IPv4(10, 5, 77, 9)},
		{"net-10000+ecs", func(b *testing.B) plugin.Handler {
			return benchFailover(b, next, benchNetsCorefile(10000))
		}, true, nil},
		{"sticky", func(b *testing.B) plugin.Handler {
			return benchFailover(b, next, `failover www.example.org {
				policy weighted
				sticky
				endpoint 192.0.2.10 weight 90
				endpoint 192.0.2.20 weight 10
			}`)
		}, true, nil},
		{"sticky-active-active", func(b *testing.B) plugin.Handler {
			return benchFailover(b, next, `failover www.example.org {
				policy active-active
				sticky
				max_answers 1
				endpoint 192.0.2.10
				endpoint 192.0.2.11
				endpoint 192.0.2.12
				endpoint 192.0.2.13
			}`)
		}, true, nil},
		{"nearest", func(b *testing.B) plugin.Handler {
			return benchFailover(b, next, benchNearestCorefile(b))
		}, false, nil},
		// www aliases mid, which aliases two pools: a chain of two.
		{"alias-chain-2", func(b *testing.B) plugin.Handler {
			return benchFailover(b, next, `failover www.example.org {
				endpoint alias:mid priority 1
				endpoint 192.0.2.99 priority 2
			}
			failover mid.example.org {
				endpoint alias:eu priority 1
				endpoint alias:us priority 2
			}
			failover eu.example.org {
				policy active-active
				endpoint 192.0.2.10
				endpoint 192.0.2.11
			}
			failover us.example.org {
				policy active-active
				endpoint 192.0.2.20
				endpoint 192.0.2.21
			}`)
		}, false, nil},
		{"weighted-tier", func(b *testing.B) plugin.Handler {
			return benchFailover(b, next, `failover www.example.org {
				endpoint 192.0.2.10 priority 1 weight 3
				endpoint 192.0.2.11 priority 1 weight 1
				endpoint 192.0.2.20 priority 2
				max_answers 1
			}`)
		}, false, nil},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			h := bb.handler(b)
			ctx := context.Background()
			m := new(dns.Msg)
			m.SetQuestion("www.example.org.", dns.TypeA)
			if bb.ecs {
				m.SetEdns0(1232, false)
				m.IsEdns0().Option = []dns.EDNS0{&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: net.IPv4(10, 1, 2, 0).To4()}}
			}

			// A benchmark of a handler that does not answer measures nothing.
			rec := dnstest.NewRecorder(&test.ResponseWriter{})
			if rcode, err := h.ServeDNS(ctx, rec, m); err != nil || rcode != dns.RcodeSuccess || rec.Msg == nil || len(rec.Msg.Answer) == 0 {
				b.Fatalf("Expected an answer for www.example.org, got rcode %s, err %v, %v", dns.RcodeToString[rcode], err, rec.Msg)
			}

			client := bb.client
			if client == nil {
				client = net.IPv4(10, 240, 0, 1)
			}
			w := &fixedWriter{remote: &net.UDPAddr{IP: client, Port: 40212}}
			runtime.GC() // the setup's garbage (ten thousand nets parse into a lot) is not the query's
			b.ReportAllocs()
			for b.Loop() {
				h.ServeDNS(ctx, w, m)
			}
		})
	}
}

// fixedWriter is test.ResponseWriter with the remote address made once, as
// the server's writer holds it, rather than parsed on every call.
type fixedWriter struct {
	test.ResponseWriter
	remote net.Addr
}

func (w *fixedWriter) RemoteAddr() net.Addr { return w.remote }

// benchHosts builds the hosts plugin through its registered setup, as the
// server does.
func benchHosts(b *testing.B, next plugin.Handler) plugin.Handler {
	b.Helper()
	setup, err := caddy.DirectiveAction("dns", "hosts")
	if err != nil {
		b.Fatalf("Expected the hosts plugin to be registered, got %v", err)
	}
	// reload 0: no goroutine rereading /etc/hosts behind the benchmark.
	c := caddy.NewTestController("dns", "hosts {\n192.0.2.10 www.example.org\nreload 0\n}")
	c.ServerBlockKeys = []string{"example.org."}
	if err := setup(c); err != nil {
		b.Fatalf("Expected hosts to set up, got %v", err)
	}
	return dnsserver.GetConfig(c).Plugin[0](next)
}

func benchGeoCorefile(b *testing.B) string {
	db := geotest.Write(b, filepath.Join(b.TempDir(), "geo.mmdb"), "GeoLite2-City", []geotest.Place{
		{CIDR: "10.1.0.0/16", Continent: "NA", Country: "US", Subdivision: "CA"},
		{CIDR: "10.240.0.0/16", Continent: "EU", Country: "DE"},
		{CIDR: "10.4.0.0/16", Continent: "AS", Country: "JP"},
		{CIDR: "10.241.7.0/24", Continent: "AS", Country: "JP"},
		{CIDR: "10.241.8.0/24", Continent: "EU", Country: "DE"},
	})
	return `failover www.example.org {
		policy geo
		geoip ` + db + `
		endpoint 192.0.2.10 geo country:US
		endpoint 192.0.2.20 geo continent:EU
		endpoint 192.0.2.30 geo continent:AS
		endpoint 192.0.2.40 default
	}`
}

// benchNetsCorefile lists n /24s of 10.0.0.0/8 (and the /16s above every
// tenth of them, so that nets nest) over four endpoints.
func benchNetsCorefile(n int) string {
	lines := make([][]string, 4)
	for i := range n {
		a, c := 1+i/250%250, i%250
		if i%10 == 0 {
			lines[i%4] = append(lines[i%4], fmt.Sprintf("net:10.%d.0.0/16", a))
		}
		lines[(i+1)%4] = append(lines[(i+1)%4], fmt.Sprintf("net:10.%d.%d.0/24", a, c))
	}
	var b strings.Builder
	b.WriteString("failover www.example.org {\n\tpolicy geo\n")
	for i, l := range lines {
		fmt.Fprintf(&b, "\tendpoint 192.0.2.%d geo %s\n", 10+i, strings.Join(l, " "))
	}
	b.WriteString("\tendpoint 192.0.2.40 default\n}")
	return b.String()
}

// benchNearestCorefile places the client in Frankfurt among four sites.
func benchNearestCorefile(b *testing.B) string {
	db := geotest.Write(b, filepath.Join(b.TempDir(), "city.mmdb"), "GeoLite2-City", []geotest.Place{
		{CIDR: "10.240.0.0/16", Continent: "EU", Country: "DE", At: &geotest.LatLon{Lat: 50.11, Lon: 8.68}},
	})
	return `failover www.example.org {
		policy nearest
		geoip ` + db + `
		endpoint 192.0.2.10 at 40.71 -74.01
		endpoint 192.0.2.20 at 48.86 2.35
		endpoint 192.0.2.30 at 35.68 139.69
		endpoint 192.0.2.40 at 51.51 -0.13 default
	}`
}

func benchFailover(b *testing.B, next plugin.Handler, corefile string) plugin.Handler {
	b.Helper()
	f, err := parse(newTestController(corefile))
	if err != nil {
		b.Fatalf("Expected the Corefile to parse, got %v", err)
	}
	f.Next = next
	return f
}
