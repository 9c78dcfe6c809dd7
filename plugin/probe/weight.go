package probe

import (
	"errors"
	"fmt"
	"net/textproto"

	"golang.org/x/net/http/httpguts"
)

// WeightSource says where an HTTP(S) check's response reports the endpoint's
// current weight, as the Corefile's weight_from writes it: the named header,
// or the body's first line. The zero value reports no weight.
type WeightSource struct {
	Header string // weight_from header NAME
	Body   bool   // weight_from body
}

// IsZero reports whether s asks for no weight.
func (s WeightSource) IsZero() bool { return s == WeightSource{} }

// String writes s in the Corefile's notation, "" for none. The header name
// is in its canonical form: HTTP header names are case-insensitive, so
// X-Weight and x-weight make one probe key.
func (s WeightSource) String() string {
	switch {
	case s.Body:
		return "body"
	case s.Header != "":
		return "header " + textproto.CanonicalMIMEHeaderKey(s.Header)
	}
	return ""
}

// ValidateWeightFrom checks spec's weight_from at setup, so that a check that
// can never report a weight fails there and not silently at every probe.
func ValidateWeightFrom(spec Spec) error {
	if spec.WeightFrom.IsZero() {
		return nil
	}
	u, err := target(spec.URL, "192.0.2.1")
	if err != nil {
		return err
	}
	return spec.WeightFrom.validate(u.Scheme, spec.Invert)
}

func (s WeightSource) validate(scheme string, invert bool) error {
	switch {
	case s.IsZero():
		return nil
	case scheme != "http" && scheme != "https":
		return errors.New("weight_from needs an http:// or https:// check")
	case s.Header != "" && s.Body:
		return errors.New("weight_from takes either body or header NAME, not both")
	case s.Header != "" && !httpguts.ValidHeaderFieldName(s.Header):
		return fmt.Errorf("weight_from header %q is not a valid HTTP header name", s.Header)
	case invert:
		// Under invert only failed requests are successes, and a failed
		// request reports no weight: the setting would do nothing.
		return errors.New("weight_from cannot be used with invert: an inverted check never reports a weight")
	}
	return nil
}
