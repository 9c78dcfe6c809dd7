package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a writer a test can await text in while failoverctl still runs.
type lockedBuffer struct {
	mu      sync.Mutex
	b       strings.Builder
	changed chan struct{}
}

func newLockedBuffer() *lockedBuffer { return &lockedBuffer{changed: make(chan struct{})} }

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.changed)
	l.changed = make(chan struct{})
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// await returns once text has been written, failing the test after 10 s.
func (l *lockedBuffer) await(t *testing.T, text string) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		ok, ch := strings.Contains(l.b.String(), text), l.changed
		l.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("%q never written; got:\n%s", text, l.String())
		}
	}
}

// start runs failoverctl against f in the background under ctx, for a test
// that acts while it waits.
func (f *fakeAPI) start(ctx context.Context, args ...string) (stdout, stderr *lockedBuffer, code <-chan int) {
	stdout, stderr = newLockedBuffer(), newLockedBuffer()
	done := make(chan int, 1)
	env := func(k string) string {
		if k == "FAILOVER_API" {
			return f.URL
		}
		return ""
	}
	go func() { done <- runContext(ctx, args, env, stdout, stderr) }()
	return stdout, stderr, done
}

func TestDrainWaitEndsWhenSafe(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		what  string
		args  []string
		where string
	}{
		{"one name", []string{"drain", "www.example.org", "192.0.2.10", "--wait", "--reason", "deploy"}, "www.example.org."},
		{"every name", []string{"drain", "--all", "192.0.2.10", "--wait"}, "*"},
	} {
		t.Run(c.what, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, wwwName(), apiName())
			f.settle = time.Second
			r := f.run(t, c.args...)
			r.want(t, exitOK)
			o, ok := f.override(c.where, "192.0.2.10")
			if !ok {
				t.Fatalf("no drain stored")
			}
			if now := time.Now(); now.Before(*o.SafeAt) {
				t.Errorf("returned %s before safe_at", o.SafeAt.Sub(now))
			}
			for _, want := range []string{"safe_at:", "waiting 1s, until " + stampAfter(*o.SafeAt) + ", for 192.0.2.10 to leave every cache\n", "done: no cache holds a record naming 192.0.2.10 any more\n"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
				}
			}
		})
	}
}

func TestDrainWaitFollowsMovedSafeAt(t *testing.T) {
	t.Parallel()
	f := newFake(t, wwwName())
	f.settle = time.Second
	stdout, _, code := f.start(t.Context(), "drain", "www.example.org", "192.0.2.10", "--wait")
	stdout.await(t, "waiting")
	later := time.Now().Add(1500 * time.Millisecond)
	f.moveSafeAt("www.example.org.", "192.0.2.10", later)
	if c := <-code; c != exitOK {
		t.Fatalf("exit code %d, want 0:\n%s", c, stdout)
	}
	if time.Now().Before(later) {
		t.Errorf("returned before the moved safe_at")
	}
	if !strings.Contains(stdout.String(), "moved: waiting ") {
		t.Errorf("the move is not told:\n%s", stdout)
	}
}

func TestWaitEndsWhenClearedMeanwhile(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		what, clear, stderr string
		args                []string
	}{
		{"drain", "clear", "failoverctl: the drain of 192.0.2.10 in www.example.org. was cleared\n",
			[]string{"drain", "www.example.org", "192.0.2.10", "--wait"}},
		{"drain overridden up", "up", "failoverctl: the override of 192.0.2.10 in www.example.org. changed to up\n",
			[]string{"drain", "www.example.org", "192.0.2.10", "--wait"}},
		{"ttl", "ttl", "failoverctl: the TTL of www.example.org. was restored\n",
			[]string{"ttl", "www.example.org", "30", "--for", "1h", "--wait"}},
	} {
		t.Run(c.what, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, wwwName())
			stdout, stderr, code := f.start(t.Context(), c.args...)
			stdout.await(t, "waiting")
			switch c.clear {
			case "clear":
				f.run(t, "clear", "www.example.org", "192.0.2.10").want(t, exitOK)
			case "up":
				f.run(t, "override", "www.example.org", "192.0.2.10", "up").want(t, exitOK)
			case "ttl":
				f.run(t, "ttl", "www.example.org", "--clear").want(t, exitOK)
			}
			if got := <-code; got != exitWait {
				t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", got, exitWait, stdout, stderr)
			}
			if stderr.String() != c.stderr {
				t.Errorf("stderr %q, want %q", stderr, c.stderr)
			}
		})
	}
}

func TestTTLWaitEndsAtCutover(t *testing.T) {
	t.Parallel()
	f := newFake(t, wwwName())
	f.settle = time.Second
	r := f.run(t, "ttl", "www.example.org.", "30", "--for", "30m", "--wait")
	r.want(t, exitOK)
	if !strings.Contains(r.stdout, "for every cache to hold www.example.org. at most 30s\n") || !strings.HasSuffix(r.stdout, "done: every cache holds www.example.org. at most 30s\n") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
}

func TestWaitInterrupted(t *testing.T) {
	t.Parallel()
	f := newFake(t, wwwName())
	f.settle = time.Hour
	ctx, cancel := context.WithCancel(t.Context())
	stdout, stderr, code := f.start(ctx, "drain", "www.example.org", "192.0.2.10", "--wait")
	stdout.await(t, "waiting 1h0m0s")
	cancel()
	if got := <-code; got != exitInterrupted {
		t.Fatalf("exit code %d, want %d", got, exitInterrupted)
	}
	if stderr.String() != "failoverctl: interrupted\n" {
		t.Errorf("stderr %q", stderr)
	}
}
