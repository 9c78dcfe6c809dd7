// Package probe runs one health check against one endpoint: an HTTP, HTTPS or
// TCP probe bounded by a timeout, with its failure classified by kind.
package probe

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// placeholder is replaced by each endpoint's address in a check URL.
const placeholder = "{address}"

// MaxBody is how much of a response body is searched for the body text;
// a larger or endless body is cut there, never read to its end.
const MaxBody = 64 << 10

// Spec is a check as the Corefile writes it, before it is bound to an endpoint.
type Spec struct {
	URL           string // may contain {address}
	Timeout       time.Duration
	Expect        Codes
	Host          string
	Headers       [][2]string
	Body          string
	TLSServerName string
	TLSSkipVerify bool
	Invert        bool         // up when the check fails, down when it passes
	WeightFrom    WeightSource // where a response reports the endpoint's weight; zero for nowhere
}

// Prober runs a probe. Implementations must return by the context's deadline.
type Prober interface {
	Probe(ctx context.Context) Result
}

// ValidateURL checks a check URL template with a stand-in address, so that a
// typo fails at setup and not at the first probe.
func ValidateURL(template string) error {
	for _, stand := range []string{"192.0.2.1", "2001:db8::1", "www.example.org."} {
		if err := ValidateFor(template, stand); err != nil {
			return err
		}
	}
	return nil
}

// ValidateHost checks a host setting: what the Host header and the TLS server
// name of every request will be.
func ValidateHost(host string) error {
	if !httpguts.ValidHostHeader(host) {
		return fmt.Errorf("host %q is not a valid HTTP host; allowed is a name or address with an optional port", host)
	}
	return nil
}

// ValidateHeader checks a header setting, which is sent as it is written.
func ValidateHeader(name, value string) error {
	if !httpguts.ValidHeaderFieldName(name) {
		return fmt.Errorf("header name %q is not a valid HTTP header name", name)
	}
	if !httpguts.ValidHeaderFieldValue(value) {
		return fmt.Errorf("header %s: value %q has control characters, which HTTP does not allow", name, value)
	}
	return nil
}

// ValidateFor checks a check URL template bound to one endpoint's address.
// It checks the URL only, without building the request (New does, once per
// endpoint): setup of ten thousand endpoints spent a tenth of its time
// building requests to throw away. FuzzValidateURL holds New to what this
// accepts.
func ValidateFor(template, address string) error {
	_, err := target(template, address)
	return err
}

// CheckURL is the URL that a probe of address requests or dials: the
// template with {address} filled in, an IPv6 address in brackets and a host
// name without its trailing dot. Labels and logs name the check by it.
func CheckURL(template, address string) (string, error) {
	u, err := target(template, address)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// target expands the template for address and checks what it gives.
func target(template, address string) (*url.URL, error) {
	address = strings.TrimSuffix(address, ".") // a host name endpoint is written fully qualified
	host := address
	if strings.Contains(address, ":") { // IPv6 literal
		host = "[" + address + "]"
	}
	raw := strings.ReplaceAll(template, placeholder, host)
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("check URL %q does not parse: %v", template, urlErrText(err))
	}
	switch u.Scheme {
	case "http", "https":
	case "tcp":
		if u.Port() == "" {
			return nil, fmt.Errorf("check URL %q needs a port, as in tcp://{address}:443", template)
		}
		if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
			return nil, fmt.Errorf("check URL %q: a tcp check takes only a host and a port", template)
		}
	default:
		return nil, fmt.Errorf("check URL %q has scheme %q; allowed are http://, https:// and tcp://", template, u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("check URL %q has no host; write {address} or a host name", template)
	}
	if !validHost(u.Hostname()) {
		return nil, fmt.Errorf("check URL %q has host %q; allowed are {address}, an IP address or a host name", template, u.Hostname())
	}
	if strings.Contains(template, placeholder) && u.Hostname() != address {
		return nil, fmt.Errorf("check URL %q: {address} must be the whole host, as in http://{address}:8080/health", template)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("check URL %q has port %q; ports run from 1 to 65535", template, p)
		}
	}
	if u.User != nil {
		return nil, fmt.Errorf("check URL %q carries credentials; use header Authorization instead", template)
	}
	return u, nil
}

// validHost accepts an IP address or a host name of letters, digits, hyphens
// and underscores: what a probe can dial. url.Parse lets through hosts such
// as "]" that no dial can use.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return !strings.Contains(h, "%") // a zone names an interface of this machine only
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

func urlErrText(err error) string {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err.Error()
	}
	return err.Error()
}

// Key identifies the probe that Spec makes for address: two stanzas whose keys
// are equal share one probe.
func (s Spec) Key(address string) string {
	var b strings.Builder
	b.WriteString(address)
	b.WriteByte('|')
	b.WriteString(strings.ReplaceAll(s.URL, placeholder, address))
	// Free-form values are quoted so that none can pass for a separator.
	fmt.Fprintf(&b, "|%s|%s|%q|%q|%v|%q", s.Timeout, s.Expect, s.Host, s.Body, s.TLSSkipVerify, s.TLSServerName)
	fmt.Fprintf(&b, "|%v|%q", s.Invert, s.WeightFrom)
	for _, h := range s.Headers {
		fmt.Fprintf(&b, "|%q=%q", h[0], h[1])
	}
	return b.String()
}

// New binds spec to address.
func New(s Spec, address string) (Prober, error) {
	u, err := target(s.URL, address)
	if err != nil {
		return nil, err
	}
	if err := s.WeightFrom.validate(u.Scheme, s.Invert); err != nil {
		return nil, err
	}
	var p Prober
	if u.Scheme == "tcp" {
		p = &tcpProber{addr: u.Host, timeout: s.Timeout}
	} else if p, err = newHTTP(s, u); err != nil {
		return nil, err
	}
	if s.Invert {
		p = invertProber{check: p}
	}
	return p, nil
}

// dialer is shared by every probe: it holds no state beyond its settings.
// KeepAlive is off because a probe's connection lives for one request.
var dialer = &net.Dialer{KeepAlive: -1}
