package failover

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/api"
	"github.com/failover-dns/failover/plugin/geo/geotest"
)

// apiClient talks to a running server's API.
type apiClient struct {
	base  string
	token string
}

// do sends a request and returns the status and body.
func (c apiClient) do(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("Expected %s %s to be answered, got %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// ok sends a request that must succeed and decodes its answer into v.
func (c apiClient) ok(t *testing.T, method, path, body string, v any) {
	t.Helper()
	code, out := c.do(t, method, path, body)
	if code != http.StatusOK {
		t.Fatalf("Expected %s %s to succeed, got %d: %s", method, path, code, out)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			t.Fatalf("Expected JSON from %s %s, got %v: %s", method, path, err, out)
		}
	}
}

// refused sends a request that must fail with status, with a JSON error.
func (c apiClient) refused(t *testing.T, method, path, body string, status int) string {
	t.Helper()
	code, out := c.do(t, method, path, body)
	var e api.Error
	if code != status || json.Unmarshal(out, &e) != nil || e.Error == "" {
		t.Fatalf("Expected %s %s to be refused with %d and a JSON error, got %d: %s", method, path, status, code, out)
	}
	return e.Error
}

func (c apiClient) name(t *testing.T, name string) api.Name {
	t.Helper()
	var n api.Name
	c.ok(t, http.MethodGet, "/v1/names/"+name, "", &n)
	return n
}

func endpointIn(n api.Name, address string) api.Endpoint {
	for _, ep := range n.Endpoints {
		if ep.Address == address {
			return ep
		}
	}
	return api.Endpoint{}
}

// apiCorefile has www (active-passive .10 then .20) and pool (active-active
// .10 and .30), both probing their endpoints, and the API with a state file.
func apiCorefile(dnsAddr, apiAddr, state string, primary, backup *healthBackend, extra string) string {
	return fmt.Sprintf(`example.org:%s {
	bind 127.0.0.1
	failover {
		api %s
		state %s
	}
	failover www.example.org {
		endpoint 192.0.2.10 priority 1 check %s
		endpoint 192.0.2.20 priority 2 check %s
		%s
	}
	failover pool.example.org {
		policy active-active
		endpoint 192.0.2.10 check %s
		endpoint 192.0.2.30 check %s
		%s
	}
	%s
}`, portOf(dnsAddr), apiAddr, state, primary.url(), backup.url(), fastPace, primary.url(), backup.url(), fastPace, extra)
}

func portOf(addr string) string { return addr[strings.LastIndex(addr, ":")+1:] }

func TestAPIOverridesChangeTheNextAnswer(t *testing.T) {
	logs := captureLog(t)
	primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
	apiAddr := closedPort(t)
	s := startServer(t, apiCorefile("127.0.0.1:0", apiAddr, filepath.Join(t.TempDir(), "state"), primary, backup,
		`metadata
	log . "META {/failover/override}"`))
	c := apiClient{base: "http://" + apiAddr}
	s.waitAnswer(t, "www.example.org.", []string{"192.0.2.10"}, 5*time.Second)
	checks := liveChecks(t)

	// down: the very next query is answered without it.
	awayBefore, _ := metricValue(t, "coredns_failover_failovers_total", map[string]string{"name": "www.example.org.", "direction": "away"})
	var o api.Override
	start := time.Now()
	c.ok(t, http.MethodPut, "/v1/names/www.example.org/endpoints/192.0.2.10/override", `{"state":"down","reason":"maintenance"}`, &o)
	if got := addresses(s.mustAsk(t, "udp", "www.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.20"}) {
		t.Fatalf("Expected the answer right after the override to be the backup, got %v", got)
	}
	t.Logf("override PUT to changed answer: %s", time.Since(start))
	if o.Name != "www.example.org." || o.Address != "192.0.2.10" || o.State != "down" || o.Reason != "maintenance" || o.DrainedAt != nil {
		t.Errorf("Expected the override back, got %+v", o)
	}
	n := c.name(t, "www.example.org.")
	ep := endpointIn(n, "192.0.2.10")
	// An endpoint an operator takes out is not a failover: no failed_over,
	// no failover event (whose alert would page someone for a planned change).
	if ep.Override == nil || ep.Override.State != "down" || ep.State != "up" || ep.Serving || n.FailedOver || !slices.Equal(n.Answer.A, []string{"192.0.2.20"}) {
		t.Errorf("Expected the status to show the override and the probe's up, and no failover, got %+v / %+v", n, ep)
	}
	if v, _ := metricValue(t, "coredns_failover_failovers_total", map[string]string{"name": "www.example.org.", "direction": "away"}); v != awayBefore {
		t.Errorf("Expected no failover event for an override, got %v (before %v)", v, awayBefore)
	}
	if v, ok := metricValue(t, "coredns_failover_endpoint_override", map[string]string{"name": "www.example.org.", "endpoint": "192.0.2.10", "state": "down"}); !ok || v != 1 {
		t.Errorf("Expected the override gauge at 1, got %v %v", v, ok)
	}
	waitLog(t, logs, "override: www.example.org. 192.0.2.10 down (maintenance)")
	waitLog(t, logs, "META 192.0.2.10=down")
	if got := addresses(s.mustAsk(t, "udp", "pool.example.org.", dns.TypeA)); len(got) != 2 {
		t.Errorf("Expected an override of www to leave pool alone, got %v", got)
	}

	// DELETE: back at once; the gauge goes.
	var cl api.Cleared
	c.ok(t, http.MethodDelete, "/v1/names/www.example.org./endpoints/192.0.2.10/override", "", &cl)
	if !cl.Cleared || !slices.Equal(addresses(s.mustAsk(t, "tcp", "www.example.org.", dns.TypeA)), []string{"192.0.2.10"}) {
		t.Errorf("Expected the clear to bring the primary back at once, cleared %v", cl.Cleared)
	}
	if _, ok := metricValue(t, "coredns_failover_endpoint_override", map[string]string{"name": "www.example.org.", "endpoint": "192.0.2.10"}); ok {
		t.Error("Expected no override gauge once cleared")
	}
	c.ok(t, http.MethodDelete, "/v1/names/www.example.org./endpoints/192.0.2.10/override", "", &cl)
	if cl.Cleared {
		t.Error("Expected a second clear to say there was nothing to clear")
	}

	// up: wins over a failing probe.
	primary.failed.Store(true)
	s.waitAnswer(t, "www.example.org.", []string{"192.0.2.20"}, 5*time.Second)
	c.ok(t, http.MethodPut, "/v1/names/www.example.org/endpoints/192.0.2.10/override", `{"state":"up"}`, nil)
	if got := addresses(s.mustAsk(t, "udp", "www.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.10"}) {
		t.Errorf("Expected an up override to answer with the failing primary, got %v", got)
	}
	if ep := endpointIn(c.name(t, "www.example.org"), "192.0.2.10"); ep.State != "down" || ep.LastProbe == nil || ep.LastProbe.Result != "status" || !strings.Contains(ep.LastProbe.Error, "503") {
		t.Errorf("Expected the status to show the probe's own verdict beside the override, got %+v %+v", ep, ep.LastProbe)
	}
	c.ok(t, http.MethodDelete, "/v1/names/www.example.org/endpoints/192.0.2.10/override", "", nil)
	primary.failed.Store(false)
	s.waitAnswer(t, "www.example.org.", []string{"192.0.2.10"}, 5*time.Second)

	// drain: out while the backup is up, back when it is the last one up.
	c.ok(t, http.MethodPut, "/v1/names/www.example.org/endpoints/192.0.2.10/override", `{"state":"drain","reason":"deploy 42"}`, &o)
	if o.DrainedAt == nil || o.SafeAt == nil || o.SafeAt.Sub(*o.DrainedAt) != 61*time.Second {
		t.Errorf("Expected drained_at and safe_at one TTL (60 s) and a second apart, got %+v", o)
	}
	if got := addresses(s.mustAsk(t, "udp", "www.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.20"}) {
		t.Errorf("Expected a drained primary out of the answer, got %v", got)
	}
	if v, ok := metricValue(t, "coredns_failover_drain_safe_seconds", map[string]string{"name": "www.example.org.", "endpoint": "192.0.2.10"}); !ok || v < 50 || v > 61 {
		t.Errorf("Expected about 61 seconds until safe, got %v %v", v, ok)
	}
	backup.failed.Store(true)
	s.waitAnswer(t, "www.example.org.", []string{"192.0.2.10"}, 5*time.Second)
	backup.failed.Store(false)
	back := s.waitAnswer(t, "www.example.org.", []string{"192.0.2.20"}, 5*time.Second)
	// Answered again meanwhile, the drain is safe a TTL after it left the answer, not after the drain.
	if ep := endpointIn(c.name(t, "www.example.org"), "192.0.2.10"); ep.Override == nil || ep.Override.SafeAt.Before(back.Add(60*time.Second)) {
		t.Errorf("Expected safe_at to move to a TTL after the drained endpoint was last answered (%s), got %+v", back.Add(time.Minute), ep.Override)
	}
	c.ok(t, http.MethodDelete, "/v1/names/www.example.org/endpoints/192.0.2.10/override", "", nil)

	// Every name with the address.
	c.ok(t, http.MethodPut, "/v1/endpoints/192.0.2.10/override", `{"state":"down","reason":"rack 7"}`, &o)
	if o.Name != "*" {
		t.Errorf("Expected an override of every name to say so, got %q", o.Name)
	}
	if got := addresses(s.mustAsk(t, "udp", "www.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.20"}) {
		t.Errorf("Expected www without .10, got %v", got)
	}
	if got := addresses(s.mustAsk(t, "udp", "pool.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.30"}) {
		t.Errorf("Expected pool without .10, got %v", got)
	}
	if ep := endpointIn(c.name(t, "pool.example.org"), "192.0.2.10"); ep.Override == nil || ep.Override.Name != "*" {
		t.Errorf("Expected pool's status to show the override of every name, got %+v", ep.Override)
	}
	c.ok(t, http.MethodDelete, "/v1/endpoints/192.0.2.10/override", "", &cl)
	if !cl.Cleared || len(addresses(s.mustAsk(t, "udp", "pool.example.org.", dns.TypeA))) != 2 {
		t.Error("Expected the clear of every name to bring .10 back to pool")
	}

	// Bad requests change nothing, and no request makes the server probe.
	for _, tc := range []struct {
		method, path, body string
		status             int
		says               string
	}{
		{"PUT", "/v1/names/www.example.org/endpoints/192.0.2.10/override", `{"state":"sideways"}`, 400, "allowed are up, down and drain"},
		{"PUT", "/v1/names/www.example.org/endpoints/192.0.2.10/override", `{"state":"down","extra":1}`, 400, "unknown field"},
		{"PUT", "/v1/names/www.example.org/endpoints/192.0.2.10/override", `{"state":"down"} {"state":"up"}`, 400, "more follows"},
		{"PUT", "/v1/names/www.example.org/endpoints/192.0.2.10/override", `{"state":"down","reason":"` + strings.Repeat("x", 20000) + `"}`, 400, "larger than"},
		{"PUT", "/v1/names/www.example.org/endpoints/192.0.2.10/override", ``, 400, "empty"},
		{"PUT", "/v1/names/nope.example.org/endpoints/192.0.2.10/override", `{"state":"down"}`, 404, "not a managed name"},
		{"PUT", "/v1/names/www.example.org/endpoints/127.0.0.1/override", `{"state":"down"}`, 404, "192.0.2.10, 192.0.2.20"},
		{"PUT", "/v1/endpoints/127.0.0.1/override", `{"state":"up"}`, 404, "no managed name"},
		{"DELETE", "/v1/endpoints/127.0.0.1/override", ``, 404, "no managed name"},
		{"GET", "/v1/names/nope.example.org", ``, 404, "not a managed name"},
		{"GET", "/v1/nothing", ``, 404, "no such resource"},
		{"POST", "/v1/status", ``, 404, "no such resource"},
	} {
		if msg := c.refused(t, tc.method, tc.path, tc.body, tc.status); !strings.Contains(msg, tc.says) {
			t.Errorf("%s %s: expected the error to say %q, got %q", tc.method, tc.path, tc.says, msg)
		}
	}
	if n := c.name(t, "www.example.org"); endpointIn(n, "192.0.2.10").Override != nil || len(n.Answer.A) != 1 || n.Answer.A[0] != "192.0.2.10" {
		t.Errorf("Expected bad requests to change nothing, got %+v", n)
	}
	if liveChecks(t) != checks {
		t.Errorf("Expected the API to start no probe: %d health checks before, %d after", checks, liveChecks(t))
	}
}

func TestAPIStatusAndExplain(t *testing.T) {
	primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
	apiAddr := closedPort(t)
	db := geotest.Write(t, filepath.Join(t.TempDir(), "geo.mmdb"), "GeoLite2-City", geoPlaces)
	s := startServer(t, apiCorefile("127.0.0.1:0", apiAddr, filepath.Join(t.TempDir(), "state"), primary, backup,
		strings.ReplaceAll(geoCorefile(db, ""), "\n", "\n\t")))
	c := apiClient{base: "http://" + apiAddr}
	s.waitAnswer(t, "www.example.org.", []string{"192.0.2.10"}, 5*time.Second)

	var st api.Status
	c.ok(t, http.MethodGet, "/v1/status", "", &st)
	if !slices.Equal(st.Names, []string{"app.example.org.", "pool.example.org.", "www.example.org."}) {
		t.Errorf("Expected every name, sorted, got %v", st.Names)
	}

	primary.failed.Store(true)
	s.waitAnswer(t, "www.example.org.", []string{"192.0.2.20"}, 5*time.Second)
	n := c.name(t, "WWW.example.org")
	ep := endpointIn(n, "192.0.2.10")
	if n.Name != "www.example.org." || n.Policy != "active-passive" || n.TTL != 60 || !n.FailedOver || ep.State != "down" || ep.Check != primary.url() {
		t.Fatalf("Expected www failed over with .10 down, got %+v", n)
	}
	if ep.LastProbe == nil || ep.LastProbe.Result != "status" || ep.Streak == nil || ep.Streak.Result != "failure" || ep.Streak.Count < 2 || ep.Since == nil {
		t.Errorf("Expected the last probe, the failure streak and since, got %+v %+v %+v", ep.LastProbe, ep.Streak, ep.Since)
	}
	if len(ep.History) < 2 || ep.History[len(ep.History)-1].To != "down" || ep.History[len(ep.History)-1].From != "up" || !strings.Contains(ep.History[len(ep.History)-1].Reason, "503") {
		t.Errorf("Expected the first probe and the fall in the history, got %+v", ep.History)
	}

	var ex api.Explanation
	c.ok(t, http.MethodGet, "/v1/names/www.example.org/answer?client=198.51.100.7&type=A", "", &ex)
	if ex.Action != "answer" || !slices.Equal(ex.Answer, []string{"192.0.2.20"}) || ex.Tier == nil || *ex.Tier != 2 ||
		len(ex.LeftOut) != 1 || !strings.HasPrefix(ex.LeftOut[0].Reason, "down: HTTP status 503") {
		t.Errorf("Expected the backup tier and why the primary is left out, got %+v", ex)
	}
	primary.failed.Store(false)
	s.waitAnswer(t, "www.example.org.", []string{"192.0.2.10"}, 5*time.Second)
	c.ok(t, http.MethodGet, "/v1/names/www.example.org/answer?type=A", "", &ex)
	if len(ex.LeftOut) != 1 || ex.LeftOut[0].Reason != "priority 2: the tier of priority 1 is up and answers" {
		t.Errorf("Expected the backup left out for its tier, got %+v", ex.LeftOut)
	}

	// Geo: the client's location, its group, and the endpoints of others.
	c.ok(t, http.MethodGet, "/v1/names/app.example.org/answer?client=10.1.2.3&type=A", "", &ex)
	if ex.Location == nil || ex.Location.Country != "US" || ex.Location.Subdivision != "US-CA" || ex.Location.Network != "10.1.0.0/16" ||
		ex.Group != "subdivision:US-CA" || !slices.Equal(ex.Answer, []string{"192.0.2.2"}) {
		t.Errorf("Expected California's group and answer, got %+v", ex)
	}
	for _, lo := range ex.LeftOut {
		if lo.Address == "192.0.2.3" && !strings.Contains(lo.Reason, "not in the geo group") {
			t.Errorf("Expected Europe's endpoint left out for its group, got %q", lo.Reason)
		}
		if lo.Address == "2001:db8::3" && !strings.Contains(lo.Reason, "AAAA") {
			t.Errorf("Expected an IPv6 endpoint left out of an A answer for its type, got %q", lo.Reason)
		}
	}
	c.ok(t, http.MethodGet, "/v1/names/app.example.org/answer?client=10.3.0.1&type=AAAA", "", &ex)
	if !slices.Equal(ex.Answer, []string{"2001:db8::3"}) || ex.Group != "continent:EU" {
		t.Errorf("Expected Europe's AAAA, got %+v", ex)
	}
	c.refused(t, http.MethodGet, "/v1/names/app.example.org/answer?client=not-an-ip", "", 400)
	c.refused(t, http.MethodGet, "/v1/names/app.example.org/answer?type=BOGUS", "", 400)
}

func TestAPITemporaryTTL(t *testing.T) {
	primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
	apiAddr := closedPort(t)
	s := startServer(t, apiCorefile("127.0.0.1:0", apiAddr, filepath.Join(t.TempDir(), "state"), primary, backup, ""))
	c := apiClient{base: "http://" + apiAddr}
	ttlOf := func() uint32 {
		r := s.mustAsk(t, "udp", "www.example.org.", dns.TypeA)
		if len(r.Answer) == 0 {
			t.Fatalf("Expected an answer, got %v", r)
		}
		return r.Answer[0].Header().Ttl
	}
	if ttlOf() != 60 {
		t.Fatal("Expected the configured TTL first")
	}
	var tt api.TTL
	c.ok(t, http.MethodPut, "/v1/names/www.example.org/ttl", `{"ttl":5,"for":"30m"}`, &tt)
	if tt.TTL != 5 || tt.NormalTTL != 60 || tt.CutoverReadyAt.Sub(tt.SetAt) != 61*time.Second || tt.Until.Sub(tt.SetAt) != 30*time.Minute {
		t.Errorf("Expected cutover one normal TTL after the change, got %+v", tt)
	}
	if got := ttlOf(); got != 5 {
		t.Errorf("Expected TTL 5 right after the change, got %d", got)
	}
	if n := c.name(t, "www.example.org"); n.TTL != 5 || n.TemporaryTTL == nil || !n.TemporaryTTL.CutoverReadyAt.Equal(tt.CutoverReadyAt) {
		t.Errorf("Expected the status to show the temporary TTL, got %+v", n)
	}
	// A drain now is safe one normal TTL after the lowering, not one low TTL after the drain.
	var o api.Override
	c.ok(t, http.MethodPut, "/v1/names/www.example.org/endpoints/192.0.2.10/override", `{"state":"drain"}`, &o)
	if !o.SafeAt.Equal(tt.CutoverReadyAt) {
		t.Errorf("Expected safe_at at cutover_ready_at (%s) while the lowering is under way, got %s", tt.CutoverReadyAt, o.SafeAt)
	}
	c.ok(t, http.MethodDelete, "/v1/names/www.example.org/endpoints/192.0.2.10/override", "", nil)
	if ttlOf() != 5 {
		t.Error("Expected pool untouched by www's TTL")
	}
	var cl api.Cleared
	c.ok(t, http.MethodDelete, "/v1/names/www.example.org/ttl", "", &cl)
	if !cl.Cleared || ttlOf() != 60 {
		t.Error("Expected the configured TTL back at once")
	}
	// One that runs out by itself.
	c.ok(t, http.MethodPut, "/v1/names/www.example.org/ttl", `{"ttl":5,"for":"300ms"}`, nil)
	deadline := time.Now().Add(5 * time.Second)
	for ttlOf() != 60 {
		if time.Now().After(deadline) {
			t.Fatal("Expected the temporary TTL to end by itself")
		}
		time.Sleep(50 * time.Millisecond) // the query rate of the poll, not a wait for an event
	}
	for _, body := range []string{`{"ttl":0,"for":"1m"}`, `{"ttl":61,"for":"1m"}`, `{"ttl":5,"for":"forever"}`, `{"ttl":5,"for":"-1m"}`, `{"ttl":5,"for":"9000h"}`, `{"ttl":"5"}`} {
		c.refused(t, http.MethodPut, "/v1/names/www.example.org/ttl", body, 400)
	}
	if ttlOf() != 60 {
		t.Error("Expected refused TTL changes to change nothing")
	}
}

func TestAPIStateFileSurvivesReloadRestartAndHandEdits(t *testing.T) {
	primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
	dnsAddr, apiAddr := closedPort(t), closedPort(t)
	state := filepath.Join(t.TempDir(), "state")
	corefile := apiCorefile(dnsAddr, apiAddr, state, primary, backup, "")
	i := startInstance(t, corefile)
	c := apiClient{base: "http://" + apiAddr}
	i.waitAnswer(t, "www.example.org.", []string{"192.0.2.10"}, 5*time.Second)

	c.ok(t, http.MethodPut, "/v1/names/www.example.org/endpoints/192.0.2.10/override", `{"state":"drain","reason":"deploy 7"}`, nil)
	data, _ := os.ReadFile(state) // on disk before the answer
	if !strings.Contains(string(data), `override www.example.org. 192.0.2.10 drain reason="deploy 7"`) {
		t.Fatalf("Expected the override in the state file when the PUT is answered, got:\n%s", data)
	}

	// A reload keeps the override and the API.
	if err := i.reload(t, strings.Replace(corefile, "ttl", "ttl", 1)+"\n"); err != nil {
		t.Fatal(err)
	}
	if got := addresses(i.mustAsk(t, "udp", "www.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.20"}) {
		t.Errorf("Expected the drain to hold across a reload, got %v", got)
	}
	if ep := endpointIn(c.name(t, "www.example.org"), "192.0.2.10"); ep.Override == nil || ep.Override.Reason != "deploy 7" {
		t.Errorf("Expected the API to serve the override after the reload, got %+v", ep.Override)
	}

	// A failed reload (its port is taken) leaves API and override as they were,
	// and the new API address it named is not left open.
	holder, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	otherAPI := closedPort(t)
	broken := strings.Replace(corefile, "api "+apiAddr, "api "+otherAPI, 1) + fmt.Sprintf("\nexample.net:%s {\n\tbind 127.0.0.1\n\twhoami\n}\n", portOf(holder.Addr().String()))
	if err := i.reload(t, broken); err == nil {
		t.Fatal("Expected the reload onto a taken port to fail")
	}
	if ep := endpointIn(c.name(t, "www.example.org"), "192.0.2.10"); ep.Override == nil {
		t.Error("Expected the override after a failed reload")
	}
	if _, err := http.Get("http://" + otherAPI + "/v1/status"); err == nil {
		t.Error("Expected the failed configuration's API address to be closed")
	}

	// A restart reads the state file: the first answer already drains.
	i.inst.ShutdownCallbacks()
	i.inst.Stop()
	i.inst.Wait()
	i = startInstance(t, corefile)
	if got := addresses(i.mustAsk(t, "udp", "www.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.20"}) {
		t.Errorf("Expected the drain to hold across a restart, got %v", got)
	}

	// An edit by hand applies within 5 s.
	data, _ = os.ReadFile(state)
	edited := strings.Replace(string(data), "192.0.2.10 drain", "192.0.2.10 up", 1) + "override * 192.0.2.20 down reason=\"by hand\"\n"
	edit := time.Now()
	if err := os.WriteFile(state, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	seen := i.waitAnswer(t, "www.example.org.", []string{"192.0.2.10"}, 5*time.Second)
	t.Logf("hand edit to changed answer: %s", seen.Sub(edit))
	if ep := endpointIn(c.name(t, "www.example.org"), "192.0.2.20"); ep.Override == nil || ep.Override.Name != "*" || ep.Override.Reason != "by hand" {
		t.Errorf("Expected the hand-written override in the status, got %+v", ep.Override)
	}
	// A broken line is reported and kept; the rest applies.
	os.WriteFile(state, []byte("override www.example.org. 192.0.2.10 sideways\n"), 0o644)
	deadline := time.Now().Add(5 * time.Second)
	for endpointIn(c.name(t, "www.example.org"), "192.0.2.20").Override != nil {
		if time.Now().After(deadline) {
			t.Fatal("Expected the edit that removed the overrides to apply within 5s")
		}
		time.Sleep(50 * time.Millisecond) // the poll's pace, not a wait for an event
	}
	c.ok(t, http.MethodPut, "/v1/names/www.example.org/endpoints/192.0.2.20/override", `{"state":"down"}`, nil)
	data, _ = os.ReadFile(state)
	if !strings.Contains(string(data), "# unreadable: override www.example.org. 192.0.2.10 sideways") {
		t.Errorf("Expected the unreadable line kept as a comment, got:\n%s", data)
	}
}
