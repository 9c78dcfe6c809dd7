package failover

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
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
// (DO) and the server block signs; m otherwise. With a cache (the view's)
// and a key, an answer is signed once per view: signing through dnssec
// hashes the text of every record on every query.
func (f *Failover) signed(ctx context.Context, w dns.ResponseWriter, r, m *dns.Msg, zone string, cache *sigCache, key *sigKey) *dns.Msg {
	if f.signer == nil {
		return m
	}
	if opt := r.IsEdns0(); opt == nil || !opt.Do() {
		return m
	}
	now := time.Now()
	if cache != nil && key != nil {
		if s := cache.get(*key, now); s != nil {
			m.Answer, m.Ns = s.answer, s.ns
			return m
		}
	}
	m = f.signer.Sign(request.Request{W: w, Req: m, Zone: zone}, now, metrics.WithServer(ctx))
	if cache != nil && key != nil && m.Rcode == dns.RcodeSuccess {
		cache.put(*key, keep(m, now))
	}
	return m
}

// sigKey names one answer of a view: the name, the type and the records in
// their order. A view is replaced on every state change, and its signatures
// with it, so the key needs nothing else.
type sigKey struct {
	e     *entry
	qtype uint16
	n     uint8
	picks [maxSigned]*choice
}

// maxSigned is the most records an answer may have for its signatures to be
// kept; larger ones are signed through dnssec's own cache each time.
const maxSigned = 4

// maxSigEntries bounds the signatures one view keeps: weighted draws of
// several records can give many orders.
const maxSigEntries = 256

// sigCache keeps a view's signed answers. Queries read a map that is never
// changed; a miss, rare, copies it with one more entry.
type sigCache struct {
	m  atomic.Pointer[map[sigKey]*signedAnswer]
	mu sync.Mutex // serialises the copies
}

// signedAnswer is the signed answer and authority sections, shared
// read-only, and until when they may be handed out.
type signedAnswer struct {
	answer, ns []dns.RR
	until      time.Time
}

func (c *sigCache) get(k sigKey, now time.Time) *signedAnswer {
	if m := c.m.Load(); m != nil {
		if s := (*m)[k]; s != nil && now.Before(s.until) {
			return s
		}
	}
	return nil
}

func (c *sigCache) put(k sigKey, s *signedAnswer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	n := 0
	if old != nil {
		n = len(*old)
		if _, renewed := (*old)[k]; n >= maxSigEntries && !renewed { // an expired answer is replaced even when full
			return
		}
	}
	next := make(map[sigKey]*signedAnswer, n+1)
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	next[k] = s
	c.m.Store(&next)
}

// keep notes m, just signed, for the next queries: until two days before
// its first signature expires, as dnssec's own cache does.
func keep(m *dns.Msg, now time.Time) *signedAnswer {
	until := now.Add(6 * 24 * time.Hour)
	for _, sec := range [][]dns.RR{m.Answer, m.Ns} {
		for _, rr := range sec {
			if sig, ok := rr.(*dns.RRSIG); ok {
				exp := time.Unix(int64(sig.Expiration), 0).Add(-48 * time.Hour)
				if exp.Before(until) {
					until = exp
				}
			}
		}
	}
	return &signedAnswer{answer: slices.Clip(m.Answer), ns: slices.Clip(m.Ns), until: until}
}
