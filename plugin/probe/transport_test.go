package probe

import (
	"testing"
	"time"
)

// TestProbersShareClient: endpoints with the same check share one HTTP
// client (and transport); a different server name or verification gets its own.
func TestProbersShareClient(t *testing.T) {
	spec := Spec{URL: "https://{address}/health", Timeout: time.Second, Expect: DefaultCodes}
	client := func(s Spec, addr string) any {
		t.Helper()
		p, err := New(s, addr)
		if err != nil {
			t.Fatal(err)
		}
		return p.(*httpProber).client
	}
	a, b := client(spec, "192.0.2.1"), client(spec, "192.0.2.2")
	if a != b {
		t.Error("Expected two endpoints with the same check to share a client")
	}
	named := spec
	named.Host = "www.example.org"
	skip := spec
	skip.TLSSkipVerify = true
	if client(named, "192.0.2.1") == a || client(skip, "192.0.2.1") == a {
		t.Error("Expected a different server name or verification to get its own client")
	}
	if client(named, "192.0.2.3") != client(named, "192.0.2.4") {
		t.Error("Expected endpoints with the same host to share a client")
	}
}
