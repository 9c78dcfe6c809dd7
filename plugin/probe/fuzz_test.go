package probe

import (
	"bytes"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func FuzzParseCodes(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		codes, err := ParseCodes(strings.Split(s, " "))
		if err != nil {
			return
		}
		for status := -1; status <= 1000; status++ {
			if codes.Match(status) && (status < 100 || status > 599) {
				t.Fatalf("Expected %q to accept only codes from 100 to 599, got %d accepted", s, status)
			}
		}
		// What String writes is what log lines and probe keys show; it must
		// read back to the same set.
		again, err := ParseCodes(strings.Split(codes.String(), " "))
		if err != nil {
			t.Fatalf("Expected %q (from %q) to parse again, got %v", codes.String(), s, err)
		}
		if !slices.Equal(again, codes) {
			t.Fatalf("Expected %q to read back as %v, got %v", codes.String(), codes, again)
		}
	})
}

// fuzzAddresses are the kinds of endpoint address a check is bound to.
var fuzzAddresses = []string{"192.0.2.1", "2001:db8::1", "edge.example.net."}

func FuzzValidateURL(f *testing.F) {
	f.Fuzz(func(t *testing.T, template string) {
		valid := ValidateURL(template) == nil
		for _, addr := range fuzzAddresses {
			p, err := New(Spec{URL: template, Timeout: time.Second}, addr)
			if err != nil {
				// Setup accepted the check, so the server would fail to
				// start, far from the line that is wrong.
				if valid {
					t.Errorf("Expected the check %q accepted at setup to bind to %s, got %v", template, addr, err)
				}
				continue
			}
			switch p := p.(type) {
			case *tcpProber:
				if !strings.HasPrefix(strings.ToLower(template), "tcp:") || p.addr == "" {
					t.Errorf("Expected a tcp prober only for a tcp:// check with an address, got %q for %q", p.addr, template)
				}
			case *httpProber:
				host, port, err := net.SplitHostPort(p.addr)
				if err != nil || host == "" || port == "" || !bytes.HasPrefix(p.request, []byte("GET ")) {
					t.Errorf("Expected an http(s) prober with a host, a port and a GET request, got %q and %q for %q", p.addr, p.request, template)
				}
				if (p.tls != nil) != strings.HasPrefix(strings.ToLower(template), "https:") {
					t.Errorf("Expected TLS exactly for an https:// check, got %v for %q", p.tls != nil, template)
				}
			default:
				t.Errorf("Expected a tcp or http prober, got %T for %q", p, template)
			}
		}
	})
}

func FuzzParseWeight(f *testing.F) {
	for _, s := range []string{"0", "65535", "65536", "-1", "abc", "12abc", "  42  \r", "", "+1", "007", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, problem := parseWeight(s)
		if problem != "" {
			// The text quotes at most quoteLimit bytes, escaped, of what
			// it saw: a log line stays one short line.
			if w != 0 || len(problem) > 4*quoteLimit+80 || strings.ContainsAny(problem, "\r\n") {
				t.Fatalf("Expected a short one-line problem and no weight for %q, got %d and %q", s, w, problem)
			}
			return
		}
		// A weight is the number the text spells, leading zeros aside.
		digits := strings.TrimLeft(strings.Trim(s, " \t\r"), "0")
		if w > MaxWeight || digits != strings.TrimLeft(strconv.Itoa(int(w)), "0") {
			t.Fatalf("Expected %q to give the weight it spells, up to %d, got %d", s, MaxWeight, w)
		}
	})
}
