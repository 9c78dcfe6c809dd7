package stanza

import (
	"fmt"
	"net/netip"
	"strings"
)

// LocationKind orders locations from the least to the most specific.
type LocationKind uint8

// Location kinds, as the geo property names them.
const (
	Continent LocationKind = iota + 1
	Country
	Subdivision
	Net // the operator's own networks: matched before any database
)

var locationKindNames = [...]string{Continent: "continent", Country: "country", Subdivision: "subdivision", Net: "net"}

func (k LocationKind) String() string { return locationKindNames[k] }

// Location is one entry of an endpoint's geo list, such as country:DE.
type Location struct {
	Kind   LocationKind
	Code   string       // upper case; a subdivision is COUNTRY-CODE, as US-CA; a net its CIDR
	Prefix netip.Prefix // for Net
}

func (l Location) String() string { return l.Kind.String() + ":" + l.Code }

// continents are the codes MaxMind uses.
var continents = map[string]bool{"AF": true, "AN": true, "AS": true, "EU": true, "NA": true, "OC": true, "SA": true}

// parseLocation reads continent:EU, country:DE or subdivision:US-CA.
func parseLocation(s string) (Location, error) {
	kind, code, ok := strings.Cut(s, ":")
	code = upperASCII(code)
	const allowed = "allowed are continent:CODE (AF AN AS EU NA OC SA), country:CC (ISO 3166-1, as DE), subdivision:CC-SUB (ISO 3166-2, as US-CA) and net:CIDR (as 10.1.0.0/16 or 2001:db8::/32), or default"
	if !ok {
		return Location{}, fmt.Errorf("geo location %q has no kind; %s", s, allowed)
	}
	switch strings.ToLower(kind) {
	case "net":
		return parseNet(s, strings.TrimPrefix(s, kind+":"), allowed)
	case "continent":
		if !continents[code] {
			return Location{}, fmt.Errorf("geo location %q: %q is not a continent code; %s", s, code, allowed)
		}
		return Location{Kind: Continent, Code: code}, nil
	case "country":
		if !isAlpha(code, 2) {
			return Location{}, fmt.Errorf("geo location %q: %q is not a two-letter country code; %s", s, code, allowed)
		}
		return Location{Kind: Country, Code: code}, nil
	case "subdivision":
		cc, sub, ok := strings.Cut(code, "-")
		if !ok || !isAlpha(cc, 2) || len(sub) < 1 || len(sub) > 3 || !isAlnum(sub) {
			return Location{}, fmt.Errorf("geo location %q: %q is not a subdivision code such as US-CA; %s", s, code, allowed)
		}
		return Location{Kind: Subdivision, Code: code}, nil
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

// parseNet reads the CIDR of net:CIDR. A prefix with host bits set is
// refused rather than masked: 10.1.2.3/16 is more likely a typo for a /24
// than a wish for 10.1.0.0/16.
func parseNet(s, cidr, allowed string) (Location, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || p.Addr().Zone() != "" {
		return Location{}, fmt.Errorf("geo location %q: %q is not a CIDR such as 10.1.0.0/16 or 2001:db8::/32; %s", s, cidr, allowed)
	}
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
	}
	if p.Masked() != p {
		return Location{}, fmt.Errorf("geo location %q has bits set past /%d; write net:%s", s, p.Bits(), p.Masked())
	}
	return Location{Kind: Net, Code: p.String(), Prefix: p}, nil
}
