package probe

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestValidateURL(t *testing.T) {
	valid := []string{
		"http://{address}:8080/health",
		"https://{address}/health",
		"https://{address}/health?full=1",
		"tcp://{address}:443",
		"tcp://{address}:443/",
		"http://backend.example.org/health",
		"http://192.0.2.7:8080/",
		"HTTP://{address}/health",
	}
	for _, u := range valid {
		if err := ValidateURL(u); err != nil {
			t.Errorf("Expected %q to be valid, got %s", u, err)
		}
	}

	invalid := []struct {
		url, want string
	}{
		{"ftp://{address}/health", "scheme"},
		{"{address}/health", "scheme"},
		{"", "scheme"},
		{"tcp://{address}", "needs a port"},
		{"tcp://{address}:443/health", "only a host and a port"},
		{"tcp://{address}:443?x=1", "only a host and a port"},
		{"http:///health", "no host"},
		{"https://:8443/health", "no host"},
		{"http://]/health", `has host "]"; allowed are {address}, an IP address or a host name`},
		{"http://a..b/health", `has host "a..b"`},
		{"http://[fe80::1%25eth0]/", "allowed are"},
		{"http://{address}/%zz", "does not parse"},
		{"http://[{address}/", "does not parse"},
		{"http://user:secret@{address}/health", "credentials"},
		{"http://user@{address}/health", "credentials"},
		{"http://{address}:0/health", "ports run from 1 to 65535"},
		{"http://{address}:65536/health", "ports run from 1 to 65535"},
		{"tcp://{address}:99999", "ports run from 1 to 65535"},
		{"http://{address}:http/health", "does not parse"},
	}
	for _, tc := range invalid {
		err := ValidateURL(tc.url)
		if err == nil {
			t.Errorf("Expected %q to be invalid", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Expected the error for %q to contain %q, got %q", tc.url, tc.want, err)
		}
		if !strings.Contains(err.Error(), tc.url) {
			t.Errorf("Expected the error to quote the URL as written, %q, got %q", tc.url, err)
		}
		if _, err := New(Spec{URL: tc.url, Timeout: time.Second}, "192.0.2.1"); err == nil {
			t.Errorf("Expected New to refuse %q", tc.url)
		}
	}
}

func TestTargetBrackets(t *testing.T) {
	tests := []struct {
		tmpl, address, host string
	}{
		{"http://{address}:8080/health", "192.0.2.1", "192.0.2.1:8080"},
		{"http://{address}:8080/health", "2001:db8::1", "[2001:db8::1]:8080"},
		{"https://{address}/health", "::1", "[::1]"},
		{"tcp://{address}:443", "2001:db8::1", "[2001:db8::1]:443"},
		{"http://backend.example.org/", "2001:db8::1", "backend.example.org"},
	}
	for _, tc := range tests {
		u, err := target(tc.tmpl, tc.address)
		if err != nil {
			t.Errorf("Expected %q with %s to be valid, got %s", tc.tmpl, tc.address, err)
			continue
		}
		if u.Host != tc.host {
			t.Errorf("Expected %q with %s to target %q, got %q", tc.tmpl, tc.address, tc.host, u.Host)
		}
	}
}

func TestSpecKey(t *testing.T) {
	codes, _ := ParseCodes([]string{"200", "204"})
	base := Spec{
		URL:           "https://{address}:8443/health",
		Timeout:       2 * time.Second,
		Expect:        codes,
		Host:          "www.example.org",
		Headers:       [][2]string{{"X-Check", "1"}},
		Body:          "ok",
		TLSServerName: "origin.example.org",
		TLSSkipVerify: false,
	}
	const addr = "192.0.2.1"
	same := base
	same.Headers = [][2]string{{"X-Check", "1"}}
	if base.Key(addr) != same.Key(addr) {
		t.Errorf("Expected equal specs to have equal keys, got %q and %q", base.Key(addr), same.Key(addr))
	}
	if base.Key(addr) == base.Key("192.0.2.2") {
		t.Errorf("Expected different addresses to have different keys")
	}

	// One change per field; the table must cover every field of Spec.
	changes := map[string]func(s *Spec){
		"URL":           func(s *Spec) { s.URL = "https://{address}:8443/ready" },
		"Timeout":       func(s *Spec) { s.Timeout = 3 * time.Second },
		"Expect":        func(s *Spec) { s.Expect = Codes{{200, 299}} },
		"Host":          func(s *Spec) { s.Host = "api.example.org" },
		"Headers":       func(s *Spec) { s.Headers = append(s.Headers, [2]string{"X-Other", "2"}) },
		"Body":          func(s *Spec) { s.Body = "OK" },
		"TLSServerName": func(s *Spec) { s.TLSServerName = "" },
		"TLSSkipVerify": func(s *Spec) { s.TLSSkipVerify = true },
		"Invert":        func(s *Spec) { s.Invert = true },
		"WeightFrom":    func(s *Spec) { s.WeightFrom = WeightSource{Body: true} },
	}
	typ := reflect.TypeFor[Spec]()
	for i := range typ.NumField() {
		if _, ok := changes[typ.Field(i).Name]; !ok {
			t.Errorf("Expected a key test for field %s", typ.Field(i).Name)
		}
	}
	for field, change := range changes {
		s := base
		s.Headers = append([][2]string(nil), base.Headers...)
		change(&s)
		if s.Key(addr) == base.Key(addr) {
			t.Errorf("Expected a different key when %s differs, got %q for both", field, s.Key(addr))
		}
	}

	// Values that could pass for the separators of other fields.
	pairs := [][2]Spec{
		{
			{URL: base.URL, TLSServerName: `a|"X-Check"="1"`},
			{URL: base.URL, TLSServerName: "a", Headers: [][2]string{{"X-Check", "1"}}},
		},
		{
			{URL: base.URL, Host: "a", Body: "b"},
			{URL: base.URL, Host: `a"|"b`},
		},
		{
			{URL: base.URL, Headers: [][2]string{{"A", "1"}, {"B", "2"}}},
			{URL: base.URL, Headers: [][2]string{{"A", `1"|"B"="2`}}},
		},
	}
	// Header names are case-insensitive; a header and the body are not
	// the same source, whatever the header is called.
	lower, upper := base, base
	lower.WeightFrom, upper.WeightFrom = WeightSource{Header: "x-weight"}, WeightSource{Header: "X-Weight"}
	if lower.Key(addr) != upper.Key(addr) {
		t.Errorf("Expected weight_from header names that differ in case only to share a key, got %q and %q", lower.Key(addr), upper.Key(addr))
	}
	pairs = append(pairs, [2]Spec{
		{URL: base.URL, WeightFrom: WeightSource{Body: true}},
		{URL: base.URL, WeightFrom: WeightSource{Header: "body"}},
	})
	for _, p := range pairs {
		if p[0].Key(addr) == p[1].Key(addr) {
			t.Errorf("Expected different checks to have different keys, got %q for both", p[0].Key(addr))
		}
	}
}
