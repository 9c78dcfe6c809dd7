package control

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC)

func TestStateFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	b, bad, err := NewBook(path)
	if err != nil || len(bad) > 0 {
		t.Fatal(err, bad)
	}
	must(t, b.SetOverride(Key{"www.example.org.", "192.0.2.10"}, Override{State: Drain, Reason: `deploy "42" <now>`, SetAt: t0, SafeAt: t0.Add(time.Minute)}))
	must(t, b.SetOverride(Key{Every, "2001:db8::1"}, Override{State: Down, Reason: "rack 7", SetAt: t0}))
	must(t, b.SetTTL("www.example.org.", TTL{TTL: 30, Normal: 300, SetAt: t0, Until: t0.Add(100 * 365 * 24 * time.Hour), CutoverReadyAt: t0.Add(5 * time.Minute)}))
	data, _ := os.ReadFile(path)
	for _, want := range []string{
		`override www.example.org. 192.0.2.10 drain reason="deploy \"42\" <now>" set_at=2026-12-01T13:00:00Z safe_at=2026-12-01T13:01:00Z`,
		`override * 2001:db8::1 down reason="rack 7" set_at=2026-12-01T13:00:00Z`,
		`ttl www.example.org. 30 until=`,
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("state file lacks %q:\n%s", want, data)
		}
	}
	again, bad, err := NewBook(path)
	if err != nil || len(bad) > 0 {
		t.Fatal(err, bad)
	}
	o, every, ok := again.Snapshot().Override("www.example.org.", "2001:db8::1")
	if !ok || !every || o.State != Down || o.Reason != "rack 7" {
		t.Errorf("every-name override read back as %+v %v %v", o, every, ok)
	}
	o, _, _ = again.Snapshot().Override("www.example.org.", "192.0.2.10")
	if o.Reason != `deploy "42" <now>` || !o.SafeAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("drain read back as %+v", o)
	}
	if tt, ok := again.Snapshot().TTL("www.example.org.", t0); !ok || tt.TTL != 30 || tt.Normal != 300 {
		t.Errorf("ttl read back as %+v %v", tt, ok)
	}
}

func TestStateFileBadLinesAreReportedAndKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	os.WriteFile(path, []byte("override www.example.org 192.0.2.10 drian\nover the top\noverride WWW.example.org 192.0.2.11 down reason=\"ok\"\n"), 0o644)
	b, bad, err := NewBook(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 2 || !strings.Contains(bad[0].Error(), path+":1:") || !strings.Contains(bad[0].Error(), "allowed are up, down and drain") {
		t.Fatalf("bad lines reported as %v", bad)
	}
	if _, _, ok := b.Snapshot().Override("www.example.org.", "192.0.2.11"); !ok {
		t.Error("the good line was not applied")
	}
	must(t, b.SetOverride(Key{"www.example.org.", "192.0.2.12"}, Override{State: Up, SetAt: t0}))
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), invalidPrefix+"override www.example.org 192.0.2.10 drian") {
		t.Errorf("a bad line was lost by the next write:\n%s", data)
	}
	again, bad, _ := NewBook(path)
	if len(bad) != 0 || len(again.Snapshot().Overrides()) != 2 {
		t.Errorf("kept bad lines are read back as errors %v or lose overrides %v", bad, again.Snapshot().Overrides())
	}
}

func TestStateFileEditedByHandIsReread(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	b, _, err := NewBook(path)
	if err != nil {
		t.Fatal(err)
	}
	logged := make(chan string, 10)
	b.Logf = func(format string, args ...any) { logged <- fmt.Sprintf(format, args...) }
	changed := make(chan struct{}, 10)
	b.Subscribe(func() { changed <- struct{}{} })
	must(t, b.SetOverride(Key{"www.example.org.", "192.0.2.10"}, Override{State: Drain, SetAt: t0}))
	<-changed
	b.Watch(10 * time.Millisecond)
	defer b.Close()
	data, _ := os.ReadFile(path)
	edited := strings.Replace(string(data), "192.0.2.10 drain", "192.0.2.10 down", 1)
	os.WriteFile(path, []byte(edited), 0o644)
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("a hand edit was not re-read within 5 s")
	}
	if o, _, _ := b.Snapshot().Override("www.example.org.", "192.0.2.10"); o.State != Down {
		t.Errorf("after the edit the override is %v", o.State)
	}
	select {
	case line := <-logged:
		if want := "override: www.example.org. 192.0.2.10 down (), edited by hand in " + path; line != want {
			t.Errorf("Expected the edit logged override by override, %q first, got %q", want, line)
		}
	case <-time.After(5 * time.Second):
		t.Error("Expected the edit to be logged")
	}
}

func TestTemporaryTTLRunsOut(t *testing.T) {
	b, _, _ := NewBook("")
	changed := make(chan struct{}, 10)
	b.Subscribe(func() { changed <- struct{}{} })
	now := time.Now()
	must(t, b.SetTTL("www.example.org.", TTL{TTL: 5, Normal: 60, SetAt: now, Until: now.Add(50 * time.Millisecond)}))
	<-changed
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("the temporary TTL did not end")
	}
	if _, ok := b.Snapshot().TTL("www.example.org.", now); ok {
		t.Error("the temporary TTL is still there")
	}
}

func TestSignalsFireAndResolve(t *testing.T) {
	b, _, _ := NewBook("")
	k := Key{Every, "192.0.2.10"}
	b.Fire(k, Signal{Alert: "BackendDown", Key: "a", Since: t0})
	b.Fire(Key{"www.example.org.", "192.0.2.10"}, Signal{Alert: "Slow", Key: "b", Since: t0.Add(time.Second)})
	s := b.Snapshot()
	if !s.Signaled("www.example.org.", "192.0.2.10") || len(s.Signals("www.example.org.", "192.0.2.10")) != 2 || len(s.Signals("api.example.org.", "192.0.2.10")) != 1 {
		t.Fatalf("signals: %v", s.Signals("www.example.org.", "192.0.2.10"))
	}
	b.Resolve(k, "a")
	b.Resolve(Key{"www.example.org.", "192.0.2.10"}, "b")
	if b.Snapshot().Signaled("www.example.org.", "192.0.2.10") {
		t.Error("resolved alerts still hold the endpoint down")
	}
}

func TestSaveIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	b, _, _ := NewBook(path)
	for i := range 20 {
		must(t, b.SetOverride(Key{"www.example.org.", "192.0.2.10"}, Override{State: State(i%3 + 1), SetAt: t0}))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if err := os.Chmod(dir, 0o500); err == nil && os.Getuid() != 0 {
		defer os.Chmod(dir, 0o700)
		if err := b.SetOverride(Key{"x.", "192.0.2.1"}, Override{State: Up}); err == nil {
			t.Error("a failed write was reported as done")
		}
		if _, _, ok := b.Snapshot().Override("x.", "192.0.2.1"); ok {
			t.Error("a change that could not be written was published")
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
