package failover

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// pluginMetrics maps the name of every metric the plugin exports to its labels.
func pluginMetrics(t *testing.T) map[string][]string {
	t.Helper()
	desc := regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)
	ours := map[string][]string{}
	for _, c := range []prometheus.Collector{endpointGauges{}, healthChecks, probes, probeDuration, probeLateness,
		transitions, failovers, answers, allDownAnswers, queries, wouldAnswers} {
		ch := make(chan *prometheus.Desc, 16)
		c.Describe(ch)
		close(ch)
		for d := range ch {
			m := desc.FindStringSubmatch(d.String())
			if m == nil {
				t.Fatalf("Cannot read the name and labels of %s", d)
			}
			var labels []string
			if m[2] != "" {
				labels = strings.Split(m[2], ",")
			}
			ours[m[1]] = labels
		}
	}
	return ours
}

// grafanaDashboard is what the tests read of dashboards/failover.json.
type grafanaDashboard struct {
	Title         string `json:"title"`
	UID           string `json:"uid"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []struct {
			Name       string         `json:"name"`
			Type       string         `json:"type"`
			Query      any            `json:"query"` // a string, or an object for a query variable
			Definition string         `json:"definition"`
			Datasource *grafanaSource `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Panels []grafanaPanel `json:"panels"`
}

type grafanaPanel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource *grafanaSource `json:"datasource"`
	Targets    []struct {
		RefID      string         `json:"refId"`
		Expr       string         `json:"expr"`
		Datasource *grafanaSource `json:"datasource"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"` // a collapsed row's
}

type grafanaSource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// readDashboard parses the dashboard and returns it with its panels, those
// inside rows included and the rows themselves left out.
func readDashboard(t *testing.T) (grafanaDashboard, []grafanaPanel) {
	t.Helper()
	raw, err := os.ReadFile("dashboards/failover.json")
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("Expected dashboards/failover.json to parse, got %v", err)
	}
	var panels []grafanaPanel
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			panels = append(panels, p)
		}
	}
	walk(d.Panels)
	return d, panels
}

// TestDashboardJSON checks the dashboard without Grafana: it parses, every
// panel queries the plugin's own metrics through the instance and name
// variables, every metric has a panel, and no data source is hard-coded.
func TestDashboardJSON(t *testing.T) {
	d, panels := readDashboard(t)
	if d.Title == "" || d.UID == "" {
		t.Errorf("Expected a title and a uid, got %q and %q", d.Title, d.UID)
	}
	if d.SchemaVersion < 36 {
		t.Errorf("Expected schemaVersion 36 or later (object data sources), got %d", d.SchemaVersion)
	}

	// A data source is a reference to a template variable of type datasource.
	ref := regexp.MustCompile(`^\$(\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))$`)
	sources := map[string]bool{}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
		if v.Type == "datasource" {
			sources[v.Name] = v.Query == "prometheus"
		}
	}
	checkSource := func(where string, ds *grafanaSource) {
		t.Helper()
		if ds == nil {
			t.Errorf("%s: expected a data source", where)
			return
		}
		m := ref.FindStringSubmatch(ds.UID)
		if m == nil {
			t.Errorf("%s: data source uid %q is hard-coded; expected a template variable such as ${datasource}", where, ds.UID)
			return
		}
		if !sources[m[2]+m[3]] {
			t.Errorf("%s: data source uid %q names no prometheus data source variable", where, ds.UID)
		}
		if ds.Type != "prometheus" {
			t.Errorf("%s: expected data source type prometheus, got %q", where, ds.Type)
		}
	}
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			checkSource("variable "+v.Name, v.Datasource)
		}
	}
	for _, name := range []string{"instance", "name"} {
		if vars[name] != "query" {
			t.Errorf("Expected a query variable %q, got type %q", name, vars[name])
		}
	}

	ours := pluginMetrics(t)
	used := map[string]bool{}
	selector := regexp.MustCompile(`(coredns_failover_[a-z_]+)(\{[^}]*\})?`)
	titles := map[string]bool{}
	for _, p := range panels {
		where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if p.Title == "" {
			t.Errorf("panel %d: expected a title", p.ID)
		}
		if titles[p.Title] {
			t.Errorf("%s: expected titles to be unique", where)
		}
		titles[p.Title] = true
		checkSource(where, p.Datasource)
		if len(p.Targets) == 0 {
			t.Errorf("%s: expected at least one target", where)
		}
		for _, tg := range p.Targets {
			where := where + " target " + tg.RefID
			if tg.Datasource != nil {
				checkSource(where, tg.Datasource)
			}
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("%s: expected an expr", where)
				continue
			}
			sels := selector.FindAllStringSubmatch(tg.Expr, -1)
			if len(sels) == 0 {
				t.Errorf("%s: expected a coredns_failover_ metric in %s", where, tg.Expr)
			}
			for _, s := range sels {
				metric := s[1]
				if _, ok := ours[metric]; !ok {
					for _, suffix := range []string{"_bucket", "_sum", "_count"} {
						if _, ok := ours[strings.TrimSuffix(metric, suffix)]; ok {
							metric = strings.TrimSuffix(metric, suffix)
							break
						}
					}
				}
				labels, ok := ours[metric]
				if !ok {
					t.Errorf("%s: %s is not a metric the plugin exports", where, s[1])
					continue
				}
				used[metric] = true
				if !strings.Contains(s[2], `instance=~"$instance"`) {
					t.Errorf("%s: expected %s to select instance=~\"$instance\", got %q", where, s[1], s[2])
				}
				if slices.Contains(labels, "name") && !strings.Contains(s[2], `name=~"$name"`) {
					t.Errorf("%s: expected %s to select name=~\"$name\", got %q", where, s[1], s[2])
				}
			}
		}
	}
	for m := range ours {
		if !used[m] {
			t.Errorf("Expected a panel for %s", m)
		}
	}
}

// dashboardExpr makes a panel's expr a query Prometheus runs, as Grafana
// does with the dashboard's variables set to All.
var dashboardExpr = strings.NewReplacer(
	"$instance", ".*",
	"$name", ".*",
	"$__rate_interval", "10s",
	"$__interval", "5s",
)

// TestDashboardQueriesReturnData runs every query of the dashboard against a
// real Prometheus scraping a real CoreDNS with failing backends, failovers,
// all-down answers and a drained endpoint: each must be valid PromQL and
// return data.
func TestDashboardQueriesReturnData(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus is not installed (Debian package prometheus): %v", err)
	}
	_, panels := readDashboard(t)

	primary, backup := newHealthBackend(t, nil), newHealthBackend(t, nil)
	dead := closedPort(t)
	metricsAddr := closedPort(t)
	apiAddr := closedPort(t)
	etcdURL, _ := startEtcd(t) // for the replicas' panels
	apiBlock := fmt.Sprintf("failover {\n\t\tapi %s\n\t\tcluster etcd %s {\n\t\t\tnode dns-1\n\t\t\tlease 2s\n\t\t}\n\t}", apiAddr, etcdURL)
	s := startServer(t, fmt.Sprintf(`example.org:0 {
	bind 127.0.0.1
	prometheus %s
	%s
	failover www.example.org {
		endpoint 192.0.2.10 priority 1 check %s
		endpoint 192.0.2.20 priority 2 check %s
		%s
	}
	failover api.example.org {
		endpoint 198.51.100.10 check tcp://%s
		all_down servfail
		%s
	}
	failover app.example.org {
		policy active-active
		endpoint 203.0.113.1
		endpoint 203.0.113.2
		check %s
		%s
	}
	failover observed.example.org {
		observe_only
		endpoint 192.0.2.50 priority 1 check %s
		endpoint 192.0.2.60 priority 2 check %s
		%s
	}
}`, metricsAddr, apiBlock, primary.url(), backup.url(), fastPace, dead, fastPace, backup.url(), fastPace, primary.url(), backup.url(), fastPace))

	// A failover away from the primary, queries of every type, and answers
	// while all of api.example.org's endpoints are down.
	s.waitAnswer(t, "www.example.org.", []string{"192.0.2.10"}, 5*time.Second)
	primary.failed.Store(true)
	s.waitAnswer(t, "www.example.org.", []string{"192.0.2.20"}, 5*time.Second)
	for _, q := range []uint16{dns.TypeAAAA, dns.TypeMX} {
		s.mustAsk(t, "udp", "www.example.org.", q)
	}
	for range 3 { // observe_only answers the failed primary, and counts the backup it would have
		if got := addresses(s.mustAsk(t, "udp", "observed.example.org.", dns.TypeA)); !slices.Equal(got, []string{"192.0.2.50"}) {
			t.Fatalf("Expected observe_only to answer as if all were up, got %v", got)
		}
	}
	if got := addresses(s.mustAsk(t, "udp", "app.example.org.", dns.TypeA)); len(got) != 2 {
		t.Fatalf("Expected both endpoints of app.example.org., got %v", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.mustAsk(t, "udp", "api.example.org.", dns.TypeA).Rcode != dns.RcodeServerFailure {
		if time.Now().After(deadline) {
			t.Fatal("Expected SERVFAIL for api.example.org. once its only endpoint is down, within 5s")
		}
		time.Sleep(50 * time.Millisecond) // the query rate of the poll, not a wait for an event
	}

	{
		// A drain, so that the override and drain gauges exist, and an
		// Alertmanager alert holding down the endpoint that is down anyway,
		// for the signal gauge (exported only while an alert fires).
		apiCall(t, http.MethodPut, "http://"+apiAddr+"/v1/names/app.example.org./endpoints/203.0.113.2/override",
			`{"state":"drain","reason":"deploy"}`)
		apiCall(t, http.MethodPost, "http://"+apiAddr+"/v1/alertmanager", fmt.Sprintf(`{"version":"4","status":"firing","alerts":[
			{"status":"firing","labels":{"alertname":"BackendDown","failover_name":"api.example.org.","failover_endpoint":"198.51.100.10"},"startsAt":%q}]}`,
			time.Now().UTC().Format(time.RFC3339)))
	}

	promAddr := startPrometheus(t, bin, metricsAddr)

	type query struct{ title, expr string }
	var pending []query
	for _, p := range panels {
		for _, tg := range p.Targets {
			pending = append(pending, query{p.Title, dashboardExpr.Replace(tg.Expr)})
		}
	}
	if len(pending) == 0 {
		t.Fatal("Expected the dashboard to have queries")
	}

	// Every query is asked again until it has data, or the deadline passes.
	last := map[query]string{}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	deadline = time.Now().Add(60 * time.Second)
	for len(pending) > 0 && time.Now().Before(deadline) {
		pending = slices.DeleteFunc(pending, func(q query) bool {
			n, msg := promQuery(t, promAddr, q.expr)
			last[q] = msg
			return n > 0
		})
		if len(pending) > 0 {
			<-tick.C
		}
	}
	for _, q := range pending {
		t.Errorf("Panel %q: %s returned no data within 60s (last: %s)", q.title, q.expr, last[q])
	}
}

// startPrometheus runs Prometheus scraping target every second, waits until
// it is ready and returns its address. It is killed when the test ends.
func startPrometheus(t *testing.T, bin, target string) string {
	t.Helper()
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: coredns
    static_configs:
      - targets: [%q]
`, target)), 0o644); err != nil {
		t.Fatal(err)
	}
	// Prometheus cannot report the port it was given for :0, so it gets one
	// that was free a moment ago.
	addr := closedPort(t)
	cmd := exec.Command(bin,
		"--config.file="+config,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
	)
	startDaemon(t, "prometheus", dir, addr, cmd)
	return addr
}

// promQuery runs an instant query and returns how many series it returned,
// and what to say about it. A query Prometheus rejects fails the test.
func promQuery(t *testing.T, addr, expr string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/v1/query?query="+url.QueryEscape(expr), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err.Error()
	}
	var r struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, fmt.Sprintf("HTTP %d: %s", resp.StatusCode, tailOf(string(body), 200))
	}
	if r.ErrorType == "bad_data" {
		t.Fatalf("Prometheus rejects %s: %s", expr, r.Error)
	}
	if r.Status != "success" {
		return 0, fmt.Sprintf("%s: %s", r.ErrorType, r.Error)
	}
	return len(r.Data.Result), "an empty result"
}

// apiCall sends body to the operator API and fails the test unless it succeeds.
func apiCall(t *testing.T, method, u, body string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("Expected %s %s to be answered, got %v", method, u, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("Expected %s %s to succeed, got %s: %s", method, u, resp.Status, out)
	}
}

// tailOf is the last n bytes of s.
func tailOf(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
