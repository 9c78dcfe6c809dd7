package failover

import (
	"context"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// BenchmarkServeDNS compares failover's static policies with CoreDNS's hosts
// plugin answering the same question from memory, as a yardstick.
func BenchmarkServeDNS(b *testing.B) {
	next := test.NextHandler(dns.RcodeServerFailure, nil)
	benches := []struct {
		name    string
		handler func(b *testing.B) plugin.Handler
	}{
		{"hosts", func(b *testing.B) plugin.Handler {
			return benchHosts(b, next)
		}},
		{"active-passive", func(b *testing.B) plugin.Handler {
			return benchFailover(b, next, `failover www.example.org {
				endpoint 192.0.2.10 priority 1
				endpoint 192.0.2.20 priority 2
			}`)
		}},
		{"active-active", func(b *testing.B) plugin.Handler {
			return benchFailover(b, next, `failover www.example.org {
				policy active-active
				endpoint 192.0.2.10
				endpoint 192.0.2.11
				endpoint 192.0.2.12
			}`)
		}},
		{"weighted", func(b *testing.B) plugin.Handler {
			return benchFailover(b, next, `failover www.example.org {
				policy weighted
				endpoint 192.0.2.10 weight 90
				endpoint 192.0.2.20 weight 10
			}`)
		}},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			h := bb.handler(b)
			ctx := context.Background()
			m := new(dns.Msg)
			m.SetQuestion("www.example.org.", dns.TypeA)

			// A benchmark of a handler that does not answer measures nothing.
			rec := dnstest.NewRecorder(&test.ResponseWriter{})
			if rcode, err := h.ServeDNS(ctx, rec, m); err != nil || rcode != dns.RcodeSuccess || rec.Msg == nil || len(rec.Msg.Answer) == 0 {
				b.Fatalf("Expected an answer for www.example.org, got rcode %s, err %v, %v", dns.RcodeToString[rcode], err, rec.Msg)
			}

			w := &test.ResponseWriter{}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeDNS(ctx, w, m)
			}
		})
	}
}

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

func benchFailover(b *testing.B, next plugin.Handler, corefile string) plugin.Handler {
	b.Helper()
	c := caddy.NewTestController("dns", corefile)
	c.ServerBlockKeys = []string{"example.org."}
	f, err := parse(c)
	if err != nil {
		b.Fatalf("Expected the Corefile to parse, got %v", err)
	}
	f.Next = next
	return f
}
