package failover

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/pkg/nonwriter"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// newHandler builds the handler of a server block for example.org from its
// failover stanzas, as setup does.
func newHandler(t *testing.T, corefile string) (*Failover, *nextRecorder) {
	t.Helper()
	f, err := parse(newTestController(corefile))
	if err != nil {
		t.Fatalf("Expected the Corefile to parse, got %v", err)
	}
	next := &nextRecorder{}
	f.Next = next
	return f, next
}

// started runs the stanzas' first probe round and stops the probes when the
// test ends.
func started(t *testing.T, f *Failover) {
	t.Helper()
	if err := f.start(); err != nil {
		t.Fatalf("Expected the probes to start, got %v", err)
	}
	t.Cleanup(func() { f.stop() })
}

// nextRecorder stands for the next plugin: it records what it was handed
// and answers with a TXT record that marks the answer as its own.
type nextRecorder struct {
	calls int
	got   *dns.Msg
}

func (n *nextRecorder) Name() string { return "next" }

func (n *nextRecorder) ServeDNS(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if _, own := w.(*nonwriter.Writer); !own { // the plugin's own SOA lookups are not the queries under test
		n.calls++
		n.got = r
	}
	m := new(dns.Msg)
	m.SetReply(r)
	m.Answer = []dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 5}, Txt: []string{"next"}}}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

// fromNext reports whether m was written by nextRecorder.
func fromNext(m *dns.Msg) bool {
	if m == nil || len(m.Answer) != 1 {
		return false
	}
	txt, ok := m.Answer[0].(*dns.TXT)
	return ok && len(txt.Txt) == 1 && txt.Txt[0] == "next"
}

// query runs one query through f and returns what was written, if anything.
func query(t *testing.T, f *Failover, name string, qtype uint16) (*dns.Msg, int) {
	t.Helper()
	r := new(dns.Msg)
	r.SetQuestion(name, qtype)
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	rcode, err := f.ServeDNS(context.Background(), rec, r)
	if err != nil {
		t.Fatalf("Expected no error from ServeDNS, got %v", err)
	}
	return rec.Msg, rcode
}

// mustAnswer is query that expects an authoritative NOERROR written by f.
func mustAnswer(t *testing.T, f *Failover, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m, rcode := query(t, f, name, qtype)
	if rcode != dns.RcodeSuccess || m == nil {
		t.Fatalf("Expected NOERROR written for %s %s, got rcode %s and message %v", name, dns.TypeToString[qtype], dns.RcodeToString[rcode], m)
	}
	if m.Rcode != dns.RcodeSuccess {
		t.Errorf("Expected rcode NOERROR, got %s", dns.RcodeToString[m.Rcode])
	}
	if !m.Authoritative {
		t.Errorf("Expected the AA flag on the answer for %s", name)
	}
	if !m.Response {
		t.Errorf("Expected the QR flag on the answer for %s", name)
	}
	return m
}

func TestServeDNSMixedFamilies(t *testing.T) {
	f, next := newHandler(t, `failover www.example.org {
		endpoint 192.0.2.10
		endpoint 2001:db8::10
	}`)
	m := mustAnswer(t, f, "www.example.org.", dns.TypeA)
	if len(m.Answer) != 1 {
		t.Fatalf("Expected 1 A record, got %v", m.Answer)
	}
	a, ok := m.Answer[0].(*dns.A)
	if !ok || a.A.String() != "192.0.2.10" || a.Hdr.Name != "www.example.org." || a.Hdr.Class != dns.ClassINET {
		t.Errorf("Expected www.example.org. IN A 192.0.2.10, got %v", m.Answer[0])
	}
	if a != nil && a.Hdr.Ttl != 60 {
		t.Errorf("Expected the default TTL 60, got %d", a.Hdr.Ttl)
	}

	m = mustAnswer(t, f, "www.example.org.", dns.TypeAAAA)
	if len(m.Answer) != 1 {
		t.Fatalf("Expected 1 AAAA record, got %v", m.Answer)
	}
	aaaa, ok := m.Answer[0].(*dns.AAAA)
	if !ok || aaaa.AAAA.String() != "2001:db8::10" {
		t.Errorf("Expected www.example.org. IN AAAA 2001:db8::10, got %v", m.Answer[0])
	}
	if next.calls != 0 {
		t.Errorf("Expected no call to the next plugin, got %d", next.calls)
	}
}

func TestServeDNSSeveralNames(t *testing.T) {
	f, _ := newHandler(t, `failover www.example.org web {
		endpoint 192.0.2.10
	}`)
	for _, name := range []string{"www.example.org.", "web.example.org."} {
		m := mustAnswer(t, f, name, dns.TypeA)
		if len(m.Answer) != 1 || m.Answer[0].Header().Name != name {
			t.Errorf("Expected one record owned by %s, got %v", name, m.Answer)
		}
	}
}

func TestServeDNSCNAME(t *testing.T) {
	f, next := newHandler(t, `failover www.example.org {
		endpoint web1.example.net priority 1
		endpoint web2.example.net priority 2
		ttl 120
	}`)
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeMX, dns.TypeTXT, dns.TypeCNAME, dns.TypeHTTPS} {
		m := mustAnswer(t, f, "www.example.org.", qtype)
		if len(m.Answer) != 1 {
			t.Errorf("Type %s: expected 1 CNAME, got %v", dns.TypeToString[qtype], m.Answer)
			continue
		}
		cname, ok := m.Answer[0].(*dns.CNAME)
		if !ok || cname.Target != "web1.example.net." || cname.Hdr.Name != "www.example.org." || cname.Hdr.Ttl != 120 {
			t.Errorf("Type %s: expected www.example.org. 120 IN CNAME web1.example.net., got %v", dns.TypeToString[qtype], m.Answer[0])
		}
	}
	if next.calls != 0 {
		t.Errorf("Expected no call to the next plugin, got %d", next.calls)
	}
}

func TestServeDNSTTL(t *testing.T) {
	f, _ := newHandler(t, `failover www.example.org {
		endpoint 192.0.2.10
		endpoint 2001:db8::10
		ttl 300
	}`)
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		m := mustAnswer(t, f, "www.example.org.", qtype)
		for _, rr := range m.Answer {
			if rr.Header().Ttl != 300 {
				t.Errorf("Expected TTL 300, got %d in %v", rr.Header().Ttl, rr)
			}
		}
		if len(m.Answer) == 0 {
			t.Errorf("Expected an answer to %s", dns.TypeToString[qtype])
		}
	}
}

func TestServeDNSCaseInsensitive(t *testing.T) {
	f, next := newHandler(t, `failover WWW.Example.Org {
		endpoint 192.0.2.10
	}`)
	for _, name := range []string{"WwW.ExAmPlE.oRg.", "www.example.org.", "WWW.EXAMPLE.ORG."} {
		m := mustAnswer(t, f, name, dns.TypeA)
		if len(m.Question) != 1 || m.Question[0].Name != name {
			t.Errorf("Expected the question echoed as %s, got %v", name, m.Question)
		}
		if got := addresses(m); !slices.Equal(got, []string{"192.0.2.10"}) {
			t.Errorf("Query %s: expected [192.0.2.10], got %v", name, got)
			continue
		}
		if owner := m.Answer[0].Header().Name; !strings.EqualFold(owner, name) {
			t.Errorf("Query %s: expected an owner name equal to it but for case, got %s", name, owner)
		}
	}
	if next.calls != 0 {
		t.Errorf("Expected no call to the next plugin, got %d", next.calls)
	}
}

func TestServeDNSNoData(t *testing.T) {
	f, next := newHandler(t, `failover www.example.org {
		endpoint 192.0.2.10
	}`)
	for _, qtype := range []uint16{dns.TypeAAAA, dns.TypeMX, dns.TypeTXT} {
		m := mustAnswer(t, f, "www.example.org.", qtype)
		if len(m.Answer) != 0 {
			t.Errorf("Type %s: expected an empty answer, got %v", dns.TypeToString[qtype], m.Answer)
		}
	}
	if next.calls != 0 {
		t.Errorf("Expected no call to the next plugin without fallthrough, got %d", next.calls)
	}
}

func TestServeDNSNoDataFallthrough(t *testing.T) {
	f, next := newHandler(t, `failover www.example.org {
		endpoint 192.0.2.10
		fallthrough
	}`)
	for _, qtype := range []uint16{dns.TypeAAAA, dns.TypeMX} {
		next.calls = 0
		m, _ := query(t, f, "www.example.org.", qtype)
		if next.calls != 1 || !fromNext(m) {
			t.Errorf("Type %s: expected the query passed to the next plugin, got %d calls and %v", dns.TypeToString[qtype], next.calls, m)
		}
	}
	// The type the stanza has data for is still answered here.
	next.calls = 0
	m := mustAnswer(t, f, "www.example.org.", dns.TypeA)
	if got := addresses(m); !slices.Equal(got, []string{"192.0.2.10"}) || next.calls != 0 {
		t.Errorf("Expected [192.0.2.10] without the next plugin, got %v and %d calls", got, next.calls)
	}
}

func TestServeDNSUnmanaged(t *testing.T) {
	f, next := newHandler(t, `failover www.example.org {
		endpoint 192.0.2.10
	}`)
	tests := []struct {
		name   string
		qtype  uint16
		qclass uint16
	}{
		{"other.example.org.", dns.TypeA, dns.ClassINET},
		{"example.org.", dns.TypeA, dns.ClassINET},
		{"sub.www.example.org.", dns.TypeA, dns.ClassINET},
		{"www.example.org.", dns.TypeA, dns.ClassCHAOS},
	}
	for _, tc := range tests {
		next.calls, next.got = 0, nil
		r := new(dns.Msg)
		r.SetQuestion(tc.name, tc.qtype)
		r.Question[0].Qclass = tc.qclass
		r.SetEdns0(1232, true)
		before, _ := r.Pack()
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		if _, err := f.ServeDNS(context.Background(), rec, r); err != nil {
			t.Fatalf("Expected no error, got %v", err)
		}
		if next.calls != 1 {
			t.Errorf("Query %s class %d: expected one call to the next plugin, got %d", tc.name, tc.qclass, next.calls)
			continue
		}
		if next.got != r {
			t.Errorf("Query %s: expected the next plugin to get the query itself", tc.name)
		}
		if after, _ := r.Pack(); !bytes.Equal(before, after) {
			t.Errorf("Query %s: expected the query untouched, got %v", tc.name, r)
		}
		if !fromNext(rec.Msg) {
			t.Errorf("Query %s: expected the next plugin's answer written, got %v", tc.name, rec.Msg)
		}
	}
}

func TestServeDNSNoNext(t *testing.T) {
	f, _ := newHandler(t, `failover www.example.org {
		endpoint 192.0.2.10
	}`)
	f.Next = nil
	r := new(dns.Msg)
	r.SetQuestion("other.example.org.", dns.TypeA)
	rcode, err := f.ServeDNS(context.Background(), dnstest.NewRecorder(&test.ResponseWriter{}), r)
	if rcode != dns.RcodeServerFailure || err == nil {
		t.Errorf("Expected SERVFAIL and an error for an unmanaged name with no next plugin, got %s and %v", dns.RcodeToString[rcode], err)
	}
}

func TestServeDNSFailsOverAtStart(t *testing.T) {
	// The first probe round sets the state at once: the very first answer
	// already avoids a dead primary.
	up := newTCPBackend(t)
	f, _ := newHandler(t, fmt.Sprintf(`failover www.example.org {
		endpoint 192.0.2.10 priority 1 check tcp://%s
		endpoint 192.0.2.20 priority 2 check tcp://%s
	}`, closedPort(t), up.addr()))
	started(t, f)
	m := mustAnswer(t, f, "www.example.org.", dns.TypeA)
	if got := addresses(m); !slices.Equal(got, []string{"192.0.2.20"}) {
		t.Errorf("Expected the backup [192.0.2.20], got %v", got)
	}
}

func TestServeDNSAllDown(t *testing.T) {
	tests := []struct {
		mode     string
		policy   string
		rcode    int      // returned by ServeDNS
		written  bool     // whether failover itself writes a message
		want     []string // addresses, sorted
		wantNext bool
	}{
		{mode: "return_all", policy: "active-passive", rcode: dns.RcodeSuccess, written: true, want: []string{"192.0.2.10"}},
		{mode: "return_all", policy: "active-active", rcode: dns.RcodeSuccess, written: true, want: []string{"192.0.2.10", "192.0.2.20"}},
		{mode: "", policy: "active-passive", rcode: dns.RcodeSuccess, written: true, want: []string{"192.0.2.10"}},
		{mode: "fallthrough", policy: "active-passive", rcode: dns.RcodeSuccess, wantNext: true},
		{mode: "servfail", policy: "active-passive", rcode: dns.RcodeServerFailure},
		{mode: "nodata", policy: "active-passive", rcode: dns.RcodeSuccess, written: true},
	}
	for _, tc := range tests {
		label, allDown := "default", ""
		if tc.mode != "" {
			label, allDown = tc.mode, "all_down "+tc.mode
		}
		t.Run(tc.policy+"/"+label, func(t *testing.T) {
			dead := closedPort(t)
			f, next := newHandler(t, fmt.Sprintf(`failover www.example.org {
				policy %s
				endpoint 192.0.2.10 priority 1
				endpoint 192.0.2.20 priority 2
				check tcp://%s
				%s
			}`, tc.policy, dead, allDown))
			started(t, f)

			m, rcode := query(t, f, "www.example.org.", dns.TypeA)
			if rcode != tc.rcode {
				t.Errorf("Expected rcode %s, got %s", dns.RcodeToString[tc.rcode], dns.RcodeToString[rcode])
			}
			if tc.wantNext {
				if next.calls != 1 || !fromNext(m) {
					t.Errorf("Expected the query passed to the next plugin, got %d calls and %v", next.calls, m)
				}
				return
			}
			if next.calls != 0 {
				t.Errorf("Expected no call to the next plugin, got %d", next.calls)
			}
			if !tc.written {
				if m != nil {
					t.Errorf("Expected nothing written, so that the server writes the error, got %v", m)
				}
				return
			}
			if m == nil {
				t.Fatal("Expected an answer written, got none")
			}
			if !m.Authoritative || m.Rcode != dns.RcodeSuccess {
				t.Errorf("Expected an authoritative NOERROR, got %v", m)
			}
			got := addresses(m)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Expected %v, got %v", tc.want, got)
			}
		})
	}
}

func TestServeDNSActiveActiveRotation(t *testing.T) {
	f, _ := newHandler(t, `failover www.example.org {
		policy active-active
		endpoint 192.0.2.1
		endpoint 192.0.2.2
		endpoint 192.0.2.3
	}`)
	all := []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"}
	leads := map[string]int{}
	for range len(all) {
		m := mustAnswer(t, f, "www.example.org.", dns.TypeA)
		got := addresses(m)
		if len(got) == 0 {
			t.Fatal("Expected an answer, got none")
		}
		leads[got[0]]++
		slices.Sort(got)
		if !slices.Equal(got, all) {
			t.Errorf("Expected every endpoint %v, got %v", all, got)
		}
	}
	for _, a := range all {
		if leads[a] != 1 {
			t.Errorf("Expected %s first in exactly one of %d answers, got %d", a, len(all), leads[a])
		}
	}
}

func TestServeDNSMaxAnswers(t *testing.T) {
	f, _ := newHandler(t, `failover www.example.org {
		policy active-active
		endpoint 192.0.2.1
		endpoint 192.0.2.2
		endpoint 192.0.2.3
		endpoint 192.0.2.4
		endpoint 192.0.2.5
		max_answers 2
	}`)
	seen := map[string]bool{}
	for range 5 {
		got := addresses(mustAnswer(t, f, "www.example.org.", dns.TypeA))
		if len(got) != 2 || got[0] == got[1] {
			t.Fatalf("Expected 2 distinct addresses, got %v", got)
		}
		seen[got[0]], seen[got[1]] = true, true
	}
	// Rotation lets the cap still spread the load over every endpoint.
	if len(seen) != 5 {
		t.Errorf("Expected all 5 endpoints in 5 capped answers, got %v", seen)
	}
}

func TestServeDNSWeightedDrained(t *testing.T) {
	f, _ := newHandler(t, `failover www.example.org {
		policy weighted
		endpoint 192.0.2.1 weight 5
		endpoint 192.0.2.2 weight 0
	}`)
	for range 200 {
		got := addresses(mustAnswer(t, f, "www.example.org.", dns.TypeA))
		if !slices.Equal(got, []string{"192.0.2.1"}) {
			t.Fatalf("Expected only the endpoint of positive weight, got %v", got)
		}
	}
}

func TestServeDNSNoQuestion(t *testing.T) {
	f, _ := newHandler(t, `failover www.example.org {
		endpoint 192.0.2.10
	}`)
	f.Next = test.NextHandler(dns.RcodeFormatError, nil)
	r := new(dns.Msg)
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	rcode, _ := f.ServeDNS(context.Background(), rec, r)
	if rcode != dns.RcodeFormatError || rec.Msg != nil {
		t.Errorf("Expected a question-less query left to the next plugin, got rcode %s and %v", dns.RcodeToString[rcode], rec.Msg)
	}
}

func TestNotifyIsNotAnswered(t *testing.T) {
	f, next := newHandler(t, `failover www.example.org {
    endpoint 192.0.2.10
}`)
	r := new(dns.Msg)
	r.SetNotify("www.example.org.")
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	f.ServeDNS(context.Background(), rec, r)
	if next.calls != 1 {
		t.Errorf("Expected a NOTIFY to go to the next plugin, it went %d times", next.calls)
	}
	for _, rr := range rec.Msg.Answer {
		if _, ok := rr.(*dns.A); ok {
			t.Errorf("Expected a NOTIFY not to be answered with addresses, got %v", rr)
		}
	}
}
