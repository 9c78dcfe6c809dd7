package failover

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/api"
)

// alertmanager is a running Alertmanager whose only receiver is the
// plugin's webhook.
type alertmanager struct{ addr string }

// startAlertmanager runs Alertmanager without clustering, on loopback,
// sending every alert as its own group to webhook at once, and every
// change of a group within a second.
func startAlertmanager(t *testing.T, bin, webhook string) alertmanager {
	t.Helper()
	dir := t.TempDir()
	config := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`route:
  receiver: failover
  group_by: ['...']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: failover
    webhook_configs:
      - url: %q
        send_resolved: true
`, webhook)), 0o644); err != nil {
		t.Fatal(err)
	}
	// Alertmanager cannot report the port it was given for :0, so it gets
	// one that was free a moment ago.
	addr := closedPort(t)
	cmd := exec.Command(bin,
		"--config.file="+config,
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--cluster.listen-address=",
		"--log.level=warn",
	)
	startDaemon(t, "alertmanager", dir, addr, cmd)
	return alertmanager{addr: addr}
}

// alertmanagerBinary finds Alertmanager as Debian installs it, or as its
// own release names it.
func alertmanagerBinary(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"prometheus-alertmanager", "alertmanager"} {
		if bin, err := exec.LookPath(name); err == nil {
			return bin
		}
	}
	t.Fatal("Alertmanager is not installed: neither prometheus-alertmanager nor alertmanager is in PATH (apt-get install prometheus-alertmanager)")
	return ""
}

// amAlert is an alert as Alertmanager's API takes it.
type amAlert struct {
	Labels   map[string]string `json:"labels"`
	StartsAt time.Time         `json:"startsAt"`
	EndsAt   time.Time         `json:"endsAt"`
}

// post hands alerts to Alertmanager, as Prometheus does.
func (am alertmanager) post(t *testing.T, alerts ...amAlert) {
	t.Helper()
	body, err := json.Marshal(alerts)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Post("http://"+am.addr+"/api/v2/alerts", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("Expected alertmanager to take the alerts, got %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Expected alertmanager to take the alerts, got %s", resp.Status)
	}
}

// waitAnswerSet is waitAnswer for an answer whose order varies.
func (s server) waitAnswerSet(t *testing.T, name string, want []string, within time.Duration) time.Time {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	deadline := time.Now().Add(within)
	var last []string
	for {
		r, err := s.ask("udp", name, dns.TypeA)
		now := time.Now()
		if err == nil {
			last = addresses(r)
			slices.Sort(last)
			if slices.Equal(last, want) {
				return now
			}
		}
		if now.After(deadline) {
			t.Fatalf("Expected %s to answer %v within %s, last answer %v (err %v)", name, want, within, last, err)
		}
		time.Sleep(50 * time.Millisecond) // the query rate of the poll, not a wait for an event
	}
}

// signalGauge reads coredns_failover_endpoint_signal of address in name.
func signalGauge(t *testing.T, name, address string) (float64, bool) {
	t.Helper()
	return metricValue(t, "coredns_failover_endpoint_signal", map[string]string{"name": name, "endpoint": address})
}

func signalNames(ep api.Endpoint) []string {
	var out []string
	for _, s := range ep.Signals {
		out = append(out, s.Alert)
	}
	return out
}

// TestAlertmanagerHoldsEndpointsDown runs a real Alertmanager whose webhook
// is the plugin's: alerts posted to it fail over the names they are about,
// and their resolution brings the endpoint back.
func TestAlertmanagerHoldsEndpointsDown(t *testing.T) {
	bin := alertmanagerBinary(t)
	logs := captureLog(t)
	primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
	apiAddr := closedPort(t)
	s := startServer(t, apiCorefile("127.0.0.1:0", apiAddr, filepath.Join(t.TempDir(), "state"), primary, backup, ""))
	c := apiClient{base: "http://" + apiAddr}
	s.waitAnswer(t, "www.example.org.", []string{"192.0.2.10"}, 5*time.Second)
	s.waitAnswerSet(t, "pool.example.org.", []string{"192.0.2.10", "192.0.2.30"}, 5*time.Second)
	am := startAlertmanager(t, bin, "http://"+apiAddr+"/v1/alertmanager")

	// An alert about .10 in www: www fails over, pool keeps .10.
	backendDown := amAlert{
		Labels:   map[string]string{"alertname": "BackendDown", "failover_endpoint": "192.0.2.10", "failover_name": "www.example.org."},
		StartsAt: time.Now().UTC(), EndsAt: time.Now().UTC().Add(time.Hour),
	}
	posted := time.Now()
	am.post(t, backendDown)
	seen := s.waitAnswer(t, "www.example.org.", []string{"192.0.2.20"}, 10*time.Second)
	t.Logf("alert posted to Alertmanager to changed answer: %s", seen.Sub(posted))
	if got := addresses(s.mustAsk(t, "udp", "pool.example.org.", dns.TypeA)); len(got) != 2 {
		t.Errorf("Expected an alert naming www to leave pool's .10 alone, got %v", got)
	}
	n := c.name(t, "www.example.org")
	ep := endpointIn(n, "192.0.2.10")
	if ep.State != "down" || ep.Serving || !n.FailedOver || !slices.Equal(n.Answer.A, []string{"192.0.2.20"}) {
		t.Errorf("Expected www failed over with .10 down, got %+v / %+v", n, ep)
	}
	if len(ep.Signals) != 1 || ep.Signals[0].Alert != "BackendDown" || !strings.Contains(ep.Signals[0].Labels, `failover_name="www.example.org."`) {
		t.Errorf("Expected the BackendDown signal on .10, got %+v", ep.Signals)
	}
	if ep.LastProbe == nil || ep.LastProbe.Result != "success" || ep.Override != nil {
		t.Errorf("Expected the probe's own verdict still success and no override, got %+v %+v", ep.LastProbe, ep.Override)
	}
	if ep := endpointIn(c.name(t, "pool.example.org"), "192.0.2.10"); ep.State != "up" || len(ep.Signals) != 0 || !ep.Serving {
		t.Errorf("Expected pool's .10 up, serving and without signals, got %+v", ep)
	}
	if v, ok := signalGauge(t, "www.example.org.", "192.0.2.10"); !ok || v != 1 {
		t.Errorf("Expected the signal gauge of www's .10 at 1, got %v %v", v, ok)
	}
	if _, ok := signalGauge(t, "pool.example.org.", "192.0.2.10"); ok {
		t.Error("Expected no signal gauge for pool's .10")
	}
	var ex api.Explanation
	c.ok(t, http.MethodGet, "/v1/names/www.example.org/answer", "", &ex)
	if !slices.Equal(ex.Answer, []string{"192.0.2.20"}) || !slices.ContainsFunc(ex.LeftOut, func(lo api.LeftOut) bool {
		return lo.Address == "192.0.2.10" && lo.Reason == "held down by firing alert BackendDown"
	}) {
		t.Errorf("Expected the explanation to name the alert that holds .10 down, got %+v", ex)
	}
	waitLog(t, logs, "alert \"BackendDown\" firing: holds down 192.0.2.10 in www.example.org.")

	// Resolved in Alertmanager: the webhook says so, and .10 is back at once.
	backendDown.EndsAt = time.Now().UTC()
	posted = time.Now()
	am.post(t, backendDown)
	seen = s.waitAnswer(t, "www.example.org.", []string{"192.0.2.10"}, 10*time.Second)
	t.Logf("resolution posted to Alertmanager to changed answer: %s", seen.Sub(posted))
	if ep := endpointIn(c.name(t, "www.example.org"), "192.0.2.10"); ep.State != "up" || len(ep.Signals) != 0 || !ep.Serving {
		t.Errorf("Expected .10 up, serving and without signals once resolved, got %+v", ep)
	}
	if v, ok := signalGauge(t, "www.example.org.", "192.0.2.10"); ok {
		t.Errorf("Expected no signal gauge once resolved, got %v", v)
	}
	waitLog(t, logs, "alert \"BackendDown\" resolved: clears 192.0.2.10 in www.example.org.")

	// An alert without failover_name holds .10 down in every name.
	rackDown := amAlert{
		Labels:   map[string]string{"alertname": "RackDown", "failover_endpoint": "192.0.2.10"},
		StartsAt: time.Now().UTC(), EndsAt: time.Now().UTC().Add(time.Hour),
	}
	posted = time.Now()
	am.post(t, rackDown)
	seen = s.waitAnswer(t, "www.example.org.", []string{"192.0.2.20"}, 10*time.Second)
	t.Logf("alert for every name posted to Alertmanager to changed answer: %s", seen.Sub(posted))
	s.waitAnswer(t, "pool.example.org.", []string{"192.0.2.30"}, 5*time.Second)
	for _, name := range []string{"www.example.org.", "pool.example.org."} {
		ep := endpointIn(c.name(t, name), "192.0.2.10")
		if ep.State != "down" || ep.Serving || !slices.Equal(signalNames(ep), []string{"RackDown"}) {
			t.Errorf("Expected %s's .10 down by RackDown, got %+v", name, ep)
		}
		if v, ok := signalGauge(t, name, "192.0.2.10"); !ok || v != 1 {
			t.Errorf("Expected the signal gauge of %s's .10 at 1, got %v %v", name, v, ok)
		}
	}
	waitLog(t, logs, "alert \"RackDown\" firing: holds down 192.0.2.10 in *")

	rackDown.EndsAt = time.Now().UTC()
	posted = time.Now()
	am.post(t, rackDown)
	seen = s.waitAnswer(t, "www.example.org.", []string{"192.0.2.10"}, 10*time.Second)
	t.Logf("resolution for every name posted to Alertmanager to changed answer: %s", seen.Sub(posted))
	s.waitAnswerSet(t, "pool.example.org.", []string{"192.0.2.10", "192.0.2.30"}, 5*time.Second)
	for _, name := range []string{"www.example.org.", "pool.example.org."} {
		if ep := endpointIn(c.name(t, name), "192.0.2.10"); ep.State != "up" || len(ep.Signals) != 0 {
			t.Errorf("Expected %s's .10 up without signals once resolved, got %+v", name, ep)
		}
		if _, ok := signalGauge(t, name, "192.0.2.10"); ok {
			t.Errorf("Expected no signal gauge of %s's .10 once resolved", name)
		}
	}
	waitLog(t, logs, "alert \"RackDown\" resolved: clears 192.0.2.10 in *")
}

// webhookBody is a version 4 webhook payload of alerts, each given as its
// status and labels.
func webhookBody(version string, alerts ...any) string {
	type alert struct {
		Status   string            `json:"status"`
		Labels   map[string]string `json:"labels"`
		StartsAt time.Time         `json:"startsAt"`
	}
	var list []alert
	for i := 0; i+1 < len(alerts); i += 2 {
		list = append(list, alert{Status: alerts[i].(string), Labels: alerts[i+1].(map[string]string), StartsAt: time.Now().UTC()})
	}
	body, _ := json.Marshal(map[string]any{"version": version, "status": "firing", "receiver": "failover", "alerts": list})
	return string(body)
}

// TestAlertmanagerReceiverEdgeCases posts to the webhook directly: payloads
// it must refuse or partly ignore change nothing, and an override wins over
// a firing alert.
func TestAlertmanagerReceiverEdgeCases(t *testing.T) {
	primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
	apiAddr := closedPort(t)
	s := startServer(t, apiCorefile("127.0.0.1:0", apiAddr, filepath.Join(t.TempDir(), "state"), primary, backup, ""))
	c := apiClient{base: "http://" + apiAddr}
	s.waitAnswer(t, "www.example.org.", []string{"192.0.2.10"}, 5*time.Second)

	const hook = "/v1/alertmanager"
	down := map[string]string{"alertname": "BackendDown", "failover_endpoint": "192.0.2.10", "failover_name": "www.example.org."}
	unchanged := func(what string) {
		t.Helper()
		if got := addresses(s.mustAsk(t, "udp", "www.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.10"}) {
			t.Errorf("%s: expected www to keep answering .10, got %v", what, got)
		}
		if got := addresses(s.mustAsk(t, "udp", "pool.example.org.", dns.TypeA)); len(got) != 2 {
			t.Errorf("%s: expected pool to keep answering both, got %v", what, got)
		}
		for _, name := range []string{"www.example.org", "pool.example.org"} {
			for _, ep := range c.name(t, name).Endpoints {
				if len(ep.Signals) != 0 || ep.State != "up" {
					t.Errorf("%s: expected no signal on %s %s, got %+v", what, name, ep.Address, ep)
				}
			}
		}
	}

	// Refused payloads.
	huge := fmt.Sprintf(`{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"BackendDown","failover_endpoint":"192.0.2.10"},"annotations":{"description":%q}}]}`,
		strings.Repeat("x", 4<<20))
	for _, tc := range []struct {
		what, body, says string
	}{
		{"version 3", webhookBody("3", "firing", down), `webhook version "3"`},
		{"no version", `{"alerts":[]}`, `webhook version ""`},
		{"garbage", `this is not JSON`, "not an Alertmanager webhook payload"},
		{"empty", ``, "empty"},
		{"alerts not a list", `{"version":"4","alerts":{"status":"firing"}}`, "not an Alertmanager webhook payload"},
		{"over 4 MiB", huge, "larger than 4194304 bytes"},
	} {
		if msg := c.refused(t, http.MethodPost, hook, tc.body, http.StatusBadRequest); !strings.Contains(msg, tc.says) {
			t.Errorf("%s: expected the error to say %q, got %q", tc.what, tc.says, msg)
		}
		unchanged(tc.what)
	}

	// A page in a browser on a machine that reaches the API on loopback
	// (through an SSH tunnel, say) may send simple cross-site requests to
	// it: they must not change anything.
	for _, tc := range []struct{ method, path, body string }{
		{http.MethodPost, hook, webhookBody("4", "firing", down)},
		{http.MethodPut, "/v1/endpoints/192.0.2.10/override", `{"state":"down"}`},
	} {
		req, err := http.NewRequest(tc.method, c.base+tc.path, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		req.Header.Set("Origin", "https://attacker.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e api.Error
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(e.Error, "cross-origin") {
			t.Errorf("%s %s from another site: expected 403 and a JSON error, got %d %q", tc.method, tc.path, resp.StatusCode, e.Error)
		}
		unchanged("cross-site " + tc.method)
	}
	if t.Failed() {
		t.FailNow() // what follows expects nothing changed
	}

	// Taken but ignored: each alert says why.
	for _, tc := range []struct {
		what   string
		status string
		labels map[string]string
		says   string
	}{
		{"unknown endpoint", "firing", map[string]string{"alertname": "Elsewhere", "failover_endpoint": "198.51.100.7"}, "no managed name here has an endpoint 198.51.100.7"},
		{"endpoint not in the name", "firing", map[string]string{"alertname": "Elsewhere", "failover_endpoint": "192.0.2.30", "failover_name": "www.example.org."}, "www.example.org. has no endpoint 192.0.2.30"},
		{"unknown name", "firing", map[string]string{"alertname": "Elsewhere", "failover_endpoint": "192.0.2.10", "failover_name": "nope.example.org"}, "nope.example.org. is not a managed name"},
		{"no endpoint label", "firing", map[string]string{"alertname": "HighLatency", "failover_name": "www.example.org."}, "alert 0 (HighLatency) has no failover_endpoint label"},
		{"blank endpoint label", "firing", map[string]string{"alertname": "HighLatency", "failover_endpoint": "  "}, "has no failover_endpoint label"},
		{"unknown status", "pending", down, `status "pending"`},
	} {
		var res api.AlertResult
		c.ok(t, http.MethodPost, hook, webhookBody("4", tc.status, tc.labels), &res)
		if res.Applied != 0 || len(res.Ignored) != 1 || !strings.Contains(res.Ignored[0], tc.says) {
			t.Errorf("%s: expected nothing applied and one alert ignored saying %q, got %+v", tc.what, tc.says, res)
		}
		unchanged(tc.what)
	}

	// A payload of both: the one about .10 applies, the other is listed.
	var res api.AlertResult
	c.ok(t, http.MethodPost, hook, webhookBody("4",
		"firing", map[string]string{"alertname": "Elsewhere", "failover_endpoint": "198.51.100.7"},
		"firing", down), &res)
	if res.Applied != 1 || len(res.Ignored) != 1 || !strings.Contains(res.Ignored[0], "198.51.100.7") {
		t.Errorf("Expected one alert applied and one ignored, got %+v", res)
	}
	// The webhook's answer comes after the change: the next query has it.
	if got := addresses(s.mustAsk(t, "udp", "www.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.20"}) {
		t.Fatalf("Expected the query right after a firing alert to get the backup, got %v", got)
	}

	// An up override wins over the firing alert; cleared, the alert holds again.
	c.ok(t, http.MethodPut, "/v1/names/www.example.org/endpoints/192.0.2.10/override", `{"state":"up","reason":"alert is wrong"}`, nil)
	if got := addresses(s.mustAsk(t, "udp", "www.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.10"}) {
		t.Errorf("Expected an up override to answer .10 despite the alert, got %v", got)
	}
	ep := endpointIn(c.name(t, "www.example.org"), "192.0.2.10")
	if ep.State != "down" || !ep.Serving || ep.Override == nil || ep.Override.State != "up" || !slices.Equal(signalNames(ep), []string{"BackendDown"}) {
		t.Errorf("Expected the status to show the signal's down, the override and .10 serving, got %+v", ep)
	}
	c.ok(t, http.MethodDelete, "/v1/names/www.example.org/endpoints/192.0.2.10/override", "", nil)
	if got := addresses(s.mustAsk(t, "udp", "www.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.20"}) {
		t.Errorf("Expected the alert to hold .10 down again once the override is cleared, got %v", got)
	}

	// Alertmanager repeats a firing alert: the signal keeps its first start.
	first := endpointIn(c.name(t, "www.example.org"), "192.0.2.10").Signals
	c.ok(t, http.MethodPost, hook, webhookBody("4", "firing", down), nil)
	again := endpointIn(c.name(t, "www.example.org"), "192.0.2.10").Signals
	if len(first) != 1 || len(again) != 1 || !again[0].Since.Equal(first[0].Since) {
		t.Errorf("Expected a repeated alert to keep one signal and its start, got %+v then %+v", first, again)
	}

	// Resolved: back with the next query.
	c.ok(t, http.MethodPost, hook, webhookBody("4", "resolved", down), &res)
	if res.Applied != 1 || len(res.Ignored) != 0 {
		t.Errorf("Expected the resolved alert applied, got %+v", res)
	}
	unchanged("resolved")
}
