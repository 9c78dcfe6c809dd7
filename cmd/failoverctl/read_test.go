package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/failover-dns/failover/plugin/api"
)

type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs failoverctl in-process with env as its whole environment.
func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errOut strings.Builder
	code := run(args, func(k string) string { return env[k] }, &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// run runs failoverctl against the fake.
func (f *fakeAPI) run(t *testing.T, args ...string) result {
	t.Helper()
	return runCLI(t, map[string]string{"FAILOVER_API": f.URL}, args...)
}

// want fails the test unless r exited with code, showing what the user saw.
func (r result) want(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

// line is the first line of out whose words start with prefix's words.
func line(t *testing.T, out string, prefix ...string) []string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= len(prefix) && strings.Join(f[:len(prefix)], " ") == strings.Join(prefix, " ") {
			return f
		}
	}
	t.Fatalf("no line starting %q in:\n%s", prefix, out)
	return nil
}

// lineText is like line but returns the line as written, for column checks.
func lineText(t *testing.T, out string, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			return l
		}
	}
	t.Fatalf("no line starting %q in:\n%s", prefix, out)
	return ""
}

func equal(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

func TestStatusTable(t *testing.T) {
	f := newFake(t, wwwName(), apiName())
	r := f.run(t, "status")
	r.want(t, exitOK)

	header := lineText(t, r.stdout, "NAME")
	if got := strings.Fields(header); !equal(got, []string{"NAME", "POLICY", "TTL", "ANSWER", "FAILED", "OVER", "DOWN", "OVERRIDES"}) {
		t.Fatalf("header %q", header)
	}
	for _, want := range [][]string{
		{"www.example.org.", "active-passive", "60", "192.0.2.10,2001:db8::10", "no", "0", "0"},
		{"api.example.org.", "active-passive", "60", "198.51.100.20", "yes", "1", "0"},
	} {
		if got := line(t, r.stdout, want[0]); !equal(got, want) {
			t.Errorf("row %q, want %q", got, want)
		}
	}
	// The columns line up: each value starts where its heading does.
	row := lineText(t, r.stdout, "api.example.org.")
	for _, col := range []struct{ head, value string }{{"POLICY", "active-passive"}, {"ANSWER", "198.51.100.20"}, {"FAILED OVER", "yes"}, {"OVERRIDES", "0"}} {
		if h := strings.Index(header, col.head); !strings.HasPrefix(row[h:], col.value+" ") && row[h:] != col.value {
			t.Errorf("%s does not stand under %s:\n%s\n%s", col.value, col.head, header, row)
		}
	}

	eh := lineText(t, r.stdout, "ADDRESS")
	if got := strings.Fields(eh); !equal(got, []string{"ADDRESS", "STATE", "OVERRIDE", "SERVING", "LAST", "PROBE", "STREAK"}) {
		t.Fatalf("endpoint header %q", eh)
	}
	down := line(t, r.stdout, "198.51.100.10")
	if want := strings.Fields("198.51.100.10 down - no timeout: dial tcp 198.51.100.10:443: i/o timeout 3 failure"); !equal(down, want) {
		t.Errorf("endpoint row %q, want %q", down, want)
	}
	if got, want := line(t, r.stdout, "192.0.2.20"), strings.Fields("192.0.2.20 up - no success 5 success"); !equal(got, want) {
		t.Errorf("endpoint row %q, want %q", got, want)
	}
	// Each name's endpoints follow a line naming it.
	if !strings.Contains(r.stdout, "\napi.example.org.\n  ADDRESS") {
		t.Errorf("no endpoint table under api.example.org.:\n%s", r.stdout)
	}
}

func TestStatusCheck(t *testing.T) {
	r := newFake(t, wwwName(), apiName()).run(t, "status", "--check")
	r.want(t, exitCheck)
	for _, want := range []string{"failoverctl: check: ", "api.example.org. is failed over", "198.51.100.10 of api.example.org. is down"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr %q lacks %q", r.stderr, want)
		}
	}
	if !strings.Contains(r.stdout, "api.example.org.") {
		t.Errorf("the table is not printed before the check fails:\n%s", r.stdout)
	}
	newFake(t, wwwName()).run(t, "status", "--check").want(t, exitOK)
}

func TestStatusJSON(t *testing.T) {
	r := newFake(t, wwwName(), apiName()).run(t, "status", "--json")
	r.want(t, exitOK)
	var names []api.Name
	if err := json.Unmarshal([]byte(r.stdout), &names); err != nil {
		t.Fatalf("stdout is not a JSON array of names: %v\n%s", err, r.stdout)
	}
	if len(names) != 2 || names[1].Name != "api.example.org." || !names[1].FailedOver || names[1].Endpoints[0].LastProbe.Result != "timeout" {
		t.Errorf("names %+v", names)
	}
}

func TestShowNameWithOrWithoutDot(t *testing.T) {
	f := newFake(t, wwwName(), apiName())
	first := f.run(t, "show", "api.example.org.")
	first.want(t, exitOK)
	for _, arg := range []string{"api.example.org", "API.Example.Org"} {
		r := f.run(t, "show", arg)
		r.want(t, exitOK)
		if r.stdout != first.stdout {
			t.Errorf("show %s differs from show api.example.org.:\n%s", arg, r.stdout)
		}
		if got := f.last(); got.uri != "/v1/names/api.example.org." {
			t.Errorf("show %s asked for %s", arg, got.uri)
		}
	}
	for _, want := range [][]string{
		{"name:", "api.example.org."},
		{"failed", "over:", "yes"},
		{"state:", "down", "since", "2026-03-01T11:00:00Z"},
		{"last", "probe:", "timeout:", "dial", "tcp", "198.51.100.10:443:", "i/o", "timeout", "at", "2026-03-01T12:00:00Z", "in", "2s"},
		{"streak:", "3", "failure"},
		{"2026-03-01T12:00:00Z", "up", "->", "down", "3", "probes", "failed"},
	} {
		if got := line(t, first.stdout, want[0]); !equal(got, want) {
			t.Errorf("line %q, want %q", got, want)
		}
	}
	// Flags may follow the name.
	r := f.run(t, "show", "api.example.org", "--json")
	r.want(t, exitOK)
	var n api.Name
	if err := json.Unmarshal([]byte(r.stdout), &n); err != nil || n.Name != "api.example.org." {
		t.Errorf("show --json: %v\n%s", err, r.stdout)
	}
}

func TestExplain(t *testing.T) {
	f := newFake(t, geoName())
	r := f.run(t, "explain", "geo.example.org", "--client", "192.0.2.77", "--type", "a")
	r.want(t, exitOK)
	if got := f.last().uri; got != "/v1/names/geo.example.org./answer?client=192.0.2.77&type=A" {
		t.Errorf("asked for %s", got)
	}
	for _, want := range [][]string{
		{"client:", "192.0.2.77"},
		{"location:", "EU", "DE", "(192.0.2.0/24)"},
		{"policy:", "geo"},
		{"group:", "country:DE"},
		{"tier:", "priority", "1"},
		{"action:", "answer"},
		{"answer:", "203.0.113.10"},
		{"203.0.113.20", "priority", "2", "is", "not", "answered"},
	} {
		if got := line(t, r.stdout, want[0]); !equal(got, want) {
			t.Errorf("line %q, want %q", got, want)
		}
	}
	if !strings.Contains(r.stdout, "\nleft out:\n") {
		t.Errorf("no left out section:\n%s", r.stdout)
	}
}

func TestProbeDuration(t *testing.T) {
	for _, c := range []struct {
		seconds float64
		want    string
	}{
		{0.000234, "230µs"}, {0.0012345, "1.23ms"}, {0.012, "12ms"}, {2.0004, "2s"},
	} {
		if got := probeDuration(c.seconds).String(); got != c.want {
			t.Errorf("Expected a probe of %gs shown as %s, got %s", c.seconds, c.want, got)
		}
	}
}
