// Command coredns is CoreDNS with all its standard plugins plus failover,
// which runs after log, metadata and prometheus and before cache.
package main

import (
	"slices"

	"github.com/coredns/coredns/core/dnsserver"
	_ "github.com/coredns/coredns/core/plugin" // every standard plugin
	"github.com/coredns/coredns/coremain"

	_ "github.com/failover-dns/failover" // registers the failover directive
)

func init() {
	// Insert relative to cache rather than writing the whole list out, so a
	// CoreDNS upgrade that adds directives keeps them. Before cache: failover
	// answers from memory, and a cache above it would keep serving a dead
	// endpoint for a TTL and hand one client's answer to all.
	i := slices.Index(dnsserver.Directives, "cache")
	if i < 0 {
		panic("failover: CoreDNS has no cache directive to place failover before")
	}
	dnsserver.Directives = slices.Insert(dnsserver.Directives, i, "failover")
}

func main() { coremain.Run() }
