package control

import (
	"bytes"
	"testing"
)

// FuzzStateFile: whatever a hand edit leaves in the file, reading it never
// panics, and what is read and written back reads the same again.
func FuzzStateFile(f *testing.F) {
	f.Add([]byte("override www.example.org. 192.0.2.10 drain reason=\"deploy\" set_at=2026-12-01T13:00:00Z\n"))
	f.Add([]byte("ttl www.example.org. 30 until=2026-12-01T14:00:00Z normal=300\n# comment\n"))
	f.Add([]byte("override * ::1 up reason=\"\\x00\\u2028\"\n" + invalidPrefix + "junk\n"))
	f.Add([]byte("override a b c d e f\nttl\n\"\n=\nreason=\"unterminated"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, _ := parseState("state", data, t0)
		s := &Snapshot{overrides: p.overrides, ttls: p.ttls, invalid: p.invalid}
		out := render(s)
		q, bad := parseState("state", out, t0)
		if len(bad) > 0 {
			t.Fatalf("a written file does not read back: %v\n%s", bad, out)
		}
		if again := render(&Snapshot{overrides: q.overrides, ttls: q.ttls, invalid: q.invalid}); !bytes.Equal(again, out) {
			t.Fatalf("written twice differs:\n%s\n---\n%s", out, again)
		}
	})
}
