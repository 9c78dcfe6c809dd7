// Package browsertest drives a real headless Chromium for the status page's
// tests: the browser the page's users have, as Debian packages it.
package browsertest

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Chromium is where CI installs the browser (Debian package chromium).
const Chromium = "/usr/bin/chromium"

// Start runs a headless Chromium that lives as long as t and returns its
// context. A missing browser fails the test: skipping would let CI pass
// without ever loading the page.
func Start(t *testing.T, width, height int) context.Context {
	t.Helper()
	if _, err := os.Stat(Chromium); err != nil {
		t.Fatalf("Browser tests need Chromium at %s (apt-get install chromium): %v", Chromium, err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(Chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
		// Chromium calls home in the background unless told not to, and
		// nothing but loopback is reachable where the tests run.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first action ties the browser to this context, so that the
	// timeouts of later actions end those actions only.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("Cannot start %s: %v", Chromium, err)
	}
	return ctx
}

// Errors is what a person with the developer tools open would see as an
// error: console.error calls, uncaught exceptions, error entries of the
// browser's log (where a Content-Security-Policy violation goes) and
// dialogs, which only injected script would open.
type Errors struct {
	mu   sync.Mutex
	list []string
}

// Watch collects the errors of the browser of ctx from now on.
func Watch(t *testing.T, ctx context.Context) *Errors {
	t.Helper()
	e := &Errors{}
	err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var args []string
				for _, a := range ev.Args {
					args = append(args, a.Description+string(a.Value))
				}
				msg = "console.error: " + strings.Join(args, " ")
			}
		case *runtime.EventExceptionThrown:
			msg = "uncaught exception: " + ev.ExceptionDetails.Text
			if x := ev.ExceptionDetails.Exception; x != nil {
				msg += " " + x.Description
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				msg = "log " + string(ev.Entry.Source) + ": " + ev.Entry.Text + " " + ev.Entry.URL
			}
		case *page.EventJavascriptDialogOpening:
			msg = "dialog: " + ev.Message
			// A dialog blocks the page; it is closed from outside the event loop.
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{})
		}
		if msg != "" {
			e.mu.Lock()
			e.list = append(e.list, msg)
			e.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("Cannot listen to the console: %v", err)
	}
	return e
}

// List is every error so far.
func (e *Errors) List() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.list)
}
