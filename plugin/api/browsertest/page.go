package browsertest

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Page runs a test's actions in the browser, each within the page's deadline.
type Page struct {
	t       *testing.T
	ctx     context.Context
	mu      sync.Mutex
	outside []string
}

// Open gives the browser of ctx a deadline of within for the whole test,
// and notes every request it makes anywhere but base (data: URLs aside): a
// self-contained page makes none.
func Open(t *testing.T, browser context.Context, base string, within time.Duration) *Page {
	t.Helper()
	ctx, cancel := context.WithTimeout(browser, within)
	t.Cleanup(cancel)
	p := &Page{t: t, ctx: ctx}
	if err := chromedp.Listen(browser, func(ev any) {
		if ev, ok := ev.(*network.EventRequestWillBeSent); ok && !strings.HasPrefix(ev.Request.URL, base+"/") && !strings.HasPrefix(ev.Request.URL, "data:") {
			p.mu.Lock()
			p.outside = append(p.outside, ev.Request.URL)
			p.mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	return p
}

// Context is the page's context, for actions that return a value.
func (p *Page) Context() context.Context { return p.ctx }

// Do runs a, failing the test with what it was for.
func (p *Page) Do(what string, a chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, a); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// Text is the text of the element sel, its spaces folded.
func (p *Page) Text(sel string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("Reading %s: %v", sel, err)
	}
	return strings.Join(strings.Fields(s), " ")
}

// Outside lists the requests made anywhere but the page's base.
func (p *Page) Outside() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.outside)
}
