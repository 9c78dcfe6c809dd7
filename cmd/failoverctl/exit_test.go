package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// answering is an API that answers every request with status and body.
func answering(t *testing.T, status int, body string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	t.Cleanup(s.Close)
	return s.URL
}

func TestExitCodes(t *testing.T) {
	f := newFake(t, wwwName())
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, c := range []struct {
		what   string
		api    string
		args   []string
		code   int
		stderr string
	}{
		{"unknown name", f.URL, []string{"show", "nosuch.example.org"}, exitRefused, "failoverctl: no managed name nosuch.example.org. (HTTP 404)\n"},
		{"refused with no JSON", answering(t, 400, "bad"), []string{"status"}, exitRefused, "failoverctl: Bad Request (HTTP 400)\n"},
		{"forbidden", answering(t, 403, `{"error":"changes need a token"}`), []string{"clear", "www.example.org", "192.0.2.10"}, exitRefused, "failoverctl: changes need a token (HTTP 403); the server has no api_token, so it serves loopback clients only\n"},
		{"unreachable", closed.URL, []string{"status"}, exitUnreachable, "failoverctl: cannot reach the API at " + closed.URL + ": "},
		{"server error", answering(t, 500, `{"error":"backend gone"}`), []string{"status"}, exitUnreachable, "failoverctl: backend gone (HTTP 500)\n"},
		{"not JSON", answering(t, 200, "<html>hello</html>"), []string{"status"}, exitUnreachable, "failoverctl: GET /v1/status: the answer is not the API's JSON\n"},
		{"JSON but not an object", answering(t, 200, `["www.example.org."]`), []string{"status"}, exitUnreachable, "failoverctl: GET /v1/status: the answer is not the API's JSON\n"},
		{"too large", answering(t, 200, `{"names":[]}`+strings.Repeat(" ", maxBody)), []string{"status"}, exitUnreachable, "failoverctl: GET /v1/status: the answer is larger than 8 MiB\n"},
		{"redirect", answering(t, 307, ""), []string{"status"}, exitUnreachable, "failoverctl: GET /v1/status: unexpected HTTP 307\n"},
		{"host:port without scheme", strings.TrimPrefix(f.URL, "http://"), []string{"status"}, exitOK, ""},
	} {
		t.Run(c.what, func(t *testing.T) {
			r := runCLI(t, map[string]string{"FAILOVER_API": c.api}, c.args...)
			r.want(t, c.code)
			if !strings.HasPrefix(r.stderr, c.stderr) || (c.stderr == "" && r.stderr != "") {
				t.Errorf("stderr %q, want it to start %q", r.stderr, c.stderr)
			}
		})
	}
}

func TestAPIFlagWinsOverEnv(t *testing.T) {
	f := newFake(t, wwwName())
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	runCLI(t, map[string]string{"FAILOVER_API": closed.URL}, "--api", f.URL, "status").want(t, exitOK)
	runCLI(t, map[string]string{"FAILOVER_API": f.URL}, "--api", closed.URL, "status").want(t, exitUnreachable)
}

func TestUsage(t *testing.T) {
	f := newFake(t, wwwName())
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"--bogus", "status"},
		{"--api", "ftp://127.0.0.1:8054", "status"},
		{"--timeout", "0s", "status"},
		{"status", "extra"},
		{"status", "--bogus"},
		{"show"},
		{"show", "."},
		{"explain", "www.example.org", "--type", "MX"},
		{"explain", "www.example.org", "--client", "not-an-ip"},
		{"override", "www.example.org", "192.0.2.10"},
		{"override", "www.example.org", "192.0.2.10", "sideways"},
		{"override", "--all", "www.example.org", "192.0.2.10", "down"},
		{"clear", "www.example.org"},
		{"drain", "--all", "www.example.org", "192.0.2.10"},
		{"ttl", "www.example.org", "30"},
		{"ttl", "www.example.org", "thirty", "--for", "30m"},
		{"ttl", "www.example.org", "30", "--for", "soon"},
		{"ttl", "www.example.org", "30", "--clear"},
		{"failback"},
		{"failback", "www.example.org", "192.0.2.10"},
		{"failback", "www.example.org", "--reason"},
		{"failback", "."},
	} {
		r := f.run(t, args...)
		r.want(t, exitUsage)
		if !strings.HasPrefix(r.stderr, "failoverctl: ") || !strings.Contains(r.stderr, "usage") {
			t.Errorf("%q: stderr %q", args, r.stderr)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("usage errors sent %d requests", n)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		r := runCLI(t, nil, args...)
		r.want(t, exitOK)
		for _, want := range []string{"usage: failoverctl", "drain NAME ADDRESS", "failback NAME [--reason TEXT]", "FAILOVER_TOKEN", "Exit codes:", "  5    a --wait ended", "  130  interrupted"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%q: help lacks %q", args, want)
			}
		}
	}
	r := runCLI(t, nil, "drain", "--help")
	r.want(t, exitOK)
	if !strings.HasPrefix(r.stdout, "usage: failoverctl drain NAME ADDRESS") || !strings.Contains(r.stdout, "-wait") {
		t.Errorf("drain --help:\n%s", r.stdout)
	}
}
