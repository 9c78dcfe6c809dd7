package failover

import (
	"context"
	"time"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin/dnssec"
	"github.com/coredns/coredns/plugin/metrics"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
)

// failover answers before dnssec in the chain, so its replies never pass
// through dnssec's writer; it signs them itself with the dnssec plugin of
// its server block, which keeps the zone's keys and a signature cache.

// findSigner takes the server block's dnssec plugin, if it has one. Other
// handlers are only visible from OnStartup.
func (f *Failover) findSigner(cfg *dnsserver.Config) {
	if d, ok := cfg.Handler("dnssec").(dnssec.Dnssec); ok {
		f.signer = &d
	}
}

// signed returns m signed for zone when the query asked for DNSSEC records
// (DO) and the server block signs; m otherwise.
func (f *Failover) signed(ctx context.Context, w dns.ResponseWriter, r, m *dns.Msg, zone string) *dns.Msg {
	if f.signer == nil {
		return m
	}
	if opt := r.IsEdns0(); opt == nil || !opt.Do() {
		return m
	}
	return f.signer.Sign(request.Request{W: w, Req: m, Zone: zone}, time.Now(), metrics.WithServer(ctx))
}
