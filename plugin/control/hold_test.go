package control

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const holdReason = `primary 192.0.2.10 down: HTTP status 503 "Service Unavailable"`

func TestHoldRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	b, _, err := NewBook(path)
	if err != nil {
		t.Fatal(err)
	}
	must(t, b.SetHold("www.example.org.", Hold{Since: t0, Reason: holdReason}))
	must(t, b.SetHold("api.example.org.", Hold{Since: t0.Add(time.Minute)}))
	data, _ := os.ReadFile(path)
	for _, want := range []string{
		"\nhold api.example.org. since=2026-12-01T13:01:00Z reason=\"\"\nhold www.example.org. since=2026-12-01T13:00:00Z reason=" + `"primary 192.0.2.10 down: HTTP status 503 \"Service Unavailable\""` + "\n",
		"#   hold NAME [since=RFC3339]",
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("Expected the state file to hold %q, got:\n%s", want, data)
		}
	}
	again, bad, err := NewBook(path)
	if err != nil || len(bad) > 0 {
		t.Fatal(err, bad)
	}
	h, ok := again.Snapshot().Hold("www.example.org.")
	if !ok || !h.Since.Equal(t0) || h.Reason != holdReason {
		t.Errorf("Expected the hold read back after a restart, got %+v %v", h, ok)
	}
	if n := len(again.Snapshot().Holds()); n != 2 {
		t.Errorf("Expected 2 holds read back, got %d", n)
	}
	cleared, err := again.ClearHold("www.example.org.")
	if err != nil || !cleared {
		t.Fatalf("Expected the hold cleared, got %v %v", cleared, err)
	}
	if cleared, _ := again.ClearHold("www.example.org."); cleared {
		t.Error("Expected a second clear to find nothing")
	}
	if data, _ := os.ReadFile(path); strings.Contains(string(data), "hold www.example.org.") {
		t.Errorf("Expected the cleared hold gone from the file:\n%s", data)
	}
	if _, ok := again.Snapshot().Hold("www.example.org."); ok {
		t.Error("Expected the cleared hold gone from the snapshot")
	}
}

func TestHoldSetAgainChangesNothing(t *testing.T) {
	b, _, _ := NewBook(filepath.Join(t.TempDir(), "state"))
	changes := 0
	b.Subscribe(func() { changes++ })
	must(t, b.SetHold("www.example.org.", Hold{Since: t0, Reason: "down"}))
	must(t, b.SetHold("www.example.org.", Hold{Since: t0.In(time.FixedZone("CET", 3600)), Reason: "down"}))
	if changes != 1 {
		t.Errorf("Expected the same hold set twice to publish once, got %d changes", changes)
	}
	must(t, b.SetHold("www.example.org.", Hold{Since: t0, Reason: "down again"}))
	if changes != 2 {
		t.Errorf("Expected a new reason published, got %d changes", changes)
	}
}

func TestHoldLinesWrittenByHand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	os.WriteFile(path, []byte(strings.Join([]string{
		"hold WWW.Example.ORG",
		"hold api.example.org since=2026-12-01T14:00:00+01:00 reason=\"rack 7\"",
		"hold * since=2026-12-01T13:00:00Z",
		"hold api.example.org.",
		"hold db.example.org. since=yesterday",
		"hold db.example.org. until=2026-12-01T13:00:00Z",
		"hold db.example.org. extra",
		`hold "db example.org."`,
	}, "\n")), 0o644)
	before := time.Now()
	b, bad, err := NewBook(path)
	if err != nil {
		t.Fatal(err)
	}
	wantBad := []string{":3: a hold is about one name", ":4: a second hold of api.example.org.", ":5: since=\"yesterday\" is not an RFC 3339 time",
		":6: until= is unknown here", ":7: a hold line is: hold NAME", ":8: a quote may only open the value of a key="}
	if len(bad) != len(wantBad) {
		t.Fatalf("Expected %d bad lines, got %v", len(wantBad), bad)
	}
	for i, want := range wantBad {
		if !strings.Contains(bad[i].Error(), path+want) {
			t.Errorf("Expected bad line %d reported as %q, got %q", i, want, bad[i])
		}
	}
	if h, ok := b.Snapshot().Hold("www.example.org."); !ok || h.Since.Before(before) || h.Reason != "" {
		t.Errorf("Expected a line without since held from when it was read, got %+v %v", h, ok)
	}
	if h, _ := b.Snapshot().Hold("api.example.org."); !h.Since.Equal(t0) || h.Reason != "rack 7" {
		t.Errorf("Expected since in another zone read as the same moment, got %+v", h)
	}
	must(t, b.SetHold("db.example.org.", Hold{Since: t0}))
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), invalidPrefix+"hold * since=2026-12-01T13:00:00Z\n") || !strings.Contains(string(data), invalidPrefix+"hold db.example.org. extra\n") {
		t.Errorf("Expected unreadable hold lines kept as comments:\n%s", data)
	}
}

func TestHoldDeletedByHandIsReread(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	b, _, err := NewBook(path)
	if err != nil {
		t.Fatal(err)
	}
	logged := make(chan string, 10)
	b.Logf = func(format string, args ...any) { logged <- fmt.Sprintf(format, args...) }
	changed := make(chan struct{}, 10)
	b.Subscribe(func() { changed <- struct{}{} })
	must(t, b.SetOverride(Key{"www.example.org.", "192.0.2.11"}, Override{State: Drain, SetAt: t0}))
	must(t, b.SetHold("www.example.org.", Hold{Since: t0, Reason: holdReason}))
	<-changed
	<-changed
	b.Watch(10 * time.Millisecond)
	defer b.Close()

	data, _ := os.ReadFile(path)
	var kept []string
	for _, l := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(l, "hold ") {
			kept = append(kept, l)
		}
	}
	os.WriteFile(path, []byte(strings.Join(kept, "\n")), 0o644)
	awaitChange(t, changed)
	if _, ok := b.Snapshot().Hold("www.example.org."); ok {
		t.Error("Expected a hold deleted by hand to be cleared")
	}
	if _, _, ok := b.Snapshot().Override("www.example.org.", "192.0.2.11"); !ok {
		t.Error("Expected the override left alone")
	}
	want := []string{
		"failback hold: www.example.org. cleared: it may fail back, edited by hand in " + path,
		"state file " + path + " edited: 1 overrides, 0 temporary TTLs and 0 failback holds now",
	}
	for _, w := range want {
		if got := awaitLog(t, logged); got != w {
			t.Errorf("Expected %q logged, got %q", w, got)
		}
	}

	// A hold added by hand without since is held from when it was read, and
	// keeps that time through later edits.
	os.WriteFile(path, []byte(strings.Join(kept, "\n")+"hold www.example.org. reason=\"by hand\"\n"), 0o644)
	awaitChange(t, changed)
	first, ok := b.Snapshot().Hold("www.example.org.")
	if !ok || first.Reason != "by hand" || first.Since.IsZero() {
		t.Fatalf("Expected a hold added by hand, got %+v %v", first, ok)
	}
	if got := awaitLog(t, logged); !strings.HasPrefix(got, `failback hold: www.example.org. held on its backup since `) || !strings.Contains(got, `("by hand")`) {
		t.Errorf("Expected the new hold logged, got %q", got)
	}
	awaitLog(t, logged)
	os.WriteFile(path, []byte(strings.Join(kept, "\n")+"hold www.example.org. reason=\"by hand\"\n# later\n"), 0o644)
	awaitChange(t, changed)
	if h, _ := b.Snapshot().Hold("www.example.org."); !h.Since.Equal(first.Since) {
		t.Errorf("Expected the hold to keep since %v through an edit elsewhere, got %v", first.Since, h.Since)
	}
	if got := awaitLog(t, logged); !strings.HasPrefix(got, "state file ") {
		t.Errorf("Expected only the summary logged for an edit that changes no hold, got %q", got)
	}
}

func TestHoldNotWrittenIsNotPublished(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root writes into a read-only directory")
	}
	dir := t.TempDir()
	b, _, _ := NewBook(filepath.Join(dir, "state"))
	must(t, os.Chmod(dir, 0o500))
	defer os.Chmod(dir, 0o700)
	if err := b.SetHold("www.example.org.", Hold{Since: t0}); err == nil {
		t.Error("Expected a hold that cannot be written to fail")
	}
	if _, ok := b.Snapshot().Hold("www.example.org."); ok {
		t.Error("Expected a hold that could not be written not to be published")
	}
}

func awaitChange(t *testing.T, changed <-chan struct{}) {
	t.Helper()
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("Expected a hand edit re-read within 5 s")
	}
}

func awaitLog(t *testing.T, logged <-chan string) string {
	t.Helper()
	select {
	case line := <-logged:
		return line
	case <-time.After(5 * time.Second):
		t.Fatal("Expected a line logged within 5 s")
		return ""
	}
}

// A change the book writes while the watcher holds an older read of the
// file is not undone by that read: the watcher applies only what the file
// still holds.
func TestRereadDoesNotUndoAChangeWrittenMeanwhile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	b, _, err := NewBook(path)
	if err != nil {
		t.Fatal(err)
	}
	k := Key{Name: "www.example.org.", Address: "192.0.2.10"}
	if err := b.SetOverride(k, Override{State: Down, Reason: "disk"}); err != nil {
		t.Fatal(err)
	}
	// Someone edits the file by hand (a new hold), and while the watcher
	// holds that read the API clears the override.
	data, _ := os.ReadFile(path)
	edited := string(data) + "hold www.example.org. since=2026-12-01T13:00:00Z\n"
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	afterRead = func() {
		afterRead = nil
		if _, err := b.ClearOverride(k); err != nil {
			t.Error(err)
		}
	}
	defer func() { afterRead = nil }()
	b.reread()
	if _, _, ok := b.Snapshot().Override(k.Name, k.Address); ok {
		t.Errorf("Expected the override cleared through the book to stay cleared, the watcher's older read brought it back")
	}
}
