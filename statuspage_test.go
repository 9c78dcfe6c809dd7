package failover

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/failover-dns/failover/plugin/api"
	"github.com/failover-dns/failover/plugin/api/browsertest"
)

// awaitEndpoints polls the API until every endpoint of every name is in a
// state ok accepts.
func awaitEndpoints(t *testing.T, c apiClient, names []string, ok func(api.Endpoint) bool, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		all := true
		for _, n := range names {
			for _, ep := range c.name(t, n).Endpoints {
				all = all && ok(ep)
			}
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Expected the endpoints of %v to settle within %s", names, within)
		}
		time.Sleep(50 * time.Millisecond) // the poll's pace, not a wait for an event
	}
}

// pageRefresh is the page's refresh period.
const pageRefresh = 2 * time.Second

// TestStatusPageOfARunningServer loads the status page of a real server, with
// real probes, in a real browser, and follows a failover and a drain on it
// without reloading.
func TestStatusPageOfARunningServer(t *testing.T) {
	browser := browsertest.Start(t, 1280, 800)
	errs := browsertest.Watch(t, browser)

	primary, backup, spare := newHealthBackend(t, nil), newHealthBackend(t, nil), newHealthBackend(t, nil)
	apiAddr := closedPort(t)
	// Check URLs as long as real ones get, to see how the page lays them out.
	primaryCheck := primary.url() + "?service=www-frontend&region=eu-central-1&deep=true"
	backupCheck := backup.url() + "?service=www-frontend&region=eu-west-1&deep=true"
	s := startServer(t, fmt.Sprintf(`example.org:0 {
	bind 127.0.0.1
	failover {
		api %s
	}
	failover www.example.org {
		endpoint 192.0.2.10 priority 1 check %s
		endpoint 192.0.2.20 priority 2 check %s
		%s
	}
	failover pool.example.org {
		policy active-active
		endpoint 192.0.2.30 check %s
		endpoint 192.0.2.31 check tcp://127.0.0.1:%s
		%s
	}
	failover static.example.org {
		endpoint 192.0.2.40
		endpoint 2001:db8::40
	}
}`, apiAddr, primaryCheck, backupCheck, fastPace, backup.url(), spare.port(), fastPace))
	c := apiClient{base: "http://" + apiAddr}
	names := []string{"pool.example.org.", "static.example.org.", "www.example.org."}
	var st api.Status
	c.ok(t, http.MethodGet, "/v1/status", "", &st)
	if !slices.Equal(st.Names, names) {
		t.Fatalf("Expected the API to list %v, got %v", names, st.Names)
	}
	awaitEndpoints(t, c, names, func(ep api.Endpoint) bool { return ep.State == "up" }, 5*time.Second)
	s.waitAnswer(t, "www.example.org.", []string{"192.0.2.10"}, 5*time.Second)

	pg := browsertest.Open(t, browser, c.base, 25*time.Second)
	run, text := pg.Do, pg.Text
	row := func(name, address string) string {
		return fmt.Sprintf(`section[data-name=%q] tr[data-endpoint=%q]`, name, address)
	}

	resp, err := chromedp.Run(pg.Context(), chromedp.NavigateResponse(c.base+"/"))
	if err != nil {
		t.Fatalf("Loading %s/: %v", c.base, err)
	}
	if resp.Status != http.StatusOK || !strings.Contains(fmt.Sprint(resp.Headers["Content-Security-Policy"]), "default-src 'none'") {
		t.Errorf("Expected the page with its Content-Security-Policy, got %d with headers %v", resp.Status, resp.Headers)
	}
	run("Waiting for the page", chromedp.WaitVisible(chromedp.CSS("main#status section")))

	// Every name the API lists, in its order, each with the rows of its endpoints.
	shown, err := chromedp.Run(pg.Context(), chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("section[data-name]"), s => s.dataset.name)`))
	if err != nil || !slices.Equal(shown, names) {
		t.Fatalf("Expected the page to show %v, got %v (%v)", names, shown, err)
	}
	for _, name := range names {
		n := c.name(t, name)
		rows, err := chromedp.Run(pg.Context(), chromedp.Evaluate[[]string](fmt.Sprintf(
			`Array.from(document.querySelectorAll('section[data-name=%q] tr[data-endpoint]'), r => r.dataset.endpoint + " " + r.dataset.state)`, name)))
		var want []string
		for _, ep := range n.Endpoints {
			want = append(want, ep.Address+" "+ep.State)
		}
		if err != nil || !slices.Equal(rows, want) {
			t.Errorf("Expected %s's rows to be %v, got %v (%v)", name, want, rows, err)
		}
		for _, ep := range n.Endpoints {
			if got := text(row(name, ep.Address) + " td.addr"); !strings.HasPrefix(got, ep.Address+" up") {
				t.Errorf("Expected the row of %s in %s to read %q, got %q", ep.Address, name, ep.Address+" up", got)
			}
		}
	}
	if got := text(row("www.example.org.", "192.0.2.10")); !strings.Contains(got, primaryCheck) || !strings.Contains(got, "success") {
		t.Errorf("Expected the primary's row to show its check and a successful probe, got %q", got)
	}
	if got := text(row("static.example.org.", "192.0.2.40")); !strings.Contains(got, "no check") {
		t.Errorf("Expected the static endpoint to say it has no check, got %q", got)
	}
	if got := text(".summary"); !strings.HasPrefix(got, "3 names · 0 failed over · 0 of 6 endpoints down · 0 overrides") {
		t.Errorf("Expected a calm summary, got %q", got)
	}
	run("Marking the document", chromedp.Evaluate[chromedp.Void](`window.pageMarker = "kept"`))

	// The primary's backend fails: the page follows on its own.
	failed := time.Now()
	primary.failed.Store(true)
	// Death is seen in interval + (fall-1) x fast_interval plus a timeout at
	// most; the page shows it at its next refresh; a loaded machine needs a margin.
	within := 300*time.Millisecond + 100*time.Millisecond + 250*time.Millisecond + pageRefresh + 3*time.Second
	waitCtx, cancelWait := context.WithTimeout(pg.Context(), within)
	defer cancelWait()
	for _, sel := range []string{
		`section[data-name="www.example.org."][data-failed-over="true"]`,
		row("www.example.org.", "192.0.2.10") + `[data-state="down"]`,
	} {
		if err := chromedp.Do(waitCtx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
			t.Fatalf("Expected %s within %s of the backend failing, without a reload: %v", sel, within, err)
		}
	}
	t.Logf("backend failed to page showing it: %s", time.Since(failed).Round(time.Millisecond))
	if got := text(`section[data-name="www.example.org."] h2`); !strings.Contains(got, "FAILED OVER") {
		t.Errorf("Expected FAILED OVER on www.example.org., got %q", got)
	}
	if got := text(`section[data-name="www.example.org."] .answer`); got != "answer A 192.0.2.20" {
		t.Errorf("Expected the answer to be the backup, got %q", got)
	}
	if got := text(row("www.example.org.", "192.0.2.10")); !strings.HasPrefix(got, "192.0.2.10 down") || !strings.Contains(got, "HTTP status 503") || !strings.Contains(got, "up→down") {
		t.Errorf("Expected the primary's row to read down, with the probe's error and the transition, got %q", got)
	}
	if got := text(".summary"); !strings.HasPrefix(got, "3 names · 1 failed over www.example.org. · 1 of 6 endpoints down") {
		t.Errorf("Expected the summary to count the failover, got %q", got)
	}
	if title, err := chromedp.Run(pg.Context(), chromedp.Title()); err != nil || !strings.HasPrefix(title, "1 failed over · 1 down") {
		t.Errorf("Expected the title to tell of the failover, got %q (%v)", title, err)
	}

	// A drain through the API shows at the next refresh.
	drained := time.Now()
	c.ok(t, http.MethodPut, "/v1/names/pool.example.org/endpoints/192.0.2.31/override", `{"state":"drain","reason":"deploy 42"}`, nil)
	waitCtx, cancelWait = context.WithTimeout(pg.Context(), pageRefresh+3*time.Second)
	defer cancelWait()
	if _, err := chromedp.Run(waitCtx, chromedp.Poll[bool](fmt.Sprintf(
		`(document.querySelector('%s') || {textContent: ""}).textContent.includes("override: drain")`, row("pool.example.org.", "192.0.2.31")),
		chromedp.WithPollingMutation())); err != nil {
		t.Fatalf("Expected the drain on the page within %s of the PUT: %v", pageRefresh+3*time.Second, err)
	}
	t.Logf("drain PUT to page showing it: %s", time.Since(drained).Round(time.Millisecond))
	if got := text(row("pool.example.org.", "192.0.2.31")); !strings.Contains(got, "override: drain deploy 42") || !strings.Contains(got, "safe ") ||
		!strings.Contains(got, "192.0.2.31 up") || !strings.Contains(got, " no ") {
		t.Errorf("Expected the drained row to show the drain, its reason and safe time, the probe's up and not serving, got %q", got)
	}
	if got := text(".summary"); !strings.Contains(got, "1 override") {
		t.Errorf("Expected the summary to count the override, got %q", got)
	}
	marker, err := chromedp.Run(pg.Context(), chromedp.Evaluate[string](`window.pageMarker`))
	if err != nil || marker != "kept" {
		t.Errorf("Expected the same document throughout, without a reload, got %q (%v)", marker, err)
	}

	if path := os.Getenv("FAILOVER_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(pg.Context(), chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("Screenshot: %v", err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("Screenshot in %s", path)
	}

	if e := errs.List(); len(e) > 0 {
		t.Errorf("Expected a quiet console, got:\n%s", strings.Join(e, "\n"))
	}
	if outside := pg.Outside(); len(outside) > 0 {
		t.Errorf("Expected no request beyond the API, got %v", outside)
	}

	// The quiet console means something only if a violation of the policy
	// would have been heard: an image from elsewhere is one.
	seen := len(errs.List())
	run("Breaking the policy", chromedp.Evaluate[chromedp.Void](`document.body.appendChild(Object.assign(document.createElement("img"), {src: "http://127.0.0.1:9/x.png"}))`))
	deadline := time.Now().Add(5 * time.Second)
	for !slices.ContainsFunc(errs.List()[seen:], func(e string) bool { return strings.Contains(e, "Content Security Policy") }) {
		if time.Now().After(deadline) {
			t.Fatalf("Expected a CSP violation to reach the console, got %v", errs.List()[seen:])
		}
		time.Sleep(20 * time.Millisecond) // the poll's pace, not a wait for an event
	}
}
