package stanza

import (
	"testing"
)

func FuzzParseLocation(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := parseLocation(s)
		if err != nil {
			return
		}
		if loc.Kind < Continent || loc.Kind > Net {
			t.Fatalf("Expected a known kind for %q, got %d", s, loc.Kind)
		}
		if loc.Kind == Net && (!loc.Prefix.IsValid() || loc.Prefix.Masked() != loc.Prefix || loc.Prefix.Addr().Is4In6()) {
			t.Fatalf("Expected a masked prefix of a plain family for %q, got %v", s, loc.Prefix)
		}
		// The code is matched against the database's upper-case ASCII codes.
		for i := 0; i < len(loc.Code) && loc.Kind != Net; i++ {
			if c := loc.Code[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' {
				t.Fatalf("Expected an upper-case ASCII code for %q, got %q", s, loc.Code)
			}
		}
		again, err := parseLocation(loc.String())
		if err != nil {
			t.Fatalf("Expected %q (from %q) to parse again, got %v", loc.String(), s, err)
		}
		if again != loc {
			t.Fatalf("Expected %q to read back as %v, got %v", loc.String(), loc, again)
		}
	})
}
