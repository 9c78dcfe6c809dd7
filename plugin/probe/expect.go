package probe

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Codes is the set of HTTP status codes a check accepts, as a list of
// inclusive ranges. It is tiny (a handful of ranges), so a linear scan beats a map.
type Codes []CodeRange

// CodeRange is an inclusive range of status codes; a single code has Lo == Hi.
type CodeRange struct{ Lo, Hi int }

// defaultCodes accepts every 2xx status, as most load balancers do.
var defaultCodes = Codes{{200, 299}}

// DefaultCodes is what a check expects when the Corefile does not say: a
// copy, so that no caller can change it for the others.
func DefaultCodes() Codes { return slices.Clone(defaultCodes) }

// ParseCodes reads words such as "200", "204" and "300-302".
func ParseCodes(words []string) (Codes, error) {
	if len(words) == 0 {
		return nil, fmt.Errorf("expect needs at least one status code or range, such as 200 or 200-299")
	}
	codes := make(Codes, 0, len(words))
	for _, w := range words {
		lo, hi, isRange := strings.Cut(w, "-")
		a, err := parseCode(lo)
		if err != nil {
			return nil, fmt.Errorf("expect %q: %v", w, err)
		}
		b := a
		if isRange {
			if b, err = parseCode(hi); err != nil {
				return nil, fmt.Errorf("expect %q: %v", w, err)
			}
			if b < a {
				return nil, fmt.Errorf("expect %q: the range runs backwards; write LOW-HIGH", w)
			}
		}
		codes = append(codes, CodeRange{a, b})
	}
	return codes, nil
}

func parseCode(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 {
		return 0, fmt.Errorf("%q is not an HTTP status code; codes run from 100 to 599", s)
	}
	return n, nil
}

// Match reports whether status is accepted.
func (c Codes) Match(status int) bool {
	for _, r := range c {
		if status >= r.Lo && status <= r.Hi {
			return true
		}
	}
	return false
}

// String writes the codes back in the Corefile's notation.
func (c Codes) String() string {
	parts := make([]string, len(c))
	for i, r := range c {
		if r.Lo == r.Hi {
			parts[i] = strconv.Itoa(r.Lo)
		} else {
			parts[i] = fmt.Sprintf("%d-%d", r.Lo, r.Hi)
		}
	}
	return strings.Join(parts, " ")
}
