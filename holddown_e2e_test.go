package failover

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/api"
)

// The hold-downs end to end: real servers, real HTTP backends, real clocks.
// Every measured figure is logged with t.Logf for the release note.

const (
	hdPrimary = "192.0.2.10"
	hdBackup  = "192.0.2.20"
	hdName    = "www.example.org."
	hdDelay   = 1500 * time.Millisecond
	// hdDetect is a generous bound on how long the probes take to turn a
	// verdict at this pace (interval 200ms, fast_interval 50ms, fall 2,
	// rise 1): about 250 ms at worst, plus scheduling under -race.
	hdDetect = time.Second
	// hdPoll is the pace of the DNS polls: the resolution of the timings.
	hdPoll = 10 * time.Millisecond
)

// hdCorefile is an active-passive pair, each endpoint with its own backend,
// at the brief's probe pace, with the API and a state file.
func hdCorefile(dnsPort, apiAddr, state string, primary, backup *healthBackend, extra string) string {
	return fmt.Sprintf(`example.org:%s {
    bind 127.0.0.1
    failover {
        api %s
        state %s
    }
    failover www.example.org {
        endpoint %s priority 1 check %s
        endpoint %s priority 2 check %s
        interval 200ms
        fast_interval 50ms
        timeout 100ms
        fall 2
        rise 1
        %s
    }
}`, dnsPort, apiAddr, state, hdPrimary, primary.url(), hdBackup, backup.url(), extra)
}

// hdRig is one running server with its backends and API.
type hdRig struct {
	t               *testing.T
	s               server
	c               apiClient
	primary, backup *healthBackend
	state           string
}

func newHDRig(t *testing.T, extra string) *hdRig {
	t.Helper()
	r := &hdRig{t: t, primary: newHealthBackend(t, nil), backup: newHealthBackend(t, nil),
		state: filepath.Join(t.TempDir(), "state")}
	apiAddr := closedPort(t)
	r.c = apiClient{base: "http://" + apiAddr}
	r.s = startServer(t, hdCorefile("0", apiAddr, r.state, r.primary, r.backup, extra))
	r.until(hdPrimary, 5*time.Second)
	return r
}

// answer asks for the name once over UDP.
func (r *hdRig) answer() []string {
	r.t.Helper()
	m := r.s.mustAsk(r.t, "udp", hdName, dns.TypeA)
	if m.Rcode != dns.RcodeSuccess {
		r.t.Fatalf("Expected NOERROR for %s, got %s", hdName, dns.RcodeToString[m.Rcode])
	}
	return addresses(m)
}

// until polls every hdPoll until the answer is exactly want and returns when
// it was first seen. Every answer before it must be one of the pair alone:
// never empty, never both.
func (r *hdRig) until(want string, within time.Duration) time.Time {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := r.answer()
		now := time.Now()
		if slices.Equal(got, []string{want}) {
			return now
		}
		if !slices.Equal(got, []string{hdPrimary}) && !slices.Equal(got, []string{hdBackup}) {
			r.t.Fatalf("At %s: expected %s to answer one of the pair while waiting for %s, got %v", stampMS(now), hdName, want, got)
		}
		if now.After(deadline) {
			r.t.Fatalf("Expected %s to answer %s within %s, last answer %v", hdName, want, within, got)
		}
		time.Sleep(hdPoll) // the query rate of the poll, not a wait for an event
	}
}

// steady polls every hdPoll until done, failing at the first answer other
// than want; it returns how many answers it checked.
func (r *hdRig) steady(want string, done func() bool, within time.Duration, what string) int {
	r.t.Helper()
	deadline := time.Now().Add(within)
	n := 0
	for !done() {
		got := r.answer()
		n++
		if !slices.Equal(got, []string{want}) {
			r.t.Fatalf("At %s (%s): expected %s to keep answering %s, got %v", stampMS(time.Now()), what, hdName, want, got)
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("Expected %s to be over within %s", what, within)
		}
		time.Sleep(hdPoll) // the query rate of the poll, not a wait for an event
	}
	return n
}

// fail turns b's health check to 503 and returns the moment after it did:
// any probe that arrives later fails.
func hdFail(b *healthBackend) time.Time {
	b.failed.Store(true)
	return time.Now()
}

func hdHeal(b *healthBackend) time.Time {
	b.failed.Store(false)
	return time.Now()
}

// probesAfter lists the probes b received after at.
func probesAfter(b *healthBackend, at time.Time) []time.Time {
	var out []time.Time
	for _, p := range b.probeTimes() {
		if p.After(at) {
			out = append(out, p)
		}
	}
	return out
}

// waitProbesAfter waits until b has had n probes after at and returns the nth.
func waitProbesAfter(t *testing.T, b *healthBackend, at time.Time, n int, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if ps := probesAfter(b, at); len(ps) >= n {
			return ps[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected %d probes at %s after %s within %s, got %d", n, b.url(), stampMS(at), within, len(probesAfter(b, at)))
		}
		time.Sleep(5 * time.Millisecond) // the poll's pace
	}
}

// verdictAfter estimates when the probes turned their verdict after a change
// at at: the probe that completed the streak (fall 2 down, rise 1 up).
func verdictAfter(b *healthBackend, at time.Time, streak int) (time.Time, bool) {
	ps := probesAfter(b, at)
	if len(ps) < streak {
		return time.Time{}, false
	}
	return ps[streak-1], true
}

func stampMS(t time.Time) string { return t.UTC().Format("15:04:05.000") }

func ms(d time.Duration) string { return fmt.Sprintf("%.3fs", d.Seconds()) }

// holdLine matches the state file's failback hold of the name.
var holdLine = regexp.MustCompile(`(?m)^hold www\.example\.org\. since=(\S+) reason="(.*)"$`)

// readHold reads the hold line from the state file, if any.
func (r *hdRig) readHold() (line string, since time.Time, reason string, ok bool) {
	r.t.Helper()
	data, err := os.ReadFile(r.state)
	if err != nil && !os.IsNotExist(err) {
		r.t.Fatalf("Expected to read the state file, got %v", err)
	}
	m := holdLine.FindStringSubmatch(string(data))
	if m == nil {
		return "", time.Time{}, "", false
	}
	since, err = time.Parse(time.RFC3339, m[1])
	if err != nil {
		r.t.Fatalf("Expected the hold's since to be RFC 3339, got %q in %q", m[1], m[0])
	}
	return m[0], since, m[2], true
}

// waitHold waits until the state file holds the name and returns the line.
func (r *hdRig) waitHold(within time.Duration) (string, time.Time, string) {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for {
		if line, since, reason, ok := r.readHold(); ok {
			return line, since, reason
		}
		if time.Now().After(deadline) {
			data, _ := os.ReadFile(r.state)
			r.t.Fatalf("Expected a hold line for %s in the state file within %s, got:\n%s", hdName, within, data)
		}
		time.Sleep(hdPoll) // the poll's pace
	}
}

func TestHoldDownTimings(t *testing.T) {
	var table []string
	report := func(format string, args ...any) {
		t.Helper()
		line := fmt.Sprintf(format, args...)
		t.Log(line)
		table = append(table, line)
	}
	t.Cleanup(func() {
		t.Logf("hold-down timings (DNS polled every %s; probes: interval 200ms, fast_interval 50ms, timeout 100ms, fall 2, rise 1):\n  %s",
			hdPoll, strings.Join(table, "\n  "))
	})

	t.Run("baseline", func(t *testing.T) {
		r := newHDRig(t, "")
		failed := hdFail(r.primary)
		moved := r.until(hdBackup, hdDetect)
		verdict, _ := verdictAfter(r.primary, failed, 2)
		report("no hold-down: answer moved %s after the failure (verdict ≈ %s after it)", ms(moved.Sub(failed)), ms(verdict.Sub(failed)))

		healed := hdHeal(r.primary)
		back := r.until(hdPrimary, hdDetect)
		verdict, _ = verdictAfter(r.primary, healed, 1)
		report("no hold-down: answer returned %s after the heal (verdict ≈ %s after it)", ms(back.Sub(healed)), ms(verdict.Sub(healed)))
	})

	t.Run("failover_delay", func(t *testing.T) {
		r := newHDRig(t, "failover_delay 1500ms")
		failed := hdFail(r.primary)
		// Down by its probes, the first choice still answers.
		waitProbesAfter(t, r.primary, failed, 3, 2*time.Second)
		n := r.c.name(t, "www.example.org")
		if ep := endpointIn(n, hdPrimary); ep.State != "down" || !ep.Serving || !slices.Equal(n.Answer.A, []string{hdPrimary}) {
			t.Errorf("Expected the failed primary down by its probes yet still serving during the delay, got state %q serving %t, answer %v", ep.State, ep.Serving, n.Answer.A)
		}
		moved := r.until(hdBackup, hdDelay+2*hdDetect)
		took := moved.Sub(failed)
		verdict, _ := verdictAfter(r.primary, failed, 2)
		report("failover_delay 1.5s: answer moved %s after the failure (verdict ≈ %s after it; %s after the verdict)",
			ms(took), ms(verdict.Sub(failed)), ms(moved.Sub(verdict)))
		if took < hdDelay {
			t.Errorf("Expected the answer to move no sooner than %s after the failure, it moved after %s", hdDelay, took)
		}
		if took > hdDelay+hdDetect {
			t.Errorf("Expected the answer to move within %s after the failure, it moved after %s", hdDelay+hdDetect, took)
		}

		// Recovery is not delayed by failover_delay.
		healed := hdHeal(r.primary)
		back := r.until(hdPrimary, hdDetect)
		report("failover_delay 1.5s: answer returned %s after the heal", ms(back.Sub(healed)))

		// A blip shorter than the delay: seen down by the probes (two failing
		// probes make the verdict, the third shows it stood), healed at once,
		// and the answer never moves.
		failed = hdFail(r.primary)
		third := waitProbesAfter(t, r.primary, failed, 3, 2*time.Second)
		healed = hdHeal(r.primary)
		blip := healed.Sub(failed)
		report("failover_delay 1.5s: blip of %s (3 failing probes, the last %s after the failure): the answer stayed", ms(blip), ms(third.Sub(failed)))
		if blip >= hdDelay-300*time.Millisecond {
			t.Fatalf("Expected the blip well under the delay, it lasted %s", blip)
		}
		watchUntil := failed.Add(3 * time.Second)
		polls := r.steady(hdPrimary, func() bool { return time.Now().After(watchUntil) }, 5*time.Second, "the blip")
		if n := r.c.name(t, "www.example.org"); endpointIn(n, hdPrimary).State != "up" || n.FailedOver {
			t.Errorf("Expected the primary up and the name not failed over after the blip, got %+v", n)
		}
		t.Logf("the blip: %d answers over 3s, every one the primary", polls)
	})

	t.Run("failback_delay", func(t *testing.T) {
		r := newHDRig(t, "failback_delay 1500ms")
		failed := hdFail(r.primary)
		moved := r.until(hdBackup, hdDetect)
		report("failback_delay 1.5s: answer moved %s after the failure (no failover delay)", ms(moved.Sub(failed)))

		healed := hdHeal(r.primary)
		waitProbesAfter(t, r.primary, healed, 2, 2*time.Second)
		n := r.c.name(t, "www.example.org")
		if ep := endpointIn(n, hdPrimary); ep.State != "up" || ep.Serving || !slices.Equal(n.Answer.A, []string{hdBackup}) {
			t.Errorf("Expected the healed primary up by its probes yet held out during the delay, got state %q serving %t, answer %v", ep.State, ep.Serving, n.Answer.A)
		}
		back := r.until(hdPrimary, hdDelay+2*hdDetect)
		took := back.Sub(healed)
		verdict, _ := verdictAfter(r.primary, healed, 1)
		report("failback_delay 1.5s: answer returned %s after the heal (verdict ≈ %s after it; %s after the verdict)",
			ms(took), ms(verdict.Sub(healed)), ms(back.Sub(verdict)))
		if took < hdDelay {
			t.Errorf("Expected the answer to return no sooner than %s after the heal, it returned after %s", hdDelay, took)
		}
		if took > hdDelay+hdDetect {
			t.Errorf("Expected the answer to return within %s after the heal, it returned after %s", hdDelay+hdDetect, took)
		}
	})

	t.Run("failback_manual", func(t *testing.T) {
		primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
		dnsAddr, apiAddr := closedPort(t), closedPort(t)
		state := filepath.Join(t.TempDir(), "state")
		corefile := hdCorefile(portOf(dnsAddr), apiAddr, state, primary, backup, "failback manual")
		inst := startInstance(t, corefile)
		r := &hdRig{t: t, s: inst.server, c: apiClient{base: "http://" + apiAddr}, primary: primary, backup: backup, state: state}
		r.until(hdPrimary, 5*time.Second)
		const path = "/v1/names/www.example.org/failback"

		// Nothing pending: refused.
		msg := r.c.refused(t, http.MethodPost, path, "", http.StatusConflict)
		t.Logf("POST failback with nothing pending: 409 %q", msg)

		failed := hdFail(primary)
		moved := r.until(hdBackup, hdDetect)
		line, since, reason := r.waitHold(time.Second)
		report("failback manual: answer moved %s after the failure; the hold line was in the state file %s after the failure", ms(moved.Sub(failed)), ms(time.Since(failed)))
		t.Logf("the hold: %s", line)
		if !strings.Contains(reason, hdPrimary) {
			t.Errorf("Expected the hold's reason to name the failed %s, got %q", hdPrimary, reason)
		}
		if since.Before(failed.Add(-time.Second)) || since.After(time.Now()) {
			t.Errorf("Expected the hold's since (%s) at the failure (%s)", since.Format(time.RFC3339), failed.UTC().Format(time.RFC3339))
		}

		// Still down: the failback is refused, and nothing changes.
		// (The fully qualified form of the path, as the log tells operators.)
		msg = r.c.refused(t, http.MethodPost, "/v1/names/www.example.org./failback", `{"reason":"too early"}`, http.StatusConflict)
		t.Logf("POST failback while the primary is down: 409 %q", msg)
		if _, _, _, ok := r.readHold(); !ok {
			t.Errorf("Expected the hold to stand after a refused failback")
		}

		// Healed: the name stays on its backup for many probe intervals.
		healed := hdHeal(primary)
		hits := primary.hits.Load()
		const more = 8 // 8 probes at 200 ms: 1.6 s of a healthy primary
		polls := r.steady(hdBackup, func() bool { return primary.hits.Load() >= hits+more }, 5*time.Second, "the hold after the heal")
		t.Logf("failback manual: still the backup %s after the heal (%d more probes, %d answers checked)", ms(time.Since(healed)), more, polls)
		n := r.c.name(t, "www.example.org")
		if n.FailbackPending == nil || n.FailbackPending.Reason != reason || !n.FailbackPending.Since.Equal(since) {
			t.Errorf("Expected failback_pending {since %s, reason %q}, got %+v", since.Format(time.RFC3339), reason, n.FailbackPending)
		}
		if ep := endpointIn(n, hdPrimary); ep.State != "up" || ep.Serving || !n.FailedOver || !slices.Equal(n.Answer.A, []string{hdBackup}) {
			t.Errorf("Expected the primary up but held out, the name failed over to %s, got state %q serving %t, failed_over %t, answer %v",
				hdBackup, ep.State, ep.Serving, n.FailedOver, n.Answer.A)
		}

		// The operator confirms: the first choice answers at once.
		posted := time.Now()
		var res api.FailbackResult
		r.c.ok(t, http.MethodPost, path, `{"reason":"checked by the e2e test"}`, &res)
		answered := time.Now()
		first := r.answer()
		firstAt := time.Now()
		report("failback manual: POST failback answered in %s; the next DNS answer (%v) %s after the POST was sent",
			ms(answered.Sub(posted)), first, ms(firstAt.Sub(posted)))
		if !slices.Equal(first, []string{hdPrimary}) {
			t.Errorf("Expected the first answer after the failback to be the primary, got %v", first)
		}
		if !slices.Equal(res.Answer.A, []string{hdPrimary}) || res.Reason != "checked by the e2e test" || res.Held.Reason != reason || !res.Held.Since.Equal(since) {
			t.Errorf("Expected the failback result to answer the primary and tell the hold it ended, got %+v", res)
		}
		if line, _, _, ok := r.readHold(); ok {
			t.Errorf("Expected no hold in the state file after the failback, got %q", line)
		}
		if n := r.c.name(t, "www.example.org"); n.FailbackPending != nil || n.FailedOver {
			t.Errorf("Expected no failback pending after the failback, got %+v", n)
		}

		// Fail over again: the hold is written again.
		hdFail(primary)
		r.until(hdBackup, hdDetect)
		_, since, reason = r.waitHold(time.Second)

		// Restart with the same Corefile and state file, the primary healthy.
		inst.inst.ShutdownCallbacks()
		inst.inst.Stop()
		inst.inst.Wait()
		stopped := time.Now()
		hdHeal(primary)
		inst = startInstance(t, corefile)
		r.s = inst.server
		got := r.answer()
		report("failback manual: restart with the hold and a healthy primary: the new instance answered %v %s after the old one stopped", got, ms(time.Since(stopped)))
		if !slices.Equal(got, []string{hdBackup}) {
			t.Errorf("Expected the hold to survive the restart (the backup answers), got %v", got)
		}
		// The first probe round saw the primary up; it is still held out.
		hits = primary.hits.Load()
		r.steady(hdBackup, func() bool { return primary.hits.Load() >= hits+3 }, 5*time.Second, "the hold after the restart")
		n = r.c.name(t, "www.example.org")
		if n.FailbackPending == nil || n.FailbackPending.Reason != reason || !n.FailbackPending.Since.Equal(since) {
			t.Errorf("Expected failback_pending {since %s, reason %q} after the restart, got %+v", since.Format(time.RFC3339), reason, n.FailbackPending)
		}
		if ep := endpointIn(n, hdPrimary); ep.State != "up" {
			t.Errorf("Expected the primary up after the restart, got %q", ep.State)
		}

		// Deleting the hold line by hand lets the name fail back.
		data, err := os.ReadFile(state)
		if err != nil {
			t.Fatal(err)
		}
		var kept []string
		for _, l := range strings.SplitAfter(string(data), "\n") {
			if !strings.HasPrefix(l, "hold ") {
				kept = append(kept, l)
			}
		}
		edited := strings.Join(kept, "")
		if edited == string(data) {
			t.Fatalf("Expected a hold line to delete, got:\n%s", data)
		}
		edit := time.Now()
		if err := os.WriteFile(state, []byte(edited), 0o644); err != nil {
			t.Fatal(err)
		}
		back := r.until(hdPrimary, 5*time.Second)
		report("failback manual: hold line deleted by hand, answer returned %s after the edit", ms(back.Sub(edit)))
		if n := r.c.name(t, "www.example.org"); n.FailbackPending != nil {
			t.Errorf("Expected no failback pending after the hand edit, got %+v", n.FailbackPending)
		}
		// The edit stays: the name keeps answering the primary.
		hits = primary.hits.Load()
		r.steady(hdPrimary, func() bool { return primary.hits.Load() >= hits+3 }, 5*time.Second, "after the hand edit")
		if line, _, _, ok := r.readHold(); ok {
			t.Errorf("Expected the hold line to stay deleted, got %q", line)
		}
	})
}
