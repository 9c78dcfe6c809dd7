package stanza

import (
	"strings"
	"testing"
)

func TestParseLocation(t *testing.T) {
	tests := []struct {
		in   string
		kind LocationKind
		code string
	}{
		{"continent:EU", Continent, "EU"},
		{"continent:eu", Continent, "EU"},
		{"Continent:Na", Continent, "NA"},
		{"CONTINENT:AN", Continent, "AN"},
		{"continent:af", Continent, "AF"},
		{"continent:as", Continent, "AS"},
		{"continent:oc", Continent, "OC"},
		{"continent:sa", Continent, "SA"},
		{"country:DE", Country, "DE"},
		{"country:de", Country, "DE"},
		{"Country:Us", Country, "US"},
		// NA is a continent and a country (Namibia): the prefix decides.
		{"country:NA", Country, "NA"},
		{"subdivision:US-CA", Subdivision, "US-CA"},
		{"subdivision:us-ca", Subdivision, "US-CA"},
		{"SubDivision:gb-eng", Subdivision, "GB-ENG"},
		{"subdivision:FR-75C", Subdivision, "FR-75C"},
		{"subdivision:DE-B", Subdivision, "DE-B"},
		{"subdivision:JP-13", Subdivision, "JP-13"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			loc, err := parseLocation(tc.in)
			if err != nil {
				t.Fatalf("Expected no error, got %v", err)
			}
			if loc.Kind != tc.kind || loc.Code != tc.code {
				t.Errorf("Expected %s:%s, got %s:%s", tc.kind, tc.code, loc.Kind, loc.Code)
			}
			// The canonical form is what log lines and errors show.
			want := tc.kind.String() + ":" + tc.code
			if loc.String() != want {
				t.Errorf("Expected %q, got %q", want, loc.String())
			}
			again, err := parseLocation(loc.String())
			if err != nil || again != loc {
				t.Errorf("Expected %q to parse back to itself, got %v, %v", loc.String(), again, err)
			}
		})
	}
}

func TestParseLocationErrors(t *testing.T) {
	tests := []struct {
		in     string
		phrase string
	}{
		{"DE", "has no kind"},
		{"", "has no kind"},
		{"default:x", `unknown kind "default"`},
		{"planet:X", `unknown kind "planet"`},
		{"city:Berlin", `unknown kind "city"`},
		{":DE", `unknown kind ""`},
		{"continent:XX", `"XX" is not a continent code`},
		{"continent:", `"" is not a continent code`},
		{"continent:EUR", "is not a continent code"},
		{"continent:DE", `"DE" is not a continent code`},
		{"country:DEU", `"DEU" is not a two-letter country code`},
		{"country:D", "is not a two-letter country code"},
		{"country:", "is not a two-letter country code"},
		{"country:D1", "is not a two-letter country code"},
		{"country:D-", "is not a two-letter country code"},
		{"country:ÄÖ", "is not a two-letter country code"},
		// Unicode case mapping must not turn these into SE and IT.
		{"country:\u017fe", "is not a two-letter country code"},
		{"country:\u0131t", "is not a two-letter country code"},
		{"country:US:CA", "is not a two-letter country code"},
		{"subdivision:US", `"US" is not a subdivision code such as US-CA`},
		{"subdivision:US-", "is not a subdivision code"},
		{"subdivision:-CA", "is not a subdivision code"},
		{"subdivision:USA-CA", "is not a subdivision code"},
		{"subdivision:U1-CA", "is not a subdivision code"},
		{"subdivision:US-ABCD", "is not a subdivision code"},
		{"subdivision:US-C_", "is not a subdivision code"},
		{"subdivision:US-CA-X", "is not a subdivision code"},
		{"subdivision:US-\u017f", "is not a subdivision code"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			loc, err := parseLocation(tc.in)
			if err == nil {
				t.Fatalf("Expected an error, got %s", loc)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.phrase) {
				t.Errorf("Expected the error to say %q, got %q", tc.phrase, msg)
			}
			// Every error says what is allowed.
			if !strings.Contains(msg, "allowed are continent:CODE") {
				t.Errorf("Expected the error to list the allowed forms, got %q", msg)
			}
		})
	}
}
