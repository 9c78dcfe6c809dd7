package failover

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func holdReloadCorefile(port, primary, backup string, ttl int) string {
	return fmt.Sprintf(`example.org:%s {
    bind 127.0.0.1
    failover www.example.org {
        endpoint 192.0.2.10 priority 1 check %s
        endpoint 192.0.2.20 priority 2 check %s
        interval 200ms
        fast_interval 50ms
        timeout 100ms
        fall 2
        rise 1
        failover_delay 3s
        ttl %d
    }
}`, port, primary, backup, ttl)
}

// A reload in the middle of a failover_delay neither cuts it short nor
// starts it again: the answer moves when it would have without the reload.
func TestReloadKeepsAFailoverDelay(t *testing.T) {
	primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
	port := freeUDPPort(t)
	i := startInstance(t, holdReloadCorefile(port, primary.url(), backup.url(), 60))
	i.waitAnswer(t, "www.example.org.", []string{"192.0.2.10"}, 5*time.Second)
	failed := time.Now()
	primary.failed.Store(true)
	primary.waitHits(t, primary.hits.Load()+3, 5*time.Second) // its verdict is in: down, held by the delay
	// Late in the delay: a reload that started it again would move the
	// answer two seconds late.
	for time.Since(failed) < 2*time.Second {
		primary.waitHits(t, primary.hits.Load()+1, 5*time.Second)
	}
	if err := i.reload(t, holdReloadCorefile(port, primary.url(), backup.url(), 30)); err != nil {
		t.Fatalf("Expected the reload to succeed, got %v", err)
	}
	if got := addresses(i.mustAsk(t, "udp", "www.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.10"}) {
		t.Fatalf("Expected the reload to keep the failed primary answering through its failover_delay, got %v", got)
	}
	moved := i.waitAnswer(t, "www.example.org.", []string{"192.0.2.20"}, 6*time.Second)
	if d := moved.Sub(failed); d < 3*time.Second || d > 3700*time.Millisecond {
		t.Errorf("Expected the answer to move about 3 s after the failure, as without the reload, got %s", d)
	}
	t.Logf("failover_delay 3s across a reload: answer moved %s after the failure", moved.Sub(failed).Round(time.Millisecond))
}
