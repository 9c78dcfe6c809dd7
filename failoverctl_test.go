package failover

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/api"
)

// failoverctl is the command built from this checkout, run against a server.
type failoverctl struct {
	bin string
	env []string // the environment of every run, FAILOVER_API included
}

// buildFailoverctl builds cmd/failoverctl into a directory of t and runs it
// against the API at apiAddr.
func buildFailoverctl(t *testing.T, apiAddr string) failoverctl {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("Building failoverctl needs the go command: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "failoverctl")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, goTool, "build", "-o", bin, "./cmd/failoverctl").CombinedOutput(); err != nil {
		t.Fatalf("Expected failoverctl to build, got %v:\n%s", err, out)
	}
	// Nothing of the environment the tests run in may reach the command.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FAILOVER_") {
			env = append(env, kv)
		}
	}
	return failoverctl{bin: bin, env: append(env, "FAILOVER_API="+apiAddr)}
}

// ctlRun is one run of the command.
type ctlRun struct {
	args           []string
	code           int
	stdout, stderr string
	ended          time.Time
	took           time.Duration
}

// run runs the command with args and, after the others, the variables of extraEnv.
func (c failoverctl) run(t *testing.T, extraEnv []string, args ...string) ctlRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = append(slices.Clone(c.env), extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := ctlRun{args: args, stdout: stdout.String(), stderr: stderr.String(), ended: time.Now()}
	r.took = r.ended.Sub(start)
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && ctx.Err() == nil:
		r.code = exit.ExitCode()
	default:
		t.Fatalf("Expected failoverctl %s to run, got %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, r.stdout, r.stderr)
	}
	return r
}

// want fails the test unless the run exited with code.
func (r ctlRun) want(t *testing.T, code int) ctlRun {
	t.Helper()
	if r.code != code {
		t.Fatalf("Expected failoverctl %s to exit %d, got %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), code, r.code, r.stdout, r.stderr)
	}
	return r
}

// says fails the test unless stdout matches every pattern, each a regular
// expression matched line by line.
func (r ctlRun) says(t *testing.T, patterns ...string) ctlRun {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile("(?m)" + p).MatchString(r.stdout) {
			t.Errorf("Expected the output of failoverctl %s to match %q, got:\n%s", strings.Join(r.args, " "), p, r.stdout)
		}
	}
	return r
}

// complains fails the test unless stderr holds every text.
func (r ctlRun) complains(t *testing.T, texts ...string) ctlRun {
	t.Helper()
	for _, s := range texts {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("Expected failoverctl %s to say %q on stderr, got %q", strings.Join(r.args, " "), s, r.stderr)
		}
	}
	return r
}

// ctlCorefile has www (active-passive .10 then .20) and pool (active-active
// .30 and .31) with a TTL of 2 s, short enough to wait out.
func ctlCorefile(apiAddr, settings string, primary, backup *healthBackend) string {
	return fmt.Sprintf(`example.org:0 {
	bind 127.0.0.1
	failover {
		api %s
		%s
	}
	failover www.example.org {
		endpoint 192.0.2.10 priority 1 check %s
		endpoint 192.0.2.20 priority 2 check %s
		ttl 2
		%s
	}
	failover pool.example.org {
		policy active-active
		endpoint 192.0.2.30 check %s
		endpoint 192.0.2.31 check %s
		ttl 2
		%s
	}
}`, apiAddr, settings, primary.url(), backup.url(), fastPace, backup.url(), backup.url(), fastPace)
}

// wholeSeconds is t as failoverctl prints a time after which something
// holds: rounded up to the second.
func wholeSeconds(t time.Time) string {
	if r := t.Truncate(time.Second); !r.Equal(t) {
		t = r.Add(time.Second)
	}
	return t.Format(time.RFC3339)
}

func TestFailoverctlAgainstARunningServer(t *testing.T) {
	primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
	apiAddr := closedPort(t)
	s := startServer(t, ctlCorefile(apiAddr, "", primary, backup))
	c := apiClient{base: "http://" + apiAddr}
	ctl := buildFailoverctl(t, apiAddr)
	names := []string{"pool.example.org.", "www.example.org."}
	awaitEndpoints(t, c, names, func(ep api.Endpoint) bool { return ep.State == "up" && ep.LastProbe != nil }, 5*time.Second)
	s.waitAnswer(t, "www.example.org.", []string{"192.0.2.10"}, 5*time.Second)

	// status: every name, then every endpoint of each.
	ctl.run(t, nil, "status").want(t, 0).says(t,
		`^NAME\s+POLICY\s+TTL\s+ANSWER\s+FAILED OVER\s+DOWN\s+OVERRIDES$`,
		`^pool\.example\.org\.\s+active-active\s+2\s+192\.0\.2\.30,192\.0\.2\.31\s+no\s+0\s+0$`,
		`^www\.example\.org\.\s+active-passive\s+2\s+192\.0\.2\.10\s+no\s+0\s+0$`,
		`^pool\.example\.org\.$`, `^www\.example\.org\.$`,
		`^  ADDRESS\s+STATE\s+OVERRIDE\s+SERVING\s+LAST PROBE\s+STREAK$`,
		`^  192\.0\.2\.10\s+up\s+-\s+yes\s+success\s+\d+ success$`,
		`^  192\.0\.2\.20\s+up\s+-\s+no\s+success\s+\d+ success$`,
		`^  192\.0\.2\.30\s+up\s+-\s+yes\s+success\s+\d+ success$`,
		`^  192\.0\.2\.31\s+up\s+-\s+yes\s+success\s+\d+ success$`)
	ctl.run(t, nil, "status", "--check").want(t, 0)

	// The primary fails: --check says so once the probes see it.
	primary.failed.Store(true)
	failed := time.Now()
	deadline := failed.Add(5 * time.Second)
	var check ctlRun
	for check = ctl.run(t, nil, "status", "--check"); check.code == 0 && time.Now().Before(deadline); check = ctl.run(t, nil, "status", "--check") {
		time.Sleep(50 * time.Millisecond) // the poll's pace, not a wait for an event
	}
	check.want(t, 4).complains(t, "failoverctl: check: www.example.org. is failed over", "192.0.2.10 of www.example.org. is down")
	t.Logf("backend failed to status --check exiting 4: %s", time.Since(failed).Round(time.Millisecond))
	check.says(t, `^www\.example\.org\.\s+active-passive\s+2\s+192\.0\.2\.20\s+yes\s+1\s+0$`,
		`^  192\.0\.2\.10\s+down\s+-\s+no\s+status: HTTP status 503, expected 200-299\s+\d+ failure$`)

	ctl.run(t, nil, "show", "www.example.org").want(t, 0).says(t,
		`^name:\s+www\.example\.org\.$`, `^policy:\s+active-passive$`, `^ttl:\s+2$`,
		`^answer:\s+192\.0\.2\.20$`, `^failed over:\s+yes$`,
		`^endpoint 192\.0\.2\.10$`, `^  state:\s+down since \d{4}-\d\d-\d\dT`, `^  serving:\s+no$`,
		`^  check:\s+`+regexp.QuoteMeta(primary.url())+`$`, `^  priority:\s+1$`,
		`^  last probe:\s+status: HTTP status 503, expected 200-299 at \S+ in [1-9]\S*s$`, `^  streak:\s+\d+ failure$`,
		`^  history:$`, `^    \S+\s+up -> down\s+.*503`,
		`^endpoint 192\.0\.2\.20$`, `^  priority:\s+2$`)
	ctl.run(t, nil, "explain", "www.example.org", "--type", "A").want(t, 0).says(t,
		`^name:\s+www\.example\.org\.$`, `^type:\s+A$`, `^policy:\s+active-passive$`, `^tier:\s+priority 2$`,
		`^action:\s+answer$`, `^answer:\s+192\.0\.2\.20$`, `^ttl:\s+2$`,
		`^left out:$`, `^  192\.0\.2\.10\s+down: HTTP status 503`)

	primary.failed.Store(false)
	s.waitAnswer(t, "www.example.org.", []string{"192.0.2.10"}, 5*time.Second)
	deadline = time.Now().Add(5 * time.Second)
	for check = ctl.run(t, nil, "status", "--check"); check.code != 0 && time.Now().Before(deadline); check = ctl.run(t, nil, "status", "--check") {
		time.Sleep(50 * time.Millisecond) // the poll's pace, not a wait for an event
	}
	check.want(t, 0)
	ctl.run(t, nil, "explain", "www.example.org.", "--type", "A").want(t, 0).says(t,
		`^tier:\s+priority 1$`, `^answer:\s+192\.0\.2\.10$`, `^  192\.0\.2\.20\s+priority 2: the tier of priority 1 is up and answers$`)

	// override and clear change the very next answer.
	ctl.run(t, nil, "override", "www.example.org", "192.0.2.10", "down", "--reason", "x").want(t, 0).says(t,
		`^override of 192\.0\.2\.10 in www\.example\.org\.: down$`, `^reason:\s+x$`, `^set_at:\s+\d{4}-`)
	if got := addresses(s.mustAsk(t, "udp", "www.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.20"}) {
		t.Errorf("Expected the answer right after the override to be the backup, got %v", got)
	}
	if ep := endpointIn(c.name(t, "www.example.org"), "192.0.2.10"); ep.Override == nil || ep.Override.State != "down" || ep.Override.Reason != "x" {
		t.Errorf("Expected the API to show the override, got %+v", ep.Override)
	}
	ctl.run(t, nil, "status").want(t, 0).says(t, `^  192\.0\.2\.10\s+up\s+down\s+no\s+success`)
	// An operator's own override is not a failover: --check stays quiet.
	ctl.run(t, nil, "status", "--check").want(t, 0)
	ctl.run(t, nil, "clear", "www.example.org", "192.0.2.10").want(t, 0).says(t, `^cleared the override of 192\.0\.2\.10 in www\.example\.org\.$`)
	if got := addresses(s.mustAsk(t, "tcp", "www.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.10"}) {
		t.Errorf("Expected the primary back right after the clear, got %v", got)
	}
	ctl.run(t, nil, "clear", "www.example.org", "192.0.2.10").want(t, 0).says(t, `^192\.0\.2\.10 had no override in www\.example\.org\.$`)

	// drain --wait returns once no cache can hold the primary: one TTL.
	drain := ctl.run(t, nil, "drain", "www.example.org", "192.0.2.10", "--reason", "deploy 7", "--wait").want(t, 0)
	ep := endpointIn(c.name(t, "www.example.org"), "192.0.2.10")
	if ep.Override == nil || ep.Override.State != "drain" || ep.Override.SafeAt == nil || ep.Override.DrainedAt == nil {
		t.Fatalf("Expected the drain in the API, got %+v", ep.Override)
	}
	safeAt := *ep.Override.SafeAt
	drain.says(t, `^override of 192\.0\.2\.10 in www\.example\.org\.: drain$`, `^reason:\s+deploy 7$`,
		`^drained_at:\s+`+regexp.QuoteMeta(ep.Override.DrainedAt.Format(time.RFC3339))+`$`,
		`^safe_at:\s+`+regexp.QuoteMeta(wholeSeconds(safeAt))+`$`,
		`^waiting \d+s, until \S+, for 192\.0\.2\.10 to leave every cache$`,
		`^done: no cache holds a record naming 192\.0\.2\.10 any more$`)
	// Every record answered before the command ran has expired at safe_at.
	if started := drain.ended.Add(-drain.took); safeAt.Before(started.Add(2*time.Second)) || safeAt.Sub(*ep.Override.DrainedAt) > 3*time.Second {
		t.Errorf("Expected safe_at one TTL (2s) after the drain, got it %s after the command started and %s after drained_at",
			safeAt.Sub(started), safeAt.Sub(*ep.Override.DrainedAt))
	}
	if drain.ended.Before(safeAt) || drain.took < 2*time.Second {
		t.Errorf("Expected drain --wait to return no earlier than safe_at and one TTL (2s) after it started, it took %s and returned %s after safe_at",
			drain.took, drain.ended.Sub(safeAt))
	}
	if drain.took > 3*time.Second+3*time.Second {
		t.Errorf("Expected drain --wait to return soon after safe_at, it took %s", drain.took)
	}
	t.Logf("drain --wait took %s, returned %s after safe_at", drain.took.Round(time.Millisecond), drain.ended.Sub(safeAt).Round(time.Millisecond))
	if got := addresses(s.mustAsk(t, "udp", "www.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.20"}) {
		t.Errorf("Expected the drained primary out of the answer, got %v", got)
	}
	ctl.run(t, nil, "clear", "www.example.org.", "192.0.2.10").want(t, 0)

	// ttl --wait returns once every cache holds the name for 1 s at most.
	lowered := ctl.run(t, nil, "ttl", "www.example.org", "1", "--for", "1m", "--wait").want(t, 0)
	n := c.name(t, "www.example.org")
	if n.TemporaryTTL == nil || n.TemporaryTTL.TTL != 1 || n.TemporaryTTL.NormalTTL != 2 {
		t.Fatalf("Expected the lowered TTL in the API, got %+v", n.TemporaryTTL)
	}
	ready := n.TemporaryTTL.CutoverReadyAt
	lowered.says(t, `^ttl of www\.example\.org\.: 1s instead of 2s$`,
		`^until:\s+`+regexp.QuoteMeta(n.TemporaryTTL.Until.Format(time.RFC3339))+`$`,
		`^cutover_ready_at:\s+`+regexp.QuoteMeta(wholeSeconds(ready))+`$`,
		`^done: every cache holds www\.example\.org\. at most 1s$`)
	if lowered.ended.Before(ready) || lowered.took < 2*time.Second {
		t.Errorf("Expected ttl --wait to return no earlier than cutover_ready_at and one normal TTL (2s) after it started, it took %s and returned %s after cutover_ready_at",
			lowered.took, lowered.ended.Sub(ready))
	}
	if lowered.took > 3*time.Second+3*time.Second {
		t.Errorf("Expected ttl --wait to return soon after cutover_ready_at, it took %s", lowered.took)
	}
	t.Logf("ttl --wait took %s, returned %s after cutover_ready_at", lowered.took.Round(time.Millisecond), lowered.ended.Sub(ready).Round(time.Millisecond))
	if r := s.mustAsk(t, "udp", "www.example.org.", dns.TypeA); len(r.Answer) == 0 || r.Answer[0].Header().Ttl != 1 {
		t.Errorf("Expected TTL 1 in the answer, got %v", r.Answer)
	}
	ctl.run(t, nil, "show", "www.example.org").want(t, 0).says(t, `^ttl:\s+1 \(lowered from 2\)$`, `^lowered ttl:\s+1s until `)
	ctl.run(t, nil, "ttl", "www.example.org", "--clear").want(t, 0).says(t, `^restored the TTL of www\.example\.org\.$`)
	if r := s.mustAsk(t, "udp", "www.example.org.", dns.TypeA); len(r.Answer) == 0 || r.Answer[0].Header().Ttl != 2 {
		t.Errorf("Expected the configured TTL back, got %v", r.Answer)
	}

	// Refused requests exit 1 with the API's message; nothing changes.
	ctl.run(t, nil, "show", "nope.example.org").want(t, 1).complains(t, "failoverctl: nope.example.org. is not a managed name here (HTTP 404)")
	ctl.run(t, nil, "override", "www.example.org", "127.0.0.1", "down").want(t, 1).complains(t, "(HTTP 404)", "192.0.2.10, 192.0.2.20")
	ctl.run(t, nil, "ttl", "www.example.org", "5", "--for", "1m").want(t, 1).complains(t, "(HTTP 400)")
	if n := c.name(t, "www.example.org"); n.TemporaryTTL != nil || endpointIn(n, "192.0.2.10").Override != nil {
		t.Errorf("Expected refused requests to change nothing, got %+v", n)
	}

	// An API that cannot be reached exits 3.
	closed := closedPort(t)
	ctl.run(t, []string{"FAILOVER_API=" + closed}, "status").want(t, 3).complains(t, "failoverctl: cannot reach the API at http://"+closed)
}

func TestFailoverctlWithAToken(t *testing.T) {
	primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
	apiAddr := closedPort(t)
	const token = "k6Jp2vQ9-not-a-real-secret"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, ctlCorefile(apiAddr, "api_token "+tokenFile, primary, backup))
	ctl := buildFailoverctl(t, apiAddr)
	s.waitAnswer(t, "www.example.org.", []string{"192.0.2.10"}, 5*time.Second)

	// Reads from loopback need no token; changes do.
	ctl.run(t, nil, "status").want(t, 0).says(t, `^www\.example\.org\.\s+active-passive`)
	ctl.run(t, nil, "override", "www.example.org", "192.0.2.10", "down").want(t, 1).
		complains(t, "(HTTP 401)", "set FAILOVER_TOKEN or --token-file")
	ctl.run(t, []string{"FAILOVER_TOKEN=wrong"}, "override", "www.example.org", "192.0.2.10", "down").want(t, 1).complains(t, "(HTTP 401)")
	if got := addresses(s.mustAsk(t, "udp", "www.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.10"}) {
		t.Fatalf("Expected a refused change to leave the answer, got %v", got)
	}
	r := ctl.run(t, []string{"FAILOVER_TOKEN=" + token}, "override", "www.example.org", "192.0.2.10", "down").want(t, 0)
	if strings.Contains(r.stdout+r.stderr, token) {
		t.Error("Expected the token never printed")
	}
	if got := addresses(s.mustAsk(t, "udp", "www.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.20"}) {
		t.Errorf("Expected the change with the token to apply, got %v", got)
	}
	ctl.run(t, nil, "--token-file", tokenFile, "clear", "www.example.org", "192.0.2.10").want(t, 0).says(t, `^cleared the override`)
	if got := addresses(s.mustAsk(t, "udp", "www.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.10"}) {
		t.Errorf("Expected the clear with the token file to apply, got %v", got)
	}
}
