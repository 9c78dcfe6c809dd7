package api

import (
	"bytes"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// Operators and Alertmanager write these; the page must show them as text.
const (
	hostileReason = `<script>alert(1)</script>`
	hostileAlert  = `"><img src=x onerror=alert(2)>`
)

// sampleNames is a server as an on-call engineer may find it: one name failed
// over, endpoints up, down and unknown, a drain, a firing alert and history.
func sampleNames(now time.Time) []Name {
	t := func(d time.Duration) time.Time { return now.Add(d) }
	p := func(d time.Duration) *time.Time { v := t(d); return &v }
	return []Name{{
		Name: "api.example.org.", Policy: "active-active", TTL: 30,
		Answer: Answer{A: []string{"203.0.113.1", "203.0.113.2"}},
		Endpoints: []Endpoint{
			{Address: "203.0.113.1", State: "up", Serving: true, Check: "https://203.0.113.1/healthz", Priority: 1, Weight: 1,
				LastProbe: &Probe{At: t(-2 * time.Second), Result: "success", DurationSeconds: 0.0123},
				Streak:    &Streak{Result: "success", Count: 120}, Since: p(-3 * time.Hour)},
			{Address: "203.0.113.2", State: "up", Serving: true, Check: "https://203.0.113.2/healthz", Priority: 1, Weight: 1,
				LastProbe: &Probe{At: t(-1 * time.Second), Result: "success", DurationSeconds: 0.0041},
				Streak:    &Streak{Result: "success", Count: 98}, Since: p(-3 * time.Hour)},
		},
	}, {
		Name: "db.example.org.", Policy: "active-passive", TTL: 60,
		Answer: Answer{A: []string{"192.0.2.20"}},
		Endpoints: []Endpoint{
			{Address: "192.0.2.20", State: "up", Serving: true, Check: "http://192.0.2.20:8080/ready", Priority: 1, Weight: 1,
				LastProbe: &Probe{At: t(-1 * time.Second), Result: "success", DurationSeconds: 0.0021},
				Streak:    &Streak{Result: "success", Count: 40}, Since: p(-26 * time.Hour)},
			{Address: "192.0.2.21", State: "up", Check: "http://192.0.2.21:8080/ready", Priority: 2, Weight: 1,
				LastProbe: &Probe{At: t(-3 * time.Second), Result: "success", DurationSeconds: 0.0019},
				Streak:    &Streak{Result: "success", Count: 40}, Since: p(-26 * time.Hour)},
		},
	}, {
		Name: "mail.example.org.", Policy: "weighted", TTL: 30,
		TemporaryTTL: &TTL{Name: "mail.example.org.", TTL: 30, NormalTTL: 300,
			SetAt: t(-time.Minute), Until: t(29 * time.Minute), CutoverReadyAt: t(4 * time.Minute)},
		Answer: Answer{A: []string{"198.51.100.2"}, AAAA: []string{"2001:db8::5"}},
		Endpoints: []Endpoint{
			{Address: "198.51.100.1", State: "up", Check: "https://mx1.example.org/health", Priority: 1, Weight: 70,
				Override: &Override{Name: "*", Address: "198.51.100.1", State: "drain", Reason: "kernel upgrade " + hostileReason,
					SetAt: t(-90 * time.Second), DrainedAt: p(-90 * time.Second), SafeAt: p(210 * time.Second)},
				LastProbe: &Probe{At: t(-2 * time.Second), Result: "success", DurationSeconds: 0.031},
				Streak:    &Streak{Result: "success", Count: 12}, Since: p(-50 * time.Hour)},
			{Address: "198.51.100.2", State: "up", Serving: true, Check: "https://mx2.example.org/health", Priority: 1, Weight: 30,
				LastProbe: &Probe{At: t(-2 * time.Second), Result: "success", DurationSeconds: 0.028},
				Streak:    &Streak{Result: "success", Count: 12}, Since: p(-50 * time.Hour)},
			{Address: "2001:db8::5", State: "unknown", Serving: true, Check: "none", Priority: 1, Weight: 10},
		},
	}, {
		Name: "www.example.org.", Policy: "active-passive", TTL: 60, FailedOver: true,
		Answer: Answer{A: []string{"192.0.2.11"}},
		Endpoints: []Endpoint{
			{Address: "192.0.2.10", State: "down", Check: "https://192.0.2.10/healthz", Priority: 1, Weight: 1,
				Signals:   []Signal{{Alert: "HighErrorRate" + hostileAlert, Since: t(-4 * time.Minute), Labels: `{alertname="HighErrorRate"}`}},
				LastProbe: &Probe{At: t(-1 * time.Second), Result: "timeout", Error: "timeout after 2s", DurationSeconds: 2.0013},
				Streak:    &Streak{Result: "failure", Count: 3}, Since: p(-4 * time.Minute),
				History: []Change{
					{At: t(-30 * time.Hour), From: "unknown", To: "up", Reason: "first probe succeeded"},
					{At: t(-20 * time.Minute), From: "up", To: "down", Reason: "3 failed probes: status 503"},
					{At: t(-15 * time.Minute), From: "down", To: "up", Reason: "2 successful probes"},
					{At: t(-4 * time.Minute), From: "up", To: "down", Reason: "alert HighErrorRate firing"},
				}},
			{Address: "192.0.2.11", State: "up", Serving: true, Check: "https://192.0.2.11/healthz", Priority: 2, Weight: 1,
				LastProbe: &Probe{At: t(-1 * time.Second), Result: "success", DurationSeconds: 0.015},
				Streak:    &Streak{Result: "success", Count: 400}, Since: p(-30 * time.Hour)},
		},
	}}
}

var sampleNow = time.Date(2026, 3, 14, 12, 30, 15, 0, time.UTC)

// render renders the sample page and parses it as a browser would.
func render(t *testing.T, names []Name) (string, *html.Node) {
	t.Helper()
	var b bytes.Buffer
	if err := renderPage(&b, names, sampleNow); err != nil {
		t.Fatalf("renderPage: %v", err)
	}
	doc, err := html.Parse(strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("The page does not parse: %v", err)
	}
	return b.String(), doc
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// find returns the elements below n for which match holds, in document order.
func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && match(c) {
			out = append(out, c)
		}
	}
	return out
}

func withAttr(key, val string) func(*html.Node) bool {
	return func(n *html.Node) bool { v, ok := attr(n, key); return ok && v == val }
}

// text is what a reader sees of n: its text with runs of space made one.
func text(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func one(t *testing.T, n *html.Node, what string, match func(*html.Node) bool) *html.Node {
	t.Helper()
	got := find(n, match)
	if len(got) != 1 {
		t.Fatalf("Expected one %s, found %d", what, len(got))
	}
	return got[0]
}

func TestPageShowsEveryName(t *testing.T) {
	names := sampleNames(sampleNow)
	_, doc := render(t, names)
	sections := find(doc, func(n *html.Node) bool { _, ok := attr(n, "data-name"); return ok })
	if len(sections) != len(names) {
		t.Fatalf("Expected %d name sections, found %d", len(names), len(sections))
	}
	for i, n := range names {
		s := sections[i]
		if got, _ := attr(s, "data-name"); got != n.Name {
			t.Errorf("Expected section %d to be %s, in the order given, got %s", i, n.Name, got)
		}
		if got, _ := attr(s, "data-failed-over"); got != map[bool]string{true: "true", false: "false"}[n.FailedOver] {
			t.Errorf("Expected data-failed-over %v on %s, got %q", n.FailedOver, n.Name, got)
		}
		head := text(one(t, s, "heading in "+n.Name, func(n *html.Node) bool { return n.Data == "h2" }))
		if !strings.Contains(head, n.Name) || !strings.Contains(head, "policy "+n.Policy) {
			t.Errorf("Expected the heading to name %s and its policy %s, got %q", n.Name, n.Policy, head)
		}
		if strings.Contains(head, "FAILED OVER") != n.FailedOver {
			t.Errorf("Expected FAILED OVER in the heading of %s exactly when it failed over, got %q", n.Name, head)
		}
		for _, a := range append(append(n.Answer.A, n.Answer.AAAA...), n.Answer.CNAME...) {
			if !strings.Contains(text(s), a) {
				t.Errorf("Expected the answer of %s to show %s", n.Name, a)
			}
		}
	}
}

func TestPageWritesStateBesideAddress(t *testing.T) {
	names := sampleNames(sampleNow)
	_, doc := render(t, names)
	for _, n := range names {
		s := one(t, doc, "section "+n.Name, withAttr("data-name", n.Name))
		for _, e := range n.Endpoints {
			row := one(t, s, "row for "+e.Address, withAttr("data-endpoint", e.Address))
			if got, _ := attr(row, "data-state"); got != e.State {
				t.Errorf("Expected data-state %q on %s %s, got %q", e.State, n.Name, e.Address, got)
			}
			// The first cell reads "192.0.2.10 down": the word is beside the address.
			cell := one(t, row, "address cell", func(n *html.Node) bool { v, _ := attr(n, "class"); return v == "addr" })
			if got := text(cell); !strings.HasPrefix(got, e.Address+" "+e.State) {
				t.Errorf("Expected %q to start the row of %s, got %q", e.Address+" "+e.State, n.Name, got)
			}
		}
	}
}

func TestPageShowsOverrideSignalProbeAndHistory(t *testing.T) {
	_, doc := render(t, sampleNames(sampleNow))
	mail := one(t, doc, "mail section", withAttr("data-name", "mail.example.org."))
	drain := text(one(t, mail, "drained row", withAttr("data-endpoint", "198.51.100.1")))
	for _, want := range []string{"override: drain", "(every name)", "kernel upgrade", "set 12:28:45 (1m ago)", "drained 12:28:45", "safe 12:33:45 (in 3m)"} {
		if !strings.Contains(drain, want) {
			t.Errorf("Expected %q in the drained row, got %q", want, drain)
		}
	}
	head := text(one(t, mail, "heading", func(n *html.Node) bool { return n.Data == "h2" }))
	if !strings.Contains(head, "temporary ttl 30s (normal 300s)") || !strings.Contains(head, "cutover ready 12:34:15 (in 4m)") {
		t.Errorf("Expected the temporary TTL and its cutover time in %q", head)
	}
	unknown := text(one(t, mail, "unknown row", withAttr("data-endpoint", "2001:db8::5")))
	if !strings.Contains(unknown, "no check") {
		t.Errorf("Expected an endpoint without a check to say so, got %q", unknown)
	}

	www := one(t, doc, "www section", withAttr("data-name", "www.example.org."))
	down := text(one(t, www, "down row", withAttr("data-endpoint", "192.0.2.10")))
	for _, want := range []string{"alert: HighErrorRate", "timeout 2001 ms", "timeout after 2s", "3× failure", "since 12:26:15 (4m ago)",
		"12:26:15 up→down alert HighErrorRate firing", "12:15:15 down→up", "12:10:15 up→down"} {
		if !strings.Contains(down, want) {
			t.Errorf("Expected %q in the down row, got %q", want, down)
		}
	}
	if strings.Contains(down, "first probe succeeded") {
		t.Errorf("Expected only the %d latest transitions, got %q", recentChanges, down)
	}
	if !strings.Contains(down, "no") || !strings.Contains(down, "1 / 1") {
		t.Errorf("Expected serving no and priority / weight 1 / 1 in %q", down)
	}
	api := text(one(t, doc, "api row", withAttr("data-endpoint", "203.0.113.1")))
	if !strings.Contains(api, "success 12 ms") || !strings.Contains(api, "120× success") || !strings.Contains(api, "https://203.0.113.1/healthz") {
		t.Errorf("Expected the probe, streak and check of a healthy endpoint in %q", api)
	}
}

func TestPageSummary(t *testing.T) {
	_, doc := render(t, sampleNames(sampleNow))
	summary := text(one(t, doc, "summary", withAttr("class", "summary")))
	want := "4 names · 1 failed over www.example.org. · 1 of 9 endpoints down · 1 override · updated 12:30:15 UTC"
	if summary != want {
		t.Errorf("Expected the summary %q, got %q", want, summary)
	}
	// The failed-over names link to their sections, for a page with many names.
	link := one(t, doc, "link to www", func(n *html.Node) bool { return n.Data == "a" })
	if href, _ := attr(link, "href"); href != "#www.example.org." {
		t.Errorf("Expected the summary to link to the failed-over name, got %q", href)
	}
	one(t, doc, "target of the link", withAttr("id", "www.example.org."))
	title := text(one(t, doc, "title", func(n *html.Node) bool { return n.Data == "title" }))
	if title != "1 failed over · 1 down · failover status" {
		t.Errorf("Expected the tab's title to tell what is wrong, got %q", title)
	}
}

func TestPageTimesCarryRFC3339(t *testing.T) {
	_, doc := render(t, sampleNames(sampleNow))
	times := find(doc, func(n *html.Node) bool { return n.Data == "time" })
	if len(times) == 0 {
		t.Fatal("Expected times on the page")
	}
	for _, tm := range times {
		title, _ := attr(tm, "title")
		at, err := time.Parse(time.RFC3339, title)
		if err != nil {
			t.Errorf("Expected an RFC 3339 title on %q, got %q", text(tm), title)
			continue
		}
		if want := clock(sampleNow, at); text(tm) != want {
			t.Errorf("Expected %s shown as %q, got %q", title, want, text(tm))
		}
	}
	// A time on another day shows its date, so yesterday's event does not read as today's.
	if got := clock(sampleNow, sampleNow.Add(-30*time.Hour)); got != "2026-03-13 06:30:15" {
		t.Errorf("Expected a date on a time of another day, got %q", got)
	}
}

func TestPageEscapesOperatorText(t *testing.T) {
	raw, doc := render(t, sampleNames(sampleNow))
	if strings.Contains(raw, hostileReason) || strings.Contains(raw, "<img") {
		t.Error("Expected hostile text escaped, found it raw in the page")
	}
	if !strings.Contains(text(doc), hostileReason) || !strings.Contains(text(doc), hostileAlert) {
		t.Error("Expected hostile text shown as text")
	}
	if scripts := find(doc, func(n *html.Node) bool { return n.Data == "script" }); len(scripts) != 1 {
		t.Errorf("Expected the page's own script only, found %d scripts", len(scripts))
	}
	if imgs := find(doc, func(n *html.Node) bool { return n.Data == "img" }); len(imgs) != 0 {
		t.Errorf("Expected no img element, found %d", len(imgs))
	}
	for _, n := range find(doc, func(*html.Node) bool { return true }) {
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("Expected no event handler attribute, found %s=%q on <%s>", a.Key, a.Val, n.Data)
			}
		}
	}
}

// outside is a src or href attribute that points anywhere but this page.
var outside = regexp.MustCompile(`(?i)\b(?:src|href|action|srcset|poster)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//`)

func TestPageIsSelfContained(t *testing.T) {
	raw, doc := render(t, sampleNames(sampleNow))
	if m := outside.FindString(raw); m != "" {
		t.Errorf("Expected no outside URL in an attribute, found %q", m)
	}
	if strings.Contains(raw, "url(") || strings.Contains(raw, "@import") {
		t.Error("Expected no CSS that loads anything")
	}
	icon := one(t, doc, "icon", withAttr("rel", "icon"))
	if href, _ := attr(icon, "href"); href != "data:," {
		t.Errorf("Expected an inline icon, so the browser asks for no /favicon.ico, got %q", href)
	}
	for _, n := range find(doc, func(n *html.Node) bool { return n.Data == "script" || n.Data == "link" || n.Data == "img" }) {
		if src, ok := attr(n, "src"); ok {
			t.Errorf("Expected nothing loaded from elsewhere, found <%s src=%q>", n.Data, src)
		}
	}
	// The endpoints' check URLs are data shown as text, which the check above must allow.
	if !strings.Contains(text(doc), "https://mx1.example.org/health") {
		t.Error("Expected the check URLs shown as text")
	}
	if !strings.Contains(raw, `<noscript><meta http-equiv="refresh" content="5"></noscript>`) {
		t.Error("Expected a refresh without JavaScript")
	}
	main := one(t, doc, "main", withAttr("id", "status"))
	if main.Data != "main" {
		t.Errorf("Expected #status to be the <main> the script refreshes, got <%s>", main.Data)
	}
}

func TestPageWithoutNames(t *testing.T) {
	_, doc := render(t, nil)
	if got := text(doc); !strings.Contains(got, "0 names") || !strings.Contains(got, "No managed names.") {
		t.Errorf("Expected an empty page to say it has no names, got %q", got)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("gone") }

func TestPageReportsWriteError(t *testing.T) {
	if err := renderPage(failingWriter{}, sampleNames(sampleNow), sampleNow); err == nil {
		t.Error("Expected the writer's error")
	}
}

func TestAgo(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "now"}, {4 * time.Second, "4s ago"}, {-4 * time.Second, "in 4s"}, {3 * time.Minute, "3m ago"},
		{5 * time.Hour, "5h ago"}, {72 * time.Hour, "3d ago"}, {-90 * time.Minute, "in 1h"},
	} {
		if got := ago(sampleNow, sampleNow.Add(-c.d)); got != c.want {
			t.Errorf("Expected %v to read %q, got %q", c.d, c.want, got)
		}
	}
}

func TestURLParts(t *testing.T) {
	for _, c := range []struct {
		url  string
		want []string
	}{
		{"http://192.0.2.10:8080/health", []string{"http://192.0.2.10:8080", "/health"}},
		{"https://api.example.org/internal/ready?service=www-frontend&deep=1#x",
			[]string{"https://api.example.org", "/internal", "/ready", "?service=www-frontend", "&deep=1", "#x"}},
		{"tcp://[2001:db8::1]:443", []string{"tcp://[2001:db8::1]:443"}},
		{"http://", []string{"http://"}},
		{"odd", []string{"odd"}},
	} {
		got := urlParts(c.url)
		if !slices.Equal(got, c.want) {
			t.Errorf("Expected %q in parts %q, got %q", c.url, c.want, got)
		}
		if strings.Join(got, "") != c.url {
			t.Errorf("Expected the parts of %q to join to it, got %q", c.url, strings.Join(got, ""))
		}
	}
}

func TestPageShowsPendingFailback(t *testing.T) {
	names := sampleNames(sampleNow)
	www := &names[len(names)-1]
	www.FailbackPending = &FailbackPending{Since: sampleNow.Add(-2 * time.Minute), Reason: "primary down " + hostileReason}
	raw, doc := render(t, names)
	card := one(t, doc, "www section", withAttr("data-name", "www.example.org."))
	line := one(t, card, "pending failback", withAttr("class", "failback"))
	want := "failback pending since 12:28:15 — POST /v1/names/www.example.org/failback (failed over: primary down " + hostileReason + ")"
	if got := text(line); got != want {
		t.Errorf("Expected %q on the card, got %q", want, got)
	}
	tm := one(t, line, "time", func(n *html.Node) bool { return n.Data == "time" })
	if title, _ := attr(tm, "title"); title != "2026-03-14T12:28:15Z" {
		t.Errorf("Expected the time titled in RFC 3339, got %q", title)
	}
	if strings.Contains(raw, hostileReason) {
		t.Error("Expected the reason escaped, found it raw in the page")
	}
	if got := find(doc, withAttr("class", "failback")); len(got) != 1 {
		t.Errorf("Expected the line on the held name's card only, found %d", len(got))
	}

	www.FailbackPending.Reason = ""
	_, doc = render(t, names)
	if got := text(one(t, doc, "pending failback", withAttr("class", "failback"))); got != "failback pending since 12:28:15 — POST /v1/names/www.example.org/failback" {
		t.Errorf("Expected no reason shown without one, got %q", got)
	}
}

func TestPageShowsChecksRoundTripAndWeightInUse(t *testing.T) {
	names := sampleNames(sampleNow)
	www := &names[len(names)-1]
	ep := &www.Endpoints[0]
	rtt := 0.0123
	ep.RTT, ep.InUse, ep.Weight, ep.Problem = &rtt, 7, 1, ""
	ep.Checks = []Check{
		{Check: "http://192.0.2.10/health", State: "up"},
		{Check: "http://192.0.2.10/db", State: "down"},
	}
	_, doc := render(t, names)
	row := one(t, doc, "endpoint row", withAttr("data-endpoint", ep.Address))
	got := text(row)
	for _, want := range []string{"http://192.0.2.10/health up", "http://192.0.2.10/db down", "rtt 12 ms", "(now 7)"} {
		if !strings.Contains(got, want) {
			t.Errorf("Expected the row to show %q, got %q", want, got)
		}
	}
}
