package failover

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The addresses example.Corefile binds.
const (
	quickDNS   = "127.0.0.1:1053"
	quickReady = "http://127.0.0.1:18181/ready"
)

// TestQuickStart builds the custom server (once per test run; the rest of
// the suite runs in-process) and runs the README's quick start:
// example.Corefile, queried as a user would.
func TestQuickStart(t *testing.T) {
	if testing.Short() {
		t.Skip("Builds and runs the whole server")
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	bin := serverBinary(t)

	var output logBuffer
	srv := exec.Command(bin, "-conf", filepath.Join(root, "example.Corefile"))
	srv.Dir = root
	srv.Stdout, srv.Stderr = &output, &output
	if err := srv.Start(); err != nil {
		t.Fatalf("Expected the server to start, got %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	t.Cleanup(func() {
		srv.Process.Kill()
		<-exited
	})

	// ready answers 200 once every endpoint has had its first probe.
	deadline := time.Now().Add(30 * time.Second)
	hc := &http.Client{Timeout: time.Second}
	for {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			if strings.Contains(output.String(), "address already in use") {
				t.Skipf("The quick start's ports are taken by another process:\n%s", output.String())
			}
			t.Fatalf("Expected the server to keep running, it exited with %v:\n%s", err, output.String())
		default:
		}
		if resp, err := hc.Get(quickReady); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected %s to report ready within 30s, output:\n%s", quickReady, output.String())
		}
		time.Sleep(50 * time.Millisecond) // the poll rate of the readiness check
	}

	c := &dns.Client{Timeout: 2 * time.Second}
	ask := func(name string) []string {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		r, _, err := c.Exchange(m, quickDNS)
		if err != nil {
			t.Fatalf("Expected an answer for %s, got %v", name, err)
		}
		if r.Rcode != dns.RcodeSuccess || !r.Authoritative {
			t.Errorf("%s: expected an authoritative NOERROR, got rcode %s, aa %t", name, dns.RcodeToString[r.Rcode], r.Authoritative)
		}
		var out []string
		for _, rr := range r.Answer {
			if a, ok := rr.(*dns.A); ok {
				out = append(out, a.A.String())
			}
		}
		return out
	}

	if got := ask("www.example.org."); !slices.Equal(got, []string{"192.0.2.10"}) {
		t.Errorf("Expected www.example.org to answer the primary [192.0.2.10], got %v", got)
	}
	if got := ask("api.example.org."); !slices.Equal(got, []string{"198.51.100.20"}) {
		t.Errorf("Expected api.example.org to answer the backup [198.51.100.20] (its primary's check is refused), got %v", got)
	}
	// 200 draws of a 90/10 split: the chance of never seeing the light
	// endpoint is below one in a billion.
	seen := map[string]int{}
	for range 200 {
		got := ask("canary.example.org.")
		if len(got) != 1 || got[0] != "203.0.113.1" && got[0] != "203.0.113.2" {
			t.Fatalf("Expected one of 203.0.113.1 and 203.0.113.2 for canary.example.org, got %v", got)
		}
		seen[got[0]]++
	}
	if seen["203.0.113.1"] <= seen["203.0.113.2"] || seen["203.0.113.2"] == 0 {
		t.Errorf("Expected mostly 203.0.113.1 and some 203.0.113.2, got %v", seen)
	}

	if _, err := exec.LookPath("dig"); err != nil {
		t.Log("No dig installed; skipping the dig check")
		return
	}
	out, err := exec.Command("dig", "@127.0.0.1", "-p", "1053", "www.example.org", "+short", "+time=2", "+tries=1").CombinedOutput()
	if err != nil {
		t.Fatalf("Expected dig to succeed, got %v:\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "192.0.2.10" {
		t.Errorf("Expected dig +short to print 192.0.2.10, got %q", got)
	}
}
