package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/failover-dns/failover/plugin/api/browsertest"
)

// pageServer serves the status page of names the test changes as it goes,
// and notes every path the browser asks for.
type pageServer struct {
	mu    sync.Mutex
	names []Name
	paths map[string]int
}

func (s *pageServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paths[r.URL.Path]++
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := renderPage(w, s.names, time.Now()); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func (s *pageServer) change(f func(names []Name)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.names)
}

// failOverDB takes db.example.org.'s primary down, as the probes would.
func failOverDB(names []Name) {
	now := time.Now()
	for i := range names {
		n := &names[i]
		if n.Name != "db.example.org." {
			continue
		}
		n.FailedOver = true
		n.Answer = Answer{A: []string{"192.0.2.21"}}
		primary, standby := &n.Endpoints[0], &n.Endpoints[1]
		primary.State, primary.Serving, primary.Since = "down", false, &now
		primary.LastProbe = &Probe{At: now, Result: "refused", Error: "connection refused", DurationSeconds: 0.0004}
		primary.Streak = &Streak{Result: "failure", Count: 3}
		primary.History = append(primary.History, Change{At: now, From: "up", To: "down", Reason: "3 failed probes: connection refused"})
		standby.Serving = true
	}
}

// refresh is the page's refresh period and the margin a loaded machine needs.
const refresh = 2*time.Second + 3*time.Second

func TestBrowserStatusPage(t *testing.T) {
	browser := browsertest.Start(t, 1280, 720)
	console := browsertest.Watch(t, browser)
	srv := &pageServer{names: sampleNames(time.Now()), paths: map[string]int{}}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	pg := browsertest.Open(t, browser, ts.URL, 20*time.Second)
	run, text := pg.Do, pg.Text

	run("Loading the page", chromedp.Navigate(ts.URL))
	run("Waiting for the page", chromedp.WaitVisible(chromedp.CSS("main#status section")))
	for _, n := range sampleNames(time.Now()) {
		run("Looking for "+n.Name, chromedp.WaitVisible(chromedp.CSS(`section[data-name="`+n.Name+`"]`)))
	}
	if got := text(`section[data-name="www.example.org."] tr[data-endpoint="192.0.2.10"] td.addr`); !strings.HasPrefix(got, "192.0.2.10 down") {
		t.Errorf("Expected the down endpoint to read \"192.0.2.10 down\", got %q", got)
	}
	if got := text(`section[data-name="mail.example.org."] tr[data-endpoint="198.51.100.1"]`); !strings.Contains(got, "override: drain") || !strings.Contains(got, hostileReason) {
		t.Errorf("Expected the drain and its reason as text, got %q", got)
	}

	// Refreshing must neither reload the document nor move the view.
	y, err := chromedp.Run(pg.Context(), chromedp.Evaluate[float64](`window.pageMarker = "kept"; window.scrollTo(0, 120); window.scrollY`))
	if err != nil || y != 120 {
		t.Fatalf("Expected the page taller than the window, so it scrolls to 120, got %v, %v", y, err)
	}

	srv.change(failOverDB)
	waitCtx, cancelWait := context.WithTimeout(pg.Context(), refresh)
	defer cancelWait()
	for _, sel := range []string{
		`section[data-name="db.example.org."][data-failed-over="true"]`,
		`section[data-name="db.example.org."] tr[data-endpoint="192.0.2.20"][data-state="down"]`,
	} {
		if err := chromedp.Do(waitCtx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
			t.Fatalf("Expected %s within %v of the change, without a reload: %v", sel, refresh, err)
		}
	}
	if got := text(`section[data-name="db.example.org."] tr[data-endpoint="192.0.2.20"] td.addr`); !strings.HasPrefix(got, "192.0.2.20 down") {
		t.Errorf("Expected the refreshed row to read \"192.0.2.20 down\", got %q", got)
	}
	if got := text(`section[data-name="db.example.org."] h2`); !strings.Contains(got, "FAILED OVER") {
		t.Errorf("Expected FAILED OVER on db.example.org., got %q", got)
	}
	if got := text(`.summary`); !strings.Contains(got, "2 failed over") || !strings.Contains(got, "2 of 9 endpoints down") {
		t.Errorf("Expected the summary to count the change, got %q", got)
	}
	state, err := chromedp.Run(pg.Context(), chromedp.Evaluate[[]any](`[window.pageMarker, window.scrollY]`))
	if err != nil || len(state) != 2 || state[0] != "kept" || state[1] != 120.0 {
		t.Errorf("Expected the same document at the same scroll position after a refresh, got %v, %v", state, err)
	}

	if path := os.Getenv("FAILOVER_SCREENSHOT"); path != "" {
		run("Scrolling back", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
		png, err := chromedp.Run(pg.Context(), chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("Screenshot: %v", err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("Screenshot in %s", path)
	}

	if errs := console.List(); len(errs) > 0 {
		t.Errorf("Expected a quiet console, got:\n%s", strings.Join(errs, "\n"))
	}
	srv.mu.Lock()
	if len(srv.paths) != 1 || srv.paths["/"] < 2 {
		t.Errorf("Expected the browser to ask for / only, and more than once, got %v", srv.paths)
	}
	srv.mu.Unlock()
	if outside := pg.Outside(); len(outside) > 0 {
		t.Errorf("Expected no request outside the page, got %v", outside)
	}

	// A lost server shows as a banner, and the page keeps its last content.
	seen := len(console.List())
	ts.Close()
	waitCtx, cancelWait = context.WithTimeout(pg.Context(), refresh)
	defer cancelWait()
	if err := chromedp.Do(waitCtx, chromedp.WaitVisible(chromedp.CSS("#stale"))); err != nil {
		t.Fatalf("Expected the stale banner within %v of losing the server: %v", refresh, err)
	}
	if got := text("#stale"); !regexp.MustCompile(`^stale since \d\d:\d\d:\d\d UTC — cannot reach the server$`).MatchString(got) {
		t.Errorf("Expected the banner to say since when the page is stale, got %q", got)
	}
	if got := text(`section[data-name="db.example.org."] h2`); !strings.Contains(got, "FAILED OVER") {
		t.Errorf("Expected the last content kept under the banner, got %q", got)
	}
	// The browser logs each refused fetch itself; the page must add nothing.
	for _, e := range console.List()[seen:] {
		if !strings.HasPrefix(e, "log network: ") {
			t.Errorf("Expected no error from the page without its server, got %s", e)
		}
	}
}
