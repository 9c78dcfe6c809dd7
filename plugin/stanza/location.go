package stanza

import (
	"fmt"
	"strings"
)

// LocationKind orders locations from the least to the most specific.
type LocationKind uint8

// Location kinds, as the geo property names them.
const (
	Continent LocationKind = iota + 1
	Country
	Subdivision
)

var locationKindNames = [...]string{Continent: "continent", Country: "country", Subdivision: "subdivision"}

func (k LocationKind) String() string { return locationKindNames[k] }

// Location is one entry of an endpoint's geo list, such as country:DE.
type Location struct {
	Kind LocationKind
	Code string // upper case; a subdivision is COUNTRY-CODE, as US-CA
}

func (l Location) String() string { return l.Kind.String() + ":" + l.Code }

// continents are the codes MaxMind uses.
var continents = map[string]bool{"AF": true, "AN": true, "AS": true, "EU": true, "NA": true, "OC": true, "SA": true}

// parseLocation reads continent:EU, country:DE or subdivision:US-CA.
func parseLocation(s string) (Location, error) {
	kind, code, ok := strings.Cut(s, ":")
	code = upperASCII(code)
	const allowed = "allowed are continent:CODE (AF AN AS EU NA OC SA), country:CC (ISO 3166-1, as DE) and subdivision:CC-SUB (ISO 3166-2, as US-CA), or default"
	if !ok {
		return Location{}, fmt.Errorf("geo location %q has no kind; %s", s, allowed)
	}
	switch strings.ToLower(kind) {
	case "continent":
		if !continents[code] {
			return Location{}, fmt.Errorf("geo location %q: %q is not a continent code; %s", s, code, allowed)
		}
		return Location{Continent, code}, nil
	case "country":
		if !isAlpha(code, 2) {
			return Location{}, fmt.Errorf("geo location %q: %q is not a two-letter country code; %s", s, code, allowed)
		}
		return Location{Country, code}, nil
	case "subdivision":
		cc, sub, ok := strings.Cut(code, "-")
		if !ok || !isAlpha(cc, 2) || len(sub) < 1 || len(sub) > 3 || !isAlnum(sub) {
			return Location{}, fmt.Errorf("geo location %q: %q is not a subdivision code such as US-CA; %s", s, code, allowed)
		}
		return Location{Subdivision, code}, nil
	}
	return Location{}, fmt.Errorf("geo location %q has unknown kind %q; %s", s, kind, allowed)
}

// upperASCII upper-cases a-z only: strings.ToUpper would turn letters such
// as U+017F (long s) into ASCII and let "country:\u017fe" pass as SE.
func upperASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

func isAlpha(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

func isAlnum(s string) bool {
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
