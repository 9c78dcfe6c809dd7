package control

import (
	"bytes"
	"maps"
	"testing"
	"time"
)

// FuzzStateFile: whatever a hand edit leaves in the file, reading it never
// panics, and what is read and written back reads the same again, holds
// included.
func FuzzStateFile(f *testing.F) {
	f.Add([]byte("override www.example.org. 192.0.2.10 drain reason=\"deploy\" set_at=2026-12-01T13:00:00Z\n"))
	f.Add([]byte("ttl www.example.org. 30 until=2026-12-01T14:00:00Z normal=300\n# comment\n"))
	f.Add([]byte("override * ::1 up reason=\"\\x00\\u2028\"\n" + invalidPrefix + "junk\n"))
	f.Add([]byte("override a b c d e f\nttl\n\"\n=\nreason=\"unterminated"))
	f.Add([]byte("hold www.example.org. since=2026-12-01T13:00:00Z reason=\"primary 192.0.2.10 down: HTTP status 503\"\n"))
	f.Add([]byte("hold WWW.example.org reason=\"a\\nb\\\"c\"\nhold www.example.org.\nhold *\nhold a since=2026-12-01T14:00:00.5+01:00\n"))
	f.Add([]byte("hold\nhold a b\nhold a since=\nhold a since=x reason=\"\"\n"))
	f.Add([]byte("hold a since=0000-01-01T00:00:00+01:00\noverride b c up set_at=9999-12-31T23:00:00-01:00\n"))
	f.Add([]byte("hold \"a\\nb\"\noverride x\"y z\" 192.0.2.1 up\nttl \"a b\" 30 until=2026-12-01T14:00:00Z\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, _ := parseState("state", data, t0)
		s := &Snapshot{overrides: p.overrides, ttls: p.ttls, holds: p.holds, invalid: p.invalid}
		out := render(s)
		q, bad := parseState("state", out, t0)
		if len(bad) > 0 {
			t.Fatalf("a written file does not read back: %v\n%s", bad, out)
		}
		if again := render(&Snapshot{overrides: q.overrides, ttls: q.ttls, holds: q.holds, invalid: q.invalid}); !bytes.Equal(again, out) {
			t.Fatalf("written twice differs:\n%s\n---\n%s", out, again)
		}
		// Every hold read is written and read back, to the second: a
		// failback waiting for an operator must survive a restart.
		if !maps.EqualFunc(p.holds, q.holds, func(a, b Hold) bool {
			return a.Reason == b.Reason && a.Since.Truncate(time.Second).Equal(b.Since)
		}) {
			t.Fatalf("holds %v read back as %v from:\n%s", p.holds, q.holds, out)
		}
	})
}
