package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOverrideShowsInStatusAndClears(t *testing.T) {
	f := newFake(t, wwwName(), apiName())
	r := f.run(t, "override", "www.example.org", "192.0.2.10", "down", "--reason", "disk failing")
	r.want(t, exitOK)
	if got, want := line(t, r.stdout, "override"), strings.Fields("override of 192.0.2.10 in www.example.org.: down"); !equal(got, want) {
		t.Errorf("first line %q, want %q", got, want)
	}
	if got := line(t, r.stdout, "reason:"); !equal(got, strings.Fields("reason: disk failing")) {
		t.Errorf("reason line %q", got)
	}

	st := f.run(t, "status")
	st.want(t, exitOK)
	if got := line(t, st.stdout, "www.example.org."); got[len(got)-1] != "1" {
		t.Errorf("OVERRIDES of www.example.org. is %s, want 1", got[len(got)-1])
	}
	if got := line(t, st.stdout, "192.0.2.10"); !equal(got[:4], []string{"192.0.2.10", "up", "down", "no"}) {
		t.Errorf("endpoint row %q, want the override down and not serving", got)
	}

	r = f.run(t, "clear", "www.example.org.", "192.0.2.10")
	r.want(t, exitOK)
	if r.stdout != "cleared the override of 192.0.2.10 in www.example.org.\n" {
		t.Errorf("clear said %q", r.stdout)
	}
	// Clearing again is no failure, so that a deploy script may always clear.
	r = f.run(t, "clear", "www.example.org.", "192.0.2.10")
	r.want(t, exitOK)
	if r.stdout != "192.0.2.10 had no override in www.example.org.\n" {
		t.Errorf("second clear said %q", r.stdout)
	}
}

func TestOverrideAll(t *testing.T) {
	f := newFake(t, wwwName(), apiName())
	r := f.run(t, "override", "--all", "192.0.2.20", "drain")
	r.want(t, exitOK)
	if got := f.last(); got.method != "PUT" || got.uri != "/v1/endpoints/192.0.2.20/override" {
		t.Errorf("sent %s %s", got.method, got.uri)
	}
	if !strings.HasPrefix(r.stdout, "override of 192.0.2.20 in every name: drain\n") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	o, _ := f.override("*", "192.0.2.20")
	for _, want := range [][]string{{"drained_at:", stamp(*o.DrainedAt)}, {"safe_at:", stampAfter(*o.SafeAt)}} {
		if got := line(t, r.stdout, want[0]); !equal(got, want) {
			t.Errorf("line %q, want %q", got, want)
		}
	}
	r = f.run(t, "clear", "--all", "192.0.2.20")
	r.want(t, exitOK)
	if got := f.last(); got.method != "DELETE" || got.uri != "/v1/endpoints/192.0.2.20/override" {
		t.Errorf("sent %s %s", got.method, got.uri)
	}
	if r.stdout != "cleared the override of 192.0.2.20 in every name\n" {
		t.Errorf("clear said %q", r.stdout)
	}
}

func TestIPv6AddressIsOnePathSegment(t *testing.T) {
	f := newFake(t, wwwName())
	f.run(t, "override", "www.example.org", "2001:DB8:0::10", "up").want(t, exitOK)
	got := f.last()
	if got.uri != "/v1/names/www.example.org./endpoints/2001:db8::10/override" || got.address != "2001:db8::10" {
		t.Errorf("sent %s, which the server read as address %q", got.uri, got.address)
	}

	// A zone's % is escaped, so the server reads the address as written.
	r := f.run(t, "drain", "www.example.org", "fe80::1%eth0")
	r.want(t, exitRefused)
	if got := f.last(); got.uri != "/v1/names/www.example.org./endpoints/fe80::1%25eth0/override" || got.address != "fe80::1%eth0" {
		t.Errorf("sent %s, which the server read as address %q", got.uri, got.address)
	}
	if r.stderr != "failoverctl: fe80::1%eth0 is not an endpoint of www.example.org. (HTTP 404)\n" {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestTTL(t *testing.T) {
	f := newFake(t, wwwName())
	r := f.run(t, "ttl", "www.example.org", "30", "--for", "30m")
	r.want(t, exitOK)
	if !strings.HasPrefix(r.stdout, "ttl of www.example.org.: 30s instead of 60s\n") || !strings.Contains(r.stdout, "cutover_ready_at:") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if got := line(t, f.run(t, "status").stdout, "www.example.org."); !equal(got[:5], strings.Fields("www.example.org. active-passive 30 (lowered from")) {
		t.Errorf("status row %q", got)
	}
	r = f.run(t, "ttl", "www.example.org", "--clear")
	r.want(t, exitOK)
	if r.stdout != "restored the TTL of www.example.org.\n" {
		t.Errorf("ttl --clear said %q", r.stdout)
	}
	if got := line(t, f.run(t, "status").stdout, "www.example.org."); got[2] != "60" {
		t.Errorf("status row %q after --clear", got)
	}
}

func TestToken(t *testing.T) {
	const token = "s3cret-token"
	f := newFake(t, wwwName())
	f.token = token
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("  "+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	change := []string{"override", "www.example.org", "192.0.2.20", "down"}
	for _, c := range []struct {
		what string
		env  map[string]string
		args []string
		code int
		auth string
	}{
		{"no token", nil, change, exitRefused, ""},
		{"wrong token", map[string]string{"FAILOVER_TOKEN": "guess"}, change, exitRefused, "Bearer guess"},
		{"token from env", map[string]string{"FAILOVER_TOKEN": token}, change, exitOK, "Bearer " + token},
		{"token from file", nil, append([]string{"--token-file", file}, change...), exitOK, "Bearer " + token},
		{"file wins over env", map[string]string{"FAILOVER_TOKEN": "guess"}, append([]string{"--token-file", file}, change...), exitOK, "Bearer " + token},
		{"loopback read without token", nil, []string{"status"}, exitOK, ""},
		{"empty token file", nil, append([]string{"--token-file", empty}, change...), exitUsage, "-"},
		{"missing token file", nil, append([]string{"--token-file", filepath.Join(dir, "none")}, change...), exitUsage, "-"},
	} {
		t.Run(c.what, func(t *testing.T) {
			env := map[string]string{"FAILOVER_API": f.URL}
			for k, v := range c.env {
				env[k] = v
			}
			before := len(f.requests())
			r := runCLI(t, env, c.args...)
			r.want(t, c.code)
			if strings.Contains(r.stdout+r.stderr, token) {
				t.Errorf("the token is printed:\n%s%s", r.stdout, r.stderr)
			}
			reqs := f.requests()
			if c.auth == "-" {
				if len(reqs) != before {
					t.Errorf("a request was sent")
				}
				return
			}
			if got := reqs[len(reqs)-1].auth; got != c.auth {
				t.Errorf("Authorization %q, want %q", got, c.auth)
			}
			if c.code == exitRefused && !strings.Contains(r.stderr, "failoverctl: missing or wrong bearer token (HTTP 401)") {
				t.Errorf("stderr %q", r.stderr)
			}
		})
	}
}
